//! Whether a symlinked `.env` leads where its user, and nobody else, decided.
//!
//! A link is only as trustworthy as whoever can change it or anything on its way. So, as
//! OpenSSH's StrictModes does for `~/.ssh`, the path is resolved here one component at a time,
//! from `/`, the way the kernel will resolve it, and:
//!
//! - every symlink met (the `.env` itself, each hop it leads to, and any symlinked directory
//!   on the way) must be owned by the user or root: a link's owner chooses what it reaches;
//! - every directory a name is looked up in (each ancestor of the `.env`, of every hop and of
//!   the file finally reached) must be owned by the user or root, and not writable by group
//!   or others unless it is sticky. Whoever can write a directory can replace the entries in
//!   it; in a sticky directory (`/tmp`) only an entry's owner, the directory's owner and root
//!   can, so a root-owned sticky directory is safe for the user's own entries, while the
//!   entries others put there fail the first rule.
//!
//! The checks only `lstat` and `readlink`; they run only for a `.env` that is a symlink (a
//! plain `.env` needs none of this: replacing it makes it someone else's file, which the
//! owner check refuses). A name that does not exist ends the walk without a verdict: the open
//! that follows reports it. What is wrong is returned as a [`LinkProblem`]; the words are
//! [`crate::load::explain`]'s.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use nix::unistd::geteuid;

/// As many links as Linux follows in one path (`MAXSYMLINKS`) before giving up with ELOOP.
pub const MAX_LINKS: usize = 40;

/// Why a symlinked `.env` may not be followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkProblem {
    /// A link retargeted, or a plain file replaced by a link, between the check and the open.
    ChangedWhileChecked,
    /// More than [`MAX_LINKS`] symlinks on the way.
    TooManyLinks,
    /// A symlink on the way (`link`, maybe the `.env` itself) is owned by someone else.
    ForeignLink { link: PathBuf, owner: u32 },
    /// A directory on the way is owned by someone else.
    DirectoryOwnedBy { dir: PathBuf, owner: u32 },
    /// A directory on the way, not sticky, is writable by group or others.
    DirectoryWritable { dir: PathBuf, mode: u32 },
    /// An `lstat` or `readlink` on the way failed: the OS's message.
    CannotCheck(String),
}

/// What [`check_way`] found at a `.env` path.
pub(super) enum Way {
    /// Not a symlink (or nothing there): the open must not follow one that appears later.
    Plain,
    /// A symlink whose way is safe, and the (device, inode) of the file it reaches, if any:
    /// the open must reach that same file.
    Link(Option<(u64, u64)>),
}

/// How `path` leads to its file, or why a symlinked one may not be followed.
pub(super) fn check_way(path: &Path) -> Result<Way, LinkProblem> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {}
        _ => return Ok(Way::Plain),
    }
    resolve(path).map(Way::Link)
}

/// Walks the way of the symlinked `path`; `None` when a name on it does not exist (the open
/// will say so).
fn resolve(path: &Path) -> Result<Option<(u64, u64)>, LinkProblem> {
    let absolute = std::path::absolute(path).map_err(cannot_check)?;
    let me = geteuid().as_raw();
    // Components still to resolve, the next one last.
    let mut pending: Vec<OsString> = Vec::new();
    push_components(&mut pending, &absolute);
    let mut resolved = PathBuf::from("/");
    check_dir(&resolved, me)?;
    let mut links = 0;
    while let Some(name) = pending.pop() {
        if name == ".." {
            // Back into a directory already checked on the way here (or `/`).
            resolved.pop();
            continue;
        }
        let entry = resolved.join(&name);
        let meta = match fs::symlink_metadata(&entry) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(cannot_check(e)),
        };
        if meta.file_type().is_symlink() {
            links += 1;
            if links > MAX_LINKS {
                return Err(LinkProblem::TooManyLinks);
            }
            if !is_trusted_owner(meta.uid(), me) {
                return Err(LinkProblem::ForeignLink {
                    link: entry,
                    owner: meta.uid(),
                });
            }
            let target = fs::read_link(&entry).map_err(cannot_check)?;
            if target.is_absolute() {
                resolved = PathBuf::from("/");
            }
            push_components(&mut pending, &target);
            continue;
        }
        if pending.is_empty() {
            return Ok(Some((meta.dev(), meta.ino())));
        }
        if !meta.is_dir() {
            return Ok(None);
        }
        check_dir(&entry, me)?;
        resolved = entry;
    }
    // The path ended in `..` or `.`: a directory, which the open refuses.
    Ok(None)
}

/// Pushes the components of `path` so that the first is popped first.
fn push_components(pending: &mut Vec<OsString>, path: &Path) {
    let start = pending.len();
    for component in path.components() {
        match component {
            Component::Normal(name) => pending.push(name.to_os_string()),
            Component::ParentDir => pending.push("..".into()),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    pending[start..].reverse();
}

fn is_trusted_owner(uid: u32, me: u32) -> bool {
    uid == me || uid == 0
}

/// Refuses `dir` unless only the user or root can change its entries.
fn check_dir(dir: &Path, me: u32) -> Result<(), LinkProblem> {
    let meta = fs::symlink_metadata(dir).map_err(cannot_check)?;
    let mode = meta.mode() & 0o7777;
    if !is_trusted_owner(meta.uid(), me) {
        Err(LinkProblem::DirectoryOwnedBy {
            dir: dir.to_path_buf(),
            owner: meta.uid(),
        })
    } else if mode & 0o022 != 0 && mode & 0o1000 == 0 {
        Err(LinkProblem::DirectoryWritable {
            dir: dir.to_path_buf(),
            mode,
        })
    } else {
        Ok(())
    }
}

fn cannot_check(error: io::Error) -> LinkProblem {
    LinkProblem::CannotCheck(error.to_string())
}
