//! `envguard scan`: find leaked secrets in files, notebooks, the index or history.
//!
//! Known values come from every `.env` of the project the user can read and owns (the
//! nearest one, every `.env`/`.env.*` in the repository, and any `--env-file`), read through
//! the guard and parser but without the trust gate or the mode rule: reading a file's values
//! to look for them is not loading them, and a loose `.env` (0644 in every fresh clone) is
//! exactly when a leak is likeliest, so its values are searched for and the file itself is
//! reported as loose. The values stay in this process's memory. A file the guard or parser
//! refuses for any other reason is reported as a warning with its fix, and the scan goes on
//! with token shapes and the other files, so a broken `.env` never silently turns the
//! pre-commit hook into a no-op.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use serde_json::json;

use crate::atomic;
use crate::cli::{ScanArgs, ScanFormat};
use crate::display::{escape_for_display, escape_text_for_display};
use crate::error::{Error, IoContext, Refusal, Result};
use crate::load::decrypt;
use crate::load::discover;
use crate::load::dotenv;
use crate::load::guard::{self, Policy};
use crate::load::loader::{self, from_process_env};
use crate::scan::env_files;
use crate::scan::fingerprint::{Fingerprinter, KEY_VARIABLE};
use crate::scan::known::{KnownValues, Secret};
use crate::scan::notebook::{self, RedactError};
use crate::scan::progress::Progress;
use crate::scan::walk::{self, Options};
use crate::scan::{Detector, Finding, baseline, git, report};

pub fn run(args: &ScanArgs) -> Result<()> {
    let cwd = discover::working_dir()?;
    let roots: Vec<PathBuf> = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let project = if args.staged || args.history {
        cwd.clone()
    } else {
        project_dir(&cwd, &roots)
    };
    let in_git = repository_top(&project);
    let repository = in_git
        .clone()
        .or_else(|| fs::canonicalize(&project).ok())
        .unwrap_or_else(|| project.clone());
    let (secrets, sources) = known_values(args, &project, &repository);
    let known = KnownValues::new(secrets);
    if args.history && known.is_empty() {
        warn(
            "no known values to look for in history, only token shapes (fix: create the project's .env or pass --env-file)",
        );
    }
    let detector = Detector::new(known, Fingerprinter::for_repository(&repository));
    if args.baseline.is_some() || args.write_baseline.is_some() {
        // A baseline is only as good as the key its fingerprints were made with.
        detector.fingerprints.fingerprint("", "", b"");
        if let Some(problem) = detector.fingerprints.problem() {
            return Err(Error::Failed(format!(
                "cannot use a baseline: the fingerprint key is unavailable: {problem}"
            )));
        }
    }

    let (mut findings, summary, notebooks) = if args.staged {
        (
            git::staged(&detector, &cwd, args.max_file_size)?,
            json!({ "mode": "staged" }),
            Vec::new(),
        )
    } else if args.history {
        let history = git::history(&detector, &cwd, args.max_file_size, Progress::for_stderr())?;
        if history.too_large > 0 {
            warn(&format!(
                "skipped {} object(s) in history over --max-file-size ({} bytes), unread",
                history.too_large, args.max_file_size
            ));
        }
        (
            history.findings,
            json!({ "mode": "history", "skipped_too_large": history.too_large, "max_file_size": args.max_file_size }),
            Vec::new(),
        )
    } else {
        for root in &roots {
            std::fs::symlink_metadata(root).context("scan", root)?;
        }
        let root_names: Vec<&str> = roots.iter().filter_map(|r| r.to_str()).collect();
        let options = Options {
            include_ignored: args.all,
            max_file_size: args.max_file_size,
            exclude: sources,
            progress: Progress::for_stderr(),
        };
        // git lists the index while the walk reads files: waiting for it first left the
        // cores idle for the life of a process (longer, the larger the index).
        let (tracked, outcome) = std::thread::scope(|scope| {
            let tracked = scope.spawn(|| {
                if in_git.is_some() {
                    git::tracked_env_files(&detector, &cwd, &root_names, false)
                } else {
                    Ok(Vec::new())
                }
            });
            let outcome = walk::scan(&detector, &roots, &options);
            let tracked = tracked
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (tracked, outcome)
        });
        let mut findings = tracked?;
        let summary = summarize(&outcome.stats, args.max_file_size);
        findings.extend(outcome.findings);
        (findings, summary, outcome.notebooks)
    };

    if let Some(path) = &args.baseline {
        let accepted = baseline::Baseline::read(path)?;
        findings.retain(|finding| !accepted.accepts(finding));
    }
    if args.format != ScanFormat::Text
        && let Some(problem) = detector.fingerprints.problem()
    {
        warn(&format!(
            "fingerprints of this run are made with a throw-away key: {problem}"
        ));
    }
    let stdout = io::stdout();
    let mut out = stdout.lock();
    report::write(&mut out, args.format, &findings, summary.clone())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("write", "standard output", e))?;
    drop(out);

    if let Some(path) = &args.write_baseline {
        baseline::write(path, &findings)?;
        let key = detector.fingerprints.key_file().map_or_else(
            || "the fingerprint key".to_string(),
            |file| escape_for_display(&file),
        );
        note(
            args,
            &format!(
                "recorded {} finding(s) in {}; later scans with --baseline ignore them. Its fingerprints are keyed with {key}, kept outside the repository: on another machine (CI) the baseline matches only with {KEY_VARIABLE} set to that file's contents",
                findings.len(),
                escape_for_display(path)
            ),
        );
        return Ok(());
    }
    if args.history {
        advise_rotation(&findings);
    }
    let mut remaining = findings.len();
    if args.redact {
        // Redacted notebooks are cleaned but the value was exposed: say so, and count only
        // findings outside them toward the exit code.
        let redacted = redact(&detector, &notebooks)?;
        remaining -= findings
            .iter()
            .filter(|f| redacted.iter().any(|p| walk::display_path(p) == f.path))
            .count();
    }
    if args.staged && !findings.is_empty() && args.format == ScanFormat::Text {
        explain_blocked_commit(&findings);
    }
    if args.format == ScanFormat::Text && !args.staged && !args.history {
        let files = summary["files"].as_u64().unwrap_or(0);
        let skipped = skipped_note(&summary);
        note(
            args,
            &format!("{} finding(s) in {files} file(s){skipped}", findings.len()),
        );
    }
    if remaining > 0 {
        Err(Error::Silent(1))
    } else {
        Ok(())
    }
}

