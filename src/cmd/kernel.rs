//! `envguard kernel install|list|remove`: Jupyter kernelspecs that start their kernel through
//! `envguard exec`, found and replaced only where Jupyter itself would look.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::atomic;
use crate::cli::{KernelCommand, KernelInstallArgs, KernelRemoveArgs};
use crate::display::escape_for_display;
use crate::error::{Error, IoContext, Result};
use crate::jupyter::dirs::{self, Lookup};
use crate::jupyter::kernelspec::{self, Installed, SPEC_FILE};
use crate::jupyter::python::{self, Python};
use crate::load::discover;
use crate::load::loader::{self, from_process_env};
use crate::load::trust::TrustStore;

pub fn run(command: &KernelCommand) -> Result<()> {
    let env: Lookup = &dirs::process_env;
    match command {
        KernelCommand::Install(args) => install(args, env),
        KernelCommand::List => list(env),
        KernelCommand::Remove(args) => remove(args, env),
    }
}

fn install(args: &KernelInstallArgs, env: Lookup) -> Result<()> {
    let project = project_dir(args.dir.as_deref())?;
    let env_file = discover::nearest(&project).ok_or_else(|| discover::not_found(&project))?;
    let name = match &args.name {
        Some(name) => kernelspec::validate_name(name)?,
        None => kernelspec::default_name(&project).ok_or_else(|| {
            Error::Usage(format!(
                "{}: cannot make a kernel name from it (fix: pass --name NAME)",
                escape_for_display(&project)
            ))
        })?,
    };
    let display_name = args
        .display_name
        .clone()
        .unwrap_or_else(|| kernelspec::default_display_name(&project));
    let python = python::probe(&python::locate(args.python.as_deref(), env)?, true)?;
    let envguard = std::env::current_exe()
        .and_then(fs::canonicalize)
        .map_err(|error| {
            Error::Failed(format!("cannot find envguard's own executable: {error}"))
        })?;

    let kernels_dir = if args.sys_prefix {
        python.prefix.join("share/jupyter/kernels")
    } else {
        dirs::user_data_dir(env)?.join("kernels")
    };
    let spec_dir = kernels_dir.join(&name);
    if let Some(Installed::Foreign) = kernelspec::inspect(&spec_dir) {
        return Err(Error::Usage(format!(
            "{}: a kernel named {name} that envguard did not install is already there \
             (fix: pass --name with another name)",
            escape_for_display(&spec_dir)
        )));
    }
    let spec = kernelspec::render(&envguard, &project, &python.executable, &display_name)?;
    fs::create_dir_all(&spec_dir).context("create", &spec_dir)?;
    let spec_file = spec_dir.join(SPEC_FILE);
    atomic::write(&spec_file, &spec, 0o644).context("write", &spec_file)?;

    say!(
        "envguard: installed kernel {name} ({}) in {}",
        escape_for_display(Path::new(&display_name)),
        escape_for_display(&spec_dir)
    );
    warn_if_refused(&env_file);
    Ok(())
}

/// The project as a canonical path: the kernel may start from any working directory, long
/// after `..` or a symlink in what the user typed has stopped meaning the same place.
fn project_dir(given: Option<&Path>) -> Result<PathBuf> {
    let project = match given {
        Some(dir) => dir.to_path_buf(),
        None => discover::working_dir()?,
    };
    let project = fs::canonicalize(&project).context("find the project directory", &project)?;
    if !project.is_dir() {
        return Err(Error::Usage(format!(
            "{}: not a directory (fix: pass --dir PROJECT)",
            escape_for_display(&project)
        )));
    }
    Ok(project)
}

/// The kernel loads the `.env` each time it starts, so a refusal today does not stop the
/// install; but it is better heard now than as a kernel that dies in a notebook.
fn warn_if_refused(env_file: &Path) {
    let refusal = match TrustStore::open() {
        Ok(store) => loader::load(env_file, &from_process_env, &store)
            .err()
            .map(Error::from),
        Err(error) => Some(error),
    };
    if let Some(refusal) = refusal {
        say!("envguard: warning: the kernel will not start until this is fixed: {refusal}");
    }
}

/// One envguard kernel as Jupyter resolves it.
struct Found {
    name: String,
    spec_dir: PathBuf,
    installed: Installed,
}

fn list(env: Lookup) -> Result<()> {
    let mut rows: Vec<[String; 3]> = visible_kernels(env)?
        .into_iter()
        .filter_map(|kernel| match kernel.installed {
            Installed::Envguard { project } => Some([
                escape_for_display(Path::new(&kernel.name)),
                escape_for_display(&project),
                escape_for_display(&kernel.spec_dir),
            ]),
            Installed::Foreign => None,
        })
        .collect();
    if rows.is_empty() {
        say!("envguard: no envguard kernels installed (add one with `envguard kernel install`)");
        return Ok(());
    }
    rows.sort();
    let width = |column: usize| {
        rows.iter()
            .map(|row| row[column].chars().count())
            .max()
            .unwrap_or(0)
    };
    let (name_width, project_width) = (width(0), width(1));
    let mut out = io::stdout().lock();
    for [name, project, spec_dir] in &rows {
        writeln!(
            out,
            "{name:name_width$}  {project:project_width$}  {spec_dir}"
        )
        .context("write", Path::new("standard output"))?;
    }
    Ok(())
}

fn remove(args: &KernelRemoveArgs, env: Lookup) -> Result<()> {
    let name = kernelspec::validate_name(&args.name)?;
    let kernel = visible_kernels(env)?
        .into_iter()
        .find(|kernel| kernel.name == name)
        .ok_or_else(|| {
            Error::Usage(format!(
                "no kernel named {name} (fix: see `envguard kernel list`)"
            ))
        })?;
    if let Installed::Foreign = kernel.installed {
        return Err(Error::Usage(format!(
            "{}: kernel {name} was not installed by envguard; leaving it alone \
             (fix: jupyter kernelspec remove {name})",
            escape_for_display(&kernel.spec_dir)
        )));
    }
    // A symlinked kernelspec is removed as a link, as `jupyter kernelspec remove` does.
    let removed = if kernel.spec_dir.is_symlink() {
        fs::remove_file(&kernel.spec_dir)
    } else {
        fs::remove_dir_all(&kernel.spec_dir)
    };
    removed.context("remove", &kernel.spec_dir)?;
    say!(
        "envguard: removed kernel {name} ({})",
        escape_for_display(&kernel.spec_dir)
    );
    Ok(())
}

/// Every kernel Jupyter can see, by lowercase name, each from the first directory of the
/// search path that has it (as `jupyter kernelspec list` resolves them).
///
/// The environment directory is that of `python3` on PATH, the interpreter `jupyter` most
/// likely runs under; without a working one, that directory is not searched.
fn visible_kernels(env: Lookup) -> Result<Vec<Found>> {
    let python: Option<Python> = python::locate(None, env)
        .ok()
        .and_then(|path| python::probe(&path, false).ok());
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    for kernels_dir in dirs::kernel_search_path(env, python.as_ref())? {
        let Ok(entries) = fs::read_dir(&kernels_dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_lowercase();
            let spec_dir = entry.path();
            if seen.contains(&name) {
                continue;
            }
            if let Some(installed) = kernelspec::inspect(&spec_dir) {
                seen.insert(name.clone());
                found.push(Found {
                    name,
                    spec_dir,
                    installed,
                });
            }
        }
    }
    Ok(found)
}
