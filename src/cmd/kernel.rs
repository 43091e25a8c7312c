//! `envguard kernel install|list|remove`: Jupyter kernelspecs that start their kernel through
//! `envguard exec`, found and replaced only where Jupyter itself would look.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use crate::atomic;
use crate::cli::{KernelCommand, KernelInstallArgs, KernelRemoveArgs};
use crate::display::{escape_for_display, quote_for_display};
use crate::error::{Error, IoContext, Result};
use crate::jupyter::dirs::{self, Lookup};
use crate::jupyter::kernelspec::{self, Installed, SPEC_FILE, Spec};
use crate::jupyter::python;
use crate::jupyter::{ownership, resolve};
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
    let env_file =
        discover::nearest_project(&project).ok_or_else(|| discover::not_found(&project))?;
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
    if !python.has_ipykernel {
        let again = install_command(args, args.name.as_deref(), Some(".venv/bin/python"));
        return Err(python::missing_ipykernel(&python, &again));
    }
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
    let spec_file = spec_dir.join(SPEC_FILE);
    let replaced = match kernelspec::inspect(&spec_dir) {
        None => None,
        Some(Installed::Foreign) => {
            return Err(Error::Usage(format!(
                "{}: a kernel named {name} that envguard did not install is already there \
                 (fix: {})",
                escape_for_display(&spec_dir),
                install_command(args, Some(&free_name(&name, &project, env)), None)
            )));
        }
        Some(Installed::Envguard { project: served }) if served == project => None,
        Some(Installed::Envguard { project: served }) if args.force => Some(served),
        Some(Installed::Envguard { project: served }) => {
            return Err(Error::Usage(format!(
                "{}: kernel {name} serves another project, {}; installing would hand its \
                 notebooks this project's secrets (fix: {}, or add --force to repoint it here)",
                escape_for_display(&spec_dir),
                escape_for_display(&served),
                install_command(args, Some(&free_name(&name, &project, env)), None)
            )));
        }
    };
    ownership::refuse_shared(
        &spec_dir,
        &spec_file,
        &install_command(args, Some(&free_name(&name, &project, env)), None),
    )?;
    let spec = kernelspec::render(&Spec {
        name: &name,
        display_name: &display_name,
        envguard: &envguard,
        project: &project,
        env_file: &env_file,
        python: &python,
        mask: !args.no_mask,
    })?;
    // Not group- or world-writable whatever the umask: the next install would refuse it.
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(&spec_dir)
        .context("create", &spec_dir)?;
    atomic::write(&spec_file, &spec, 0o644).context("write", &spec_file)?;

    say!(
        "envguard: installed kernel {name} ({}) in {}; it loads {}",
        escape_for_display(Path::new(&display_name)),
        escape_for_display(&spec_dir),
        escape_for_display(&env_file)
    );
    if let Some(served) = replaced {
        say!(
            "envguard: kernel {name} no longer serves {}: --force repointed it here",
            escape_for_display(&served)
        );
    }
    warn_if_shadowed(args, &name, &spec_dir, &project, env);
    warn_if_refused(&env_file);
    Ok(())
}

/// Jupyter starts the first kernelspec of a name on its search path; one earlier than the
/// one just written would start instead, with another project's secrets or none.
fn warn_if_shadowed(
    args: &KernelInstallArgs,
    name: &str,
    spec_dir: &Path,
    project: &Path,
    env: Lookup,
) {
    let Ok(kernels) = resolve::every_kernel(env) else {
        return;
    };
    if let Some(first) = resolve::started(&kernels, name)
        && !resolve::same_dir(&first.spec_dir, spec_dir)
    {
        say!(
            "envguard: warning: Jupyter will not start this kernel: the kernel {name} in {} \
             comes first in its search path (fix: {})",
            escape_for_display(&first.spec_dir),
            install_command(args, Some(&free_name(name, project, env)), None)
        );
    }
}

/// `name-2`, `name-3`, ...: the first name no kernel on Jupyter's search path has, other than
/// one of this project's.
fn free_name(name: &str, project: &Path, env: Lookup) -> String {
    let kernels = resolve::every_kernel(env).unwrap_or_default();
    let taken = |candidate: &str| {
        kernels.iter().any(|kernel| {
            kernel.name == candidate
                && !matches!(&kernel.installed, Installed::Envguard { project: served } if served == project)
        })
    };
    (2..1000)
        .map(|n| format!("{name}-{n}"))
        .find(|candidate| !taken(candidate))
        .unwrap_or_else(|| format!("{name}-2"))
}

