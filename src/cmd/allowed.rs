//! `envguard allowed`: every file the trust store allows, and what would happen to it now.
//!
//! The store only grows as projects come and go, and an entry says nothing about the file it
//! names today, so each one is looked at afresh: gone (`missing`, which `deny --missing`
//! forgets), edited since (`changed since allowed`, which `allow` reviews), or refused by the
//! guard before trust is even asked (`loose mode`, `not yours`, …). This reads and hashes each
//! file, so it is a command, never part of the prompt hook.

use std::io::{self, Write};
use std::path::Path;

use crate::display::{escape_for_display, quote_for_display};
use crate::error::{IoContext, Refusal, RefusalKind, Result};
use crate::load::guard::{self, Policy};
use crate::load::trust::{self, TrustStore};

/// One allowed file as it is now.
struct Row {
    path: std::path::PathBuf,
    state: String,
    fixes: Vec<String>,
}

pub fn run() -> Result<()> {
    let store = TrustStore::open()?;
    let rows: Vec<Row> = store
        .entries()
        .map(|(path, digest)| inspect(&path, digest))
        .collect();
    if rows.is_empty() {
        say!("envguard: no file is allowed yet (`envguard allow` trusts the nearest .env)");
        return Ok(());
    }
    let width = rows.iter().map(|row| row.state.len()).max().unwrap_or(0);
    let stdout = Path::new("standard output");
    let mut out = io::stdout().lock();
    for row in &rows {
        writeln!(
            out,
            "{:width$}  {}",
            row.state,
            escape_for_display(&row.path)
        )
        .context("write", stdout)?;
        for fix in &row.fixes {
            writeln!(out, "    fix: {fix}").context("write", stdout)?;
        }
    }
    Ok(())
}

fn inspect(path: &Path, allowed_digest: &str) -> Row {
    let row = |state: &str, fixes: Vec<String>| Row {
        path: path.to_path_buf(),
        state: state.to_string(),
        fixes,
    };
    if super::deny::is_gone(path) {
        return row("missing", vec!["envguard deny --missing".into()]);
    }
    let opened = match guard::open(path).map_err(Refusal::from) {
        Ok(opened) => opened,
        Err(refusal) if refusal.kind == RefusalKind::NotFound => {
            return row("missing", vec!["envguard deny --missing".into()]);
        }
        Err(refusal) => return row(label(&refusal), vec![refusal.fix]),
    };
    let limit = guard::max_size();
    let mut states = Vec::new();
    let mut fixes = Vec::new();
    let mut readable = true;
    for verdict in opened.verdicts(path, limit) {
        if let Err(failure) = verdict.outcome {
            readable &= !Policy::Inspect.blocks(verdict.check);
            let refusal = Refusal::from(failure);
            states.push(label(&refusal));
            fixes.push(refusal.fix);
        }
    }
    if readable {
        match opened.read_unguarded(path, limit).map_err(Refusal::from) {
            Ok(guarded) if trust::digest(&guarded.bytes) == allowed_digest => {
                if states.is_empty() {
                    states.push("ok");
                }
            }
            Ok(_) => {
                states.insert(0, "changed since allowed");
                fixes.insert(0, format!("envguard allow {}", quote_for_display(path)));
            }
            Err(refusal) => {
                states.push(label(&refusal));
                fixes.push(refusal.fix);
            }
        }
    }
    Row {
        path: path.to_path_buf(),
        state: states.join(", "),
        fixes,
    }
}

/// A refusal's few words for the state column (its fix says the rest).
fn label(refusal: &Refusal) -> &'static str {
    match refusal.kind {
        RefusalKind::Mode => "loose mode",
        RefusalKind::Owner => "not yours",
        RefusalKind::NotRegular => "not a regular file",
        RefusalKind::Size => "too large",
        RefusalKind::NotFound => "missing",
        _ => "unreadable",
    }
}
