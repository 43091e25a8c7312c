//! Rewriting a `.env` the way a careful person would by hand: change one binding, keep every
//! other byte (comments, blank lines, quoting style, `export`, line endings) as it was.
//!
//! `set`, `unset`, `edit` and `init` all write `.env` files through an [`Update`], which holds
//! the directory lock from the read to the write (two terminals running `envguard set` at once
//! both land), refuses to rewrite a file it cannot parse (it would have to guess what the
//! user meant), writes through [`atomic::write`] with mode 0600 (a team's `.env.shared` keeps
//! its mode and group: it is committed ciphertext, and git checked it out 0644 or 0664 for
//! the team), and re-allows the result.
//!
//! This is also the one place that renders a value in `.env` syntax ([`render`]): quoted so
//! that, in envguard's parser and in python-dotenv alike, everything but the quote and the
//! backslash is literal, newlines included. Every rendering is
//! parsed back before it is written; a value the parser would not return exactly is refused
//! rather than silently stored as something else.

use std::fs;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::atomic;
use crate::error::{Error, IoContext, Refusal, Result};
use crate::load::dotenv::{self, Occurrence};
use crate::load::guard::{self, Policy, Problem};
use crate::load::loader::{self, Checked, from_process_env};
use crate::load::names;
use crate::load::trust::{self, Trust, TrustStore};

/// The mode every `.env` envguard writes gets.
pub const MODE: u32 = 0o600;

/// Temp files of [`atomic::write`] older than this are leftovers of a killed writer: a live
/// write renames its temp file within milliseconds.
const STALE_TEMP_AGE: Duration = Duration::from_secs(10);

/// `value` as a `.env` value that reads back exactly, or why it cannot be written.
///
/// Single quotes, where only `\\` and `\'` are escapes. A carriage return cannot be written
/// literally (python reads files with universal newlines, so it would come back as `\n`):
/// such values are double-quoted, where `\r` is an escape.
pub fn render(value: &str) -> Result<String, &'static str> {
    if value.contains('\0') {
        return Err("it contains a NUL character, which no environment variable can hold");
    }
    let quote = if value.contains('\r') { '"' } else { '\'' };
    let mut out = String::with_capacity(value.len() + 2);
    out.push(quote);
    for c in value.chars() {
        match c {
            '\r' => out.push_str("\\r"),
            '\\' => out.push_str("\\\\"),
            _ if c == quote => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out.push(quote);
    Ok(out)
}

/// Whether a name may be written by `set` (and so be loaded afterwards), with the reason if not.
pub fn check_name(name: &str) -> Result<()> {
    if !names::is_valid(name) {
        return Err(Error::Usage(format!(
            "{name:?} is not a variable name (letters, digits and _, not starting with a digit)"
        )));
    }
    // The loader's reason for a name no file may set, so `set` and a load say the same.
    if let Some(why) = names::refusal(name, names::Destination::Program) {
        return Err(Error::Usage(format!(
            "{name} {why}, so a .env may not set it"
        )));
    }
    Ok(())
}

/// An open read-modify-write cycle on one `.env`, holding its directory's lock until dropped
/// or committed.
pub struct Update {
    /// The path as the user knows it (what messages show).
    pub path: PathBuf,
    /// The regular file that is rewritten: a symlinked `.env` is written through, not replaced.
    target: PathBuf,
    original: Option<Vec<u8>>,
    contents: Vec<u8>,
    /// The mode, and the group to restore, that the rewrite leaves the file with.
    keeps: Keeps,
    _lock: atomic::Lock,
}

/// What a rewrite keeps of the file it replaces.
pub(crate) struct Keeps {
    mode: u32,
    group: Option<u32>,
}

impl Keeps {
    /// 0600 for a `.env`, whatever it had (a secret is private to its owner; the loader would
    /// refuse anything looser). A `.env.shared` holds only ciphertext, and `.env.recipients`
    /// only public keys; both reach each teammate through git, which recreates them with its
    /// own mode anyway: rewriting them 0600 would only show as a mode change in `git status`
    /// and break a 0664 private-group checkout's symmetry with every other file, so their
    /// mode and group stay as they were.
    pub(crate) fn of(target: &Path) -> Self {
        use std::os::unix::fs::MetadataExt;
        let committed = target.file_name().is_some_and(|name| {
            name == crate::load::discover::SHARED_FILE_NAME
                || name == crate::load::discover::RECIPIENTS_FILE_NAME
        });
        if !committed {
            return Keeps {
                mode: MODE,
                group: None,
            };
        }
        match fs::metadata(target) {
            Ok(meta) => Keeps {
                mode: meta.mode() & 0o7777,
                group: Some(meta.gid()),
            },
            Err(_) => Keeps {
                mode: SHARED_MODE,
                group: None,
            },
        }
    }
}

impl Keeps {
    /// Writes `bytes` to `target` atomically with the kept mode, and group where one is kept
    /// (a new file would have the writer's, or a setgid directory's; its owner may always give
    /// it a group they are in).
    pub(crate) fn write(&self, target: &Path, bytes: &[u8]) -> std::io::Result<()> {
        match self.group {
            Some(group) => atomic::write_with_group(target, bytes, self.mode, group),
            None => atomic::write(target, bytes, self.mode),
        }
    }
}

/// The mode of a new `.env.shared`: committed ciphertext, readable by the team.
pub const SHARED_MODE: u32 = 0o644;

/// Whether [`Update::commit`] may allow the new contents.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Reallow {
    /// Only if the file was allowed (or did not exist) before: `set` in a freshly cloned
    /// project must not silently approve the rest of a file nobody has reviewed.
    IfAllowedBefore,
    /// The user has just reviewed the whole file (`edit`, `init --force`).
    Always,
}

