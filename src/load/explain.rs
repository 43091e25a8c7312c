//! The guard's findings in the words a user reads: what is wrong and the command that fixes it.
//!
//! The guard ([`crate::load::guard`]) reports facts; the loader's refusal, `check`, `list`,
//! the writers and `scan` all show them, and a user who meets the same problem through two
//! commands must read the same line and the same fix. So the words live here, once. This is
//! also the only place the guard's facts cost a user-name lookup (an NSS query, maybe over the
//! network): only when a message is actually rendered, never for a file that loads.

use std::path::Path;

use nix::errno::Errno;
use nix::unistd::{Uid, User, geteuid};

use crate::display::{escape_for_display, quote_for_display};
use crate::error::{Error, Refusal, RefusalKind};
use crate::load::discover::FILE_NAME;
use crate::load::guard::{Failure, FileType, LinkProblem, MAX_LINKS, Passed, Problem};

/// A passed check, as `check` lists it.
pub fn passed(passed: Passed) -> String {
    match passed {
        Passed::SafeLink => {
            "symlink owned by you or root, in directories only you or root can change".into()
        }
        Passed::Regular => "regular file".into(),
        Passed::OwnedByYou => format!("owned by you ({})", user_name(geteuid())),
        Passed::Mode(mode) => format!("mode {mode:04o}"),
        Passed::Size(size) => format!("{size} bytes"),
    }
}

impl From<Failure> for Refusal {
    fn from(failure: Failure) -> Refusal {
        let path = &failure.path;
        let quoted = quote_for_display(path);
        let (kind, reason, fix) = match failure.problem {
            Problem::Missing | Problem::Unopenable(Errno::ENOENT) => (
                RefusalKind::NotFound,
                "does not exist".to_owned(),
                create_fix(path),
            ),
            Problem::DanglingLink => (
                RefusalKind::NotFound,
                "is a symlink to a file that does not exist".to_owned(),
                format!(
                    "point it at the file (ln -sfn FILE {quoted}) or remove the link: rm {quoted}"
                ),
            ),
            Problem::Unopenable(Errno::EACCES) => (
                RefusalKind::Unreadable,
                "cannot be read by you".to_owned(),
                format!("chmod 600 {quoted}"),
            ),
            Problem::Unopenable(errno) => (
                RefusalKind::Unreadable,
                format!("cannot be opened: {}", errno.desc()),
                "check the file".to_owned(),
            ),
            Problem::Unreadable(error) => (
                RefusalKind::Unreadable,
                format!("cannot be read: {error}"),
                "check the file".to_owned(),
            ),
            Problem::NotRegular(file_type) => {
                let what = match file_type {
                    FileType::Directory => "a directory",
                    FileType::Fifo => "a FIFO",
                    FileType::Socket => "a socket",
                    FileType::Device => "a device",
                    FileType::Other => "not a regular file",
                };
                let fix = if file_type == FileType::Directory {
                    crate::load::discover::directory_named_env_fix(path)
                } else {
                    format!("replace it with a regular file: rm {quoted} && envguard init")
                };
                (
                    RefusalKind::NotRegular,
                    format!("is {what}, not a regular file"),
                    fix,
                )
            }
            Problem::Owner { owner, me } => {
                let chown_to = chown_owner(Uid::from_raw(me));
                let owner = user_name(Uid::from_raw(owner));
                let me = user_name(Uid::from_raw(me));
                (
                    RefusalKind::Owner,
                    format!("is owned by {owner}, not by you ({me})"),
                    format!(
                        "if it is yours, sudo chown {chown_to} {quoted}; if it is {owner}'s, it is not yours to load: create your own with `envguard init` in a directory of yours"
                    ),
                )
            }
            Problem::Mode(mode) => {
                let why = if mode & 0o7000 != 0 {
                    "has setuid, setgid or sticky bits"
                } else if mode & 0o077 != 0 {
                    "is open to group or others"
                } else if mode & 0o100 != 0 {
                    "is executable"
                } else {
                    "is not readable by you"
                };
                (
                    RefusalKind::Mode,
                    format!("has mode {mode:04o} and {why} (0600 or 0400 required)"),
                    format!("chmod 600 {quoted}"),
                )
            }
            Problem::SharedWritable { mode, by_group } => {
                let who = if by_group {
                    "is writable by its group, which is not your own private group"
                } else {
                    "is writable by others"
                };
                (
                    RefusalKind::Mode,
                    format!(
                        "has mode {mode:04o} and {who}, who could choose what it loads (a team file may be readable by all, writable only by you)"
                    ),
                    format!("chmod 644 {quoted}"),
                )
            }
            Problem::TooLarge { size, limit } => (
                RefusalKind::Size,
                format!("is {size} bytes, over the {limit}-byte limit"),
                "shrink it, or raise the limit with ENVGUARD_MAX_SIZE=BYTES".to_owned(),
            ),
            Problem::Link(problem) => {
                let (reason, fix) = link_words(&failure.path, problem);
                (RefusalKind::Owner, reason, fix)
            }
        };
        Refusal::new(path, kind, reason, fix)
    }
}

impl From<Failure> for Error {
    fn from(failure: Failure) -> Error {
        Error::Refused(failure.into())
    }
}

