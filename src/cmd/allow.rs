//! `envguard allow`: trust a `.env` as it is now (bare, in a team's project: its
//! `.env.shared` and its `.env`, both checked before either is trusted, and the
//! `.env.recipients` that `set --shared` encrypts to). A file the guard or the parser refuses is
//! not trusted: allowing it would only defer the refusal to the next prompt.
//!
//! Allowing a file that changed since it was last allowed is a review, so `allow` first says
//! which names were added, removed or given a new value (by the fingerprints the trust store
//! keeps, never by value): an edit someone else slipped in is then one line to notice rather
//! than a diff to go looking for.

use std::path::Path;

use crate::cli::TargetArgs;
use crate::display::{LISTED_NAMES, escape_for_display, name_list, quote_for_display};
use crate::error::Result;
use crate::git;
use crate::load::discover;
use crate::load::loader::{self, Checked, from_process_env};
use crate::load::names;
use crate::load::resolve;
use crate::load::trust::{self, Changes, Fingerprints, Trust, TrustStore};

pub fn run(args: &TargetArgs) -> Result<()> {
    // Run by hand: a team file's protected age identity may be unlocked to check it.
    crate::load::identity::ask_for_passphrases();
    let paths = discover::named_or_project(args.file.as_deref(), args.path.as_deref())?;
    // Both of a project's files pass the checks before either is allowed: all or nothing.
    let checked = paths
        .iter()
        .map(|path| loader::check(path, &from_process_env))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let store = TrustStore::open()?;
    for checked in &checked {
        allow_one(checked, &store)?;
    }
    // Last: a team's recipient list is allowed only once its files were.
    for checked in &checked {
        super::share::allow_recipients(&checked.path)?;
    }
    Ok(())
}

fn allow_one(checked: &Checked, store: &TrustStore) -> Result<()> {
    let path = checked.path.as_path();
    warn_about_names(path, checked.bindings.iter().map(|b| b.name.as_str()));
    show_references(checked);
    let fingerprints = trust::fingerprints_of(checked);
    review(checked, store, &fingerprints);
    trust::allow_with(checked, fingerprints)?;
    let names: Vec<&str> = checked.bindings.iter().map(|b| b.name.as_str()).collect();
    say!(
        "envguard: allowed {} ({} variables{}{}); any edit revokes this until `envguard allow {}`",
        escape_for_display(path),
        names.len(),
        if names.is_empty() { "" } else { ": " },
        name_list(&names),
        quote_for_display(path),
    );
    warn_about_git(path);
    Ok(())
}

/// One line per reference the file holds, with what fetches it: allowing the file lets every
/// load run those CLIs and bring their secrets into the project's environment. In a team's
/// `.env.shared` a reference is sealed inside a ciphertext that anyone with the recipients'
/// public keys can write, so this line is the only place the review can see it.
fn show_references(checked: &Checked) {
    let hints: Vec<(&str, String)> = checked
        .bindings
        .iter()
        .filter_map(|binding| Some((binding.name.as_str(), resolve::list_hint(binding)?)))
        .collect();
    for (name, hint) in hints.iter().take(LISTED_NAMES) {
        say!(
            "envguard: {}: {name} = {hint}",
            escape_for_display(&checked.path)
        );
    }
    if hints.len() > LISTED_NAMES {
        say!(
            "envguard: {}: and {} more references (`envguard list` shows them)",
            escape_for_display(&checked.path),
            hints.len() - LISTED_NAMES
        );
    }
}

/// One line on what changed since `checked`'s file was last allowed; nothing when it was
/// never allowed or has not changed.
fn review(checked: &Checked, store: &TrustStore, now: &std::result::Result<Fingerprints, String>) {
    if store.trust(&checked.canonical, &checked.digest) != Trust::Changed {
        return;
    }
    let what = match (store.fingerprints(&checked.canonical), now) {
        (Some(before), Ok(now)) => {
            let changes = Changes::between(before, now);
            if changes.is_empty() {
                "no name or value changed (only comments, quoting or layout)".to_string()
            } else {
                changes.to_string()
            }
        }
        (None, _) => {
            "envguard cannot tell what (it was allowed before envguard kept fingerprints)".into()
        }
        (Some(_), Err(problem)) => format!("envguard cannot tell what: {problem}"),
    };
    say!(
        "envguard: {} changed since it was last allowed: {what}",
        escape_for_display(&checked.path)
    );
}

/// One warning line per name in `path` that makes other programs run code or that the shell
/// hook refuses: shared by every command that writes or approves a `.env` (`allow`, `set`,
/// `edit`), so none of them lets such a name pass unmentioned.
pub(super) fn warn_about_names<'a>(path: &Path, names: impl IntoIterator<Item = &'a str>) {
    for (_, warning) in names::warnings(names) {
        say!("envguard: warning: {}: {warning}", escape_for_display(path));
    }
}

/// One warning line when git tracks `path` (its secrets are in the repository's history) or
/// does not ignore it (one `git add .` from there): shared by `allow`, `set` and `edit`, which
/// would otherwise write or trust such a file without a word.
pub(super) fn warn_about_git(path: &Path) {
    if let Some((problem, fix)) = git::exposure(path) {
        say!(
            "envguard: warning: {} {problem} (fix: {fix})",
            escape_for_display(path)
        );
    }
}
