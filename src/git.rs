//! Asking git itself whether a `.env` is ignored or tracked.
//!
//! Ignore rules are layered (nested `.gitignore`s, `.git/info/exclude`, `core.excludesFile`,
//! negations), so envguard runs the real `git` rather than guessing. Only paths are passed
//! on its command line, never anything read from a `.env`.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::atomic;
use crate::display::escape_for_display;
use crate::display::quote_for_display;
use crate::error::{Error, IoContext, Result};

/// The top directory of the git work tree holding `dir`, if any (and if git is installed).
pub fn work_tree(dir: &Path) -> Option<PathBuf> {
    let out = git(dir, ["rev-parse", "--show-toplevel"])?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    Some(PathBuf::from(text.trim_end_matches('\n')))
}

/// Whether git ignores `path` (None when git cannot tell: not a repository, no git).
pub fn is_ignored(path: &Path) -> Option<bool> {
    let out = git_about(path, &["check-ignore", "-q"])?;
    match out.status.code() {
        Some(0) => Some(true),
        Some(1) => Some(false),
        _ => None,
    }
}

/// Whether `path` is in git's index (committed or staged).
pub fn is_tracked(path: &Path) -> Option<bool> {
    let out = git_about(path, &["ls-files", "-z"])?;
    out.status.success().then_some(!out.stdout.is_empty())
}

/// `git ARGS -- NAME` run in the directory holding `path`, so that the answer is about that
/// file whichever work tree (or none) the caller is in.
fn git_about(path: &Path, args: &[&str]) -> Option<Output> {
    let (dir, name) = (path.parent()?, path.file_name()?);
    git(
        dir,
        args.iter().map(OsStr::new).chain([OsStr::new("--"), name]),
    )
}

fn git<I, S>(dir: &Path, args: I) -> Option<Output>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
}

/// What git exposes of the `.env` at `path`, with the fix, as `(problem, fix)`: tracked (its
/// secrets are in the history, so untracking is not enough) or not ignored (one `git add .`
/// away). None when git ignores it or cannot tell (no repository, no git), and for a team's
/// `.env.shared`, which holds only ciphertext and is meant to be committed.
pub fn exposure(path: &Path) -> Option<(&'static str, String)> {
    let name = Path::new(path.file_name()?);
    if name == Path::new(crate::load::discover::SHARED_FILE_NAME) {
        return None;
    }
    let dir = path.parent()?;
    if is_tracked(path) == Some(true) {
        // `git rm` takes paths relative to where it runs: from elsewhere, `-C` says where.
        let here = std::env::current_dir().and_then(fs::canonicalize).ok();
        let git = if here.is_some() && here == fs::canonicalize(dir).ok() {
            "git".to_string()
        } else {
            format!("git -C {}", quote_for_display(dir))
        };
        // A name that starts with `-` would be read as an option.
        let dashes = if name.as_os_str().as_encoded_bytes().starts_with(b"-") {
            "-- "
        } else {
            ""
        };
        return Some((
            "is tracked by git: its secrets are in the repository and its history",
            format!(
                "{git} rm --cached {dashes}{}, then rotate every secret in it that was pushed",
                quote_for_display(name)
            ),
        ));
    }
    (is_ignored(path) == Some(false)).then(|| {
        (
            "is not ignored by git: `git add .` would commit it",
            ignore_fix(path),
        )
    })
}

/// The command that makes git ignore the not-ignored file at `path`: a line naming that very
/// file in the work tree's top `.gitignore`. Suggesting `.env` would do nothing for
/// `.env.production` (and nothing at all when `.env` is already listed); a broader `.env*`
/// would also hide the `.env.example` a project commits on purpose.
pub fn ignore_fix(path: &Path) -> String {
    let Some(name) = path.file_name() else {
        return "add the file to .gitignore".into();
    };
    let pattern = gitignore_literal(&name.to_string_lossy());
    let Some(gitignore) = path
        .parent()
        .and_then(work_tree)
        .map(|top| top.join(".gitignore"))
    else {
        return format!("add {pattern} to .gitignore");
    };
    // `echo >>` onto a last line without its newline would glue the two patterns together.
    let unterminated =
        fs::read(&gitignore).is_ok_and(|text| !text.is_empty() && !text.ends_with(b"\n"));
    let line = if unterminated {
        format!(
            "printf '\\n%s\\n' {}",
            quote_for_display(Path::new(&pattern))
        )
    } else {
        format!("echo {}", quote_for_display(Path::new(&pattern)))
    };
    format!("{line} >> {}", quote_for_display(&gitignore))
}