/// The directory whose nearest `.env` holds the scanned project's values.
fn project_dir(cwd: &Path, roots: &[PathBuf]) -> PathBuf {
    let first = cwd.join(&roots[0]);
    if first.is_dir() {
        first
    } else {
        first
            .parent()
            .map_or_else(|| cwd.to_path_buf(), Path::to_path_buf)
    }
}

/// The top of the git work tree holding `dir`: the nearest ancestor with a `.git` (a
/// directory, or the file of a linked worktree). A stat per level, where asking git would
/// cost a process on every scan.
fn repository_top(dir: &Path) -> Option<PathBuf> {
    let dir = fs::canonicalize(dir).ok()?;
    dir.ancestors()
        .find(|candidate| fs::symlink_metadata(candidate.join(".git")).is_ok())
        .map(Path::to_path_buf)
}

/// The values of every `.env` of the project and every `--env-file`, and the canonical paths
/// of those files (which the walk must not report: a `.env` naturally contains its own values).
fn known_values(args: &ScanArgs, project: &Path, repository: &Path) -> (Vec<Secret>, Vec<PathBuf>) {
    let mut files: Vec<PathBuf> = discover::nearest(project).into_iter().collect();
    files.extend(project_env_files(repository));
    files.extend(args.env_files.iter().cloned());
    let mut secrets = Vec::new();
    let mut sources: Vec<PathBuf> = Vec::new();
    for file in files {
        if let Ok(canonical) = fs::canonicalize(&file)
            && sources.contains(&canonical)
        {
            continue;
        }
        read_values(&file, &mut secrets, &mut sources);
    }
    (secrets, sources)
}

