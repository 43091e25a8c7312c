//! The permission guard: a `.env` is read only if it is a regular file, owned by the effective
//! user, with mode 0600 or 0400, and not larger than a limit.
//!
//! Like OpenSSH with private keys, envguard refuses a secret file that others could read or
//! write: a group-writable `.env` lets someone else decide what your shell exports. The file is
//! opened once and every check runs on the open descriptor (`fstat`), so nothing can swap the
//! file between the check and the read. `O_NONBLOCK` keeps a FIFO planted as `.env` from
//! hanging the prompt, `O_NOCTTY` keeps a terminal device from becoming ours.
//!
//! A symbolic link is followed only when nobody else could have chosen where it leads: the
//! file it reaches is checked as above, and the way there is checked as OpenSSH's StrictModes
//! checks `~/.ssh` (`links`). Without that, another user could plant `.env -> ~you/prod/.env`
//! in a shared directory and have your shell load your production secrets in a place they
//! control. A `.env` that was not a symlink when checked is opened with `O_NOFOLLOW`, so one
//! swapped in just before the open is refused rather than followed.
//!
//! A file that passes costs no user-name lookup (an NSS query, maybe over the network, on
//! every load): names are rendered only when a message shows them.

use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{self, OFlag};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat};
use nix::unistd::{Uid, User, geteuid};

use crate::display::quote_for_display;
use crate::error::{Refusal, RefusalKind};

mod links;

use links::Way;

/// Default for [`max_size`]: far above any real `.env`, far below what would stall a prompt.
pub const DEFAULT_MAX_SIZE: u64 = 1024 * 1024;

/// The largest `.env` envguard reads, in bytes: `ENVGUARD_MAX_SIZE` or [`DEFAULT_MAX_SIZE`].
pub fn max_size() -> u64 {
    std::env::var("ENVGUARD_MAX_SIZE")
        .ok()
        .and_then(|limit| limit.trim().parse().ok())
        .unwrap_or(DEFAULT_MAX_SIZE)
}

/// What identifies one version of a file without reading it. Any write changes the size,
/// mtime or ctime (nanoseconds, not seconds); a replacement changes the inode; chmod and chown
/// change the ctime, mode and owner. Comparing two of these is the hook's whole "nothing
/// changed" test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Identity {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub mode: u32,
    pub uid: u32,
}

impl Identity {
    pub fn from_stat(stat: &FileStat) -> Self {
        Identity {
            dev: stat.st_dev,
            ino: stat.st_ino,
            size: stat.st_size as u64,
            mtime_ns: nanoseconds(stat.st_mtime, stat.st_mtime_nsec),
            ctime_ns: nanoseconds(stat.st_ctime, stat.st_ctime_nsec),
            mode: stat.st_mode,
            uid: stat.st_uid,
        }
    }

    /// The identity of whatever `path` reaches now (following symlinks), if anything.
    pub fn of_path(path: &Path) -> Option<Self> {
        nix::sys::stat::stat(path)
            .ok()
            .map(|stat| Identity::from_stat(&stat))
    }
}

/// A timestamp in nanoseconds. Wrapping, not overflowing: a file dated past 2262 (`touch -d`)
/// must not panic, and the value is only ever compared for equality.
fn nanoseconds(seconds: i64, nanos: i64) -> i64 {
    seconds.wrapping_mul(1_000_000_000).wrapping_add(nanos)
}

/// A `.env` opened for checking; nothing has been read from it yet.
pub struct Opened {
    file: File,
    stat: FileStat,
    /// The verdict on the way a symlinked `.env` leads to the file; `None` for a plain file.
    link: Option<Result<Passed, Refusal>>,
}

/// One guard check and its outcome, for `envguard check`.
pub struct Verdict {
    pub kind: RefusalKind,
    pub outcome: Result<Passed, Refusal>,
}

/// A check that passed. Rendered (`String::from`) only where it is shown, so that loading a
/// file looks up no user name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passed {
    SafeLink,
    Regular,
    OwnedByYou,
    Mode(u32),
    Size(u64),
}

