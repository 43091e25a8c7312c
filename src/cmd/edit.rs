//! `envguard edit`: change the `.env` in an editor without leaving traces, then check and
//! allow it in the same step.
//!
//! The editor works on a copy in a private temporary directory, so its swap and backup files
//! (`.env.swp`, `.env~`, which hold the secrets) are never created in the project, where git
//! could pick them up. The result goes back through an [`Update`] (locked, atomic, 0600). A
//! result that does not load is still saved, so no work is lost, but it stays unallowed.

use std::fs;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::Command;

use crate::cli::DirArgs;
use crate::discover;
use crate::envfile::{Committed, Reallow, Update};
use crate::error::{Error, IoContext, Refusal, Result};
use crate::guard::{Guarded, Identity};
use crate::loader::{self, from_process_env};

pub fn run(args: &DirArgs) -> Result<()> {
    let path = discover::resolve_target(args.dir.as_deref())?;
    let original = Update::begin_unparsed(&path)?.contents().to_vec();
    let scratch = tempfile::Builder::new()
        .prefix("envguard-edit-")
        .tempdir()
        .context("create", Path::new("a temporary directory"))?;
    let copy = scratch.path().join(discover::FILE_NAME);
    crate::atomic::write(&copy, &original, crate::envfile::MODE).context("write", &copy)?;

    let edited = loop {
        run_editor(&copy)?;
        let edited = fs::read(&copy).context("read", &copy)?;
        let problem = loader::from_contents(
            &path,
            Guarded {
                bytes: edited.clone(),
                identity: Identity::default(),
                canonical: path.clone(),
            },
            &from_process_env,
        )
        .err();
        match problem {
            Some(refusal) if offer_reopen(&refusal)? => continue,
            _ => break edited,
        }
    };

    let mut update = Update::begin_unparsed(&path)?;
    if update.contents() != original {
        // The user's work is kept (0600, in a private directory) rather than lost.
        let kept = scratch.keep().join(discover::FILE_NAME);
        return Err(Error::Failed(format!(
            "{}: changed while you were editing (another `envguard set`?); your edit was not saved but kept in {} (fix: run `envguard edit` again and copy your changes over)",
            path.display(),
            kept.display()
        )));
    }
    update.replace(edited);
    match update.commit(Reallow::Always)? {
        Committed::Allowed(checked) => {
            say!(
                "envguard: saved and allowed {} ({} variables)",
                path.display(),
                checked.bindings.len()
            );
            super::allow::warn_about_names(&path, checked.bindings.iter().map(|b| b.name.as_str()));
            Ok(())
        }
        Committed::Refused(refusal) => {
            say!("envguard: saved, but not allowed: {refusal}");
            Err(Error::Silent(1))
        }
        Committed::Unchanged | Committed::LeftUnallowed => Ok(()),
    }
}

/// Runs `$VISUAL`, `$EDITOR` or `vi` on `file`, waiting for it to exit.
fn run_editor(file: &Path) -> Result<()> {
    let setting = ["VISUAL", "EDITOR"]
        .iter()
        .find_map(|var| {
            std::env::var(var)
                .ok()
                .filter(|value| !value.trim().is_empty())
        })
        .unwrap_or_else(|| "vi".into());
    let words = shell_words::split(&setting).map_err(|_| {
        Error::Usage(format!(
            "cannot split the editor command {setting:?} (unbalanced quotes?)"
        ))
    })?;
    let (program, arguments) = words
        .split_first()
        .ok_or_else(|| Error::Usage("the editor command ($VISUAL / $EDITOR) is empty".into()))?;
    let status = Command::new(program)
        .args(arguments)
        .arg(file)
        .status()
        .map_err(|e| Error::Failed(format!("cannot start the editor {program:?}: {e}")))?;
    if !status.success() {
        return Err(Error::Failed(format!(
            "the editor {program:?} failed ({status}); the .env was not changed"
        )));
    }
    Ok(())
}

/// Reports `refusal`; on a terminal, asks whether to reopen the editor. Not on a terminal
/// (a script), there is no one to ask: the answer is no.
fn offer_reopen(refusal: &Refusal) -> Result<bool> {
    say!("envguard: {refusal}");
    if !io::stdin().is_terminal() || !io::stderr().is_terminal() {
        return Ok(false);
    }
    eprint!("envguard: reopen the editor to fix it? [Y/n] ");
    io::stderr()
        .flush()
        .context("write", Path::new("standard error"))?;
    let mut answer = String::new();
    io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("read", Path::new("standard input"))?;
    Ok(!answer.trim().eq_ignore_ascii_case("n") && !answer.trim().eq_ignore_ascii_case("no"))
}
