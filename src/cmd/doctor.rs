//! `envguard doctor`: the whole setup in one list, each problem with the command that fixes it.
//!
//! envguard is spread over places no single command otherwise looks at together: shell startup
//! files, the running shell, the trust store, the repository's hooks, Jupyter's kernel
//! directories. A new user who sees nothing load cannot tell which of them is missing, so each
//! is checked here and reported as a line, read-only: doctor never changes anything, it only
//! prints the fixes. It reads no `.env` contents at all, so it can show nothing secret.
//!
//! A problem (exit 1) is something that stops envguard from doing its job here; a note is
//! worth knowing but may be a deliberate choice (a shell the user does not use).

use std::env;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::install_git_hook::{self, HookState};
use crate::cli::DoctorArgs;
use crate::display::{escape_for_display, escape_text_for_display, quote_for_display};
use crate::error::{Error, IoContext, Result};
use crate::git;
use crate::jupyter::dirs;
use crate::jupyter::kernelspec::{self, Installed, SPEC_FILE};
use crate::jupyter::python;
use crate::load::discover;
use crate::load::trust::{self, TrustStore};

/// Exported by the shell hook scripts as `SHELL:PID`, so that a command started from that very
/// shell (its parent) can tell that the hook is active there, and not merely inherited.
pub const HOOK_MARK_VAR: &str = "__ENVGUARD_HOOK";

/// At most this many missing trusted files are named one by one.
const LISTED_MISSING: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    Note,
    Problem,
}

#[derive(Debug, Serialize)]
struct Finding {
    area: &'static str,
    status: Status,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn push(&mut self, area: &'static str, status: Status, message: String, fix: Option<String>) {
        self.0.push(Finding {
            area,
            status,
            message,
            fix,
        });
    }
    fn ok(&mut self, area: &'static str, message: String) {
        self.push(area, Status::Ok, message, None);
    }
    fn note(&mut self, area: &'static str, message: String, fix: Option<String>) {
        self.push(area, Status::Note, message, fix);
    }
    fn problem(&mut self, area: &'static str, message: String, fix: String) {
        self.push(area, Status::Problem, message, Some(fix));
    }
}

pub fn run(args: &DoctorArgs) -> Result<()> {
    let mut findings = Findings::default();
    let exe = env::current_exe().map_err(|e| Error::io("locate", "the envguard binary", e))?;
    check_binary(&exe, &mut findings);
    check_shells(&mut findings);
    check_trust_store(&mut findings);
    check_git_hook(&mut findings);
    check_kernels(&mut findings);

    let problems = findings
        .0
        .iter()
        .filter(|finding| finding.status == Status::Problem)
        .count();
    let stdout = Path::new("standard output");
    let mut out = io::stdout().lock();
    if args.json {
        let report = serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "ok": problems == 0,
            "problems": problems,
            "findings": findings.0,
        });
        writeln!(out, "{report:#}").context("write", stdout)?;
    } else {
        for finding in &findings.0 {
            let mark = match finding.status {
                Status::Ok => '✓',
                Status::Note => '-',
                Status::Problem => '✗',
            };
            writeln!(out, "{mark} {}: {}", finding.area, finding.message)
                .context("write", stdout)?;
            if let Some(fix) = &finding.fix {
                writeln!(out, "    fix: {fix}").context("write", stdout)?;
            }
        }
        match problems {
            0 => writeln!(out, "no problems found"),
            1 => writeln!(out, "1 problem to fix"),
            n => writeln!(out, "{n} problems to fix"),
        }
        .context("write", stdout)?;
    }
    drop(out);
    if problems == 0 {
        Ok(())
    } else {
        Err(Error::Silent(1))
    }
}

