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
use crate::error::{Error, Result};
use crate::load::discover;
use crate::load::dotenv::Binding;
use crate::load::loader::{self, from_process_env};
use crate::load::trust::TrustStore;

mod watch;

pub fn run(args: ExecArgs) -> Result<()> {
    if let Some(invocation) = watch::keeper::Invocation::from_env() {
        return watch::keeper::run(invocation, &args.command);
    }
    // A bad `--signal` or `--grace` is reported before anything is loaded or started.
    let stop = args
        .watch
        .then(|| watch::StopPolicy::parse(&args.signal, args.grace))
        .transpose()?;
    let path = env_file(&args)?;
    if let Some(kernel) = &args.kernel {
        crate::jupyter::launch::check_before_start(kernel, path.as_deref())?;
    }
    if let Some(stop) = stop {
        return watch::run(path.as_deref(), &args.command, stop);
    }
    let bindings = match &path {
        Some(path) => loader::load(path, &from_process_env, &TrustStore::open()?)?.bindings,
        None => Vec::new(),
    };
    Err(replace_process(&args.command, bindings))
}

/// The `.env` that `exec` loads: `--file`, else the nearest one from `--dir` or here. `None`
/// only with `--allow-missing`.
fn env_file(args: &ExecArgs) -> Result<Option<PathBuf>> {
    if let Some(file) = &args.file {
        return discover::absolute(file).map(Some);
    }
    let dir = match &args.dir {
        Some(dir) => discover::absolute(dir)?,
        None => discover::working_dir()?,
    };
    match discover::nearest(&dir) {
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
fn launch_failure(program: &OsStr, error: &io::Error) -> Error {
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
