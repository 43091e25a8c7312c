//! `envguard set NAME...`: put secrets into the `.env` without them ever being on screen, in
//! shell history or in a process listing: values come from a hidden prompt or a pipe, never
//! from the command line (unless the user insists with `--insecure-arg`).

use std::io::{self, IsTerminal, Read};
use std::path::{Path, PathBuf};

use crate::cli::SetArgs;
use crate::display::escape_for_display;
use crate::envfile::{self, Reallow, Update};
use crate::error::{Error, Result};
use crate::git;
use crate::load::discover::{self, FILE_NAME, SHARED_FILE_NAME};
use crate::load::dotenv::Limits;
use crate::load::guard;
use crate::load::loader;

pub fn run(args: &SetArgs) -> Result<()> {
    let mut pending = Vec::with_capacity(args.names.len());
    for arg in &args.names {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name, Some(value.to_string())),
            None => (arg.as_str(), None),
        };
        envfile::check_name(name)?;
        if inline.is_some() && !args.insecure_arg {
            return Err(Error::Usage(format!(
                "refusing `{name}=...` on the command line: it would stay in your shell history and show in process listings (fix: `envguard set {name}` and type it at the hidden prompt, or pipe it in: `envguard set {name} < file`; `--insecure-arg` overrides)"
            )));
        }
        if let Some(value) = &inline {
            refuse_oversize(name, value)?;
        }
        pending.push((name, inline));
    }
    let (path, team) = if args.shared {
        let path = shared_file(args.dir.as_deref())?;
        let team = super::share::recipients(&path)?;
        (path, Some(team))
    } else {
        let path = env_file(args.file.as_deref(), args.dir.as_deref())?;
        refuse_committed(&path)?;
        (path, None)
    };
    // Fail before asking for secrets, not after, when the file cannot be rewritten.
    drop(Update::begin(&path)?);

    let asked: Vec<&str> = pending
        .iter()
        .filter(|(_, inline)| inline.is_none())
        .map(|(name, _)| *name)
        .collect();
    let mut answers = read_values(&asked, args.null)?.into_iter();
    let values: Vec<(&str, String)> = pending
        .into_iter()
        .map(|(name, inline)| (name, inline.or_else(|| answers.next()).unwrap_or_default()))
        .collect();
    for (name, value) in &values {
        refuse_oversize(name, value)?;
    }

    let mut update = Update::begin(&path)?;
    for (name, value) in &values {
        match &team {
            Some(team) => {
                // The file holds the ciphertext, a third larger than the value: it must fit too.
                let sealed = team.seal(name, value)?;
                refuse_oversize(name, &sealed)?;
                update.set_unquoted(name, &sealed)?;
            }
            None => update.set(name, value)?,
        }
    }
    let created = !update.existed();
    let committed = update.commit(Reallow::IfAllowedBefore)?;
    let names: Vec<&str> = values.iter().map(|(name, _)| *name).collect();
    if let Some(team) = &team {
        say!(
            "envguard: encrypted to the {} recipients of {}: {}",
            team.labels.len(),
            escape_for_display(&team.path),
            team.labels.join(", ")
        );
    } else if created {
        let (ignored, warning) = git::ensure_ignored(&path)?.describe(&path);
        say!(
            "envguard: created {} (mode 0600{ignored})",
            escape_for_display(&path)
        );
        if let Some(warning) = warning {
            say!("envguard: warning: {warning}");
        }
    } else {
        super::allow::warn_about_git(&path);
    }
    super::unset::report(
        &path,
        &format!("set {}", names.join(", ")),
        &names,
        committed,
    )
}

/// Refuses, before anything is written, a variable longer than any program can receive: the
/// loader would refuse the whole file, so writing it would only break what loads today.
pub(super) fn refuse_oversize(name: &str, value: &str) -> Result<()> {
    let size = Limits::size_of(name, value);
    if size <= loader::MAX_VARIABLE_BYTES {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "the value for {name} is {size} bytes with its name, over the 128 KiB a program can receive, so the .env would not load; nothing was changed (fix: keep large data in a file of its own and set its path: `envguard set {name}_FILE`)"
    )))
}

