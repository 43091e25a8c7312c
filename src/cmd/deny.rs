//! `envguard deny`: revoke trust, so the file loads nowhere until it is allowed again.

use std::fs;

use crate::cli::TargetArgs;
use crate::discover;
use crate::error::Result;
use crate::trust::TrustStore;

pub fn run(args: &TargetArgs) -> Result<()> {
    let path = discover::resolve_target(args.path.as_deref())?;
    // A deleted or dangling file can still be denied under the path it was allowed as.
    let canonical = fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
    if TrustStore::update(|store| store.deny(&canonical))? {
        say!(
            "envguard: denied {}; it will not load until `envguard allow`",
            path.display()
        );
    } else {
        say!(
            "envguard: {} was not allowed; nothing to do",
            path.display()
        );
    }
    Ok(())
}