fn check_binary(exe: &Path, findings: &mut Findings) {
    findings.ok(
        "binary",
        format!(
            "envguard {} at {}",
            env!("CARGO_PKG_VERSION"),
            escape_for_display(exe)
        ),
    );
    let on_path = env::var_os("PATH").and_then(|path| {
        env::split_paths(&path)
            .map(|dir| dir.join("envguard"))
            .find(|candidate| is_executable(candidate))
    });
    match on_path {
        None => findings.problem(
            "binary",
            "`envguard` is not on PATH, and the shell startup lines call it by name".into(),
            format!(
                "mkdir -p ~/.local/bin && ln -s {} ~/.local/bin/envguard (and have ~/.local/bin on PATH)",
                quote_for_display(exe)
            ),
        ),
        Some(found) if !same_file(&found, exe) => findings.note(
            "binary",
            format!(
                "`envguard` on PATH is another binary, {}: the shell hooks and new git hooks use that one",
                escape_for_display(&found)
            ),
            Some(format!("{} --version", quote_for_display(&found))),
        ),
        Some(_) => findings.ok("binary", "`envguard` on PATH is this binary".into()),
    }
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// One of the shells envguard has a hook for, and where its startup line belongs.
struct Shell {
    name: &'static str,
    /// Files the shell reads at startup; the first is where the fix adds the line.
    startup_files: Vec<PathBuf>,
    line: &'static str,
}

fn shells() -> Vec<Shell> {
    // The user's own startup files, not those of a HOME a loaded `.env` moved.
    let home = crate::user_dirs::home().unwrap_or_default();
    let zdotdir = env::var_os("ZDOTDIR").map_or_else(|| home.clone(), PathBuf::from);
    let config = crate::user_dirs::config_home().unwrap_or_else(|| home.join(".config"));
    let fish = config.join("fish");
    let mut fish_files = vec![fish.join("config.fish")];
    if let Ok(entries) = fs::read_dir(fish.join("conf.d")) {
        let mut snippets: Vec<PathBuf> = entries
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "fish"))
            .collect();
        snippets.sort();
        fish_files.extend(snippets);
    }
    vec![
        Shell {
            name: "bash",
            startup_files: vec![home.join(".bashrc"), home.join(".bash_profile")],
            line: r#"eval "$(envguard hook bash)""#,
        },
        Shell {
            name: "zsh",
            startup_files: vec![zdotdir.join(".zshrc")],
            line: r#"eval "$(envguard hook zsh)""#,
        },
        Shell {
            name: "fish",
            startup_files: fish_files,
            line: "envguard hook fish | source",
        },
    ]
}

impl Shell {
    /// The startup file that runs `envguard hook SHELL` on a line that is not a comment (also
    /// through a path or quotes: `"$HOME/.cargo/bin/envguard" hook bash`).
    fn file_with_hook(&self) -> Option<&Path> {
        let call = format!(" hook {}", self.name);
        self.startup_files
            .iter()
            .find(|file| {
                fs::read(file).is_ok_and(|text| {
                    String::from_utf8_lossy(&text).lines().any(|line| {
                        let line = line.trim_start();
                        !line.starts_with('#') && line.contains("envguard") && line.contains(&call)
                    })
                })
            })
            .map(PathBuf::as_path)
    }

    fn add_line_fix(&self) -> String {
        let file = &self.startup_files[0];
        let append = format!(
            "echo '{}' >> {}",
            self.line.replace('\'', r"'\''"),
            quote_for_display(file)
        );
        match file.parent() {
            Some(dir) if !dir.is_dir() => {
                format!("mkdir -p {} && {append}", quote_for_display(dir))
            }
            _ => append,
        }
    }
}

fn check_shells(findings: &mut Findings) {
    let this_shell = parent_shell();
    for shell in shells() {
        let is_this = this_shell.as_deref() == Some(shell.name);
        match shell.file_with_hook() {
            Some(file) => findings.ok(
                "shell",
                format!("{}: hook in {}", shell.name, escape_for_display(file)),
            ),
            None if is_this => findings.problem(
                "shell",
                format!(
                    "{}: no hook in {}, so secrets never load in the shell",
                    shell.name,
                    escape_for_display(&shell.startup_files[0])
                ),
                shell.add_line_fix(),
            ),
            None if find_on_path(shell.name) => findings.note(
                "shell",
                format!(
                    "{}: no hook in {} (needed only if you use {})",
                    shell.name,
                    escape_for_display(&shell.startup_files[0]),
                    shell.name
                ),
                Some(shell.add_line_fix()),
            ),
            None => {}
        }
        if is_this {
            check_this_shell(&shell, findings);
        }
        if shell.name == "bash" && (is_this || shell.file_with_hook().is_some()) {
            check_bash_fast_path(findings);
        }
    }
    if this_shell.is_none() {
        findings.note(
            "shell",
            "not started from bash, zsh or fish, so whether a shell has the hook active cannot be told".into(),
            None,
        );
    }
}

/// Whether the shell that started doctor has run the hook script: its exported mark names
/// that shell and its pid (a mark inherited from an outer shell names another pid).
fn check_this_shell(shell: &Shell, findings: &mut Findings) {
    let ppid = nix::unistd::getppid().as_raw();
    let expected = format!("{}:{ppid}", shell.name);
    let active = env::var(HOOK_MARK_VAR).is_ok_and(|mark| mark == expected);
    if active {
        findings.ok(
            "shell",
            format!(
                "this shell ({}, pid {ppid}) has the hook active",
                shell.name
            ),
        );
        return;
    }
    let restart = format!("exec {}", shell.name);
    let fix = match shell.file_with_hook() {
        Some(_) => format!("start a new shell, which reads the startup file: {restart}"),
        None => format!("{} && {restart}", shell.add_line_fix()),
    };
    findings.problem(
        "shell",
        format!(
            "this shell ({}, pid {ppid}) does not have the hook active",
            shell.name
        ),
        fix,
    );
}