/// The `.env.shared` of the nearest project from DIR (or here); there must be one, since its
/// recipients come from the `.env.recipients` beside it.
pub(super) fn shared_file(dir: Option<&Path>) -> Result<PathBuf> {
    let start = match dir {
        Some(dir) => discover::absolute(dir)?,
        None => discover::working_dir()?,
    };
    let project = discover::nearest_project(&start)
        .as_deref()
        .and_then(Path::parent)
        .map_or(start, Path::to_path_buf);
    Ok(project.join(SHARED_FILE_NAME))
}

/// Refuses to write a plaintext value into a file that is committed and readable by the team
/// (`-f .env.shared` without `--shared`, or `-f .env.recipients`): it would be pushed as is.
fn refuse_committed(path: &Path) -> Result<()> {
    let name = path.file_name().unwrap_or_default();
    let fix = if name == SHARED_FILE_NAME {
        "`envguard set --shared NAME` encrypts it for the team"
    } else if name == discover::RECIPIENTS_FILE_NAME {
        "it lists who reads the team's values; a secret belongs in .env (`envguard set NAME`)"
    } else {
        return Ok(());
    };
    Err(Error::Usage(format!(
        "refusing to write a plaintext value into {}, which is committed for the team (fix: {fix})",
        crate::display::escape_for_display(path)
    )))
}

/// The `.env` that `set` and `unset` change: FILE as named, else the nearest one from DIR (or
/// here), else a new one in DIR.
pub(super) fn env_file(file: Option<&Path>, dir: Option<&Path>) -> Result<PathBuf> {
    if let Some(file) = file {
        return discover::absolute(file);
    }
    let dir = match dir {
        Some(dir) => discover::absolute(dir)?,
        None => discover::working_dir()?,
    };
    Ok(discover::nearest(&dir).unwrap_or_else(|| dir.join(FILE_NAME)))
}

/// One value per name: typed at a hidden prompt on the terminal, or read from standard input
/// when it is not a terminal.
fn read_values(names: &[&str], null_separated: bool) -> Result<Vec<String>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    if io::stdin().is_terminal() {
        return names
            .iter()
            .map(|name| {
                rpassword::prompt_password(format!("{name} (hidden): "))
                    .map_err(|e| Error::io("read a value from", "the terminal", e))
            })
            .collect();
    }
    let input = read_stdin("")?;
    if input.is_empty() {
        return Err(Error::Usage(
            "no value on standard input (fix: pipe the value in; an empty line sets it empty: `echo | envguard set NAME`)".into(),
        ));
    }
    let text = String::from_utf8(input).map_err(|_| {
        Error::Usage("standard input is not UTF-8 text; .env values must be".into())
    })?;
    let values: Vec<String> = if null_separated {
        text.strip_suffix('\0')
            .unwrap_or(&text)
            .split('\0')
            .map(String::from)
            .collect()
    } else if names.len() == 1 {
        vec![text.strip_suffix('\n').unwrap_or(&text).to_string()]
    } else {
        text.strip_suffix('\n')
            .unwrap_or(&text)
            .split('\n')
            .map(String::from)
            .collect()
    };
    if values.len() != names.len() {
        let separator = if null_separated {
            "NUL-separated"
        } else {
            "one per line; use --null for multi-line values"
        };
        return Err(Error::Usage(format!(
            "expected {} values on standard input ({separator}), got {}; nothing was changed",
            names.len(),
            values.len()
        )));
    }
    Ok(values)
}

/// All of standard input, refused (with `consequence` appended to the reason) when it is over
/// the `.env` size limit: a value that long could not be loaded anyway, and the read stays
/// bounded whatever is piped in.
pub(super) fn read_stdin(consequence: &str) -> Result<Vec<u8>> {
    let limit = guard::max_size();
    let mut input = Vec::new();
    io::stdin()
        .lock()
        // Saturating: ENVGUARD_MAX_SIZE may be the largest integer.
        .take(limit.saturating_add(1))
        .read_to_end(&mut input)
        .map_err(|e| Error::io("read", "standard input", e))?;
    if input.len() as u64 > limit {
        return Err(Error::Usage(format!(
            "standard input is over the {limit}-byte limit of a .env{consequence}"
        )));
    }
    Ok(input)
}
