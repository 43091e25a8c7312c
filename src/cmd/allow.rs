//! `envguard allow`: trust a `.env` as it is now. A file the guard or the parser refuses is
//! not trusted: allowing it would only defer the refusal to the next prompt.

use std::path::Path;

use crate::cli::TargetArgs;
use crate::display::{escape_for_display, quote_for_display};
use crate::envfile;
use crate::error::Result;
use crate::load::discover;
use crate::load::loader::{self, from_process_env};
use crate::load::names;

pub fn run(args: &TargetArgs) -> Result<()> {
    let path = discover::named_or_target(args.file.as_deref(), args.path.as_deref())?;
    let checked = loader::check(&path, &from_process_env)?;
    warn_about_names(&path, checked.bindings.iter().map(|b| b.name.as_str()));
    envfile::allow(&checked)?;
    let names: Vec<&str> = checked.bindings.iter().map(|b| b.name.as_str()).collect();
    say!(
        "envguard: allowed {} ({} variables{}{}); any edit revokes this until `envguard allow {}`",
        escape_for_display(&path),
        names.len(),
        if names.is_empty() { "" } else { ": " },
        names.join(", "),
        quote_for_display(&path),
    );
    Ok(())
}

/// One warning line per name in `path` that makes other programs run code or that the shell
/// hook refuses: shared by every command that writes or approves a `.env` (`allow`, `set`,
/// `edit`), so none of them lets such a name pass unmentioned.
pub(super) fn warn_about_names<'a>(path: &Path, names: impl IntoIterator<Item = &'a str>) {
    for (_, warning) in names::warnings(names) {
        say!("envguard: warning: {}: {warning}", escape_for_display(path));
    }
}