/// Where the bash hook looks for bash's `stat` loadable (after `BASH_LOADABLES_PATH`), as
/// `shell/envguard.bash` does.
const BASH_LOADABLE_DIRS: [&str; 2] = ["/usr/lib/bash", "/usr/local/lib/bash"];

/// Whether bash prompts can skip envguard when nothing changed: the hook's own check needs the
/// `stat` loadable, and without it each prompt starts a process (about a millisecond).
fn check_bash_fast_path(findings: &mut Findings) {
    let configured = env::var_os("BASH_LOADABLES_PATH").unwrap_or_default();
    let found = env::split_paths(&configured)
        .filter(|dir| !dir.as_os_str().is_empty())
        .chain(BASH_LOADABLE_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join("stat"))
        .find(|path| path.is_file());
    match found {
        Some(path) => findings.ok(
            "shell",
            format!(
                "bash: prompts where nothing changed start no process (stat loadable {})",
                escape_for_display(&path)
            ),
        ),
        None => findings.note(
            "shell",
            "bash: every prompt starts envguard, because bash's stat loadable is missing".into(),
            Some(
                "install it (Debian, Ubuntu: apt-get install bash-builtins) or put its directory in BASH_LOADABLES_PATH, then start a new bash".into(),
            ),
        ),
    }
}

/// The name of the shell doctor was started from, when its parent is one envguard knows.
fn parent_shell() -> Option<String> {
    let ppid = nix::unistd::getppid().as_raw();
    let comm = fs::read_to_string(format!("/proc/{ppid}/comm")).ok()?;
    let name = comm.trim_end().trim_start_matches('-');
    ["bash", "zsh", "fish"]
        .contains(&name)
        .then(|| name.to_owned())
}

fn find_on_path(program: &str) -> bool {
    env::var_os("PATH")
        .is_some_and(|path| env::split_paths(&path).any(|dir| is_executable(&dir.join(program))))
}

fn check_trust_store(findings: &mut Findings) {
    let path = match trust::store_path() {
        Ok(path) => path,
        Err(error) => {
            findings.problem("trust", error.to_string(), "set HOME".into());
            return;
        }
    };
    let store = match TrustStore::open_at(path.clone()) {
        Ok(store) => store,
        Err(Error::Refused(refusal)) => {
            findings.problem("trust", refusal.reason, refusal.fix);
            return;
        }
        Err(error) => {
            findings.problem(
                "trust",
                error.to_string(),
                format!("ls -la {}", quote_for_display(&path)),
            );
            return;
        }
    };
    if store.is_unreadable() {
        findings.problem(
            "trust",
            format!(
                "the trust store {} is unreadable, so nothing is allowed",
                escape_for_display(&path)
            ),
            "`envguard allow` each of your files again (the unreadable copy is kept aside)".into(),
        );
        return;
    }
    let files: Vec<_> = store.entries().map(|(file, _)| file).collect();
    if fs::symlink_metadata(&path).is_err() {
        findings.ok(
            "trust",
            format!(
                "no trust store yet at {} (nothing allowed so far)",
                escape_for_display(&path)
            ),
        );
        return;
    }
    findings.ok(
        "trust",
        format!(
            "trust store {}: yours, private, {} allowed file(s)",
            escape_for_display(&path),
            files.len()
        ),
    );
    let missing: Vec<&PathBuf> = files
        .iter()
        .filter(|file| fs::symlink_metadata(file).is_err())
        .collect();
    for file in missing.iter().take(LISTED_MISSING) {
        findings.problem(
            "trust",
            format!("allowed file {} no longer exists", escape_for_display(file)),
            format!("envguard deny {}", quote_for_display(file)),
        );
    }
    if missing.len() > LISTED_MISSING {
        findings.problem(
            "trust",
            format!(
                "{} more allowed files no longer exist",
                missing.len() - LISTED_MISSING
            ),
            "`envguard deny` each of them".into(),
        );
    }
}

