//! `envguard allow`: trust a `.env` as it is now. A file the guard or the parser refuses is
//! not trusted: allowing it would only defer the refusal to the next prompt.

use crate::cli::TargetArgs;
use crate::discover;
use crate::envfile;
use crate::error::Result;
use crate::loader::{self, from_process_env};
use crate::names;
use crate::shell::quote_for_display;

pub fn run(args: &TargetArgs) -> Result<()> {
    let path = discover::resolve_target(args.path.as_deref())?;
    let checked = loader::check(&path, &from_process_env)?;
    for binding in checked
        .bindings
        .iter()
        .filter(|b| names::runs_code(&b.name))
    {
        say!(
            "envguard: warning: {} sets {}, which makes other programs load or run code",
            path.display(),
            binding.name
        );
    }
    envfile::allow(&checked)?;
    let names: Vec<&str> = checked.bindings.iter().map(|b| b.name.as_str()).collect();
    say!(
        "envguard: allowed {} ({} variables{}{}); any edit revokes this until `envguard allow {}`",
        path.display(),
        names.len(),
        if names.is_empty() { "" } else { ": " },
        names.join(", "),
        quote_for_display(&path),
    );
    Ok(())
}
