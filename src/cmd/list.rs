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
use crate::load::resolve;
use crate::load::trust::TrustStore;
use crate::mask;

pub fn run(args: &ListArgs) -> Result<()> {
    let files = match &args.file {
        Some(file) => vec![discover::absolute(file)?],
        None => discover::project_files(&discover::resolve_project(args.dir.as_deref())?),
    };
    let shared_present = files.iter().any(|file| is_shared(file));
    let mut listed = Vec::new();
    for path in &files {
        listed.push(inspect(path)?);
    }

    let mut out = io::stdout().lock();
    let stdout = Path::new("standard output");
    if args.names {
        let mut seen = std::collections::HashSet::new();
        for (checked, _) in &listed {
            for binding in &checked.bindings {
                if seen.insert(binding.name.as_str()) {
                    writeln!(out, "{}", binding.name).context("write", stdout)?;
                }
            }
        }
        return Ok(());
    }
    for (checked, refusal) in &listed {
        let status = match refusal {
            None => "would load".to_string(),
            Some(refusal) => format!("refused: {} (fix: {})", refusal.reason, refusal.fix),
        };
        let which = match (shared_present, is_shared(&checked.path)) {
            (false, _) => "",
            (true, true) => " (shared)",
            (true, false) => " (personal, wins over shared)",
        };
        writeln!(
            out,
            "{}{which}: {} variables, {status}",
            escape_for_display(&checked.path),
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
                resolve::list_hint(binding).unwrap_or_else(|| mask::hint(&binding.value))
            )
            .context("write", stdout)?;
        }
    }
    Ok(())
}

fn is_shared(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| name == discover::SHARED_FILE_NAME)
}

/// One file's variables and why it would not load, if it would not. A loose `.env` is shown
/// to its owner; a team file someone else could write is refused outright, like a load.
fn inspect(path: &Path) -> Result<(loader::Checked, Option<Refusal>)> {
    let policy = if is_shared(path) {
        Policy::Shared
    } else {
        Policy::Inspect
    };
    let read = guard::open(path)?.read(path, guard::max_size(), policy)?;
    let mut refusal = read.overlooked.into_iter().next().map(Refusal::from);
    let checked = loader::from_contents(path, read.guarded, &from_process_env)?;
    if refusal.is_none() {
        let store = TrustStore::open()?;
        refusal = loader::trust_refusal(&checked, store.trust(&checked.canonical, &checked.digest));
    }
    if refusal.is_none() {
        // A malformed reference refuses the load: found as a load finds it, nothing fetched.
        refusal = resolve::resolve(path, checked.bindings.clone(), resolve::Mode::CheckOnly).err();
    }
    Ok((checked, refusal))
}