/// A `.gitignore` pattern matching exactly the file name `name`: glob characters and a leading
/// `#` or `!` would otherwise change what the line means.
fn gitignore_literal(name: &str) -> String {
    let mut pattern = String::with_capacity(name.len() + 2);
    for (i, c) in name.chars().enumerate() {
        if matches!(c, '*' | '?' | '[' | '\\') || (i == 0 && matches!(c, '#' | '!')) {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    if pattern.ends_with(' ') {
        pattern.insert(pattern.len() - 1, '\\');
    }
    pattern
}

/// What [`ensure_ignored`] found or did.
pub enum Ignore {
    /// Not inside a git work tree (or git is not installed): nothing to do.
    NoRepository,
    AlreadyIgnored,
    /// `.env` was added to this `.gitignore`.
    Added(PathBuf),
    /// In the index: ignoring would not help; `git rm --cached` is needed.
    Tracked,
    /// `.env` was added to this `.gitignore`, but another rule (a `!.env`) still includes it.
    StillIncluded(PathBuf),
}

/// Makes git ignore the `.env` at `path` by adding `.env` to the work tree's top-level
/// `.gitignore` (which covers every directory below), unless git already ignores it.
pub fn ensure_ignored(path: &Path) -> Result<Ignore> {
    let Some(top) = path.parent().and_then(work_tree) else {
        return Ok(Ignore::NoRepository);
    };
    if is_tracked(path) == Some(true) {
        return Ok(Ignore::Tracked);
    }
    match is_ignored(path) {
        Some(true) => return Ok(Ignore::AlreadyIgnored),
        None => return Ok(Ignore::NoRepository),
        Some(false) => {}
    }
    let gitignore = top.join(".gitignore");
    let mut text = match fs::read(&gitignore) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io("read", gitignore, e)),
    };
    if !text.is_empty() && !text.ends_with(b"\n") {
        text.push(b'\n');
    }
    text.extend_from_slice(b".env\n");
    let mode = fs::metadata(&gitignore).map_or(0o644, |meta| meta.permissions().mode() & 0o7777);
    atomic::write(&gitignore, &text, mode).context("write", &gitignore)?;
    Ok(if is_ignored(path) == Some(true) {
        Ignore::Added(gitignore)
    } else {
        Ignore::StillIncluded(gitignore)
    })
}

impl Ignore {
    /// A short clause for a status line (`created .env (…, ignored by git)`), and a warning to
    /// print on its own when the file is not ignored.
    pub fn describe(&self, env: &Path) -> (String, Option<String>) {
        let quoted = quote_for_display(env);
        match self {
            Ignore::NoRepository => (String::new(), None),
            Ignore::AlreadyIgnored => (", ignored by git".into(), None),
            Ignore::Added(gitignore) => (
                format!(", added to {}", escape_for_display(gitignore)),
                None,
            ),
            Ignore::Tracked => (
                String::new(),
                Some(format!(
                    "{} is tracked by git; untrack it: git rm --cached {quoted}",
                    escape_for_display(env)
                )),
            ),
            Ignore::StillIncluded(gitignore) => (
                String::new(),
                Some(format!(
                    "added .env to {} but git still does not ignore {} (a `!` rule?); see: git check-ignore -v --no-index {quoted}",
                    escape_for_display(gitignore),
                    escape_for_display(env)
                )),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_patterns_match_the_name_literally() {
        assert_eq!(gitignore_literal(".env.production"), ".env.production");
        assert_eq!(gitignore_literal("!x"), "\\!x");
        assert_eq!(gitignore_literal("#x"), "\\#x");
        assert_eq!(gitignore_literal("a*b?[c]\\"), "a\\*b\\?\\[c]\\\\");
        assert_eq!(gitignore_literal("trailing "), "trailing\\ ");
    }
}
