//! Git: what is staged for commit, and everything ever committed.
//!
//! Both run the real `git` binary, reading its output through pipes; nothing secret is ever
//! put on a command line. `--staged` reads exactly the index (the pre-commit hook's view, and
//! `GIT_INDEX_FILE` is honoured), counting added lines only. `--history` lists every object
//! reachable from any ref once (`rev-list --objects --all`) and streams their contents through
//! one `cat-file --batch`, so each unique blob is scanned once however many commits share it;
//! an object over the size limit is skipped by the size its header announces, never read
//! into memory (one 2 GB asset in history must not cost 2 GB); only leaking blobs cost a
//! further `git log --find-object` to name the commit. Both modes, and the plain scan, report
//! every `.env` git holds with values (see [`super::env_files`]).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use super::env_files::{self, ENV_FILE_TRACKED_ID};
use super::progress::{Counters, Progress};
use super::{Detector, Finding, notebook, walk};
use crate::display::escape_text_for_display;
use crate::error::{Error, Result};

/// Findings in what is staged for commit in the repository containing `dir`.
pub fn staged(detector: &Detector, dir: &Path, max_file_size: u64) -> Result<Vec<Finding>> {
    let mut findings = tracked_env_files(detector, dir, &[":(top)"], true)?;
    let diff = run(
        dir,
        &[
            "-c",
            "core.quotepath=off",
            "diff",
            "--cached",
            "-U0",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--no-renames",
            "--diff-filter=ACMRT",
        ],
    )?;
    let mut hits = Vec::new();
    for file in added_lines(&diff) {
        if env_files::is_env_file(&file.path) {
            continue; // reported as a whole above, if it has values
        }
        if walk::is_notebook(Path::new(&file.path))
            && let Some(cells) = staged_notebook(detector, dir, &file.path, max_file_size)?
        {
            findings.extend(cells);
            continue;
        }
        if file.text.len() as u64 > max_file_size || walk::is_binary(&file.text) {
            continue;
        }
        detector.find(&file.text, &mut hits);
        for mut finding in detector.findings(&file.path, None, &file.text, &hits) {
            finding.line = file
                .lines
                .get(finding.line - 1)
                .copied()
                .unwrap_or(finding.line);
            findings.push(finding);
        }
    }
    Ok(findings)
}

/// The findings of a staged notebook by cell, minus the secrets its committed version already
/// held: a notebook's "added lines" are JSON, and its author thinks in cells. `None` when
/// the staged file is not notebook JSON, to be scanned as text instead.
fn staged_notebook(
    detector: &Detector,
    dir: &Path,
    path: &str,
    max_file_size: u64,
) -> Result<Option<Vec<Finding>>> {
    let staged = run(dir, &["cat-file", "blob", &format!(":{path}")])?;
    if staged.len() as u64 > max_file_size {
        return Ok(Some(Vec::new()));
    }
    let mut findings = Vec::new();
    if notebook::scan(detector, path, &staged, &mut findings).is_err() {
        return Ok(None);
    }
    if findings.is_empty() {
        return Ok(Some(findings));
    }
    let mut committed = Vec::new();
    // Absent from HEAD (a new notebook, or no commit yet): everything in it is added.
    if let Ok(head) = run(dir, &["cat-file", "blob", &format!("HEAD:{path}")]) {
        let _ = notebook::scan(detector, path, &head, &mut committed);
    }
    findings.retain(|finding| {
        !committed
            .iter()
            .any(|old| old.fingerprint == finding.fingerprint)
    });
    Ok(Some(findings))
}

/// The `.env` files in the index (committed or staged) under each of `roots` that leak, as
/// findings. Paths are relative to the top of the work tree with `full_name` (as the staged
/// diff names them), else to `dir`. Outside a repository there is nothing to report.
pub fn tracked_env_files(
    detector: &Detector,
    dir: &Path,
    roots: &[&str],
    full_name: bool,
) -> Result<Vec<Finding>> {
    let mut args = vec!["ls-files", "-z", "-s"];
    if full_name {
        args.push("--full-name");
    }
    args.push("--");
    let specs: Vec<String> = roots
        .iter()
        .flat_map(|root| {
            let base = match root.trim_end_matches('/') {
                ":(top)" => ":(top,glob)".to_string(),
                "" | "." => ":(glob)".to_string(),
                root => format!(":(glob){root}/"),
            };
            [format!("{base}**/.env"), format!("{base}**/.env.*")]
        })
        .collect();
    args.extend(specs.iter().map(String::as_str));
    let Ok(listed) = run(dir, &args) else {
        return Ok(Vec::new()); // not a repository
    };
    let mut entries: Vec<(String, String)> = Vec::new();
    for entry in listed.split(|&b| b == 0).filter(|e| !e.is_empty()) {
        // `<mode> <object> <stage>\t<path>`
        let Some(tab) = entry.iter().position(|&b| b == b'\t') else {
            continue;
        };
        let path = String::from_utf8_lossy(&entry[tab + 1..]).into_owned();
        let object = String::from_utf8_lossy(&entry[..tab])
            .split(' ')
            .nth(1)
            .unwrap_or_default()
            .to_string();
        if env_files::is_env_file(&path) && !entries.iter().any(|(p, _)| *p == path) {
            entries.push((path, object));
        }
    }
    let objects: Vec<&str> = entries.iter().map(|(_, o)| o.as_str()).collect();
    let contents = read_blobs(dir, &objects, crate::load::guard::max_size())?;
    let mut findings = Vec::new();
    for ((path, _), content) in entries.iter().zip(contents) {
        let why = match content {
            Some(bytes) => env_files::leak(path, &bytes),
            None if env_files::is_template(path) => None,
            None => Some("a .env file too large to read".into()),
        };
        if let Some(why) = why {
            findings.push(env_file_finding(detector, path, &why));
        }
    }
    Ok(findings)
}

