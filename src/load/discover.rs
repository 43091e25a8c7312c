//! Finding the `.env` that applies to a directory: the nearest one walking up to `/`.
//!
//! This runs before every shell prompt, so it only `lstat`s, reusing one path buffer. A
//! directory named `.env` is skipped rather than refused, because `python -m venv .env` is a
//! common way to name a virtual environment and such a project would otherwise be refused at
//! every prompt. Anything else named `.env` (a FIFO, a dangling symlink, a device) is returned
//! so that the guard can refuse it by name: only the nearest counts, and a refused nearest
//! file must never fall back to a parent's.
//!
//! Another user's `.env` in a shared parent (`/tmp/job/.env` under a sticky `/tmp`) is the
//! nearest file for every directory below it, yet it can never load for you. Where finding no
//! file is acceptable (`exec --allow-missing`), such a file counts as no file, with a note
//! ([`foreign_owner`]): it is still the nearest, so it is never replaced by a parent's
//! `.env` either, and everywhere else it is refused by name as before. "Another user's" is
//! decided by the entry itself (`lstat`), so a link someone else planted counts as theirs.
//!
//! A team's project may hold a committed `.env.shared` (issue 13) beside, or instead of, the
//! personal `.env`: for a program and for the prompt hook ([`nearest_project`],
//! [`project_files`]) the project is the nearest directory holding either, and the team's file
//! loads first so that the personal one wins. Commands that edit one file follow [`nearest`].

use std::env;
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::display::quote_for_display;
use crate::error::{Error, Refusal, RefusalKind, Result};

pub const FILE_NAME: &str = ".env";

/// The team's committed file of encrypted values, beside the personal `.env`.
pub const SHARED_FILE_NAME: &str = ".env.shared";

/// Who the team's values are encrypted to, beside `.env.shared` (committed too).
pub const RECIPIENTS_FILE_NAME: &str = ".env.recipients";

/// The personal `.env` path of the nearest directory at or above `dir` holding a `.env` or a
/// `.env.shared`, whether or not that `.env` exists: what [`project_files`] expands.
pub fn nearest_project(dir: &Path) -> Option<PathBuf> {
    let personal = nearest(dir);
    let stop = personal.as_deref().and_then(Path::parent);
    let mut candidate = dir.to_path_buf();
    loop {
        if Some(candidate.as_path()) == stop {
            return personal;
        }
        candidate.push(SHARED_FILE_NAME);
        let shared = fs::symlink_metadata(&candidate).is_ok();
        candidate.pop();
        if shared {
            return Some(candidate.join(FILE_NAME));
        }
        if !candidate.pop() {
            return personal;
        }
    }
}

/// The files a program loads for `path`, in order (a later file's value wins): for a file
/// named `.env`, the `.env.shared` beside it if there is one, then the `.env` itself unless
/// only the team's file exists; any other file alone.
pub fn project_files(path: &Path) -> Vec<PathBuf> {
    let shared = match (path.file_name(), path.parent()) {
        (Some(name), Some(dir)) if name == FILE_NAME => Some(dir.join(SHARED_FILE_NAME)),
        _ => None,
    }
    .filter(|shared| fs::symlink_metadata(shared).is_ok());
    match shared {
        Some(shared) if fs::symlink_metadata(path).is_err() => vec![shared],
        Some(shared) => vec![shared, path.to_path_buf()],
        None => vec![path.to_path_buf()],
    }
}

/// The nearest `.env` at or above `dir` (which should be absolute).
pub fn nearest(dir: &Path) -> Option<PathBuf> {
    let mut candidate = dir.to_path_buf();
    loop {
        candidate.push(FILE_NAME);
        if let Ok(meta) = fs::symlink_metadata(&candidate) {
            let is_dir = if meta.file_type().is_symlink() {
                fs::metadata(&candidate).is_ok_and(|target| target.is_dir())
            } else {
                meta.is_dir()
            };
            if !is_dir {
                return Some(candidate);
            }
        }
        candidate.pop();
        if !candidate.pop() {
            return None;
        }
    }
}

/// The owner of `path`'s directory entry (the link itself for a symlink) when that is not the
/// effective user: a file you could never load because it is someone else's.
pub fn foreign_owner(path: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let owner = fs::symlink_metadata(path).ok()?.uid();
    (owner != nix::unistd::geteuid().as_raw()).then_some(owner)
}

/// The directory the user is in, as the shell names it.
///
/// `$PWD` keeps the path the user typed through symlinked directories (`cd ~/link/proj`), so
/// its ancestors are the ones the user sees; it is used when it is absolute and really is the
/// current directory, as bash itself decides. Otherwise the physical path.
pub fn working_dir() -> Result<PathBuf> {
    let physical = env::current_dir().map_err(|e| Error::io("read", "the current directory", e))?;
    if let Some(logical) = env::var_os("PWD").map(PathBuf::from)
        && logical.is_absolute()
        && !has_dot_components(&logical)
        && same_file(&logical, &physical)
    {
        return Ok(logical);
    }
    Ok(physical)
}

fn has_dot_components(path: &Path) -> bool {
    path.components()
        .any(|c| matches!(c.as_os_str().to_str(), Some(".") | Some("..")))
}

fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Resolves a command's optional PATH argument to the `.env` it means: a directory means the
/// nearest `.env` from there, anything else is taken as the file itself.
pub fn resolve_target(path: Option<&Path>) -> Result<PathBuf> {
    match file_or_start(path)? {
        Ok(file) => Ok(file),
        Err(start) => nearest(&start).ok_or_else(|| not_found(&start)),
    }
}