fn check_git_hook(findings: &mut Findings) {
    let Ok(here) = discover::working_dir() else {
        return;
    };
    let Some(top) = git::work_tree(&here) else {
        findings.ok("git", "not in a git repository: no hook to check".into());
        return;
    };
    let install = format!("envguard install-git-hook -C {}", quote_for_display(&top));
    let (hook, state) = match install_git_hook::state(&top) {
        Ok(found) => found,
        Err(error) => {
            findings.note(
                "git",
                format!("cannot find the hooks directory: {error}"),
                None,
            );
            return;
        }
    };
    let shown = escape_for_display(&hook);
    match state {
        HookState::Envguard { chained, current } => {
            let chained_file = hook.with_file_name("pre-commit.envguard-chained");
            if chained && !is_executable(&chained_file) {
                findings.problem(
                    "git",
                    format!(
                        "the chained hook {} is not executable, so it never runs",
                        escape_for_display(&chained_file)
                    ),
                    format!("chmod +x {}", quote_for_display(&chained_file)),
                );
            }
            if current {
                findings.ok(
                    "git",
                    format!(
                        "{shown} runs `envguard scan --staged`{}",
                        if chained {
                            " after your previous hook"
                        } else {
                            ""
                        }
                    ),
                );
            } else {
                findings.problem(
                    "git",
                    format!(
                        "{shown} is envguard's, but not what this envguard installs (another version or binary)"
                    ),
                    install,
                );
            }
        }
        HookState::Other {
            framework_runs_envguard: true,
        } => findings.ok(
            "git",
            format!("{shown} is the pre-commit framework's, and it runs envguard-scan"),
        ),
        state => {
            let what = match state {
                HookState::Missing => "no pre-commit hook".to_owned(),
                _ => format!("{shown} does not run envguard"),
            };
            let has_env = discover::nearest(&here).is_some_and(|env| env.starts_with(&top));
            if has_env {
                findings.problem(
                    "git",
                    format!("{what}: nothing stops a commit that leaks this repository's .env"),
                    install,
                );
            } else {
                findings.note("git", what, Some(install));
            }
        }
    }
}

fn check_kernels(findings: &mut Findings) {
    let lookup: dirs::Lookup = &dirs::process_env;
    let interpreter = python::locate(None, lookup)
        .ok()
        .and_then(|path| python::probe(&path, false).ok());
    let Ok(search_path) = dirs::kernel_search_path(lookup, interpreter.as_ref()) else {
        return;
    };
    let mut seen = std::collections::HashSet::new();
    let mut count = 0;
    for kernels_dir in search_path {
        let Ok(entries) = fs::read_dir(&kernels_dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().map(|entry| entry.path()).collect();
        entries.sort();
        for spec_dir in entries {
            let name = spec_dir
                .file_name()
                .map(|name| name.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            let Some(installed) = kernelspec::inspect(&spec_dir) else {
                continue;
            };
            if !seen.insert(name.clone()) {
                continue;
            }
            if let Installed::Envguard { project } = installed {
                count += 1;
                check_kernel(&name, &spec_dir, &project, findings);
            }
        }
    }
    if count == 0 {
        findings.ok("kernels", "no envguard kernels installed".into());
    }
}

fn check_kernel(name: &str, spec_dir: &Path, project: &Path, findings: &mut Findings) {
    // A kernel's name is its directory's name, which whoever can write a kernels directory
    // chooses. One Jupyter accepts is safe on a command line; any other is answered by
    // removing the directory, since no envguard command takes it.
    let (remove, reinstall) = match kernelspec::validate_name(name) {
        Ok(_) => (
            format!("envguard kernel remove {name}"),
            format!(
                "envguard kernel install --dir {} --name {name}",
                quote_for_display(project)
            ),
        ),
        Err(_) => {
            let remove = format!("rm -r {}", quote_for_display(spec_dir));
            (remove.clone(), remove)
        }
    };
    let name = escape_text_for_display(name);
    if !project.is_dir() {
        findings.problem(
            "kernels",
            format!(
                "kernel {name}: its project {} no longer exists",
                escape_for_display(project)
            ),
            remove,
        );
        return;
    }
    let (launcher, python) = kernel_programs(spec_dir);
    for (role, program) in [("envguard", launcher), ("Python", python)] {
        match program {
            Some(program) if is_executable(&program) => {}
            Some(program) => {
                findings.problem(
                    "kernels",
                    format!(
                        "kernel {name}: its {role} {} is gone",
                        escape_for_display(&program)
                    ),
                    format!("{reinstall} (or `{remove}`)"),
                );
                return;
            }
            None => {
                findings.problem(
                    "kernels",
                    format!(
                        "kernel {name}: {} does not say which {role} it starts",
                        escape_for_display(&spec_dir.join(SPEC_FILE))
                    ),
                    reinstall,
                );
                return;
            }
        }
    }
    findings.ok(
        "kernels",
        format!("kernel {name} serves {}", escape_for_display(project)),
    );
}

/// The envguard binary and the Python an envguard kernel.json starts: its argv is
/// `ENVGUARD exec -C PROJECT -- PYTHON …`. Only these paths are taken from the file.
fn kernel_programs(spec_dir: &Path) -> (Option<PathBuf>, Option<PathBuf>) {
    let argv: Vec<String> = fs::read(spec_dir.join(SPEC_FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|spec| {
            spec.get("argv")?
                .as_array()?
                .iter()
                .map(|arg| arg.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let launcher = argv.first().map(PathBuf::from);
    let python = argv
        .iter()
        .position(|arg| arg == "--")
        .and_then(|dashes| argv.get(dashes + 1))
        .map(PathBuf::from);
    (launcher, python)
}