/// The finding for a `.env` git holds: what is in it, and how to take it out.
fn env_file_finding(detector: &Detector, path: &str, why: &str) -> Finding {
    Finding {
        path: path.to_string(),
        place: None,
        line: 1,
        column: 1,
        rule_id: ENV_FILE_TRACKED_ID,
        label: ".env file in git".into(),
        hint: format!(
            "{why}; untrack it: git rm --cached {}, and rotate its values if it was pushed",
            shown_argument(path)
        ),
        fingerprint: detector
            .fingerprints
            .fingerprint(ENV_FILE_TRACKED_ID, path, b""),
        commit: None,
    }
}

/// `path` as a shell argument, or escaped for display when no terminal line can show it.
fn shown_argument(path: &str) -> String {
    let quoted = crate::display::quote_for_display(Path::new(path));
    if quoted.chars().any(char::is_control) {
        escape_text_for_display(path)
    } else {
        quoted
    }
}

/// The contents of `objects` through one `cat-file --batch`; `None` for an object larger
/// than `limit` (skipped unread) or missing.
fn read_blobs(dir: &Path, objects: &[&str], limit: u64) -> Result<Vec<Option<Vec<u8>>>> {
    if objects.is_empty() {
        return Ok(Vec::new());
    }
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| Error::Failed(format!("cannot run git: {e} (fix: install git)")))?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| git_failed("cat-file", b""))?;
    let request: String = objects.iter().map(|o| format!("{o}\n")).collect();
    // Written from a thread so that git, blocked on a full output pipe, cannot deadlock us.
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(request.as_bytes());
    });
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| git_failed("cat-file", b""))?;
    let mut reader = BufReader::new(stdout);
    let mut out = Vec::with_capacity(objects.len());
    let mut header = String::new();
    for _ in objects {
        header.clear();
        if reader
            .read_line(&mut header)
            .map_err(|e| git_io("cat-file", e))?
            == 0
        {
            break;
        }
        let size = header
            .split(' ')
            .nth(2)
            .and_then(|s| s.trim_end().parse::<u64>().ok());
        let Some(size) = size else {
            out.push(None); // missing
            continue;
        };
        if size > limit {
            skip(&mut reader, size + 1)?;
            out.push(None);
            continue;
        }
        let mut content = Vec::new();
        (&mut reader)
            .take(size + 1)
            .read_to_end(&mut content)
            .map_err(|e| git_io("cat-file", e))?;
        content.truncate(size as usize);
        out.push(Some(content));
    }
    let _ = writer.join();
    let _ = child.wait();
    out.resize_with(objects.len(), || None);
    Ok(out)
}

/// Reads past `bytes` bytes of git's output without keeping them.
fn skip(reader: &mut impl Read, bytes: u64) -> Result<()> {
    std::io::copy(&mut reader.take(bytes), &mut std::io::sink())
        .map(drop)
        .map_err(|e| git_io("cat-file", e))
}

/// The added lines of one file in a diff, and the line number each has in the new file.
struct Added {
    path: String,
    text: Vec<u8>,
    lines: Vec<usize>,
}

fn added_lines(diff: &[u8]) -> Vec<Added> {
    let mut files: Vec<Added> = Vec::new();
    let mut next_line = 0;
    let mut in_hunk = false;
    for line in diff.split(|&b| b == b'\n') {
        if line.starts_with(b"diff --git ") {
            in_hunk = false;
        } else if !in_hunk && let Some(path) = line.strip_prefix(b"+++ ") {
            let path = unquote(path);
            let path = path.strip_prefix("b/").unwrap_or(&path).to_string();
            files.push(Added {
                path,
                text: Vec::new(),
                lines: Vec::new(),
            });
        } else if line.starts_with(b"@@ ") {
            in_hunk = true;
            next_line = hunk_new_start(line).unwrap_or(1);
        } else if in_hunk && let Some(added) = line.strip_prefix(b"+") {
            if let Some(file) = files.last_mut() {
                file.text.extend_from_slice(added);
                file.text.push(b'\n');
                file.lines.push(next_line);
            }
            next_line += 1;
        }
    }
    files
}