/// What [`Update::commit`] did.
pub enum Committed {
    /// Nothing changed, nothing was written.
    Unchanged,
    /// Written and allowed.
    Allowed(Checked),
    /// Written; left unallowed because it was not allowed before.
    LeftUnallowed,
    /// Written, but the loader refuses it (e.g. a reserved name elsewhere in the file).
    Refused(Refusal),
}

impl Update {
    /// Locks the directory of `path`'s file and reads it (a missing file reads as empty).
    /// Refuses a file that is not a regular file of ours, or that does not parse.
    pub fn begin(path: &Path) -> Result<Self> {
        let update = Self::begin_unparsed(path)?;
        if let Some(bytes) = &update.original {
            dotenv::parse(bytes, &|_| None).map_err(|e| loader::parse_refusal(path, &e))?;
        }
        Ok(update)
    }

    /// [`Update::begin`] for a file that may not parse: `edit` replaces it whole.
    pub fn begin_unparsed(path: &Path) -> Result<Self> {
        let target = write_target(path)?;
        let lock = lock_dir(atomic::parent(&target))?;
        let original = read_existing(path, &target)?;
        let contents = original.clone().unwrap_or_default();
        let keeps = Keeps::of(&target);
        Ok(Update {
            path: path.to_path_buf(),
            target,
            original,
            contents,
            keeps,
            _lock: lock,
        })
    }

    pub fn existed(&self) -> bool {
        self.original.is_some()
    }

    pub fn contents(&self) -> &[u8] {
        &self.contents
    }

    /// Whether the file changed on disk since [`Update::begin`] read it, by someone not using
    /// the lock (an editor, `echo >> .env`).
    pub fn changed_on_disk(&self) -> Result<bool> {
        Ok(read_existing(&self.path, &self.target)? != self.original)
    }

    /// Replaces the whole contents (what `edit` does).
    pub fn replace(&mut self, contents: Vec<u8>) {
        self.contents = contents;
    }

