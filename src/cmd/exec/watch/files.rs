//! Noticing that the project's files (a team's `.env.shared` and the `.env`) or the trust
//! store may have changed.
//!
//! Editors often save by writing a temporary file and renaming it over the original, and the
//! trust store is always written that way. A watch on the file itself follows the old inode
//! and misses such saves (1 of 3 caught, measured with notify 8.2), so the parent directories
//! are watched, non-recursively, and events are kept only for the files of interest (3 of 3).
//! A symlinked `.env` is watched under both its own name and the file it reaches. Events are
//! debounced so that one save (write, chmod, rename) wakes the supervisor once; a burst of
//! saves is folded by the supervisor, and whether anything really changed is decided by
//! reloading, not here. Running out of inotify instances or watches is a setting of the
//! machine, so the refusal names the setting and how to raise it.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};

use super::Event;
use crate::display::escape_for_display;
use crate::error::{Error, Result};
use crate::load::{discover, trust};

/// Long enough to fold an editor's write + chmod + rename into one event; the supervisor's
/// quiet period does the rest.
const DEBOUNCE: Duration = Duration::from_millis(100);

/// Watches the files of `env_file`'s project and the trust store until dropped, sending
/// [`Event::FilesChanged`]. Both of a team's files are watched whether or not they exist yet:
/// a `share init` or a deleted `.env` changes what the project loads.
pub fn watch(env_file: &Path, events: Sender<Event>) -> Result<Debouncer<RecommendedWatcher>> {
    let mut files = BTreeSet::from([trust::store_path()?]);
    for file in project_candidates(env_file) {
        if let Ok(target) = fs::canonicalize(&file) {
            files.insert(target);
        }
        files.insert(file);
    }
    let dirs: BTreeSet<PathBuf> = files
        .iter()
        .filter_map(|file| file.parent().map(Path::to_path_buf))
        .collect();
    let mut debouncer = new_debouncer(DEBOUNCE, move |result: DebounceEventResult| {
        let event = match result {
            Ok(batch) if batch.iter().any(|event| files.contains(&event.path)) => {
                Event::FilesChanged
            }
            Ok(_) => return,
            Err(error) => Event::WatchFailed(error.to_string()),
        };
        // The receiver is gone only while envguard exits.
        let _ = events.send(event);
    })
    .map_err(|e| cannot_watch("files", &e))?;
    for dir in &dirs {
        debouncer
            .watcher()
            .watch(dir, RecursiveMode::NonRecursive)
            .map_err(|e| cannot_watch(&escape_for_display(dir), &e))?;
    }
    Ok(debouncer)
}

/// `env_file` and, for a file named `.env`, the team's `.env.shared` beside it: the files
/// [`discover::project_files`] may pick from, present or not.
fn project_candidates(env_file: &Path) -> Vec<PathBuf> {
    let mut files = vec![env_file.to_path_buf()];
    if env_file.file_name() == Some(OsStr::new(discover::FILE_NAME))
        && let Some(dir) = env_file.parent()
    {
        files.push(dir.join(discover::SHARED_FILE_NAME));
    }
    files
}

/// Why `what` cannot be watched, with the fix when it is a per-user inotify limit.
fn cannot_watch(what: &str, error: &notify::Error) -> Error {
    let limit = match &error.kind {
        // The same error when the process itself is out of descriptors.
        notify::ErrorKind::Io(io) if io.raw_os_error() == Some(nix::libc::EMFILE) => {
            if let Some(limit) = descriptors_exhausted() {
                return Error::Failed(format!(
                    "cannot watch {what}: envguard has as many files open as its limit allows \
                     (ulimit -n {limit}) (fix: raise it in the shell that starts envguard: \
                     ulimit -n {})",
                    (limit.saturating_mul(2)).max(1024)
                ));
            }
            Some(("max_user_instances", "inotify instances"))
        }
        notify::ErrorKind::MaxFilesWatch => Some(("max_user_watches", "inotify watches")),
        notify::ErrorKind::Io(io) if io.raw_os_error() == Some(nix::libc::ENOSPC) => {
            Some(("max_user_watches", "inotify watches"))
        }
        _ => None,
    };
    let Some((setting, resource)) = limit else {
        return Error::Failed(format!("cannot watch {what}: {error}"));
    };
    let current = fs::read_to_string(format!("/proc/sys/fs/inotify/{setting}"))
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok());
    let (now, raised) = match current {
        Some(current) => (
            format!(" of {current}"),
            current.saturating_mul(2).max(1024),
        ),
        None => (String::new(), 1024),
    };
    Error::Failed(format!(
        "cannot watch {what}: your processes use all {resource} the system allows \
         (fs.inotify.{setting}{now}) (fix: stop programs that watch many files, \
         or raise the limit: sudo sysctl fs.inotify.{setting}={raised})"
    ))
}

/// The soft limit on open descriptors, if this process is at it (or within a few of it).
fn descriptors_exhausted() -> Option<u64> {
    let mut limit = nix::libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes the struct it is given, nothing else.
    if unsafe { nix::libc::getrlimit(nix::libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    // Reading the directory itself takes a descriptor, counted in the listing.
    let open = fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    let soft = limit.rlim_cur;
    (open + 4 >= soft).then_some(soft)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_out_of_inotify_instances_names_the_setting_and_the_fix() {
        let exhausted = notify::Error::io(std::io::Error::from_raw_os_error(nix::libc::EMFILE));
        let message = cannot_watch("files", &exhausted).to_string();
        assert!(
            message.contains("(fs.inotify.max_user_instances"),
            "{message}"
        );
        assert!(
            message.contains("sudo sysctl fs.inotify.max_user_instances="),
            "{message}"
        );
        let watches = notify::Error::new(notify::ErrorKind::MaxFilesWatch);
        let message = cannot_watch("/p", &watches).to_string();
        assert!(
            message.contains("sudo sysctl fs.inotify.max_user_watches="),
            "{message}"
        );
        let other = notify::Error::generic("something else");
        assert!(!cannot_watch("/p", &other).to_string().contains("sysctl"));
    }
}