/// `c` of `@@ -a,b +c,d @@`.
fn hunk_new_start(header: &[u8]) -> Option<usize> {
    let header = std::str::from_utf8(header).ok()?;
    let plus = header.split(' ').find(|part| part.starts_with('+'))?;
    plus[1..].split(',').next()?.parse().ok()
}

/// A path as git prints it: bare, or C-quoted when it has unusual characters.
fn unquote(raw: &[u8]) -> String {
    let Some(inner) = raw.strip_prefix(b"\"").and_then(|r| r.strip_suffix(b"\"")) else {
        return String::from_utf8_lossy(raw).into_owned();
    };
    let mut out = Vec::with_capacity(inner.len());
    let mut bytes = inner.iter().copied();
    while let Some(byte) = bytes.next() {
        if byte != b'\\' {
            out.push(byte);
            continue;
        }
        match bytes.next() {
            Some(b'n') => out.push(b'\n'),
            Some(b't') => out.push(b'\t'),
            Some(digit @ b'0'..=b'7') => {
                let mut value = u32::from(digit - b'0');
                for _ in 0..2 {
                    if let Some(d) = bytes.next() {
                        value = value * 8 + u32::from(d.wrapping_sub(b'0') & 7);
                    }
                }
                out.push(value as u8);
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A known value found in history: the finding, and the object it is in.
pub struct Leak {
    pub finding: Finding,
    pub object: String,
}

/// What a history scan found, and how many objects it skipped unread for their size.
pub struct History {
    pub findings: Vec<Finding>,
    pub too_large: u64,
}

/// Every known value and token shape in any object reachable from any ref, and every `.env`
/// ever committed with values, each unique object scanned once. An object over
/// `max_file_size` is skipped by the size git announces, never read into memory.
pub fn history(
    detector: &Detector,
    dir: &Path,
    max_file_size: u64,
    progress: Progress,
) -> Result<History> {
    let mut rev_list = spawn(dir, &["rev-list", "--objects", "--all"], Stdio::null())?;
    let listed = rev_list
        .stdout
        .take()
        .ok_or_else(|| git_failed("rev-list", b""))?;
    let mut cat_file = spawn(
        dir,
        &[
            "cat-file",
            "--batch=%(objectname) %(objecttype) %(objectsize) %(rest)",
        ],
        Stdio::from(listed),
    )?;
    let stdout = cat_file
        .stdout
        .take()
        .ok_or_else(|| git_failed("cat-file", b""))?;
    let reader = BufReader::with_capacity(1 << 20, stdout);
    let (objects, bytes, total) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
    let counters = Counters {
        unit: "objects",
        done: &objects,
        bytes: &bytes,
        total: &total,
    };
    let scanned = std::thread::scope(|scope| {
        if progress.is_shown() {
            // The bar's end, counted beside the scan by a second listing: only worth its
            // cost when someone watches.
            scope.spawn(|| {
                if let Some(count) = count_objects(dir) {
                    total.store(count, Ordering::Relaxed);
                }
            });
        }
        progress.run(&counters, || {
            scan_objects(detector, reader, max_file_size, &objects, &bytes)
        })
    });
    let status = cat_file.wait().map_err(|e| git_io("cat-file", e))?;
    let listed_ok = rev_list.wait().map_err(|e| git_io("rev-list", e))?;
    let (leaks, too_large) = scanned?;
    if !status.success() || !listed_ok.success() {
        return Err(git_failed(
            "rev-list --objects --all",
            b"is this a git repository with commits?",
        ));
    }
    Ok(History {
        findings: leaks_with_commits(dir, leaks)?,
        too_large,
    })
}

/// How many objects `rev-list --objects --all` lists, or `None` if git cannot say.
fn count_objects(dir: &Path) -> Option<u64> {
    let out = run(dir, &["rev-list", "--count", "--objects", "--all"]).ok()?;
    String::from_utf8_lossy(&out).trim().parse().ok()
}

/// The leaks in `cat-file --batch` output, and how many objects were skipped for their size;
/// `objects` and `bytes` count what was read, for the progress bar.
fn scan_objects(
    detector: &Detector,
    mut reader: impl BufRead,
    max_file_size: u64,
    objects: &AtomicU64,
    bytes: &AtomicU64,
) -> Result<(Vec<Leak>, u64)> {
    let mut leaks = Vec::new();
    let mut too_large = 0;
    let mut header = String::new();
    let mut content = Vec::new();
    let mut hits = Vec::new();
    loop {
        header.clear();
        if reader
            .read_line(&mut header)
            .map_err(|e| git_io("cat-file", e))?
            == 0
        {
            break;
        }
        objects.fetch_add(1, Ordering::Relaxed);
        let mut fields = header.trim_end_matches('\n').splitn(4, ' ');
        let (Some(object), Some(kind), Some(size)) = (fields.next(), fields.next(), fields.next())
        else {
            continue; // "<id> missing": nothing follows it.
        };
        let path = fields.next().unwrap_or_default();
        let size: u64 = size
            .parse()
            .map_err(|_| git_failed("cat-file", b"unexpected header"))?;
        // The content and its trailing newline.
        if !matches!(kind, "commit" | "blob") {
            skip(&mut reader, size + 1)?;
            continue;
        }
        if size > max_file_size {
            too_large += 1;
            skip(&mut reader, size + 1)?;
            continue;
        }
        content.clear();
        (&mut reader)
            .take(size + 1)
            .read_to_end(&mut content)
            .map_err(|e| git_io("cat-file", e))?;
        content.truncate(size as usize);
        bytes.fetch_add(size, Ordering::Relaxed);
        if kind == "blob" && env_files::is_env_file(path) {
            if let Some(why) = env_files::leak(path, &content) {
                leaks.push(Leak {
                    finding: env_file_finding(detector, path, &why),
                    object: object.to_string(),
                });
            }
            // Its values are where they belong in a .env; the finding above is the leak.
            continue;
        }
        if kind == "blob" && walk::is_binary(&content) {
            continue;
        }
        detector.find(&content, &mut hits);
        let shown = if kind == "commit" {
            "(commit message)"
        } else {
            path
        };
        for finding in detector.findings(shown, None, &content, &hits) {
            leaks.push(Leak {
                finding,
                object: object.to_string(),
            });
        }
    }
    Ok((leaks, too_large))
}

/// Names the first commit that introduced each leaking object.
fn leaks_with_commits(dir: &Path, leaks: Vec<Leak>) -> Result<Vec<Finding>> {
    let mut first_commit: std::collections::HashMap<String, String> =
        std::collections::HashMap::new();
    let mut findings = Vec::with_capacity(leaks.len());
    for Leak {
        mut finding,
        object,
    } in leaks
    {
        let commit = if finding.path == "(commit message)" {
            short(dir, &object)?
        } else if let Some(commit) = first_commit.get(&object) {
            commit.clone()
        } else {
            let log = run(
                dir,
                &[
                    "log",
                    "--all",
                    "--reverse",
                    "--format=%h",
                    &format!("--find-object={object}"),
                ],
            )?;
            let commit = String::from_utf8_lossy(&log)
                .lines()
                .next()
                .unwrap_or("?")
                .to_string();
            first_commit.insert(object.clone(), commit.clone());
            commit
        };
        finding.commit = Some(commit);
        findings.push(finding);
    }
    Ok(findings)
}

fn short(dir: &Path, object: &str) -> Result<String> {
    let out = run(dir, &["rev-parse", "--short", object])?;
    Ok(String::from_utf8_lossy(&out).trim().to_string())
}

fn spawn(dir: &Path, args: &[&str], stdin: Stdio) -> Result<std::process::Child> {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| Error::Failed(format!("cannot run git: {e} (fix: install git)")))
}

/// Runs git to completion and returns its stdout, or its own error message.
pub fn run(dir: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Failed(format!("cannot run git: {e} (fix: install git)")))?;
    if !output.status.success() {
        return Err(git_failed(
            args.first().copied().unwrap_or("git"),
            &output.stderr,
        ));
    }
    Ok(output.stdout)
}

fn git_failed(what: &str, stderr: &[u8]) -> Error {
    let message = String::from_utf8_lossy(stderr);
    let first = message
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("fatal: ");
    Error::Failed(format!("git {what} failed: {first}"))
}

fn git_io(what: &str, error: std::io::Error) -> Error {
    Error::Failed(format!("reading from git {what} failed: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_lines_keep_their_new_line_numbers() {
        let diff = b"diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -3,0 +4,2 @@ ctx\n+one\n+two\n@@ -9 +11 @@\n-old\n+new\n";
        let files = added_lines(diff);
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].path, "a.py");
        assert_eq!(files[0].text, b"one\ntwo\nnew\n");
        assert_eq!(files[0].lines, [4, 5, 11]);
    }

    #[test]
    fn quoted_paths_are_unquoted() {
        assert_eq!(unquote(b"\"sp ace\\\\\\303\\251.py\""), "sp ace\\é.py");
    }
}
