//! `envguard allow`: trust a `.env` as it is now. A file the guard or the parser refuses is
//! not trusted: allowing it would only defer the refusal to the next prompt.
//!
//! Allowing a file that changed since it was last allowed is a review, so `allow` first says
//! which names were added, removed or given a new value (by the fingerprints the trust store
//! keeps, never by value): an edit someone else slipped in is then one line to notice rather
//! than a diff to go looking for.

use std::path::Path;

use crate::cli::TargetArgs;
use crate::display::{escape_for_display, quote_for_display};
use crate::error::Result;
use crate::git;
use crate::load::discover;
use crate::load::loader::{self, Checked, from_process_env};
use crate::load::names;
use crate::load::trust::{self, Changes, Fingerprints, Trust, TrustStore};

pub fn run(args: &TargetArgs) -> Result<()> {
    let path = discover::named_or_target(args.file.as_deref(), args.path.as_deref())?;
    let checked = loader::check(&path, &from_process_env)?;
    warn_about_names(&path, checked.bindings.iter().map(|b| b.name.as_str()));
    let fingerprints = trust::fingerprints_of(&checked);
    review(&checked, &TrustStore::open()?, &fingerprints);
    trust::allow_with(&checked, fingerprints)?;
    let names: Vec<&str> = checked.bindings.iter().map(|b| b.name.as_str()).collect();
    say!(
        "envguard: allowed {} ({} variables{}{}); any edit revokes this until `envguard allow {}`",
        escape_for_display(&path),
        names.len(),
        if names.is_empty() { "" } else { ": " },
        names.join(", "),
        quote_for_display(&path),
    );
    warn_about_git(&path);
    Ok(())
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
    // A team's `.env.shared` holds only ciphertext and is meant to be committed.
    if path
        .file_name()
        .is_some_and(|name| name == discover::SHARED_FILE_NAME)
    {
        return;
    }
    if let Some((problem, fix)) = git_exposure(path) {
        say!(
            "envguard: warning: {} {problem} (fix: {fix})",
            escape_for_display(path)
        );
    }
}

/// What git exposes of `path`, and the fix, as `(problem, fix)`; None when git ignores it or
/// cannot tell (no repository, no git).
pub(super) fn git_exposure(path: &Path) -> Option<(&'static str, String)> {
    let name = Path::new(path.file_name()?);
    let dir = path.parent()?;
    // `git rm` takes paths relative to where it runs: from elsewhere, `-C` says where.
    let git_here = if is_working_dir(dir) {
        "git".to_string()
    } else {
        format!("git -C {}", quote_for_display(dir))
    };
    if git::is_tracked(path) == Some(true) {
        return Some((
            "is tracked by git: its secrets are in the repository and its history",
            format!(
                "{git_here} rm --cached {}{}, then rotate every secret in it that was pushed",
                // A name that starts with `-` would be read as an option.
                if name.as_os_str().as_encoded_bytes().starts_with(b"-") {
                    "-- "
                } else {
                    ""
                },
                quote_for_display(name)
            ),
        ));
    }
    if git::is_ignored(path) != Some(false) {
        return None;
    }
    let gitignore = git::work_tree(dir)?.join(".gitignore");
    Some((
        "is not ignored by git: `git add .` would commit it",
        ignore_command(name, &gitignore),
    ))
}

/// A command that adds a pattern for the file `name` to `gitignore`, on a line of its own.
fn ignore_command(name: &Path, gitignore: &Path) -> String {
    let bytes = name.as_os_str().as_encoded_bytes();
    // Only a name of these bytes is the same text as a gitignore pattern and a shell word.
    if bytes.is_empty()
        || !bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(b))
    {
        return format!(
            "add {} to {}",
            escape_for_display(name),
            escape_for_display(gitignore)
        );
    }
    let pattern = String::from_utf8_lossy(bytes);
    let ends_in_newline =
        std::fs::read(gitignore).map_or(true, |text| text.is_empty() || text.ends_with(b"\n"));
    if ends_in_newline {
        format!("echo {pattern} >> {}", quote_for_display(gitignore))
    } else {
        format!(
            "printf '\\n%s\\n' {pattern} >> {}",
            quote_for_display(gitignore)
        )
    }
}

fn is_working_dir(dir: &Path) -> bool {
    match (discover::working_dir(), std::fs::canonicalize(dir)) {
        (Ok(here), Ok(dir)) => std::fs::canonicalize(here).is_ok_and(|here| here == dir),
        _ => false,
    }
}