/// The reason and the fix for a symlinked `.env` at `path` that may not be followed.
fn link_words(path: &Path, problem: LinkProblem) -> (String, String) {
    let quoted = quote_for_display(path);
    match problem {
        LinkProblem::ChangedWhileChecked => (
            "changed while envguard was checking it (a symlink swapped in or retargeted)".into(),
            "run the command again; if this repeats, someone is swapping the link: remove it"
                .into(),
        ),
        LinkProblem::TooManyLinks => (
            format!("is a chain of more than {MAX_LINKS} symlinks"),
            format!("point the link at the file itself: ln -sfn FILE {quoted}"),
        ),
        LinkProblem::ForeignLink { link, owner } => {
            let owner = user_name(Uid::from_raw(owner));
            let what = if link == path {
                "is a symlink".to_string()
            } else {
                format!(
                    "leads through the symlink {}, which is",
                    escape_for_display(&link)
                )
            };
            (
                format!(
                    "{what} owned by {owner}, not by you or root: whoever owns a link chooses what it loads"
                ),
                format!(
                    "do not load it; if you made it, sudo chown -h {} {}",
                    chown_owner(geteuid()),
                    quote_for_display(&link)
                ),
            )
        }
        LinkProblem::DirectoryOwnedBy { dir, owner } => (
            through(
                &dir,
                &format!("is owned by {}", user_name(Uid::from_raw(owner))),
            ),
            format!(
                "replace the link with a copy of the file it names: cp --remove-destination \"$(readlink -f {quoted})\" {quoted}"
            ),
        ),
        LinkProblem::DirectoryWritable { dir, mode } => (
            through(
                &dir,
                &format!("is writable by group or others (mode {mode:04o})"),
            ),
            format!("chmod go-w {}", quote_for_display(&dir)),
        ),
        LinkProblem::CannotCheck(error) => (
            format!("is a symlink whose way cannot be checked: {error}"),
            "check the link and the directories it passes through".into(),
        ),
    }
}

/// How to answer a missing file: `init` makes a `.env`, `set -f` another env file. Any other
/// name is most likely a typo'd argument (`envguard allow myprojetc`), whose fix is to look.
fn create_fix(path: &Path) -> String {
    let name = path.file_name().map(|name| name.to_string_lossy());
    let dir = path.parent().unwrap_or(Path::new("/"));
    match name.as_deref() {
        Some(FILE_NAME) => format!(
            "check the path, or create it: envguard init {}",
            quote_for_display(dir)
        ),
        Some(name) if name.starts_with(FILE_NAME) => format!(
            "check the path, or create it: envguard set -f {} NAME",
            quote_for_display(path)
        ),
        _ => {
            let existing = dir.ancestors().find(|dir| dir.is_dir()).unwrap_or(dir);
            format!("check the name: ls -a {}", quote_for_display(existing))
        }
    }
}

fn through(dir: &Path, problem: &str) -> String {
    format!(
        "is a symlink whose way passes through {}, which {problem}: someone else could change what it reaches",
        escape_for_display(dir)
    )
}

/// The owner argument of a `chown` fix: the user's name, or the bare uid when it has none
/// (containers and CI often run as a uid without a passwd entry, and `uid 1000` would be two
/// arguments to chown).
fn chown_owner(uid: Uid) -> String {
    match User::from_uid(uid) {
        Ok(Some(user)) => user.name,
        _ => uid.to_string(),
    }
}

/// The user's name, or `uid N` when it has none.
pub(crate) fn user_name(uid: Uid) -> String {
    match User::from_uid(uid) {
        Ok(Some(user)) => user.name,
        _ => format!("uid {uid}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(problem: Problem) -> String {
        let failure = Failure {
            path: Path::new("/p/.env").to_path_buf(),
            problem,
        };
        Refusal::from(failure).to_string()
    }

    #[test]
    fn each_mode_problem_says_why_and_how_to_fix_it() {
        assert_eq!(
            words(Problem::Mode(0o644)),
            "/p/.env: has mode 0644 and is open to group or others (0600 or 0400 required) (fix: chmod 600 /p/.env)"
        );
        assert!(words(Problem::Mode(0o4600)).contains("setuid, setgid or sticky"));
        assert!(words(Problem::Mode(0o700)).contains("is executable"));
        assert!(words(Problem::Mode(0o200)).contains("is not readable by you"));
    }

    #[test]
    fn a_missing_file_gets_a_fix_that_creates_it_and_a_dangling_link_one_that_removes_it() {
        assert_eq!(
            words(Problem::Missing),
            "/p/.env: does not exist (fix: check the path, or create it: envguard init /p)"
        );
        let failure = Failure {
            path: Path::new("/p/.env.production").to_path_buf(),
            problem: Problem::Missing,
        };
        assert!(
            Refusal::from(failure)
                .fix
                .ends_with("envguard set -f /p/.env.production NAME")
        );
        assert!(words(Problem::DanglingLink).contains("rm /p/.env"));
    }

    #[test]
    fn a_uid_without_a_name_is_chowned_by_number() {
        // No passwd entry holds this uid on any machine the tests run on.
        assert_eq!(chown_owner(Uid::from_raw(3_999_999_999)), "3999999999");
    }

    #[test]
    fn a_link_problem_is_an_owner_refusal() {
        let failure = Failure {
            path: Path::new("/p/.env").to_path_buf(),
            problem: Problem::Link(LinkProblem::TooManyLinks),
        };
        let refusal = Refusal::from(failure);
        assert_eq!(refusal.kind, RefusalKind::Owner);
        assert_eq!(refusal.reason, "is a chain of more than 40 symlinks");
    }
}
