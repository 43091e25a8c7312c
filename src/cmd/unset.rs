//! `envguard unset NAME...`: remove variables, with the same guarantees as `set` (locked,
//! atomic, every other byte kept, re-allowed); `--shared` from the team's `.env.shared`, where
//! removing a line needs no key at all.

use std::path::Path;

use crate::cli::UnsetArgs;
use crate::display::{escape_for_display, quote_for_display};
use crate::envfile::{Committed, Reallow, Update};
use crate::error::{Error, Refusal, RefusalKind, Result};
use crate::load::discover;
use crate::load::names;

pub fn run(args: &UnsetArgs) -> Result<()> {
    for name in &args.names {
        // `NAME=value` by mistake: the value may be a secret, so only the name is repeated.
        if let Some((name, _)) = name.split_once('=') {
            return Err(Error::Usage(format!(
                "unset takes names, not NAME=value (fix: `envguard unset {name}`)"
            )));
        }
        if !names::is_valid(name) {
            return Err(Error::Usage(format!("{name:?} is not a variable name")));
        }
    }
    let path = if args.shared {
        super::set::shared_file(args.dir.as_deref())?
    } else {
        super::set::env_file(args.file.as_deref(), args.dir.as_deref())?
    };
    let mut update = Update::begin(&path)?;
    if !update.existed() {
        if args.file.is_some() {
            return Err(Refusal::new(
                &path,
                RefusalKind::NotFound,
                "does not exist, so nothing is set in it",
                format!(
                    "check the name; `envguard set -f {} NAME` creates it",
                    quote_for_display(&path)
                ),
            )
            .into());
        }
        return Err(discover::not_found(path.parent().unwrap_or(Path::new("/"))));
    }
    let mut removed = Vec::new();
    for name in &args.names {
        if update.unset(name)? {
            removed.push(name.as_str());
        } else {
            say!(
                "envguard: {name} is not set in {}",
                escape_for_display(&path)
            );
        }
    }
    if removed.is_empty() {
        return Ok(());
    }
    let committed = update.commit(Reallow::IfAllowedBefore)?;
    report(
        &path,
        &format!("removed {}", removed.join(", ")),
        &[],
        committed,
    )
}

/// Tells the user what a `set` or `unset` did to the file and its trust, in one line (plus a
/// warning per newly set name that makes other programs run code).
pub(super) fn report(
    path: &Path,
    did: &str,
    set_names: &[&str],
    committed: Committed,
) -> Result<()> {
    let shown = escape_for_display(path);
    match committed {
        Committed::Unchanged => {
            say!("envguard: {shown} already had those values; nothing changed")
        }
        Committed::Allowed(_) => say!("envguard: {did} in {shown} (allowed)"),
        Committed::LeftUnallowed => say!(
            "envguard: {did} in {shown}; it was not allowed before, so it still is not: review it, then `envguard allow {}`",
            quote_for_display(path)
        ),
        Committed::Refused(refusal) => {
            say!("envguard: {did} in {shown}, but it will not load: {refusal}");
            return Err(Error::Silent(1));
        }
    }
    super::allow::warn_about_names(path, set_names.iter().copied());
    Ok(())
}