    /// Sets `name` to `value`: the last assignment of `name` keeps its place (and its
    /// `export`, spacing and comment) with the new value; every other statement of the name
    /// is removed, earlier assignments (so no old secret lingers) and `KEY` lines without `=`
    /// (which would cancel the new value) alike; a new name is appended.
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        let rendered = render(value).map_err(|why| unrepresentable(name, why))?;
        self.set_rendered(name, value, &rendered)
    }

    /// [`Update::set`] writing `value` without quotes: a team file's `age:<base64>`, which
    /// needs none and is read by `grep | cut | base64 -d` as well as by the parser.
    pub fn set_unquoted(&mut self, name: &str, value: &str) -> Result<()> {
        self.set_rendered(name, value, value)
    }

    fn set_rendered(&mut self, name: &str, value: &str, rendered: &str) -> Result<()> {
        let mut next = self.contents.clone();
        let statements = self.statements_of(&next, name)?;
        let kept = statements.iter().rposition(|statement| statement.assigns);
        // From the last statement to the first, so that each edit leaves the offsets of the
        // ones still to do intact.
        for (index, statement) in statements.iter().enumerate().rev() {
            if Some(index) == kept {
                next.splice(statement.value_span.clone(), rendered.bytes());
            } else {
                next.drain(line_of(&next, &statement.value_span));
            }
        }
        if kept.is_none() {
            if !next.is_empty() && !next.ends_with(b"\n") && !next.ends_with(b"\r") {
                next.push(b'\n');
            }
            next.extend_from_slice(format!("{name}={rendered}\n").as_bytes());
        }
        let reads_back = dotenv::parse(&next, &|_| None)
            .ok()
            .and_then(|bindings| bindings.into_iter().find(|b| b.name == name))
            .is_some_and(|binding| binding.value == value);
        if !reads_back {
            let why = if value.contains("${") {
                "it contains `${`, which .env files substitute even inside quotes (python-dotenv does too)"
            } else {
                "the .env parser would not read it back exactly"
            };
            return Err(unrepresentable(name, why));
        }
        self.contents = next;
        Ok(())
    }

    /// Removes every statement of `name` (`KEY` lines without `=` too); false when there was
    /// none.
    pub fn unset(&mut self, name: &str) -> Result<bool> {
        let mut contents = std::mem::take(&mut self.contents);
        let removed = self.remove_all(&mut contents, name);
        self.contents = contents;
        removed
    }

    /// Writes the new contents atomically (unless nothing changed) with the mode [`Keeps`]
    /// says, then allows them as `reallow` permits. The lock is released afterwards.
    pub fn commit(self, reallow: Reallow) -> Result<Committed> {
        if self.original.as_ref() == Some(&self.contents) && reallow == Reallow::IfAllowedBefore {
            return Ok(Committed::Unchanged);
        }
        let allowed_before = match &self.original {
            None => true,
            Some(bytes) => {
                let store = TrustStore::open()?;
                store.trust(&canonical(&self.target), &trust::digest(bytes)) == Trust::Allowed
            }
        };
        self.keeps
            .write(&self.target, &self.contents)
            .context("write", &self.path)?;
        if reallow == Reallow::IfAllowedBefore && !allowed_before {
            return Ok(Committed::LeftUnallowed);
        }
        match loader::check(&self.path, &from_process_env) {
            Ok(checked) => {
                allow(&checked)?;
                Ok(Committed::Allowed(checked))
            }
            Err(refusal) => Ok(Committed::Refused(refusal)),
        }
    }

    /// Every statement of `name` in `bytes`, in file order.
    fn statements_of(&self, bytes: &[u8], name: &str) -> Result<Vec<Occurrence>> {
        let mut statements =
            dotenv::occurrences(bytes).map_err(|e| loader::parse_refusal(&self.path, &e))?;
        statements.retain(|statement| statement.name == name);
        Ok(statements)
    }

    /// Removes every statement of `name`; false when there was none.
    fn remove_all(&self, bytes: &mut Vec<u8>, name: &str) -> Result<bool> {
        let statements = self.statements_of(bytes, name)?;
        for statement in statements.iter().rev() {
            bytes.drain(line_of(bytes, &statement.value_span));
        }
        Ok(!statements.is_empty())
    }
}

/// Records `checked`'s current contents as trusted.
pub fn allow(checked: &Checked) -> Result<()> {
    trust::allow(checked)
}

