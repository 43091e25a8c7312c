//! `envguard get NAME`: one value for a script (`envguard get DB_URL | psql -f -`), so that a
//! script needs neither `exec` around itself nor a parser of its own for `.env` syntax.
//!
//! The value goes through the same loader as `exec` (guard, parser, decryption, name rules,
//! trust), from the same files (a team's `.env.shared`, then the `.env` that overrides it): a
//! project `exec` would refuse yields nothing here either. It is written exactly, with no newline
//! added (a trailing newline would become part of a password read by `$(...)`'s neighbours such
//! as `read` or a config templater), and never to a terminal unless asked, since a value on
//! screen stays in scrollback, screen recordings and shared sessions.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use crate::cli::GetArgs;
use crate::display::escape_for_display;
use crate::error::{Error, Result};
use crate::load::discover;
use crate::load::loader;
use crate::load::names;
use crate::load::trust::TrustStore;

pub fn run(args: &GetArgs) -> Result<()> {
    crate::load::identity::ask_for_passphrases();
    let name = &args.name;
    if !names::is_valid(name) {
        return Err(Error::Usage(format!(
            "{name:?} is not a variable name (letters, digits and _, not starting with a digit)"
        )));
    }
    if io::stdout().is_terminal() && !args.reveal {
        return Err(Error::Usage(format!(
            "refusing to print the value of {name} to the terminal, where it would stay on screen and in scrollback (fix: pipe it where it is needed: `envguard get {name} | COMMAND`, or add `--reveal` to show it)"
        )));
    }
    let paths = discover::project_files(&env_file(args)?);
    let bindings = loader::load_files(&paths, &TrustStore::open()?)?;
    let Some(binding) = bindings.iter().find(|binding| &binding.name == name) else {
        let files: Vec<String> = paths.iter().map(|path| escape_for_display(path)).collect();
        say!(
            "envguard: {name} is not set in {} (fix: `envguard set {name}`, or `envguard list --names` to see what is)",
            files.join(" or ")
        );
        return Err(Error::Silent(1));
    };
    let mut out = io::stdout().lock();
    let written = out
        .write_all(binding.value.as_bytes())
        .and_then(|()| {
            if args.newline {
                out.write_all(b"\n")
            } else {
                Ok(())
            }
        })
        .and_then(|()| out.flush());
    match written {
        Ok(()) => Ok(()),
        // The reader left (`envguard get KEY | head -c 4`): what it wanted, it got.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(Error::io("write", "standard output", error)),
    }
}

/// `--file`, else the nearest project's `.env` from `--dir` or here (which need not exist when
/// the project has only a `.env.shared`): what `exec` would load.
fn env_file(args: &GetArgs) -> Result<PathBuf> {
    if let Some(file) = &args.file {
        return discover::absolute(file);
    }
    let dir = match &args.dir {
        Some(dir) => discover::absolute(dir)?,
        None => discover::working_dir()?,
    };
    discover::nearest_project(&dir).ok_or_else(|| discover::not_found(&dir))
}
