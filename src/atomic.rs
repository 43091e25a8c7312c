//! Crash-safe writes for `.env` files and envguard's own state.
//!
//! A write goes to a temporary file in the same directory (created 0600, so a secret is never
//! readable by others even for a moment), is flushed to disk, given its final mode, and renamed
//! over the target; then the directory is synced so the rename itself survives a crash. A
//! reader, or a crash at any step, sees the old file or the new one, never a mix. The temp
//! file is removed if anything fails before the rename.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

/// Replaces `path` with `bytes`, atomically, leaving it with `mode`. A symlink at `path` is
/// written through: the file it reaches is replaced (see [`target`]).
pub fn write(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    replace(&target(path)?, bytes, mode)
}

/// [`write()`] that also gives the new file `group`, before it takes the target's place: a
/// team file rewritten by one teammate keeps the group git checked it out with, and is never
/// seen with the writer's group and a group-writable mode in between. Best effort, as a chown
/// to another group is (the file keeps the writer's group if it fails).
pub fn write_with_group(path: &Path, bytes: &[u8], mode: u32, group: u32) -> io::Result<()> {
    replace_as(&target(path)?, bytes, mode, Some(group))
}

/// [`write()`] that never writes through a symlink: whatever is at `path` (a link included) is
/// replaced by the new file, so a link swapped in after the caller looked cannot redirect it.
pub fn replace(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    replace_as(path, bytes, mode, None)
}

fn replace_as(path: &Path, bytes: &[u8], mode: u32, group: Option<u32>) -> io::Result<()> {
    let dir = parent(path);
    let mut temp = tempfile::Builder::new()
        .prefix(".envguard-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    temp.write_all(bytes)?;
    if let Some(group) = group {
        // Before the mode: a chown may clear the setgid bit a mode would set.
        let _ = std::os::unix::fs::fchown(temp.as_file(), None, Some(group));
    }
    temp.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))?;
    temp.as_file().sync_all()?;
    crash_point("temp-written");
    temp.persist(path).map_err(|e| e.error)?;
    crash_point("renamed");
    File::open(dir)?.sync_all()
}

/// The file a write to `path` replaces: `path` itself, or the file a symlink there reaches,
/// so that a rewrite never turns the user's link (a shared `.env`, a dotfiles-managed
/// `.gitignore`) into a plain file beside it.
pub fn target(path: &Path) -> io::Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(path),
        _ => Ok(path.to_path_buf()),
    }
}

/// Test hook: `ENVGUARD_TEST_KILL_AT=temp-written|renamed` makes the process SIGKILL itself at
/// that step of [`write`], so the crash-safety tests can show what a crash there leaves
/// behind. Compiled into debug builds only; a release binary has no such switch.
#[cfg(debug_assertions)]
fn crash_point(step: &str) {
    if std::env::var_os("ENVGUARD_TEST_KILL_AT").is_some_and(|at| at == step) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}

#[cfg(not(debug_assertions))]
fn crash_point(_step: &str) {}

/// An exclusive advisory lock held until dropped, serialising read-modify-write cycles
/// between envguard processes (two terminals running `envguard set` at once).
pub struct Lock {
    _lock: Flock<File>,
}

/// Locks the directory that holds the files about to be rewritten, waiting for other holders.
///
/// The directory is locked rather than the file because the file is replaced by rename: a
/// second writer would lock the old inode while the first renames a new one over it. Locking
/// the directory also leaves no lock file behind in the user's project.
pub fn lock_dir(dir: &Path) -> io::Result<Lock> {
    let file = File::open(dir)?;
    let lock =
        Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, errno)| io::Error::from(errno))?;
    Ok(Lock { _lock: lock })
}

/// The directory that holds `path`, where its temp file goes and which [`lock_dir`] locks
/// (`.` for a bare file name).
pub fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_sets_mode_without_leaving_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join(".env");
        fs::write(&target, "OLD=1\n").unwrap();
        write(&target, b"NEW=2\n", 0o600).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"NEW=2\n");
        assert_eq!(
            fs::metadata(&target).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_symlink_is_written_through_and_stays_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared.env");
        let link = dir.path().join(".env");
        fs::write(&shared, "OLD=1\n").unwrap();
        std::os::unix::fs::symlink(&shared, &link).unwrap();
        write(&link, b"NEW=2\n", 0o600).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&shared).unwrap(), b"NEW=2\n");
    }
}