/// The install command the user ran, with another `--name` or `--python`: a fix that works
/// where it is shown (same working directory, same project and interpreter).
fn install_command(args: &KernelInstallArgs, name: Option<&str>, python: Option<&str>) -> String {
    let mut command = String::from("envguard kernel install");
    if let Some(dir) = &args.dir {
        command.push_str(&format!(" --dir {}", quote_for_display(dir)));
    }
    match (python, &args.python) {
        (Some(python), _) => command.push_str(&format!(" --python {python}")),
        (None, Some(python)) => {
            command.push_str(&format!(" --python {}", quote_for_display(python)));
        }
        (None, None) => {}
    }
    if let Some(display_name) = &args.display_name {
        command.push_str(&format!(
            " --display-name {}",
            quote_for_display(Path::new(display_name))
        ));
    }
    if args.sys_prefix {
        command.push_str(" --sys-prefix");
    }
    if args.no_mask {
        command.push_str(" --no-mask");
    }
    if let Some(name) = name {
        command.push_str(&format!(" --name {name}"));
    }
    command
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
        Ok(store) => discover::project_files(env_file)
            .iter()
            .find_map(|path| loader::load(path, &from_process_env, &store).err())
            .map(Error::from),
        Err(error) => Some(error),
    };
    if let Some(refusal) = refusal {
        say!("envguard: warning: the kernel will not start until this is fixed: {refusal}");
    }
}

fn list(env: Lookup) -> Result<()> {
    let kernels = resolve::every_kernel(env)?;
    let mut rows: Vec<[String; 4]> = kernels
        .iter()
        .filter_map(|kernel| match &kernel.installed {
            Installed::Envguard { project } => Some([
                escape_for_display(Path::new(&kernel.name)),
                escape_for_display(project),
                escape_for_display(&kernel.spec_dir),
                note(&kernels, kernel, project),
            ]),
            Installed::Foreign => None,
        })
        .collect();
    if rows.is_empty() {
        say!("envguard: no envguard kernels installed (add one with `envguard kernel install`)");
        return Ok(());
    }
    // Stable: a name's rows stay in search order, the one Jupyter starts first.
    rows.sort_by(|a, b| a[0].cmp(&b[0]));
    let width = |column: usize| {
        rows.iter()
            .map(|row| row[column].chars().count())
            .max()
            .unwrap_or(0)
    };
    let (name_width, project_width) = (width(0), width(1));
    let mut out = io::stdout().lock();
    for [name, project, spec_dir, shadowed] in &rows {
        let line = format!("{name:name_width$}  {project:project_width$}  {spec_dir}  {shadowed}");
        writeln!(out, "{}", line.trim_end()).context("write", Path::new("standard output"))?;
    }
    Ok(())
}

/// What is wrong with an envguard kernelspec, if anything: one earlier on the search path
/// that Jupyter starts instead, or a kernel.json from before kernels named their `.env`.
fn note(kernels: &[resolve::Found], kernel: &resolve::Found, project: &Path) -> String {
    if !kernel.started
        && let Some(first) = resolve::started(kernels, &kernel.name)
    {
        return format!(
            "(not started: Jupyter starts {})",
            escape_for_display(&first.spec_dir)
        );
    }
    let python = kernelspec::kernel_python(&kernel.spec_dir)
        .map(|python| format!(" --python {}", quote_for_display(&python)))
        .unwrap_or_default();
    // A name Jupyter would refuse came from a directory made by hand: no envguard command
    // takes it, so the fix removes the directory.
    let reinstall = match kernelspec::validate_name(&kernel.name) {
        Ok(name) => format!(
            "envguard kernel install --dir {}{python} --name {name}",
            quote_for_display(project)
        ),
        Err(_) => format!("rm -r {}", quote_for_display(&kernel.spec_dir)),
    };
    if !kernelspec::names_its_env_file(&kernel.spec_dir) {
        return format!(
            "outdated: would load a parent directory's .env if this one went away \
             (fix: {reinstall})"
        );
    }
    match kernelspec::masks(&kernel.spec_dir) {
        None => format!("outdated: shows loaded values in its output (fix: {reinstall})"),
        Some(false) => "(does not mask: installed with --no-mask)".to_owned(),
        Some(true) => String::new(),
    }
}

fn remove(args: &KernelRemoveArgs, env: Lookup) -> Result<()> {
    let name = kernelspec::validate_name(&args.name)?;
    let kernels = resolve::every_kernel(env)?;
    let kernel = resolve::started(&kernels, &name).ok_or_else(|| {
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
