//! `envguard init`: the safe starting point, a `.env` that is private (0600), ignored by git
//! and allowed, so that nobody has to remember `chmod` or `.gitignore`.
//!
//! `init` creates, it does not edit: it refuses an existing `.env` (unless `--force` replaces a
//! regular one) and always refuses a symlinked one, whose target may be any file of the user.
//!
//! In a project that commits a `.env.example`, `init` also fills the new file: it asks for
//! each listed value at the hidden prompt, so a teammate goes from `git clone` to a working
//! `.env` without an editor, and with no value on screen or in shell history. Every value is
//! asked for before anything is written, so an interrupted `init` leaves no half-filled file.

use std::fs;
use std::io::{self, IsTerminal};
use std::path::Path;

use crate::atomic;
use crate::cli::InitArgs;
use crate::display::{escape_for_display, quote_for_display};
use crate::envfile::{self, MODE};
use crate::error::{Error, IoContext, Result};
use crate::git;
use crate::load::discover::{self, FILE_NAME};
use crate::load::dotenv::{self, Limits};
use crate::load::loader::{self, from_process_env};
use crate::load::names;

use super::example::{self, EXAMPLE_NAME};

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
    // Checked before asking for secrets (not only under the lock below), so nobody types
    // values into a command that then refuses.
    refuse_existing(&path, args.force)?;
    let dir_arg = args
        .dir
        .as_ref()
        .map(|_| format!(" -C {}", quote_for_display(&dir)))
        .unwrap_or_default();
    let listed = askable(example::listed_names(&dir)?);
    let answers = ask(&listed, args.null)?;
    let mut given = Vec::new();
    let mut skipped = Vec::new();
    for (name, value) in listed.iter().zip(answers) {
        if value.is_empty() {
            skipped.push(name.as_str());
        } else {
            given.push((name.as_str(), value));
        }
    }
    let contents = render(&given)?;

    let _lock = envfile::lock_dir(&dir)?;
    refuse_existing(&path, args.force)?;
    // `replace`, not `write`: a link planted after the check above is replaced, not followed.
    atomic::replace(&path, &contents, MODE).context("create", &path)?;
    let (ignored, warning) = git::ensure_ignored(&path)?.describe(&path);
    envfile::allow(&loader::check(&path, &from_process_env)?)?;
    let filled = if listed.is_empty() {
        String::new()
    } else {
        format!(
            ", {} of {} names of {EXAMPLE_NAME} set",
            given.len(),
            listed.len()
        )
    };
    say!(
        "envguard: created {} (mode 0600{ignored}, allowed{filled})",
        escape_for_display(&path)
    );
    if let Some(warning) = warning {
        say!("envguard: warning: {warning}");
    }
    if !skipped.is_empty() {
        say!(
            "envguard: skipped {}: set each later with `envguard set{dir_arg} NAME`",
            skipped.join(", ")
        );
    } else if listed.is_empty() {
        say!(
            "envguard: next: `envguard set{dir_arg} NAME` asks for a value at a hidden prompt and stores it"
        );
    }
    Ok(())
}

/// Refuses what `init` must not replace: a symlink (always), a directory, and an existing
/// `.env` without `--force`.
fn refuse_existing(path: &Path, force: bool) -> Result<()> {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return Ok(());
    };
    if meta.file_type().is_symlink() {
        // `--force` would empty whatever the link reaches: a cloned repository that
        // ships `.env -> ../../.ssh/authorized_keys` must not get that file emptied.
        return Err(Error::Usage(format!(
            "{}: is a symlink, and init never writes through a link, whatever it reaches (fix: remove the link, which leaves the file it names alone: rm {}, then `envguard init`)",
            escape_for_display(path),
            quote_for_display(path)
        )));
    }
    if meta.is_dir() {
        return Err(Error::Usage(format!(
            "{}: is a directory (a virtualenv?) (fix: {})",
            escape_for_display(path),
            discover::directory_named_env_fix(path)
        )));
    }
    if !force {
        return Err(Error::Usage(format!(
            "{}: already exists; nothing was changed (fix: `envguard edit` to change it, or `envguard init --force` to replace it)",
            escape_for_display(path)
        )));
    }
    Ok(())
}