/// Directories that hold other people's files (dependencies, environments, caches), not the
/// project's own `.env` files; skipped so that looking for those stays a quick walk.
const NOT_THE_PROJECTS: &[&str] = &[
    ".git",
    "node_modules",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    "__pycache__",
    ".mypy_cache",
    "site-packages",
];

/// Every `.env` and `.env.*` below `root` that may hold real values (templates and
/// `.env.recipients` hold placeholders and public keys). The walk honours `.gitignore` for
/// directories, so that a git-ignored `data/` or `target/` of a million files costs nothing,
/// but takes `.env` files whether ignored or not: the values that matter most are in the
/// git-ignored ones.
fn project_env_files(root: &Path) -> Vec<PathBuf> {
    let mut overrides = ignore::overrides::OverrideBuilder::new(root);
    for glob in [".env", ".env.*"] {
        // Cannot fail: both are valid globs.
        let _ = overrides.add(glob);
    }
    let mut walker = ignore::WalkBuilder::new(root);
    walker
        .hidden(false)
        .require_git(false)
        .max_depth(Some(16))
        .filter_entry(|entry| {
            !(entry.file_type().is_some_and(|t| t.is_dir())
                && NOT_THE_PROJECTS
                    .iter()
                    .any(|skip| entry.file_name() == *skip))
        });
    if let Ok(overrides) = overrides.build() {
        walker.overrides(overrides);
    }
    let mut found = Vec::new();
    for entry in walker.build().flatten() {
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_some_and(|t| t.is_file())
            && env_files::is_env_file(&name)
            && !env_files::is_template(&name)
        {
            found.push(entry.into_path());
        }
    }
    found.sort();
    found
}

/// Adds the values of `path` to `secrets` and its canonical path to `sources`, warning (and
/// adding no value) when it is not the user's own regular file or does not parse, and warning
/// (but adding its values) when its mode is loose.
fn read_values(path: &Path, secrets: &mut Vec<Secret>, sources: &mut Vec<PathBuf>) {
    let limit = guard::max_size();
    let opened = match guard::open(path) {
        Ok(opened) => opened,
        Err(failure) => {
            warn(&format!(
                "warning: {}; its values are not searched for",
                Refusal::from(failure)
            ));
            return;
        }
    };
    // A team's `.env.shared` is committed ciphertext, 0644 from git: only its own mode rule
    // (nobody else may write it) applies, not a `.env`'s.
    let policy = match path.file_name() {
        Some(name) if name == discover::SHARED_FILE_NAME => Policy::Shared,
        _ => Policy::ScanValues,
    };
    let overlooked = match opened.admit(path, limit, policy) {
        Ok(overlooked) => overlooked,
        Err(failure) => {
            warn(&format!(
                "warning: {}; its values are not searched for",
                Refusal::from(failure)
            ));
            if let Ok(canonical) = fs::canonicalize(path) {
                sources.push(canonical);
            }
            return;
        }
    };
    let guarded = match opened.read_unguarded(path, limit) {
        Ok(guarded) => guarded,
        Err(failure) => {
            warn(&format!(
                "warning: {}; its values are not searched for",
                Refusal::from(failure)
            ));
            return;
        }
    };
    sources.push(guarded.canonical.clone());
    for failure in overlooked {
        warn(&format!(
            "warning: {}; its values are searched for all the same, but the file itself is exposed",
            Refusal::from(failure)
        ));
    }
    match dotenv::parse(&guarded.bytes, &from_process_env) {
        Ok(bindings) => secrets.extend(
            opened_values(path, bindings)
                .into_iter()
                // Ciphertext is made to be shared; only what it decrypts to is secret.
                .filter(|b| !b.value.starts_with(decrypt::PREFIX))
                .map(|b| Secret {
                    name: b.name,
                    value: b.value,
                }),
        ),
        Err(error) => warn(&format!(
            "warning: {}; its values are not searched for",
            &loader::parse_refusal(path, &error)
        )),
    }
}

