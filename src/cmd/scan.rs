//! `envguard scan`: find leaked secrets in files, notebooks, the index or history.
//!
//! Known values come from the nearest `.env` and any `--env-file`, read through the loader's
//! guard and parser but without the trust gate: trust decides whether a file may put values
//! into an environment, and scanning exports nothing. A file the guard or parser refuses is
//! reported as a warning with its fix, and the scan goes on with token shapes and the other
//! files, so a broken `.env` never silently turns the pre-commit hook into a no-op.

use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use serde_json::json;

use crate::atomic;
use crate::cli::{ScanArgs, ScanFormat};
use crate::discover;
use crate::error::{Error, IoContext, Result};
use crate::loader::{self, from_process_env};
use crate::scan::known::{KnownValues, Secret};
use crate::scan::notebook::{self, RedactError};
use crate::scan::walk::{self, Options};
use crate::scan::{Detector, Finding, baseline, git, report};

pub fn run(args: &ScanArgs) -> Result<()> {
    let cwd = discover::working_dir()?;
    let roots: Vec<PathBuf> = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let (secrets, sources) = known_values(args, &project_dir(&cwd, &roots))?;
    let known = KnownValues::new(secrets);
    let detector = if args.history {
        if known.is_empty() {
            warn(
                "no known values to look for in history (fix: create the project's .env or pass --env-file)",
            );
        }
        Detector::known_only(known)
    } else {
        Detector::new(known)
    };

    let (mut findings, summary, notebooks) = if args.staged {
        (
            git::staged(&detector, &cwd, args.max_file_size)?,
            json!({ "mode": "staged" }),
            Vec::new(),
        )
    } else if args.history {
        (
            git::history(&detector, &cwd, args.max_file_size)?,
            json!({ "mode": "history" }),
            Vec::new(),
        )
    } else {
        for root in &roots {
            std::fs::symlink_metadata(root).context("scan", root)?;
        }
        let options = Options {
            include_ignored: args.all,
            max_file_size: args.max_file_size,
            exclude: sources,
        };
        let outcome = walk::scan(&detector, &roots, &options);
        let summary = summarize(&outcome.stats, args.max_file_size);
        (outcome.findings, summary, outcome.notebooks)
    };

    if let Some(path) = &args.baseline {
        let accepted = baseline::Baseline::read(path)?;
        findings.retain(|finding| !accepted.accepts(finding));
    }
    let stdout = io::stdout();
    let mut out = stdout.lock();
    report::write(&mut out, args.format, &findings, summary.clone())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("write", "standard output", e))?;
    drop(out);

    if let Some(path) = &args.write_baseline {
        baseline::write(path, &findings)?;
        note(
            args,
            &format!(
                "recorded {} finding(s) in {}; later scans with --baseline ignore them",
                findings.len(),
                path.display()
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

/// The values of the nearest `.env` and every `--env-file`, and their canonical paths (which
/// the walk must not report: a `.env` naturally contains its own values).
fn known_values(args: &ScanArgs, project: &Path) -> Result<(Vec<Secret>, Vec<PathBuf>)> {
    let mut files: Vec<PathBuf> = discover::nearest(project).into_iter().collect();
    files.extend(args.env_files.iter().cloned());
    let mut secrets = Vec::new();
    let mut sources = Vec::new();
    for file in files {
        match loader::check(&file, &from_process_env) {
            Ok(checked) => {
                sources.push(checked.canonical);
                secrets.extend(checked.bindings.into_iter().map(|b| Secret {
                    name: b.name,
                    value: b.value,
                }));
            }
            Err(refusal) => {
                warn(&format!(
                    "warning: {refusal}; its values are not searched for"
                ));
                if let Ok(canonical) = std::fs::canonicalize(&file) {
                    sources.push(canonical);
                }
            }
        }
    }
    Ok((secrets, sources))
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

/// Rewrites each notebook in place, atomically and keeping its mode; returns those rewritten.
fn redact(detector: &Detector, notebooks: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut rewritten = Vec::new();
    for path in notebooks {
        let bytes = std::fs::read(path).context("read", path)?;
        match notebook::redact(detector, &bytes) {
            Ok(Some(clean)) => {
                let mode = std::fs::metadata(path)
                    .context("inspect", path)?
                    .permissions()
                    .mode()
                    & 0o7777;
                atomic::write(path, &clean, mode).context("rewrite", path)?;
                warn(&format!(
                    "redacted {}; its secrets were exposed: rotate them if it was shared or committed",
                    walk::display_path(path)
                ));
                rewritten.push(path.clone());
            }
            Ok(None) => {}
            Err(RedactError::NotANotebook) => warn(&format!(
                "{}: not notebook JSON, left unchanged (fix: remove the secrets by hand)",
                walk::display_path(path)
            )),
            Err(RedactError::Survived) => warn(&format!(
                "{}: a secret is escaped in a way envguard cannot rewrite safely; left unchanged (fix: clear the outputs in Jupyter and remove it from the source)",
                walk::display_path(path)
            )),
        }
    }
    Ok(rewritten)
}

/// What a history leak means and what to do: the one piece of advice that matters.
fn advise_rotation(findings: &[Finding]) {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for finding in findings {
        let commit = finding.commit.as_deref().unwrap_or("?");
        let name = finding.label.split(" (").next().unwrap_or(&finding.label);
        if seen.contains(&(name, commit)) {
            continue;
        }
        seen.push((name, commit));
        warn(&format!(
            "{name} leaked in commit {commit} ({})",
            finding.path
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