/// [`resolve_target`] for a program's view: a directory means the nearest project
/// ([`nearest_project`]), whose `.env` path may not exist when it holds only `.env.shared`.
pub fn resolve_project(path: Option<&Path>) -> Result<PathBuf> {
    match file_or_start(path)? {
        Ok(file) => Ok(file),
        Err(start) => nearest_project(&start).ok_or_else(|| not_found(&start)),
    }
}

/// What a command's optional PATH argument names: the file itself (`Ok`), or the directory to
/// search up from (`Err`: the working directory when there is no argument).
fn file_or_start(path: Option<&Path>) -> Result<std::result::Result<PathBuf, PathBuf>> {
    let Some(path) = path else {
        return Ok(Err(working_dir()?));
    };
    let absolute = absolute(path)?;
    if !absolute.is_dir() || absolute.file_name() == Some(OsStr::new(FILE_NAME)) {
        return Ok(Ok(absolute));
    }
    Ok(Err(absolute))
}

/// The `.env` a command works on: `file` exactly as named (`-f .env.production`), else
/// [`resolve_target`] of `path`.
pub fn named_or_target(file: Option<&Path>, path: Option<&Path>) -> Result<PathBuf> {
    match file {
        Some(file) => absolute(file),
        None => resolve_target(path),
    }
}

/// The files a command that reviews or approves (`check`, `allow`) works on: `file` or a
/// `path` naming a file exactly as named; else, for a directory or here, every file of the
/// nearest project ([`project_files`]), so that a team's `.env.shared` is never left out.
pub fn named_or_project(file: Option<&Path>, path: Option<&Path>) -> Result<Vec<PathBuf>> {
    let names_a_file = file.is_some()
        || path
            .is_some_and(|path| !path.is_dir() || path.file_name() == Some(OsStr::new(FILE_NAME)));
    if names_a_file {
        return Ok(vec![named_or_target(file, path)?]);
    }
    Ok(project_files(&resolve_project(path)?))
}

/// The refusal for a directory with no `.env` at or above it.
pub fn not_found(dir: &Path) -> Error {
    Refusal::new(
        &dir.join(FILE_NAME),
        RefusalKind::NotFound,
        "no .env here or in any parent directory",
        "create one with `envguard init`",
    )
    .into()
}

/// The fix for a directory named `.env` where a `.env` file should be. It is almost always a
/// virtualenv (`python -m venv .env`), and a moved virtualenv is broken: its scripts and
/// `pyvenv.cfg` hold its absolute path. So it is recreated under another name with the same
/// packages, and only then removed.
pub fn directory_named_env_fix(path: &Path) -> String {
    let dir = path.parent().unwrap_or(Path::new("/"));
    if !path.join("pyvenv.cfg").is_file() {
        return format!(
            "rename it: mv {} {}, then `envguard init {}`",
            quote_for_display(path),
            quote_for_display(&dir.join("env")),
            quote_for_display(dir)
        );
    }
    format!(
        "it is a virtualenv, which breaks when moved; recreate it as .venv: cd {} && .env/bin/python -m pip freeze > .venv-requirements.txt && python3 -m venv .venv && .venv/bin/python -m pip install -r .venv-requirements.txt && rm -r .env && envguard init",
        quote_for_display(dir)
    )
}

/// `path` made absolute against the working directory, without resolving symlinks.
pub fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|e: io::Error| Error::io("resolve", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_wins_and_directories_named_env_are_skipped() {
        let root = tempfile::tempdir().unwrap();
        let project = root.path().join("project");
        let nested = project.join("src/deep");
        fs::create_dir_all(&nested).unwrap();
        fs::write(root.path().join(".env"), "").unwrap();
        assert_eq!(nearest(&nested), Some(root.path().join(".env")));

        fs::create_dir(project.join(".env")).unwrap();
        assert_eq!(nearest(&nested), Some(root.path().join(".env")));

        fs::write(nested.join(".env"), "").unwrap();
        assert_eq!(nearest(&nested), Some(nested.join(".env")));
    }

    #[test]
    fn the_nearest_team_file_makes_a_project_and_loads_before_the_personal_one() {
        let root = tempfile::tempdir().unwrap();
        let project = root.path().join("project");
        let nested = project.join("src");
        fs::create_dir_all(&nested).unwrap();
        fs::write(root.path().join(".env"), "").unwrap();
        fs::write(project.join(SHARED_FILE_NAME), "").unwrap();
        let personal = project.join(FILE_NAME);
        assert_eq!(nearest_project(&nested), Some(personal.clone()));
        assert_eq!(project_files(&personal), [project.join(SHARED_FILE_NAME)]);
        fs::write(&personal, "").unwrap();
        assert_eq!(
            project_files(&personal),
            [project.join(SHARED_FILE_NAME), personal.clone()]
        );
        fs::write(nested.join(FILE_NAME), "").unwrap();
        assert_eq!(nearest_project(&nested), Some(nested.join(FILE_NAME)));
        assert_eq!(
            project_files(&nested.join(FILE_NAME)),
            [nested.join(FILE_NAME)]
        );
    }

    #[test]
    fn dangling_symlink_is_found_so_it_can_be_refused() {
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("missing", root.path().join(".env")).unwrap();
        assert_eq!(nearest(root.path()), Some(root.path().join(".env")));
    }
}
