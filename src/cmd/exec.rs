//! `envguard exec`: run a program with the project's variables over the inherited
//! environment, by replacing this process with it (no extra process: signals, the terminal
//! and the exit status belong to the program).

use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use crate::cli::ExecArgs;
use crate::discover;
use crate::dotenv::Binding;
use crate::error::{Error, Result};
use crate::loader::{self, from_process_env};
use crate::trust::TrustStore;

pub fn run(args: ExecArgs) -> Result<()> {
    let bindings = match env_file(&args)? {
        Some(path) => loader::load(&path, &from_process_env, &TrustStore::open()?)?.bindings,
        None => Vec::new(),
    };
    if args.watch {
        return Err(Error::Failed("`exec --watch` is not implemented yet".into()));
    }
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
        .envs(bindings.into_iter().map(|binding| (binding.name, binding.value)))
        .exec();
    let name = program.to_string_lossy();
    match error.kind() {
        io::ErrorKind::NotFound => {
            eprintln!("envguard: {name}: command not found");
            Error::Silent(127)
        }
        io::ErrorKind::PermissionDenied => {
            eprintln!("envguard: {name}: permission denied");
            Error::Silent(126)
        }
        _ => {
            eprintln!("envguard: cannot run {name}: {error}");
            Error::Silent(126)
        }
    }
}