impl From<Passed> for String {
    fn from(passed: Passed) -> String {
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
}

/// A `.env` that passed the guard, with its contents.
pub struct Guarded {
    pub bytes: Vec<u8>,
    pub identity: Identity,
    /// The file that was read, symlinks resolved: what trust is recorded for. Taken from the
    /// open descriptor, so it names the file whose bytes these are even if a symlink on the
    /// path is swapped after the open.
    pub canonical: PathBuf,
}

/// Opens `path` for the guard. Fails only when it cannot be opened at all.
pub fn open(path: &Path) -> Result<Opened, Refusal> {
    // The way is checked before the open and the file reached is compared after it, so a
    // link swapped in between is caught rather than followed.
    let way = links::check_way(path);
    let mut flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK | OFlag::O_NOCTTY;
    if matches!(way, Ok(Way::Plain)) {
        flags |= OFlag::O_NOFOLLOW;
    }
    let fd: OwnedFd = fcntl::open(path, flags, Mode::empty()).map_err(|errno| match errno {
        Errno::ELOOP if flags.contains(OFlag::O_NOFOLLOW) => links::changed_while_checked(path),
        errno => cannot_open(path, errno),
    })?;
    let stat = fstat(&fd).map_err(|errno| cannot_open(path, errno))?;
    let link = match way {
        Ok(Way::Plain) => None,
        Ok(Way::Link(Some(reached))) if reached == (stat.st_dev, stat.st_ino) => {
            Some(Ok(Passed::SafeLink))
        }
        Ok(Way::Link(_)) => Some(Err(links::changed_while_checked(path))),
        Err(refusal) => Some(Err(refusal)),
    };
    Ok(Opened {
        file: File::from(fd),
        stat,
        link,
    })
}

/// The link check of [`open`] alone, for writers: a symlinked `.env` that someone else could
/// have pointed must not steer where `set`, `unset` or `edit` write either.
pub fn check_link(path: &Path) -> Result<(), Refusal> {
    links::check_way(path).map(|_: Way| ())
}

fn cannot_open(path: &Path, errno: Errno) -> Refusal {
    let quoted = quote_for_display(path);
    match errno {
        Errno::ENOENT => crate::load::discover::missing(path),
        Errno::EACCES => Refusal::new(
            path,
            RefusalKind::Unreadable,
            "cannot be read by you",
            format!("chmod 600 {quoted}"),
        ),
        other => Refusal::new(
            path,
            RefusalKind::Unreadable,
            format!("cannot be opened: {}", other.desc()),
            "check the file",
        ),
    }
}

impl Opened {
    pub fn identity(&self) -> Identity {
        Identity::from_stat(&self.stat)
    }

    /// The path of the open file as the kernel knows it (`/proc/self/fd`), falling back to
    /// resolving `path` where `/proc` is not mounted.
    fn canonical_path(&self, path: &Path) -> PathBuf {
        fs::read_link(format!("/proc/self/fd/{}", self.file.as_raw_fd()))
            .ok()
            .filter(|target| target.is_absolute())
            .or_else(|| fs::canonicalize(path).ok())
            .unwrap_or_else(|| path.to_path_buf())
    }

    /// Every guard check, in the order a user would fix them. The link check is there only
    /// for a `.env` that is a symlink.
    pub fn verdicts(&self, path: &Path, limit: u64) -> Vec<Verdict> {
        let link = self.link.clone().map(|outcome| Verdict {
            kind: RefusalKind::Owner,
            outcome,
        });
        let checks = [
            Verdict {
                kind: RefusalKind::NotRegular,
                outcome: self.check_type(path),
            },
            Verdict {
                kind: RefusalKind::Owner,
                outcome: self.check_owner(path),
            },
            Verdict {
                kind: RefusalKind::Mode,
                outcome: self.check_mode(path),
            },
            Verdict {
                kind: RefusalKind::Size,
                outcome: self.check_size(path, limit),
            },
        ];
        link.into_iter().chain(checks).collect()
    }

    /// Runs the checks, then reads the file. The first failing check refuses it.
    pub fn read(self, path: &Path, limit: u64) -> Result<Guarded, Refusal> {
        for verdict in self.verdicts(path, limit) {
            verdict.outcome?;
        }
        self.read_unguarded(path, limit)
    }

    /// Reads the contents without the checks, for `envguard check`, which reports on the
    /// contents of a file even when its mode is wrong. Still bounded by `limit`.
    pub fn read_unguarded(mut self, path: &Path, limit: u64) -> Result<Guarded, Refusal> {
        let expected = (self.stat.st_size as u64).min(limit);
        let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
        // `take` bounds the read even if the file grows after the fstat. Saturating: a limit
        // of u64::MAX (`ENVGUARD_MAX_SIZE=18446744073709551615`) must neither overflow nor
        // wrap to a zero-byte read.
        (&mut self.file)
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|error| unreadable(path, &error))?;
        if bytes.len() as u64 > limit {
            return Err(too_large(path, bytes.len() as u64, limit));
        }
        Ok(Guarded {
            bytes,
            identity: self.identity(),
            canonical: self.canonical_path(path),
        })
    }

