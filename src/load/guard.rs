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
//! The guard says what it found as data ([`Problem`], [`Passed`]) and leaves the words to
//! [`crate::load::explain`]: one wording for the loader's refusal, `check` and `list`, and a
//! file that passes costs no user-name lookup (an NSS query, maybe over the network, on every
//! load). Which failed checks still allow a read depends on who reads ([`Policy`]): a load
//! tolerates none, while `check` and `list` show a loose file's contents to its owner.

use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{self, OFlag};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat};
use nix::unistd::geteuid;

mod links;

use links::Way;
pub use links::{LinkProblem, MAX_LINKS};

/// Kept here for the trust store, which names the owners of the files it reads.
pub(crate) use crate::load::explain::user_name;

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
    link: Option<Result<(), LinkProblem>>,
}

/// The guard's checks, in the order a user would fix what they find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Only for a `.env` that is a symlink: nobody else could have chosen where it leads.
    Link,
    Type,
    Owner,
    Mode,
    Size,
}

/// Who reads a file, which decides the failed checks a read may go past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Variables for a program or a shell: every failed check refuses.
    Load,
    /// `check` and `list`, showing its owner what a refused file holds: a loose mode, a foreign
    /// owner or link refuse loading, not looking. Only a file that cannot be read safely (a
    /// FIFO would block, a huge file would exhaust memory) is not read.
    Inspect,
    /// `set`, `unset`, `edit`: the rewrite itself sets mode 0600, so only the mode may be wrong.
    Rewrite,
    /// `.env.example`, committed and so usually mode 0644, which holds no secret: only its
    /// mode may be wrong.
    Template,
    /// `scan`, which searches for the values of `.env` files: a loose file's values are
    /// secrets all the same (the exposure is warned about); a foreign one's are not the user's.
    ScanValues,
    /// A team's `.env.shared`, loaded like a `.env` but holding only ciphertext, and checked
    /// out by git with the umask's mode: readable by others is harmless, writable by anyone
    /// but the user (or the user's own private group) would let them choose what loads.
    Shared,
}

impl Policy {
    /// Whether a failed `check` stops this reader from reading the file.
    pub fn blocks(self, check: Check) -> bool {
        match self {
            Policy::Load | Policy::Shared => true,
            Policy::Inspect => matches!(check, Check::Type | Check::Size),
            Policy::Rewrite | Policy::Template | Policy::ScanValues => check != Check::Mode,
        }
    }
}

/// A check that passed, with what it saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passed {
    SafeLink,
    Regular,
    OwnedByYou,
    Mode(u32),
    Size(u64),
}

/// What a `.env` is when it is not a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Directory,
    Fifo,
    Socket,
    Device,
    Other,
}

/// What is wrong with a `.env`, as the guard found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Nothing at the path.
    Missing,
    /// A symlink at the path leads to nothing.
    DanglingLink,
    /// `open` failed for another reason than absence.
    Unopenable(Errno),
    /// Reading failed: the OS's message.
    Unreadable(String),
    NotRegular(FileType),
    Owner {
        owner: u32,
        me: u32,
    },
    Mode(u32),
    /// A `.env.shared` someone else could write: by others, or through a group that is not
    /// the user's own private group.
    SharedWritable {
        mode: u32,
        by_group: bool,
    },
    TooLarge {
        size: u64,
        limit: u64,
    },
    Link(LinkProblem),
}

/// A [`Problem`] and the path it was found at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub path: PathBuf,
    pub problem: Problem,
}

impl Failure {
    fn new(path: &Path, problem: Problem) -> Self {
        Failure {
            path: path.to_path_buf(),
            problem,
        }
    }
}