/// Locks `dir` for a rewrite of a file in it and clears away temp files that a killed writer
/// left (they hold secrets, and `git add .` would pick them up).
pub fn lock_dir(dir: &Path) -> Result<atomic::Lock> {
    let lock = atomic::lock_dir(dir).context("lock", dir)?;
    remove_stale_temp_files(dir);
    Ok(lock)
}

fn remove_stale_temp_files(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let stale = entry
            .metadata()
            .ok()
            .and_then(|meta| meta.modified().ok())
            .is_some_and(|modified| {
                now.duration_since(modified)
                    .is_ok_and(|age| age > STALE_TEMP_AGE)
            });
        if name.starts_with(".envguard-") && name.ends_with(".tmp") && stale {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn unrepresentable(name: &str, why: &str) -> Error {
    Error::Usage(format!(
        "the value for {name} cannot be written to a .env file: {why}; nothing was changed"
    ))
}

/// The file to rewrite (what a symlink at `path` reaches), whose directory is locked.
fn write_target(path: &Path) -> Result<PathBuf> {
    guard::check_link(path)?;
    atomic::target(path).context("follow the link", path)
}

/// The current bytes of `target`, `None` if there is no file. The mode check is skipped
/// because the rewrite itself sets 0600; type, owner and size still refuse.
fn read_existing(path: &Path, target: &Path) -> Result<Option<Vec<u8>>> {
    let opened = match guard::open(target) {
        Ok(opened) => opened,
        Err(failure) if matches!(failure.problem, Problem::Missing | Problem::DanglingLink) => {
            return Ok(None);
        }
        Err(mut failure) => {
            failure.path = path.to_path_buf();
            return Err(failure.into());
        }
    };
    let read = opened.read(path, guard::max_size(), Policy::Rewrite)?;
    Ok(Some(read.guarded.bytes))
}

/// The whole line(s) of the statement whose value is `value_span`, with the line ending:
/// from the start of the line holding the value's start (a name and its `=` never span
/// lines) to the end of the line holding the value's end.
fn line_of(bytes: &[u8], value_span: &Range<usize>) -> Range<usize> {
    let is_newline = |b: &u8| *b == b'\n' || *b == b'\r';
    let start = bytes[..value_span.start]
        .iter()
        .rposition(is_newline)
        .map_or(0, |i| i + 1);
    let end = match bytes[value_span.end..].iter().position(is_newline) {
        None => bytes.len(),
        Some(offset) => {
            let newline = value_span.end + offset;
            if bytes[newline..].starts_with(b"\r\n") {
                newline + 2
            } else {
                newline + 1
            }
        }
    };
    start..end
}

/// The canonical path trust is recorded under, also for a file that does not exist yet.
fn canonical(target: &Path) -> PathBuf {
    fs::canonicalize(target).unwrap_or_else(|_: io::Error| {
        match (fs::canonicalize(atomic::parent(target)), target.file_name()) {
            (Ok(dir), Some(name)) => dir.join(name),
            _ => target.to_path_buf(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_escapes_only_backslash_and_single_quote() {
        assert_eq!(render("plain").unwrap(), "'plain'");
        assert_eq!(render(r"it's a\b").unwrap(), r"'it\'s a\\b'");
        assert_eq!(render("a\nb $X ${Y} # z").unwrap(), "'a\nb $X ${Y} # z'");
        assert_eq!(render("a\r\n\\\"'").unwrap(), "\"a\\r\n\\\\\\\"'\"");
        assert!(render("a\0b").is_err());
    }

    #[test]
    fn line_of_covers_the_statement_and_its_line_ending() {
        let text = b"A=1\nexport B='x\ny' # c\r\nC=3";
        let b_value = 13..18;
        assert_eq!(&text[b_value.clone()], b"'x\ny'");
        assert_eq!(&text[line_of(text, &b_value)], b"export B='x\ny' # c\r\n");
        assert_eq!(&text[line_of(text, &(26..27))], b"C=3");
    }
}