/// `bindings` of the file at `path` with a team file's values decrypted, when the user can:
/// the plaintext of `.env.shared` is what a leak would contain. One who cannot (not a
/// recipient, no identity here) still gets the scan, with one warning.
fn opened_values(path: &Path, bindings: Vec<dotenv::Binding>) -> Vec<dotenv::Binding> {
    let is_shared = path
        .file_name()
        .is_some_and(|name| name == discover::SHARED_FILE_NAME);
    if !is_shared {
        return bindings;
    }
    match decrypt::decrypt(path, bindings.clone()) {
        Ok(opened) => opened,
        Err(refusal) => {
            warn(&format!(
                "warning: {refusal}; its encrypted values are not searched for"
            ));
            bindings
        }
    }
}

/// What the pre-commit hook says when it stops a commit: that it did, where, and each fix
/// that applies to these findings.
fn explain_blocked_commit(findings: &[Finding]) {
    let mut files: Vec<&str> = Vec::new();
    for finding in findings {
        if !files.contains(&finding.path.as_str()) {
            files.push(&finding.path);
        }
    }
    let shown: Vec<String> = files.iter().map(|f| escape_text_for_display(f)).collect();
    // git sets GIT_INDEX_FILE for the hooks it runs; a manual `scan --staged` only predicts.
    let headline = if std::env::var_os("GIT_INDEX_FILE").is_some() {
        "stopped the commit"
    } else {
        "a commit of what is staged would be stopped"
    };
    let mut lines = vec![format!(
        "{headline}: {} finding(s) in {}",
        findings.len(),
        shown.join(", ")
    )];
    let notebooks: Vec<String> = files
        .iter()
        .filter(|f| walk::is_notebook(Path::new(f)))
        .filter(|f| {
            findings
                .iter()
                .any(|x| x.path == **f && x.place.as_deref().is_some_and(|p| p.contains("output")))
        })
        // Quoted so that the command pastes back as shown, control characters and all.
        .map(|f| crate::display::quote_for_display(Path::new(f)))
        .collect();
    if !notebooks.is_empty() {
        let list = notebooks.join(" ");
        lines.push(format!(
            "  secrets in notebook outputs: envguard scan --redact {list} && git add {list}"
        ));
    }
    if findings
        .iter()
        .any(|f| f.rule_id == env_files::ENV_FILE_TRACKED_ID)
    {
        lines.push(
            "  a .env file in the commit: unstage it with the `git rm --cached` shown above".into(),
        );
    }
    if findings
        .iter()
        .any(|f| f.rule_id != env_files::ENV_FILE_TRACKED_ID)
    {
        lines.push(
            "  a value in a file: remove it (read it from the environment, `envguard exec`), and rotate it if it was ever pushed"
                .into(),
        );
        lines.push("  a false alarm: add `# envguard:allow` to the end of its line".into());
    }
    lines.push("  to commit anyway, knowingly: git commit --no-verify".into());
    for line in lines {
        warn(&line);
    }
}

fn summarize(stats: &walk::Stats, max_file_size: u64) -> serde_json::Value {
    json!({
        "mode": "files",
        "files": stats.files.load(Ordering::Relaxed),
        "bytes": stats.bytes.load(Ordering::Relaxed),
        "skipped_binary": stats.binary.load(Ordering::Relaxed),
        "skipped_too_large": stats.too_large.load(Ordering::Relaxed),
        "skipped_unreadable": stats.unreadable.load(Ordering::Relaxed),
        "max_file_size": max_file_size,
    })
}

fn skipped_note(summary: &serde_json::Value) -> String {
    let count = |key: &str| summary[key].as_u64().unwrap_or(0);
    let parts: Vec<String> = [
        ("skipped_binary", "binary"),
        ("skipped_too_large", "over --max-file-size"),
        ("skipped_unreadable", "unreadable"),
    ]
    .iter()
    .filter(|(key, _)| count(key) > 0)
    .map(|(key, what)| format!("{} {what}", count(key)))
    .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("; skipped {}", parts.join(", "))
    }
}

