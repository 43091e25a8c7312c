//! `envguard deny`: revoke trust, so the file loads nowhere until it is allowed again.
//!
//! A symlinked `.env` gets the same link check as a load or a write: a link someone else
//! planted (or could retarget) would otherwise make the user revoke trust from whichever of
//! their own files it names, without knowing which.

use std::fs;

use crate::cli::TargetArgs;
use crate::display::quote_for_display;
use crate::error::Result;
use crate::load::discover;
use crate::load::guard;
use crate::load::trust::TrustStore;

pub fn run(args: &TargetArgs) -> Result<()> {
    let path = discover::named_or_target(args.file.as_deref(), args.path.as_deref())?;
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
