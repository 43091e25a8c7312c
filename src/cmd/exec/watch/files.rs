//! Noticing that the `.env` or the trust store may have changed.
//!
//! Editors often save by writing a temporary file and renaming it over the original, and the
//! trust store is always written that way. A watch on the file itself follows the old inode
//! and misses such saves (1 of 3 caught, measured with notify 8.2), so the parent directories
//! are watched, non-recursively, and events are kept only for the files of interest (3 of 3).
//! A symlinked `.env` is watched under both its own name and the file it reaches. Events are
//! debounced so that one save (write, chmod, rename) wakes the supervisor once; whether
//! anything really changed is decided by reloading, not here.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};

use super::Event;
use crate::error::{Error, Result};
use crate::trust;

/// Long enough to fold an editor's write + chmod + rename into one event, short enough that
/// a restart follows an `envguard allow` without a noticeable delay.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// Watches `env_file` and the trust store until dropped, sending [`Event::FilesChanged`].
pub fn watch(env_file: &Path, events: Sender<Event>) -> Result<Debouncer<RecommendedWatcher>> {
    let mut files = BTreeSet::from([env_file.to_path_buf(), trust::store_path()?]);
    if let Ok(target) = fs::canonicalize(env_file) {
        files.insert(target);
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
    .map_err(|e| Error::Failed(format!("cannot watch files: {e}")))?;
    for dir in &dirs {
        debouncer
            .watcher()
            .watch(dir, RecursiveMode::NonRecursive)
            .map_err(|e| Error::Failed(format!("cannot watch {}: {e}", dir.display())))?;
    }
    Ok(debouncer)
}
