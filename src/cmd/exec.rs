//! `envguard exec`: run a program with the project's variables over the inherited
//! environment, by replacing this process with it (no extra process: signals, the terminal
//! and the exit status belong to the program). With `--watch`, envguard stays as the
//! program's supervisor instead, to restart it when the variables change ([`watch`]), and
//! each program it starts runs under a keeper, which is this command started again by the
//! supervisor ([`watch::keeper`]).

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cli::ExecArgs;
use crate::display::escape_for_display;
use crate::error::{Error, Refusal, Result};
use crate::load::discover;
use crate::load::dotenv::Binding;
use crate::load::loader;
use crate::load::trust::TrustStore;

mod mask;
mod watch;

pub fn run(args: ExecArgs) -> Result<()> {
    // Run by hand in a terminal: a protected age identity may be unlocked here.
    crate::load::identity::ask_for_passphrases();
    if let Some(invocation) = watch::keeper::Invocation::from_env() {
        return watch::keeper::run(invocation, &args.command);
    }
    // A bad `--signal` or `--grace` is reported before anything is loaded or started.
    let stop = args
        .watch
        .then(|| watch::StopPolicy::parse(&args.signal, args.grace))
        .transpose()?;
    if stop.is_some() && args.file.len() > 1 {
        return Err(Error::Usage(
            "--watch follows one .env: give it one -f FILE, or run one `envguard exec --watch` per file".into(),
        ));
    }
    let paths = env_files(&args)?;
    if let Some(kernel) = &args.kernel {
        for path in &paths {
            // A project of a team file alone has no `.env`: that is not a removed project.
            let first = discover::project_files(path).into_iter().next();
            crate::jupyter::launch::check_before_start(kernel, first.as_deref())?;
        }
    }
    let masked = wants_mask(&args);
    if let Some(stop) = stop {
        return watch::run(
            paths.first().map(PathBuf::as_path),
            &args.command,
            stop,
            masked,
        );
    }
    let paths: Vec<PathBuf> = paths
        .iter()
        .flat_map(|path| discover::project_files(path))
        .collect();
    let mut bindings = loader::load_files(&paths, &TrustStore::open()?)?;
    if args.kernel.is_some() {
        bindings.push(crate::jupyter::launch::mask_names(&bindings));
    }
    if masked {
        return mask::run(&args.command, bindings);
    }
    Err(replace_process(&args.command, bindings))
}

/// `--mask`, or `ENVGUARD_MASK=1` (for CI) unless `--no-mask`.
fn wants_mask(args: &ExecArgs) -> bool {
    let by_default = std::env::var_os("ENVGUARD_MASK")
        .is_some_and(|value| !matches!(value.to_str(), Some("" | "0" | "false" | "no" | "off")));
    !args.no_mask && (args.mask || by_default)
}

/// The variables of the project of `env_file` (a team's `.env.shared`, then the `.env`), as
/// they are now: what `--watch` loads at each change, since either file may appear or go.
fn load_project(env_file: &Path, store: &TrustStore) -> Result<Vec<Binding>, Refusal> {
    loader::load_files(&discover::project_files(env_file), store)
}

/// The `.env` files that `exec` loads: every `--file`, else the nearest project's from `--dir`
/// or here (each a `.env` path that [`discover::project_files`] expands with the team's
/// `.env.shared`). Empty only with `--allow-missing`.
fn env_files(args: &ExecArgs) -> Result<Vec<PathBuf>> {
    if !args.file.is_empty() {
        return args
            .file
            .iter()
            .map(|file| discover::absolute(file))
            .collect();
    }
    env_file(args).map(|found| found.into_iter().collect())
}

/// The nearest `.env` from `--dir` or here. `None` only with `--allow-missing`.
fn env_file(args: &ExecArgs) -> Result<Option<PathBuf>> {
    let dir = match &args.dir {
        Some(dir) => discover::absolute(dir)?,
        None => discover::working_dir()?,
    };
    match discover::nearest_project(&dir) {
        Some(path) if args.allow_missing && discover::foreign_owner(&path).is_some() => {
            say!(
                "envguard: skipping {}: it is another user's, not yours to load; running without a .env",
                escape_for_display(&path)
            );
            Ok(None)
        }
        Some(path) => Ok(Some(path)),
        None if args.allow_missing => Ok(None),
        None => Err(discover::not_found(&dir)),
    }
}

/// Replaces the process with `command`; returns only if that fails.
fn replace_process(command: &[OsString], bindings: Vec<Binding>) -> Error {
    let (program, arguments) = command.split_first().expect("clap requires a command");
    let error = Command::new(program)
        .args(arguments)
        .envs(
            bindings
                .into_iter()
                .map(|binding| (binding.name, binding.value)),
        )
        .exec();
    launch_failure(program, &error)
}

/// Reports why `program` could not be started; the exit code follows the shell's (127 not
/// found, 126 not runnable).
pub(super) fn launch_failure(program: &OsStr, error: &io::Error) -> Error {
    let name = escape_for_display(Path::new(program));
    match error.kind() {
        io::ErrorKind::NotFound => {
            say!("envguard: {name}: command not found");
            Error::Silent(127)
        }
        io::ErrorKind::PermissionDenied => {
            say!("envguard: {name}: permission denied");
            Error::Silent(126)
        }
        _ => {
            say!("envguard: cannot run {name}: {error}");
            Error::Silent(126)
        }
    }
}