    fn check_type(&self, path: &Path) -> Result<Passed, Refusal> {
        let kind = match SFlag::from_bits_truncate(self.stat.st_mode) & SFlag::S_IFMT {
            SFlag::S_IFREG => return Ok(Passed::Regular),
            SFlag::S_IFDIR => "a directory",
            SFlag::S_IFIFO => "a FIFO",
            SFlag::S_IFSOCK => "a socket",
            SFlag::S_IFCHR | SFlag::S_IFBLK => "a device",
            _ => "not a regular file",
        };
        Err(Refusal::new(
            path,
            RefusalKind::NotRegular,
            format!("is {kind}, not a regular file"),
            if kind == "a directory" {
                crate::load::discover::directory_named_env_fix(path)
            } else {
                format!(
                    "replace it with a regular file: rm {} && envguard init",
                    quote_for_display(path)
                )
            },
        ))
    }

    fn check_owner(&self, path: &Path) -> Result<Passed, Refusal> {
        let me = geteuid();
        if self.stat.st_uid == me.as_raw() {
            return Ok(Passed::OwnedByYou);
        }
        let owner = user_name(Uid::from_raw(self.stat.st_uid));
        Err(Refusal::new(
            path,
            RefusalKind::Owner,
            format!("is owned by {owner}, not by you ({})", user_name(me)),
            format!(
                "if it is yours, sudo chown {} {}; if it is {owner}'s, it is not yours to load: create your own with `envguard init` in a directory of yours",
                user_name(me),
                quote_for_display(path)
            ),
        ))
    }

    fn check_mode(&self, path: &Path) -> Result<Passed, Refusal> {
        let mode = self.stat.st_mode & 0o7777;
        if mode == 0o600 || mode == 0o400 {
            return Ok(Passed::Mode(mode));
        }
        let why = if mode & 0o7000 != 0 {
            "has setuid, setgid or sticky bits"
        } else if mode & 0o077 != 0 {
            "is open to group or others"
        } else if mode & 0o100 != 0 {
            "is executable"
        } else {
            "is not readable by you"
        };
        Err(Refusal::new(
            path,
            RefusalKind::Mode,
            format!("has mode {mode:04o} and {why} (0600 or 0400 required)"),
            format!("chmod 600 {}", quote_for_display(path)),
        ))
    }

    fn check_size(&self, path: &Path, limit: u64) -> Result<Passed, Refusal> {
        let size = self.stat.st_size as u64;
        if size <= limit {
            return Ok(Passed::Size(size));
        }
        Err(too_large(path, size, limit))
    }
}

fn too_large(path: &Path, size: u64, limit: u64) -> Refusal {
    Refusal::new(
        path,
        RefusalKind::Size,
        format!("is {size} bytes, over the {limit}-byte limit"),
        "shrink it, or raise the limit with ENVGUARD_MAX_SIZE=BYTES",
    )
}

fn unreadable(path: &Path, error: &io::Error) -> Refusal {
    Refusal::new(
        path,
        RefusalKind::Unreadable,
        format!("cannot be read: {error}"),
        "check the file",
    )
}

pub(crate) fn user_name(uid: Uid) -> String {
    match User::from_uid(uid) {
        Ok(Some(user)) => user.name,
        _ => format!("uid {uid}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[test]
    fn a_file_dated_past_2262_has_an_identity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        let file = File::create(&path).unwrap();
        let year_2302 = SystemTime::UNIX_EPOCH + Duration::from_secs(10_500_000_000);
        file.set_modified(year_2302).unwrap();
        let first = Identity::of_path(&path).unwrap();
        assert_eq!(Identity::of_path(&path), Some(first));
    }

    #[test]
    fn the_largest_limit_saturates_instead_of_reading_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        fs::write(&path, "A=1\n").unwrap();
        let guarded = open(&path)
            .unwrap()
            .read_unguarded(&path, u64::MAX)
            .unwrap();
        assert_eq!(guarded.bytes, b"A=1\n");
    }
}
