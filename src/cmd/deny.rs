//! `envguard deny`: revoke trust, so the file loads nowhere until it is allowed again.
//!
//! A symlinked `.env` gets the same link check as a load or a write: a link someone else
//! planted (or could retarget) would otherwise make the user revoke trust from whichever of
//! their own files it names, without knowing which.
//!
//! `--missing` forgets the entries of files that are gone (a deleted project, a moved one),
//! decided under the store's lock so that an `allow` racing it is not lost. A file that cannot
//! be looked at (a directory on the way is not searchable) is not gone, and is kept.

use std::fs;
use std::io;
use std::path::Path;

use crate::cli::DenyArgs;
use crate::display::{escape_for_display, quote_for_display};
use crate::error::Result;
use crate::load::discover;
use crate::load::guard;
use crate::load::trust::TrustStore;

pub fn run(args: &DenyArgs) -> Result<()> {
    if args.missing {
        return forget_missing();
    }
    let path = discover::named_or_target(args.target.file.as_deref(), args.target.path.as_deref())?;
    guard::check_link(&path)?;
    // A deleted or dangling file can still be denied under the path it was allowed as.
    let canonical = fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
    if TrustStore::update(|store| store.deny(&canonical))? {
        say!(
            "envguard: denied {}; it will not load until `envguard allow`",
            quote_for_display(&path)
        );
    } else {
        say!(
            "envguard: {} was not allowed; nothing to do",
            quote_for_display(&path)
        );
    }
    Ok(())
}

fn forget_missing() -> Result<()> {
    let forgotten = TrustStore::update(|store| {
        let gone: Vec<_> = store
            .entries()
            .map(|(path, _)| path)
            .filter(|path| is_gone(path))
            .collect();
        for path in &gone {
            store.deny(path);
        }
        gone
    })?;
    for path in &forgotten {
        say!(
            "envguard: forgot {} (no longer exists)",
            escape_for_display(path)
        );
    }
    if forgotten.is_empty() {
        say!("envguard: every allowed file still exists; nothing to forget");
    }
    Ok(())
}

/// Whether nothing is at `path` any more (a dangling symlink included: the file it reached
/// is gone). Any other error leaves the question open, and the entry kept.
pub(super) fn is_gone(path: &Path) -> bool {
    match fs::metadata(path) {
        Ok(_) => false,
        Err(e) => matches!(
            e.kind(),
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
        ),
    }
}