/// One guard check and its outcome, for `envguard check`.
pub struct Verdict {
    pub check: Check,
    pub outcome: Result<Passed, Failure>,
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

/// The contents a [`Policy`] let through, and the failed checks it read past (in check order).
pub struct Admitted {
    pub guarded: Guarded,
    pub overlooked: Vec<Failure>,
}

/// Opens `path` for the guard. Fails only when it cannot be opened at all.
pub fn open(path: &Path) -> Result<Opened, Failure> {
    // The way is checked before the open and the file reached is compared after it, so a
    // link swapped in between is caught rather than followed.
    let way = links::check_way(path);
    let mut flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK | OFlag::O_NOCTTY;
    if matches!(way, Ok(Way::Plain)) {
        flags |= OFlag::O_NOFOLLOW;
    }
    let fd: OwnedFd = fcntl::open(path, flags, Mode::empty()).map_err(|errno| {
        let problem = match errno {
            Errno::ELOOP if flags.contains(OFlag::O_NOFOLLOW) => {
                Problem::Link(LinkProblem::ChangedWhileChecked)
            }
            Errno::ENOENT if fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink()) => {
                Problem::DanglingLink
            }
            Errno::ENOENT => Problem::Missing,
            errno => Problem::Unopenable(errno),
        };
        Failure::new(path, problem)
    })?;
    let stat = fstat(&fd).map_err(|errno| Failure::new(path, Problem::Unopenable(errno)))?;
    let link = match way {
        Ok(Way::Plain) => None,
        Ok(Way::Link(Some(reached))) if reached == (stat.st_dev, stat.st_ino) => Some(Ok(())),
        Ok(Way::Link(_)) => Some(Err(LinkProblem::ChangedWhileChecked)),
        Err(problem) => Some(Err(problem)),
    };
    Ok(Opened {
        file: File::from(fd),
        stat,
        link,
    })
}

/// The link check of [`open`] alone, for writers: a symlinked `.env` that someone else could
/// have pointed must not steer where `set`, `unset` or `edit` write either.
pub fn check_link(path: &Path) -> Result<(), Failure> {
    links::check_way(path)
        .map(|_: Way| ())
        .map_err(|problem| Failure::new(path, Problem::Link(problem)))
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

    /// Every guard check, in [`Check`] order. The link check is there only for a `.env` that
    /// is a symlink.
    pub fn verdicts(&self, path: &Path, limit: u64) -> Vec<Verdict> {
        self.verdicts_under(path, limit, Policy::Load)
    }

    /// [`Opened::verdicts`], with the mode rule `policy` reads under: a `.env.shared`'s, or
    /// the private one of every other file.
    pub fn verdicts_under(&self, path: &Path, limit: u64, policy: Policy) -> Vec<Verdict> {
        let mode = match policy {
            Policy::Shared => self.check_shared_mode(),
            _ => self.check_mode(),
        };
        let link = self.link.clone().map(|outcome| Verdict {
            check: Check::Link,
            outcome: outcome
                .map(|()| Passed::SafeLink)
                .map_err(|problem| Failure::new(path, Problem::Link(problem))),
        });
        let checks = [
            (Check::Type, self.check_type()),
            (Check::Owner, self.check_owner()),
            (Check::Mode, mode),
            (Check::Size, self.check_size(limit)),
        ];
        let checks = checks.into_iter().map(|(check, outcome)| Verdict {
            check,
            outcome: outcome.map_err(|problem| Failure::new(path, problem)),
        });
        link.into_iter().chain(checks).collect()
    }

    /// The failed checks `policy` reads past, or the first one it does not.
    pub fn admit(&self, path: &Path, limit: u64, policy: Policy) -> Result<Vec<Failure>, Failure> {
        let mut overlooked = Vec::new();
        for verdict in self.verdicts_under(path, limit, policy) {
            match verdict.outcome {
                Err(failure) if policy.blocks(verdict.check) => return Err(failure),
                Err(failure) => overlooked.push(failure),
                Ok(_) => {}
            }
        }
        Ok(overlooked)
    }

    /// Runs the checks, then reads the file, unless a failed check blocks `policy`.
    pub fn read(self, path: &Path, limit: u64, policy: Policy) -> Result<Admitted, Failure> {
        let overlooked = self.admit(path, limit, policy)?;
        Ok(Admitted {
            guarded: self.read_unguarded(path, limit)?,
            overlooked,
        })
    }

    /// Reads the contents without the checks, for a caller that has run them itself
    /// ([`Opened::verdicts`], [`Opened::admit`]). Still bounded by `limit`.
    pub fn read_unguarded(mut self, path: &Path, limit: u64) -> Result<Guarded, Failure> {
        let expected = (self.stat.st_size as u64).min(limit);
        let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
        // `take` bounds the read even if the file grows after the fstat. Saturating: a limit
        // of u64::MAX (`ENVGUARD_MAX_SIZE=18446744073709551615`) must neither overflow nor
        // wrap to a zero-byte read.
        (&mut self.file)
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|error: io::Error| {
                Failure::new(path, Problem::Unreadable(error.to_string()))
            })?;
        let size = bytes.len() as u64;
        if size > limit {
            return Err(Failure::new(path, Problem::TooLarge { size, limit }));
        }
        Ok(Guarded {
            bytes,
            identity: self.identity(),
            canonical: self.canonical_path(path),
        })
    }

    fn check_type(&self) -> Result<Passed, Problem> {
        let file_type = match SFlag::from_bits_truncate(self.stat.st_mode) & SFlag::S_IFMT {
            SFlag::S_IFREG => return Ok(Passed::Regular),
            SFlag::S_IFDIR => FileType::Directory,
            SFlag::S_IFIFO => FileType::Fifo,
            SFlag::S_IFSOCK => FileType::Socket,
            SFlag::S_IFCHR | SFlag::S_IFBLK => FileType::Device,
            _ => FileType::Other,
        };
        Err(Problem::NotRegular(file_type))
    }

    fn check_owner(&self) -> Result<Passed, Problem> {
        let me = geteuid().as_raw();
        match self.stat.st_uid {
            owner if owner == me => Ok(Passed::OwnedByYou),
            owner => Err(Problem::Owner { owner, me }),
        }
    }

    fn check_mode(&self) -> Result<Passed, Problem> {
        match self.stat.st_mode & 0o7777 {
            mode @ (0o600 | 0o400) => Ok(Passed::Mode(mode)),
            mode => Err(Problem::Mode(mode)),
        }
    }

    /// Readable by the user, no special bits, writable by nobody else: not by others, and
    /// by the group only when it is the user's private group (a umask of 002 makes git check
    /// out 0664 files, harmless when the group is the user alone).
    fn check_shared_mode(&self) -> Result<Passed, Problem> {
        let mode = self.stat.st_mode & 0o7777;
        if mode & 0o7000 != 0 || mode & 0o400 == 0 {
            return Err(Problem::Mode(mode));
        }
        if mode & 0o002 != 0 {
            return Err(Problem::SharedWritable {
                mode,
                by_group: false,
            });
        }
        if mode & 0o020 != 0 && !is_private_group(self.stat.st_gid) {
            return Err(Problem::SharedWritable {
                mode,
                by_group: true,
            });
        }
        Ok(Passed::Mode(mode))
    }

    fn check_size(&self, limit: u64) -> Result<Passed, Problem> {
        match self.stat.st_size as u64 {
            size if size <= limit => Ok(Passed::Size(size)),
            size => Err(Problem::TooLarge { size, limit }),
        }
    }
}

