//! `envguard list`: what the `.env` defines, with masked hints instead of values, and whether
//! it would load, so a user can see what is there without printing a secret.

use std::io::{self, Write};
use std::path::Path;

use crate::cli::ListArgs;
use crate::display::escape_for_display;
use crate::error::{IoContext, Refusal, Result};
use crate::load::discover;
use crate::load::guard::{self, Policy};
use crate::load::loader::{self, from_process_env};
use crate::load::trust::TrustStore;
use crate::mask;

pub fn run(args: &ListArgs) -> Result<()> {
    let path = discover::named_or_target(args.file.as_deref(), args.dir.as_deref())?;
    let read = guard::open(&path)?.read(&path, guard::max_size(), Policy::Inspect)?;
    let mut refusal = read.overlooked.into_iter().next().map(Refusal::from);
    let checked = loader::from_contents(&path, read.guarded, &from_process_env)?;
    if refusal.is_none() {
        let store = TrustStore::open()?;
        refusal = loader::trust_refusal(&checked, store.trust(&checked.canonical, &checked.digest));
    }

    let mut out = io::stdout().lock();
    let stdout = Path::new("standard output");
    if args.names {
        for binding in &checked.bindings {
            writeln!(out, "{}", binding.name).context("write", stdout)?;
        }
        return Ok(());
    }
    let status = match &refusal {
        None => "would load".to_string(),
        Some(refusal) => format!("refused: {} (fix: {})", refusal.reason, refusal.fix),
    };
    writeln!(
        out,
        "{}: {} variables, {status}",
        escape_for_display(&path),
        checked.bindings.len()
    )
    .context("write", stdout)?;
    let width = checked
        .bindings
        .iter()
        .map(|b| b.name.len())
        .max()
        .unwrap_or(0);
    for binding in &checked.bindings {
        writeln!(
            out,
            "  {:width$}  {}",
            binding.name,
            crate::load::resolve::list_hint(&binding.value)
                .unwrap_or_else(|| mask::hint(&binding.value))
        )
        .context("write", stdout)?;
    }
    Ok(())
}