/// The listed names worth asking for. A cloned example is someone else's text: a name no
/// `.env` may set, one that makes programs run code of the value's choosing (`LD_PRELOAD`),
/// or one the shell hook would refuse the whole file for is not asked for, with a note, before
/// any question, so that piped lines still match the names asked.
fn askable(listed: Vec<String>) -> Vec<String> {
    listed
        .into_iter()
        .filter(|name| {
            let note = match envfile::check_name(name) {
                Err(refused) => Some(refused.to_string()),
                Ok(()) => names::runs_code_reason(name)
                    .or_else(|| names::refused_by_hook_only(name))
                    .map(|why| {
                        format!(
                            "{name} {why} (set it yourself if you mean to: `envguard set {name}`)"
                        )
                    }),
            };
            if let Some(note) = &note {
                say!("envguard: not asking for {EXAMPLE_NAME}'s {name}: {note}");
            }
            note.is_none()
        })
        .collect()
}

/// One answer per name, an empty one meaning "skip": typed at the hidden prompt, or read from
/// standard input when it is not a terminal.
fn ask(names: &[String], null_separated: bool) -> Result<Vec<String>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    if !io::stdin().is_terminal() {
        return read_piped(names, null_separated);
    }
    say!(
        "envguard: {EXAMPLE_NAME} lists {} names; type each value (it is not shown), or press Enter to skip one",
        names.len()
    );
    names
        .iter()
        .map(|name| {
            let value = rpassword::prompt_password(format!("{name} (hidden, Enter skips): "))
                .map_err(|e| Error::io("read a value from", "the terminal", e))?;
            if value.is_empty() {
                say!("envguard: skipped {name}");
            }
            Ok(value)
        })
        .collect()
}

/// The answers from a pipe, split as `set` splits them: one name takes all of standard input
/// (minus one final newline), several take a line each, `--null` separates by NUL. Unlike
/// `set`, an empty answer skips the name, and no input at all skips every name, so that
/// `envguard init < /dev/null` in a script still creates the file.
fn read_piped(names: &[String], null_separated: bool) -> Result<Vec<String>> {
    let input = super::set::read_stdin("; nothing was created")?;
    if input.is_empty() {
        return Ok(vec![String::new(); names.len()]);
    }
    let text = String::from_utf8(input).map_err(|_| {
        Error::Usage(
            "standard input is not UTF-8 text; .env values must be; nothing was created".into(),
        )
    })?;
    let (separator, how) = if null_separated {
        ('\0', "NUL-separated")
    } else {
        ('\n', "one per line; --null for multi-line values")
    };
    let text = text.strip_suffix(separator).unwrap_or(&text);
    let values: Vec<String> = if names.len() == 1 && !null_separated {
        vec![text.to_string()]
    } else {
        text.split(separator).map(String::from).collect()
    };
    if values.len() != names.len() {
        return Err(Error::Usage(format!(
            "expected {} values on standard input ({how}, an empty one skips), for {} in {EXAMPLE_NAME}'s order; got {}; nothing was created",
            names.len(),
            names.join(", "),
            values.len()
        )));
    }
    Ok(values)
}

/// The new file's contents, refused before anything is written when a value would not load
/// or would not read back exactly.
fn render(given: &[(&str, String)]) -> Result<Vec<u8>> {
    let mut contents = String::new();
    for (name, value) in given {
        let size = Limits::size_of(name, value);
        if size > loader::MAX_VARIABLE_BYTES {
            return Err(Error::Usage(format!(
                "the value for {name} is {size} bytes with its name, over the 128 KiB a program can receive; nothing was created (fix: skip it with an empty answer, keep the data in a file and `envguard set {name}_FILE` to its path)"
            )));
        }
        let rendered = envfile::render(value).map_err(|why| unwritable(name, why))?;
        contents.push_str(&format!("{name}={rendered}\n"));
    }
    let read_back = dotenv::parse(contents.as_bytes(), &|_| None).unwrap_or_default();
    for (name, value) in given {
        if !read_back
            .iter()
            .any(|b| b.name == *name && b.value == *value)
        {
            let why = if value.contains("${") {
                "it contains `${`, which .env files substitute even inside quotes"
            } else {
                "the .env parser would not read it back exactly"
            };
            return Err(unwritable(name, why));
        }
    }
    Ok(contents.into_bytes())
}

fn unwritable(name: &str, why: &str) -> Error {
    Error::Usage(format!(
        "the value for {name} cannot be written to a .env file: {why}; nothing was created"
    ))
}
