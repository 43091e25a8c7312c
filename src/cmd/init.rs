//! `envguard init`: the safe starting point, a `.env` that is private (0600), ignored by git
//! and allowed, so that nobody has to remember `chmod` or `.gitignore`.
//!
//! `init` creates, it does not edit: it refuses an existing `.env` (unless `--force` empties a
//! regular one) and always refuses a symlinked one, whose target may be any file of the user.

use std::fs;

use crate::atomic;
use crate::cli::InitArgs;
use crate::display::{escape_for_display, quote_for_display};
use crate::envfile::{self, MODE};
use crate::error::{Error, IoContext, Result};
use crate::git;
use crate::load::discover::{self, FILE_NAME};
use crate::load::loader::{self, from_process_env};

pub fn run(args: &InitArgs) -> Result<()> {
    let dir = match &args.dir {
        Some(dir) => discover::absolute(dir)?,
        None => discover::working_dir()?,
    };
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "{}: not a directory (fix: `envguard init DIR` with an existing directory)",
            escape_for_display(&dir)
        )));
    }
    let path = dir.join(FILE_NAME);
    let _lock = envfile::lock_dir(&dir)?;
    if let Ok(meta) = fs::symlink_metadata(&path) {
        if meta.file_type().is_symlink() {
            // `--force` would empty whatever the link reaches: a cloned repository that
            // ships `.env -> ../../.ssh/authorized_keys` must not get that file emptied.
            return Err(Error::Usage(format!(
                "{}: is a symlink, and init never writes through a link, whatever it reaches (fix: remove the link, which leaves the file it names alone: rm {}, then `envguard init`)",
                escape_for_display(&path),
                quote_for_display(&path)
            )));
        }
        if meta.is_dir() {
            return Err(Error::Usage(format!(
                "{}: is a directory (a virtualenv?) (fix: {})",
                escape_for_display(&path),
                discover::directory_named_env_fix(&path)
            )));
        }
        if !args.force {
            return Err(Error::Usage(format!(
                "{}: already exists; nothing was changed (fix: `envguard edit` to change it, or `envguard init --force` to empty it)",
                escape_for_display(&path)
            )));
        }
    }
    // `replace`, not `write`: a link planted after the check above is replaced, not followed.
    atomic::replace(&path, b"", MODE).context("create", &path)?;
    let (ignored, warning) = git::ensure_ignored(&path)?.describe(&path);
    envfile::allow(&loader::check(&path, &from_process_env)?)?;
    say!(
        "envguard: created {} (mode 0600{ignored}, allowed)",
        escape_for_display(&path)
    );
    if let Some(warning) = warning {
        say!("envguard: warning: {warning}");
    }
    let dir_arg = args
        .dir
        .as_ref()
        .map(|_| format!(" -C {}", quote_for_display(&dir)))
        .unwrap_or_default();
    say!(
        "envguard: next: `envguard set{dir_arg} NAME` asks for a value at a hidden prompt and stores it"
    );
    Ok(())
}
