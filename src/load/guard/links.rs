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
//! that follows reports it.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use nix::unistd::{Uid, geteuid};

use super::user_name;
use crate::display::{escape_for_display, quote_for_display};
use crate::error::{Refusal, RefusalKind};

/// As many links as Linux follows in one path (`MAXSYMLINKS`) before giving up with ELOOP.
const MAX_LINKS: usize = 40;

/// What [`check_way`] found at a `.env` path.
pub(super) enum Way {
    /// Not a symlink (or nothing there): the open must not follow one that appears later.
    Plain,
    /// A symlink whose way is safe, and the (device, inode) of the file it reaches, if any:
    /// the open must reach that same file.
    Link(Option<(u64, u64)>),
}

/// How `path` leads to its file, or why a symlinked one may not be followed.
pub(super) fn check_way(path: &Path) -> Result<Way, Refusal> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {}
        _ => return Ok(Way::Plain),
    }
    resolve(path).map(Way::Link)
}

/// Walks the way of the symlinked `path`; `None` when a name on it does not exist (the open
/// will say so).
fn resolve(path: &Path) -> Result<Option<(u64, u64)>, Refusal> {
    let absolute = std::path::absolute(path).map_err(|e| cannot_check(path, &e))?;
    let me = geteuid().as_raw();
    // Components still to resolve, the next one last.
    let mut pending: Vec<OsString> = Vec::new();
    push_components(&mut pending, &absolute);
    let mut resolved = PathBuf::from("/");
    check_dir(path, &resolved, me)?;
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
            Err(e) => return Err(cannot_check(path, &e)),
        };
        if meta.file_type().is_symlink() {
            links += 1;
            if links > MAX_LINKS {
                return Err(Refusal::new(
                    path,
                    RefusalKind::Owner,
                    format!("is a chain of more than {MAX_LINKS} symlinks"),
                    format!(
                        "point the link at the file itself: ln -sfn FILE {}",
                        quote_for_display(path)
                    ),
                ));
            }
            if !is_trusted_owner(meta.uid(), me) {
                return Err(foreign_link(path, &entry, meta.uid()));
            }
            let target = fs::read_link(&entry).map_err(|e| cannot_check(path, &e))?;
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
        check_dir(path, &entry, me)?;
        resolved = entry;
    }
    // The path ended in `..` or `.`: a directory, which the open refuses.
    Ok(None)
}

/// The refusal for a path that changed between the check and the open: a link retargeted, or
/// a plain file replaced by a link.
pub(super) fn changed_while_checked(path: &Path) -> Refusal {
    Refusal::new(
        path,
        RefusalKind::Owner,
        "changed while envguard was checking it (a symlink swapped in or retargeted)",
        "run the command again; if this repeats, someone is swapping the link: remove it",
    )
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
fn check_dir(path: &Path, dir: &Path, me: u32) -> Result<(), Refusal> {
    let meta = fs::symlink_metadata(dir).map_err(|e| cannot_check(path, &e))?;
    let mode = meta.mode() & 0o7777;
    let problem = if !is_trusted_owner(meta.uid(), me) {
        format!("is owned by {}", user_name(Uid::from_raw(meta.uid())))
    } else if mode & 0o022 != 0 && mode & 0o1000 == 0 {
        format!("is writable by group or others (mode {mode:04o})")
    } else {
        return Ok(());
    };
    let fix = if is_trusted_owner(meta.uid(), me) {
        format!("chmod go-w {}", quote_for_display(dir))
    } else {
        format!(
            "replace the link with a copy of the file it names: cp --remove-destination \"$(readlink -f {quoted})\" {quoted}",
            quoted = quote_for_display(path)
        )
    };
    Err(Refusal::new(
        path,
        RefusalKind::Owner,
        format!(
            "is a symlink whose way passes through {}, which {problem}: someone else could change what it reaches",
            escape_for_display(dir)
        ),
        fix,
    ))
}

fn foreign_link(path: &Path, link: &Path, owner: u32) -> Refusal {
    let owner = user_name(Uid::from_raw(owner));
    let what = if link == path {
        "is a symlink".to_string()
    } else {
        format!(
            "leads through the symlink {}, which is",
            escape_for_display(link)
        )
    };
    Refusal::new(
        path,
        RefusalKind::Owner,
        format!(
            "{what} owned by {owner}, not by you or root: whoever owns a link chooses what it loads"
        ),
        format!(
            "do not load it; if you made it, sudo chown -h {} {}",
            user_name(geteuid()),
            quote_for_display(link)
        ),
    )
}

fn cannot_check(path: &Path, error: &io::Error) -> Refusal {
    Refusal::new(
        path,
        RefusalKind::Owner,
        format!("is a symlink whose way cannot be checked: {error}"),
        "check the link and the directories it passes through",
    )
}