/// Whether `gid` is the effective user's private group: the user's primary group, named
/// after the user, with no other listed member. Looked up (NSS) only for a group-writable
/// `.env.shared`.
fn is_private_group(gid: u32) -> bool {
    use nix::unistd::{Gid, Group, User};
    let Ok(Some(user)) = User::from_uid(geteuid()) else {
        return false;
    };
    let Ok(Some(group)) = Group::from_gid(Gid::from_raw(gid)) else {
        return false;
    };
    user.gid.as_raw() == gid
        && group.name == user.name
        && group.mem.iter().all(|member| *member == user.name)
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
    fn only_a_load_refuses_a_loose_mode_and_only_a_load_or_inspection_a_foreign_owner() {
        use Check::*;
        let blocked = |policy: Policy| {
            [Link, Type, Owner, Mode, Size]
                .into_iter()
                .filter(|check| policy.blocks(*check))
                .collect::<Vec<_>>()
        };
        assert_eq!(blocked(Policy::Load), [Link, Type, Owner, Mode, Size]);
        assert_eq!(blocked(Policy::Inspect), [Type, Size]);
        assert_eq!(blocked(Policy::Rewrite), [Link, Type, Owner, Size]);
        assert_eq!(blocked(Policy::Template), [Link, Type, Owner, Size]);
        assert_eq!(blocked(Policy::ScanValues), [Link, Type, Owner, Size]);
    }

    #[test]
    fn a_loose_file_is_read_past_by_inspection_and_its_failure_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        fs::write(&path, "A=1\n").unwrap();
        fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
        let refused = open(&path).unwrap().read(&path, 100, Policy::Load);
        assert_eq!(refused.err().map(|f| f.problem), Some(Problem::Mode(0o644)));
        let admitted = open(&path)
            .unwrap()
            .read(&path, 100, Policy::Inspect)
            .unwrap();
        assert_eq!(admitted.guarded.bytes, b"A=1\n");
        let overlooked: Vec<Problem> = admitted.overlooked.into_iter().map(|f| f.problem).collect();
        assert_eq!(overlooked, [Problem::Mode(0o644)]);
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
