//! The one error type every command returns.
//!
//! envguard reads secrets, so an error message is a place a secret could escape. Nothing in
//! this module stores text taken from a `.env` file: a [`Refusal`] holds a path, a line
//! number, a reason and a fix, all written by envguard itself, and [`Error::Io`] holds only a
//! path and an `io::Error` (whose messages come from the OS). Parser errors from other crates
//! (which may echo the offending line) are converted before they reach this type, never
//! wrapped.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::display::escape_for_display;

/// Why a `.env` file may not be loaded, with the command that makes it loadable.
///
/// Refusals are the expected "no" of the loader (exit code 1), as opposed to usage or I/O
/// failures (exit code 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub path: PathBuf,
    /// 1-based line of the file the refusal is about, when it is about one line.
    pub line: Option<usize>,
    pub kind: RefusalKind,
    /// What is wrong, in envguard's own words (never file content).
    pub reason: String,
    /// The command or action that fixes it.
    pub fix: String,
}

/// The check that refused a file; lets the hook and `check` tell refusals apart without
/// matching on message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    NotFound,
    NotRegular,
    Owner,
    Mode,
    Size,
    Unreadable,
    Untrusted,
    Parse,
    Name,
    /// A reference to a secret manager that could not be resolved.
    Reference,
}

impl Refusal {
    pub fn new(
        path: &Path,
        kind: RefusalKind,
        reason: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Refusal {
            path: path.to_path_buf(),
            line: None,
            kind,
            reason: reason.into(),
            fix: fix.into(),
        }
    }

    pub fn at_line(mut self, line: usize) -> Self {
        self.line = Some(line);
        self
    }
}

/// The path is shown escaped: a file name can hold newlines and terminal escapes, and every
/// refusal reaches a terminal (the hook's line, `status`, any command's error).
impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape_for_display(&self.path))?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}", self.reason)?;
        if !self.fix.is_empty() {
            write!(f, " (fix: {})", self.fix)?;
        }
        Ok(())
    }
}

#[derive(Debug)]
pub enum Error {
    /// The loader said no (exit 1).
    Refused(Refusal),
    /// An operation on a path failed (exit 2).
    Io {
        path: PathBuf,
        action: &'static str,
        source: io::Error,
    },
    /// Wrong use of a command, in envguard's own words (exit 2).
    Usage(String),
    /// A failure that is not the user's input (exit 2): a child that could not start, git
    /// that answered oddly. The message is envguard's own.
    Failed(String),
    /// The command already reported what it had to say; exit with this code silently.
    Silent(u8),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            action,
            source,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Refused(_) => 1,
            Error::Io { .. } | Error::Usage(_) | Error::Failed(_) => 2,
            Error::Silent(code) => *code,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Refused(refusal) => refusal.fmt(f),
            Error::Io {
                path,
                action,
                source,
            } => {
                write!(f, "cannot {action} {}: {source}", escape_for_display(path))
            }
            Error::Usage(message) | Error::Failed(message) => f.write_str(message),
            Error::Silent(code) => write!(f, "exit {code}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Self {
        Error::Refused(refusal)
    }
}

/// Shorthand for attaching the action and path to an `io::Result`.
pub trait IoContext<T> {
    fn context(self, action: &'static str, path: &Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn context(self, action: &'static str, path: &Path) -> Result<T> {
        self.map_err(|source| Error::io(action, path, source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn a_refusal_shows_its_path_escaped() {
        let path = Path::new(OsStr::from_bytes(b"/t/a\nenvguard: loaded\x1b[2K\xff/.env"));
        let refusal = Refusal::new(path, RefusalKind::Mode, "has mode 0644", "chmod 600 it");
        assert_eq!(
            refusal.at_line(3).to_string(),
            r"/t/a\nenvguard: loaded\e[2K\xff/.env:3: has mode 0644 (fix: chmod 600 it)"
        );
    }
}
