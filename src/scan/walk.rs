//! Which files a directory scan reads, and reading them cheaply on every core.
//!
//! ripgrep's walker (`ignore`) applies `.gitignore` the way git does, so by default the scan
//! sees what could be committed; `--all` drops the ignore rules. Hidden files are scanned
//! (`.github/`, `.env.production` are where secrets hide); `.git/` is not, since history has
//! its own scan. Each worker thread reuses one read buffer and one hit list.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use ignore::{WalkBuilder, WalkState};

use super::progress::{Counters, Progress};
use super::{Detector, Finding, Hit, notebook};

/// How many leading bytes decide whether a file is binary (git looks at the same amount).
const BINARY_PROBE: usize = 8000;

pub struct Options {
    pub include_ignored: bool,
    pub max_file_size: u64,
    /// Files never reported: the `.env` files the known values came from.
    pub exclude: Vec<PathBuf>,
    pub progress: Progress,
}

#[derive(Default)]
pub struct Stats {
    pub files: AtomicU64,
    pub bytes: AtomicU64,
    pub binary: AtomicU64,
    pub too_large: AtomicU64,
    pub unreadable: AtomicU64,
}

pub struct Outcome {
    pub findings: Vec<Finding>,
    /// Notebooks with at least one finding, for `--redact`.
    pub notebooks: Vec<PathBuf>,
    pub stats: Stats,
}

pub fn scan(detector: &Detector, roots: &[PathBuf], options: &Options) -> Outcome {
    let mut builder = WalkBuilder::new(&roots[0]);
    for root in &roots[1..] {
        builder.add(root);
    }
    let respect = !options.include_ignored;
    builder
        .hidden(false)
        .git_ignore(respect)
        .git_exclude(respect)
        .git_global(respect)
        .ignore(respect)
        .parents(respect)
        .require_git(false)
        .filter_entry(|entry| entry.file_name() != ".git");

    let stats = Stats::default();
    let findings = Mutex::new(Vec::new());
    let notebooks = Mutex::new(Vec::new());
    let (stats_ref, findings_ref, notebooks_ref) = (&stats, &findings, &notebooks);
    let no_total = AtomicU64::new(0);
    let counters = Counters {
        unit: "files",
        done: &stats.files,
        bytes: &stats.bytes,
        total: &no_total,
    };
    // No total: counting the files first would cost a second walk.
    options.progress.run(&counters, || {
        builder.build_parallel().run(|| {
            let mut buffer = Vec::new();
            let mut hits = Vec::new();
            Box::new(move |entry| {
                let (stats, findings, notebooks) = (stats_ref, findings_ref, notebooks_ref);
                let Ok(entry) = entry else {
                    stats.unreadable.fetch_add(1, Ordering::Relaxed);
                    return WalkState::Continue;
                };
                if !entry.file_type().is_some_and(|t| t.is_file())
                    || is_excluded(entry.path(), options)
                {
                    return WalkState::Continue;
                }
                let mut found = Vec::new();
                scan_file(
                    detector,
                    entry.path(),
                    options,
                    stats,
                    &mut buffer,
                    &mut hits,
                    &mut found,
                );
                if !found.is_empty() {
                    if is_notebook(entry.path()) {
                        lock(notebooks).push(entry.path().to_path_buf());
                    }
                    lock(findings).append(&mut found);
                }
                WalkState::Continue
            })
        })
    });
    let mut findings = findings.into_inner().unwrap_or_else(|e| e.into_inner());
    // Stable: one file's findings arrive together and already in order.
    findings.sort_by(|a, b| a.path.cmp(&b.path));
    let mut notebooks = notebooks.into_inner().unwrap_or_else(|e| e.into_inner());
    notebooks.sort();
    Outcome {
        findings,
        notebooks,
        stats,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Resolving a path costs a system call per component, so only a file named like an excluded
/// one is resolved.
fn is_excluded(path: &Path, options: &Options) -> bool {
    options
        .exclude
        .iter()
        .any(|excluded| excluded.file_name() == path.file_name())
        && std::fs::canonicalize(path).is_ok_and(|canonical| options.exclude.contains(&canonical))
}

pub fn is_notebook(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "ipynb")
}

/// The path as the user will want to read it: `src/app.py`, not `./src/app.py`.
pub fn display_path(path: &Path) -> String {
    let shown = path.strip_prefix(".").unwrap_or(path);
    shown.to_string_lossy().into_owned()
}

fn scan_file(
    detector: &Detector,
    path: &Path,
    options: &Options,
    stats: &Stats,
    buffer: &mut Vec<u8>,
    hits: &mut Vec<Hit>,
    found: &mut Vec<Finding>,
) {
    let Ok(mut file) = File::open(path) else {
        stats.unreadable.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let size = file.metadata().map_or(0, |m| m.len());
    if size > options.max_file_size {
        stats.too_large.fetch_add(1, Ordering::Relaxed);
        return;
    }
    buffer.clear();
    // `take` keeps a file that grows while being read from exceeding the limit.
    if file
        .by_ref()
        .take(options.max_file_size + 1)
        .read_to_end(buffer)
        .is_err()
    {
        stats.unreadable.fetch_add(1, Ordering::Relaxed);
        return;
    }
    if buffer.len() as u64 > options.max_file_size {
        stats.too_large.fetch_add(1, Ordering::Relaxed);
        return;
    }
    if is_binary(buffer) {
        stats.binary.fetch_add(1, Ordering::Relaxed);
        return;
    }
    stats.files.fetch_add(1, Ordering::Relaxed);
    stats
        .bytes
        .fetch_add(buffer.len() as u64, Ordering::Relaxed);
    let shown = display_path(path);
    if is_notebook(path) {
        // Parsing is the costly part, and is skipped when the raw JSON shows nothing and
        // cannot be hiding anything (see `notebook::raw_shows_nothing`).
        let nothing_to_find = notebook::raw_shows_nothing(detector, buffer, hits);
        if nothing_to_find || notebook::scan(detector, &shown, buffer, found).is_ok() {
            return;
        }
    }
    scan_text(detector, &shown, buffer, hits, found);
}

/// Findings of a plain text buffer.
pub fn scan_text(
    detector: &Detector,
    shown: &str,
    text: &[u8],
    hits: &mut Vec<Hit>,
    found: &mut Vec<Finding>,
) {
    detector.find(text, hits);
    found.extend(detector.findings(shown, None, text, hits));
}

pub fn is_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(BINARY_PROBE)].contains(&0)
}