/// Rewrites each notebook in place, atomically and keeping its owner, group and mode;
/// returns those rewritten.
fn redact(detector: &Detector, notebooks: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut rewritten = Vec::new();
    for path in notebooks {
        let shown = escape_text_for_display(&walk::display_path(path));
        let bytes = std::fs::read(path).context("read", path)?;
        match notebook::redact(detector, &bytes) {
            Ok(Some(clean)) => {
                if let Err(refused) = rewrite_keeping_owner(path, &clean)? {
                    warn(&format!("{shown}: {refused}"));
                    continue;
                }
                warn(&format!(
                    "redacted {shown}; its secrets were exposed: rotate them if it was shared or committed"
                ));
                rewritten.push(path.clone());
            }
            Ok(None) => {}
            Err(RedactError::NotANotebook) => warn(&format!(
                "{shown}: not notebook JSON, left unchanged (fix: remove the secrets by hand)"
            )),
            Err(RedactError::Survived) => warn(&format!(
                "{shown}: a secret is escaped in a way envguard cannot rewrite safely; left unchanged (fix: clear the outputs in Jupyter and remove it from the source)"
            )),
        }
    }
    Ok(rewritten)
}

/// Replaces `path` by rename, as [`atomic::write`] does, but with the replaced file's owner
/// and group as well as its mode: a rename otherwise hands the notebook to whoever ran the
/// scan (root, a colleague in a shared directory). When the owner cannot be kept (only root
/// may give a file away) the file is left as it was: the inner `Err` says why.
fn rewrite_keeping_owner(path: &Path, bytes: &[u8]) -> Result<std::result::Result<(), String>> {
    let path = atomic::target(path).context("inspect", path)?;
    let meta = fs::metadata(&path).context("inspect", &path)?;
    let mut temp = tempfile::Builder::new()
        .prefix(".envguard-")
        .suffix(".tmp")
        .tempfile_in(atomic::parent(&path))
        .context("rewrite", &path)?;
    temp.write_all(bytes).context("rewrite", &path)?;
    let made = temp.as_file().metadata().context("rewrite", &path)?;
    if (made.uid(), made.gid()) != (meta.uid(), meta.gid()) {
        let owner = Some(nix::unistd::Uid::from_raw(meta.uid()));
        let group = Some(nix::unistd::Gid::from_raw(meta.gid()));
        if let Err(errno) = nix::unistd::fchown(temp.as_file(), owner, group) {
            return Ok(Err(format!(
                "owned by uid {} gid {}, which a rewrite by you cannot keep ({}); left unchanged (fix: run the redaction as its owner)",
                meta.uid(),
                meta.gid(),
                errno.desc()
            )));
        }
    }
    // After the chown, which clears setuid and setgid bits.
    temp.as_file()
        .set_permissions(fs::Permissions::from_mode(
            meta.permissions().mode() & 0o7777,
        ))
        .context("rewrite", &path)?;
    temp.as_file().sync_all().context("rewrite", &path)?;
    temp.persist(&path)
        .map_err(|e| Error::io("rewrite", &path, e.error))?;
    fs::File::open(atomic::parent(&path))
        .and_then(|dir| dir.sync_all())
        .context("rewrite", &path)?;
    Ok(Ok(()))
}

/// What a history leak means and what to do: the one piece of advice that matters.
fn advise_rotation(findings: &[Finding]) {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for finding in findings {
        let commit = finding.commit.as_deref().unwrap_or("?");
        if finding.rule_id == env_files::ENV_FILE_TRACKED_ID {
            warn(&format!(
                "{} was committed with its values in commit {commit}",
                escape_text_for_display(&finding.path)
            ));
            continue;
        }
        let name = finding.label.split(" (").next().unwrap_or(&finding.label);
        if seen.contains(&(name, commit)) {
            continue;
        }
        seen.push((name, commit));
        warn(&format!(
            "{name} leaked in commit {commit} ({})",
            escape_text_for_display(&finding.path)
        ));
    }
    if !findings.is_empty() {
        warn(
            "rotate these credentials now: anyone with a clone has them, and rewriting history does not unleak them",
        );
    }
}

fn note(args: &ScanArgs, message: &str) {
    if args.format == ScanFormat::Text || args.write_baseline.is_some() {
        warn(message);
    }
}

fn warn(message: &str) {
    let _ = writeln!(io::stderr().lock(), "envguard: {message}");
}
