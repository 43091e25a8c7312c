//! Jupyter, for real: notebooks executed by nbconvert and nbclient on a real ipykernel, through
//! `envguard exec` and through kernels installed by `envguard kernel install`.
//!
//! Kernel launches are slow (1-3 s), so there are four in all. The notebook never prints the
//! secret: it prints the value's length and SHA-256, which the tests compare.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use envguard::load::trust::digest;

const SECRET: &str = "nb-secret-5f0c19e2a7d3";

/// One code cell that reports the variable by length and hash only.
const NOTEBOOK: &str = r#"{
 "cells": [{
  "cell_type": "code", "execution_count": null, "id": "probe", "metadata": {}, "outputs": [],
  "source": "import hashlib, os\nvalue = os.environ.get('API_TOKEN', '')\nprint(len(value), hashlib.sha256(value.encode()).hexdigest())"
 }],
 "metadata": {}, "nbformat": 4, "nbformat_minor": 5
}"#;

fn expected_report() -> String {
    format!("{} {}", SECRET.len(), digest(SECRET.as_bytes()))
}

/// The test venv's interpreter; these tests must not pass by skipping Jupyter.
fn test_python() -> PathBuf {
    let python = std::env::var_os("ENVGUARD_TEST_PYTHON")
        .map(PathBuf::from)
        .expect(
            "ENVGUARD_TEST_PYTHON must name a Python with Jupyter installed (run ./scripts/test)",
        );
    let imports = Command::new(&python)
        .args([
            "-c",
            "import ipykernel, jupyter_client, jupyter_core, nbclient, nbconvert, nbformat",
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run ENVGUARD_TEST_PYTHON={}: {e}", python.display()));
    assert!(
        imports.status.success(),
        "ENVGUARD_TEST_PYTHON={} lacks the Jupyter packages of tests/requirements.txt: {}",
        python.display(),
        stderr(&imports)
    );
    python
}

struct Jupyter {
    env: TestEnv,
    python: PathBuf,
    /// More variables for every command (no secret), such as `JUPYTER_PATH`.
    extra_env: Vec<(String, PathBuf)>,
}

impl Jupyter {
    fn new() -> Self {
        Jupyter {
            env: TestEnv::new(),
            python: test_python(),
            extra_env: Vec::new(),
        }
    }

    fn jupyter_data_dir(&self) -> PathBuf {
        self.env.root.path().join("jupyter-data")
    }

    /// The isolated environment, with the venv first on PATH (so `python3` and `jupyter` are
    /// the venv's) and Jupyter's data in a temporary directory. No secret is in it.
    fn isolate(&self, cmd: &mut Command, dir: &Path) {
        let venv_bin = self.python.parent().unwrap();
        let path = format!(
            "{}:{}",
            venv_bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        cmd.current_dir(dir)
            .env_clear()
            .envs(self.env.base_env())
            .env("PATH", path)
            .env("PWD", dir)
            .env("JUPYTER_DATA_DIR", self.jupyter_data_dir())
            .envs(self.extra_env.iter().map(|(name, value)| (name, value)));
    }

    fn envguard<const N: usize>(&self, dir: &Path, args: [&str; N]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args(args);
        self.isolate(&mut cmd, dir);
        cmd.output().unwrap()
    }

    /// `envguard kernel install --dir PROJECT --python PYTHON EXTRA...` run from `dir`.
    fn install_kernel(&self, dir: &Path, project: &str, python: &str, extra: &[&str]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args(["kernel", "install", "--dir", project, "--python", python])
            .args(extra);
        self.isolate(&mut cmd, dir);
        cmd.output().unwrap()
    }

    /// `python ARGS` (the venv's), started without envguard.
    fn python<const N: usize>(&self, dir: &Path, args: [&str; N]) -> Output {
        let mut cmd = Command::new(&self.python);
        cmd.args(args);
        self.isolate(&mut cmd, dir);
        cmd.output().unwrap()
    }

    fn notebook(&self, dir: &Path) -> PathBuf {
        let path = dir.join("probe.ipynb");
        fs::write(&path, NOTEBOOK).unwrap();
        path
    }
}

/// The text the notebook's cell printed.
fn cell_output(notebook: &Path) -> String {
    let executed: serde_json::Value = serde_json::from_slice(&fs::read(notebook).unwrap()).unwrap();
    let mut text = String::new();
    for output in executed["cells"][0]["outputs"]
        .as_array()
        .expect("the cell has outputs")
    {
        match &output["text"] {
            serde_json::Value::String(line) => text.push_str(line),
            serde_json::Value::Array(lines) => lines
                .iter()
                .filter_map(|l| l.as_str())
                .for_each(|l| text.push_str(l)),
            _ => {}
        }
    }
    text
}

/// `what` (a Jupyter run) succeeded, leaked nothing, and its kernel saw API_TOKEN (by length
/// and digest) in the `executed` notebook.
fn assert_kernel_saw_the_token(out: &Output, executed: &Path, what: &str) {
    assert!(out.status.success(), "{what} failed: {}", stderr(out));
    assert_not_leaked(out, SECRET);
    let report = cell_output(executed);
    assert!(
        report.contains(&expected_report()),
        "the kernel did not see API_TOKEN: {report}"
    );
    assert!(
        !report.contains(SECRET),
        "the notebook output holds the secret"
    );
}

#[test]
fn exec_gives_jupyter_and_its_kernels_the_projects_variables() {
    let jupyter = Jupyter::new();
    let project = jupyter
        .env
        .allowed_project("analysis", &format!("API_TOKEN={SECRET}\n"));
    jupyter.notebook(&project);

    // `jupyter` as the user types it, found on PATH (the venv's).
    let out = jupyter.envguard(
        &project,
        [
            "exec",
            "--",
            "jupyter",
            "nbconvert",
            "--execute",
            "--to",
            "notebook",
            "--output",
            "executed.ipynb",
            "probe.ipynb",
        ],
    );
    assert_kernel_saw_the_token(
        &out,
        &project.join("executed.ipynb"),
        "nbconvert under envguard exec",
    );
}

#[test]
fn an_installed_kernel_loads_the_project_and_fails_visibly_when_refused() {
    let jupyter = Jupyter::new();
    let project = jupyter
        .env
        .allowed_project("analysis", &format!("API_TOKEN={SECRET}\n"));
    let elsewhere = jupyter.env.work().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    jupyter.notebook(&elsewhere);

    let project_arg = project.to_str().unwrap();
    let python = jupyter.python.to_str().unwrap();
    let out = jupyter.install_kernel(&elsewhere, project_arg, python, &[]);
    assert!(
        out.status.success(),
        "kernel install failed: {}",
        stderr(&out)
    );
    assert!(
        !stderr(&out).contains("warning"),
        "an allowed project was warned about: {}",
        stderr(&out)
    );

    let spec_file = jupyter
        .jupyter_data_dir()
        .join("kernels/analysis/kernel.json");
    let spec_text = fs::read_to_string(&spec_file).unwrap();
    assert!(!spec_text.contains(SECRET), "kernel.json holds the secret");
    let spec: serde_json::Value = serde_json::from_str(&spec_text).unwrap();
    let argv: Vec<&str> = spec["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let envguard = fs::canonicalize(BIN).unwrap();
    let canonical_project = fs::canonicalize(&project).unwrap();
    let env_file_arg = canonical_project.join(".env");
    // The kernel loads exactly its project's file, Python leaves the working directory (the
    // notebook's folder) off sys.path (`-P`, Python 3.11+), and it masks (tests/kernel_mask.rs).
    assert_eq!(
        argv,
        [
            envguard.to_str().unwrap(),
            "exec",
            "--kernel",
            "analysis",
            "-f",
            env_file_arg.to_str().unwrap(),
            "--",
            python,
            "-P",
            "-c",
            envguard::jupyter::launch::MASK_LAUNCHER,
            "-f",
            "{connection_file}",
        ]
    );
    assert_eq!(
        spec["metadata"]["envguard"]["project"],
        canonical_project.to_str().unwrap()
    );
    assert_eq!(spec["display_name"], "Python (envguard: analysis)");

    // Jupyter runs elsewhere, with no secret in its environment: only the kernel gets it.
    let run = || {
        jupyter.python(
            &elsewhere,
            [
                "-m",
                "jupyter",
                "execute",
                "--kernel_name=analysis",
                "--output=executed.ipynb",
                "probe.ipynb",
            ],
        )
    };
    let out = run();
    assert_kernel_saw_the_token(
        &out,
        &elsewhere.join("executed.ipynb"),
        "jupyter execute with the envguard kernel",
    );

    // A refused .env: the kernel dies at start with envguard's message in Jupyter's output.
    let env_file = project.join(".env");
    write_mode(&env_file, &format!("API_TOKEN={SECRET}\n"), 0o644);
    assert_kernel_refused(&run(), "a group-readable .env", "has mode 0644");

    // An edit nobody allowed: refused the same way.
    write_mode(
        &env_file,
        &format!("API_TOKEN={SECRET}\nINJECTED=1\n"),
        0o600,
    );
    assert_kernel_refused(
        &run(),
        "an edited, unallowed .env",
        "changed since it was allowed",
    );
}

/// The kernel of a Jupyter run did not start from `what`: Jupyter reports it dead, with
/// envguard's refusal (`reason`) in its output and no secret.
fn assert_kernel_refused(out: &Output, what: &str, reason: &str) {
    assert!(!out.status.success(), "a kernel started from {what}");
    let log = stderr(out);
    assert!(
        log.contains("Kernel died"),
        "Jupyter did not report the dead kernel: {log}"
    );
    assert!(
        log.contains("envguard: ") && log.contains(reason),
        "no envguard message in: {log}"
    );
    assert_not_leaked(out, SECRET);
}

/// A fresh virtualenv that borrows the test venv's packages through a `.pth` file, so that
/// `--sys-prefix` installs can be tested without writing into the shared test venv.
fn borrowing_venv(python: &Path, at: &Path) -> PathBuf {
    let out = Command::new(python)
        .args(["-m", "venv", "--without-pip"])
        .arg(at)
        .output()
        .unwrap();
    assert!(out.status.success(), "venv failed: {}", stderr(&out));
    let purelib = |python: &Path| {
        let out = Command::new(python)
            .args([
                "-c",
                "import sysconfig; print(sysconfig.get_path('purelib'))",
            ])
            .output()
            .unwrap();
        PathBuf::from(stdout(&out).trim())
    };
    let borrowed = purelib(python);
    let new_python = at.join("bin/python");
    fs::write(
        purelib(&new_python).join("borrowed.pth"),
        format!("{}\n", borrowed.display()),
    )
    .unwrap();
    new_python
}

/// `envguard kernel list` as rows of (name, project, kernelspec dir), none of them shadowed.
fn listed(out: &Output) -> Vec<[String; 3]> {
    assert!(out.status.success(), "kernel list failed: {}", stderr(out));
    stdout(out)
        .lines()
        .map(|line| {
            let fields: Vec<String> = line
                .split("  ")
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(String::from)
                .collect();
            fields.try_into().expect("three columns")
        })
        .collect()
}

#[test]
fn install_list_remove_round_trip_matches_jupyter() {
    let mut jupyter = Jupyter::new();
    // Jupyter and the kernels run from a venv of this test's own, as for a project's .venv.
    jupyter.python = borrowing_venv(&jupyter.python, &jupyter.env.root.path().join("venv"));
    let project = jupyter.env.allowed_project("My Project", "API_TOKEN=x\n");
    let canonical_project = fs::canonicalize(&project).unwrap();
    let project_arg = canonical_project.to_str().unwrap();
    let work = jupyter.env.work();
    let python = jupyter.python.to_str().unwrap();

    let out = jupyter.envguard(&project, ["kernel", "install", "--python", python]);
    assert!(
        out.status.success(),
        "kernel install failed: {}",
        stderr(&out)
    );
    let out = jupyter.install_kernel(
        &work,
        project_arg,
        python,
        &["--name", "In-Env", "--sys-prefix"],
    );
    assert!(
        out.status.success(),
        "kernel install --sys-prefix failed: {}",
        stderr(&out)
    );

    // Someone else's kernel, which envguard must neither list, replace nor remove.
    let foreign = jupyter.jupyter_data_dir().join("kernels/other");
    fs::create_dir_all(&foreign).unwrap();
    let foreign_spec = r#"{"argv": ["python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                           "display_name": "Other", "language": "python"}"#;
    fs::write(foreign.join("kernel.json"), foreign_spec).unwrap();

    let user_spec = jupyter.jupyter_data_dir().join("kernels/my-project");
    let env_spec = jupyter
        .env
        .root
        .path()
        .join("venv/share/jupyter/kernels/in-env");
    let expected = [
        [
            "in-env".to_string(),
            project_arg.to_string(),
            env_spec.display().to_string(),
        ],
        [
            "my-project".to_string(),
            project_arg.to_string(),
            user_spec.display().to_string(),
        ],
    ];
    assert_eq!(
        listed(&jupyter.envguard(&work, ["kernel", "list"])),
        expected
    );

    // Jupyter sees exactly these envguard kernels, in the same directories. (Run as a module:
    // `jupyter kernelspec` would run the first `jupyter-kernelspec` on PATH, another venv's.)
    let out = jupyter.python(
        &work,
        ["-m", "jupyter_client.kernelspecapp", "list", "--json"],
    );
    assert!(
        out.status.success(),
        "jupyter kernelspec list failed: {}",
        stderr(&out)
    );
    let specs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut seen_by_jupyter: Vec<[String; 3]> = specs["kernelspecs"]
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(name, kernel)| {
            let project = kernel["spec"]["metadata"]["envguard"]["project"].as_str()?;
            let dir = kernel["resource_dir"].as_str().unwrap();
            Some([name.clone(), project.to_string(), dir.to_string()])
        })
        .collect();
    seen_by_jupyter.sort();
    assert_eq!(seen_by_jupyter, expected);
    let out = jupyter.install_kernel(&work, project_arg, python, &["--name", "Other"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "replaced a foreign kernel: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("did not install"), "{}", stderr(&out));
    let out = jupyter.envguard(&work, ["kernel", "remove", "other"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "removed a foreign kernel: {}",
        stderr(&out)
    );
    assert_eq!(
        fs::read_to_string(foreign.join("kernel.json")).unwrap(),
        foreign_spec
    );

    for bad in ["..", "a/b", "has space"] {
        let out = jupyter.install_kernel(&work, project_arg, python, &["--name", bad]);
        assert_eq!(out.status.code(), Some(2), "accepted kernel name {bad:?}");
        assert!(
            stderr(&out).starts_with("envguard: ") && stderr(&out).lines().count() == 1,
            "{}",
            stderr(&out)
        );
    }

    // A Python that cannot import ipykernel (site-packages switched off) is refused with the fix.
    let no_site = work.join("python-no-site");
    write_mode(
        &no_site,
        &format!("#!/bin/sh\nexec '{python}' -S \"$@\"\n"),
        0o755,
    );
    let out = jupyter.install_kernel(&work, project_arg, no_site.to_str().unwrap(), &[]);
    assert_eq!(out.status.code(), Some(2));
    // Not `pip install` into a system Python, which Debian and Ubuntu refuse
    // (externally-managed-environment): a venv, then this same install with its Python.
    let fix = format!(
        "-m venv .venv && .venv/bin/pip install ipykernel, then envguard kernel install --dir '{project_arg}' --python .venv/bin/python)"
    );
    assert!(stderr(&out).contains(&fix), "{}", stderr(&out));

    for (name, spec_dir) in [("my-project", &user_spec), ("IN-ENV", &env_spec)] {
        let out = jupyter.envguard(&work, ["kernel", "remove", name]);
        assert!(
            out.status.success(),
            "kernel remove {name} failed: {}",
            stderr(&out)
        );
        assert!(!spec_dir.exists(), "{name} is still there");
    }
    let remaining = listed(&jupyter.envguard(&work, ["kernel", "list"]));
    assert!(remaining.is_empty(), "listed after removal: {remaining:?}");
    let out = jupyter.envguard(&work, ["kernel", "remove", "my-project"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no kernel named my-project"),
        "{}",
        stderr(&out)
    );
}

impl Jupyter {
    /// `jupyter execute --kernel_name=KERNEL probe.ipynb` in `dir`, writing `executed.ipynb`.
    fn execute(&self, dir: &Path, kernel: &str) -> Output {
        self.notebook(dir);
        let kernel_arg = format!("--kernel_name={kernel}");
        self.python(
            dir,
            [
                "-m",
                "jupyter",
                "execute",
                &kernel_arg,
                "--output=executed.ipynb",
                "probe.ipynb",
            ],
        )
    }

    /// What `jupyter kernelspec list --json` resolves: name -> (envguard project, resource dir).
    fn kernelspecs(&self, dir: &Path) -> Vec<(String, Option<String>, PathBuf)> {
        let out = self.python(
            dir,
            ["-m", "jupyter_client.kernelspecapp", "list", "--json"],
        );
        assert!(
            out.status.success(),
            "jupyter kernelspec list failed: {}",
            stderr(&out)
        );
        let specs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        specs["kernelspecs"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, kernel)| {
                let project = kernel["spec"]["metadata"]["envguard"]["project"]
                    .as_str()
                    .map(String::from);
                let dir = PathBuf::from(kernel["resource_dir"].as_str().unwrap());
                (name.clone(), project, dir)
            })
            .collect()
    }

    /// The fix an envguard message shows (its first alternative), run as shown with `bash -c`
    /// in `dir` (bash, since a path's `$'...'` quoting is bash's and zsh's), with the built
    /// envguard on PATH.
    fn run_fix(&self, dir: &Path, message: &str) -> Output {
        let start = message.find("(fix: ").expect("the message has a fix") + "(fix: ".len();
        let end = message.rfind(')').unwrap();
        let fix = message[start..end].split(", or ").next().unwrap();
        let mut cmd = Command::new("bash");
        cmd.args(["-c", fix]);
        self.isolate(&mut cmd, dir);
        let bin_dir = Path::new(BIN).parent().unwrap();
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        cmd.env("PATH", path);
        cmd.output().unwrap()
    }
}

/// The project a kernel named `name` serves, as Jupyter resolves it.
fn served_by(specs: &[(String, Option<String>, PathBuf)], name: &str) -> Option<String> {
    specs
        .iter()
        .find(|(n, _, _)| n == name)
        .and_then(|(_, project, _)| project.clone())
}

#[test]
fn a_kernel_of_another_project_is_refused_repointed_only_with_force_and_updated_in_place() {
    let jupyter = Jupyter::new();
    let code = jupyter
        .env
        .allowed_project("code/myproject", "API_TOKEN=a\n");
    let other = jupyter
        .env
        .allowed_project("other/myproject", "API_TOKEN=b\n");
    let (code_real, other_real) = (
        fs::canonicalize(&code).unwrap(),
        fs::canonicalize(&other).unwrap(),
    );
    let python = jupyter.python.to_str().unwrap();
    let install_here = |dir: &Path, extra: &[&str]| {
        let mut cmd = Command::new(BIN);
        cmd.args(["kernel", "install", "--python", python])
            .args(extra);
        jupyter.isolate(&mut cmd, dir);
        cmd.output().unwrap()
    };

    let out = install_here(&code, &[]);
    assert!(out.status.success(), "install failed: {}", stderr(&out));
    let out = install_here(&other, &[]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "took over another project's kernel: {}",
        stderr(&out)
    );
    let message = stderr(&out);
    assert!(
        message.starts_with("envguard: ") && message.lines().count() == 1,
        "{message}"
    );
    for part in [
        "serves another project",
        code_real.to_str().unwrap(),
        "--name myproject-2",
        "--force",
    ] {
        assert!(message.contains(part), "no {part:?} in: {message}");
    }
    let specs = jupyter.kernelspecs(&other);
    assert_eq!(
        served_by(&specs, "myproject").as_deref(),
        code_real.to_str(),
        "the refused install changed the kernel"
    );

    // The fix, run as shown, installs a kernel of its own and leaves the first one alone.
    let out = jupyter.run_fix(&other, &message);
    assert!(out.status.success(), "the fix failed: {}", stderr(&out));
    let specs = jupyter.kernelspecs(&other);
    assert_eq!(
        served_by(&specs, "myproject").as_deref(),
        code_real.to_str()
    );
    assert_eq!(
        served_by(&specs, "myproject-2").as_deref(),
        other_real.to_str()
    );

    // The same project again: updated in place, without a word about replacing anything.
    let out = install_here(&code, &["--display-name", "Renamed"]);
    assert!(out.status.success(), "reinstall failed: {}", stderr(&out));
    assert!(
        !stderr(&out).contains("no longer serves"),
        "{}",
        stderr(&out)
    );
    let spec_file = jupyter
        .jupyter_data_dir()
        .join("kernels/myproject/kernel.json");
    let spec: serde_json::Value = serde_json::from_slice(&fs::read(&spec_file).unwrap()).unwrap();
    assert_eq!(spec["display_name"], "Renamed");

    // --force repoints it, and says which project lost it.
    let out = install_here(&other, &["--force"]);
    assert!(out.status.success(), "--force failed: {}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "kernel myproject no longer serves {}",
            code_real.display()
        )),
        "{}",
        stderr(&out)
    );
    let specs = jupyter.kernelspecs(&other);
    assert_eq!(
        served_by(&specs, "myproject").as_deref(),
        other_real.to_str()
    );
}

#[test]
fn a_kernel_loads_only_its_own_projects_env_or_fails_saying_why() {
    const PARENT_SECRET: &str = "parent-secret-0d9a7c55e1";
    let jupyter = Jupyter::new();
    // A parent directory with a loadable .env of its own: the one a walk up would find.
    let parent = jupyter
        .env
        .allowed_project("team", &format!("API_TOKEN={PARENT_SECRET}\n"));
    let project = jupyter
        .env
        .allowed_project("team/analysis", &format!("API_TOKEN={SECRET}\n"));
    let notebooks = jupyter.env.work().join("notebooks");
    fs::create_dir(&notebooks).unwrap();
    let python = jupyter.python.to_str().unwrap();
    let out = jupyter.install_kernel(&notebooks, project.to_str().unwrap(), python, &[]);
    assert!(out.status.success(), "install failed: {}", stderr(&out));
    let env_file = fs::canonicalize(&project).unwrap().join(".env");
    assert!(
        stderr(&out).contains(&format!("it loads {}", env_file.display())),
        "{}",
        stderr(&out)
    );

    let assert_not_started = |out: &Output, reason: &str| {
        assert_kernel_refused(out, reason, reason);
        assert_not_leaked(out, PARENT_SECRET);
        let executed = notebooks.join("executed.ipynb");
        if executed.exists() {
            let report = cell_output(&executed);
            assert!(
                !report.contains(&digest(PARENT_SECRET.as_bytes())),
                "the kernel loaded the parent's .env"
            );
        }
    };

    // Its .env removed: the kernel does not start (and never with the parent's .env).
    fs::rename(&env_file, project.join("env.bak")).unwrap();
    let out = jupyter.execute(&notebooks, "analysis");
    assert_not_started(&out, "was removed");
    assert!(stderr(&out).contains("envguard init"), "{}", stderr(&out));
    fs::rename(project.join("env.bak"), &env_file).unwrap();

    // The project moved away: the same, with the way to repoint the kernel.
    let moved = parent.join("moved-analysis");
    fs::rename(&project, &moved).unwrap();
    let out = jupyter.execute(&notebooks, "analysis");
    assert_not_started(&out, "its project directory no longer exists");
    assert!(
        stderr(&out).contains("envguard kernel install --name analysis --force"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_ipykernel_launcher_in_the_notebook_folder_never_runs() {
    let jupyter = Jupyter::new();
    let project = jupyter
        .env
        .allowed_project("analysis", &format!("API_TOKEN={SECRET}\n"));
    let marker = jupyter.env.root.path().join("launcher-ran");
    // A file that would take ipykernel's place, run with the secrets in its environment.
    let hostile = format!(
        "import os\nopen({:?}, 'w').write(str(len(os.environ.get('API_TOKEN', ''))))\n",
        marker.to_str().unwrap()
    );
    fs::write(project.join("ipykernel_launcher.py"), &hostile).unwrap();
    let python = jupyter.python.to_str().unwrap();
    let out = jupyter.install_kernel(&project, project.to_str().unwrap(), python, &[]);
    assert!(out.status.success(), "install failed: {}", stderr(&out));

    let out = jupyter.execute(&project, "analysis");
    assert_kernel_saw_the_token(
        &out,
        &project.join("executed.ipynb"),
        "the kernel next to ipykernel_launcher.py",
    );
    assert!(!marker.exists(), "the folder's ipykernel_launcher.py ran");

    // Pythons before 3.11 have no -P: their launcher program must do the same.
    let out = jupyter.python(
        &project,
        [
            "-c",
            envguard::jupyter::launch::LAUNCHER_WITHOUT_WORKING_DIR,
            "--version",
        ],
    );
    assert!(
        out.status.success(),
        "the launcher failed: {}",
        stderr(&out)
    );
    assert!(
        !marker.exists(),
        "the launcher program ran the folder's file"
    );
    // (The folder's file does run for `python -m`, which is what the launcher avoids.)
    let out = jupyter.python(&project, ["-m", "ipykernel_launcher", "--version"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        marker.exists(),
        "the test's hostile file is not a real threat"
    );

    // `check` warns about it, with the fix.
    let out = jupyter.envguard(&project, ["check"]);
    let launcher = project.join("ipykernel_launcher.py");
    assert!(
        stdout(&out).contains(&format!(
            "{} would run instead of ipykernel",
            launcher.display()
        )) && stdout(&out).contains(&format!("rm -r {}", launcher.display())),
        "check did not warn: {}{}",
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn kernel_dirs_another_user_owns_or_can_write_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let jupyter = Jupyter::new();
    let project = jupyter.env.allowed_project("analysis", "API_TOKEN=x\n");
    let project_arg = project.to_str().unwrap();
    let python = jupyter.python.to_str().unwrap();
    // The other user must reach the kernels directory, as on a shared machine.
    fs::set_permissions(jupyter.env.root.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let kernels = jupyter.jupyter_data_dir().join("kernels");
    fs::create_dir_all(&kernels).unwrap();
    let (uid, gid) = other_user();

    // Their directory, with a kernel.json that carries envguard's marker for this project.
    let theirs = kernels.join("analysis");
    fs::create_dir(&theirs).unwrap();
    std::os::unix::fs::chown(&theirs, Some(uid), Some(gid)).unwrap();
    let planted = format!(
        r#"{{"argv": ["/bin/sh", "-c", "env > /tmp/stolen"], "display_name": "analysis",
            "language": "python", "metadata": {{"envguard": {{"project": "{}"}}}}}}"#,
        fs::canonicalize(&project).unwrap().display()
    );
    as_other_user(
        &theirs,
        &format!("cat > kernel.json <<'JSON'\n{planted}\nJSON"),
    );
    let out = jupyter.install_kernel(&project, project_arg, python, &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "wrote into another user's kernel directory: {}",
        stderr(&out)
    );
    let message = stderr(&out);
    assert!(
        message.contains(&format!("belongs to uid {uid}")) && message.lines().count() == 1,
        "{message}"
    );
    assert_eq!(
        fs::read_to_string(theirs.join("kernel.json")).unwrap(),
        format!("{planted}\n"),
        "their kernel.json was touched"
    );
    // The fix, run as shown: a kernel of its own name, in a directory of this user's.
    let out = jupyter.run_fix(&project, &message);
    assert!(out.status.success(), "the fix failed: {}", stderr(&out));
    assert!(kernels.join("analysis-2/kernel.json").is_file());
    fs::remove_dir_all(&theirs).unwrap();

    // This user's directory, but writable by everyone: refused, and `chmod go-w` fixes it.
    let open = kernels.join("analysis");
    fs::create_dir(&open).unwrap();
    fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
    let out = jupyter.install_kernel(&project, project_arg, python, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let message = stderr(&out);
    assert!(
        message.contains("writable by group or others (mode 0777)")
            && message.contains(&format!("chmod go-w {}", open.display())),
        "{message}"
    );
    assert!(!open.join("kernel.json").exists());
    let out = jupyter.run_fix(&project, &message);
    assert!(out.status.success(), "the fix failed: {}", stderr(&out));
    let out = jupyter.install_kernel(&project, project_arg, python, &[]);
    assert!(out.status.success(), "install failed: {}", stderr(&out));
}

#[test]
fn a_shadowed_kernel_is_named_at_install_and_in_list_and_paths_are_escaped() {
    let mut jupyter = Jupyter::new();
    // A project whose directory name would fake a row if printed raw.
    let project = jupyter
        .env
        .allowed_project("evil\nfake  row  here", "API_TOKEN=x\n");
    let project_real = fs::canonicalize(&project).unwrap();
    let python = jupyter.python.to_str().unwrap();
    let out = jupyter.install_kernel(
        &project,
        project.to_str().unwrap(),
        python,
        &["--name", "analysis"],
    );
    assert!(out.status.success(), "install failed: {}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("evil\\nfake"), "{}", stderr(&out));

    // Someone else's kernel of the same name, earlier in JUPYTER_PATH.
    let extra = jupyter.env.root.path().join("extra");
    let earlier = extra.join("kernels/analysis");
    fs::create_dir_all(&earlier).unwrap();
    fs::write(
        earlier.join("kernel.json"),
        r#"{"argv": ["python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Other", "language": "python"}"#,
    )
    .unwrap();
    jupyter
        .extra_env
        .push(("JUPYTER_PATH".into(), extra.clone()));

    let out = jupyter.install_kernel(
        &project,
        project.to_str().unwrap(),
        python,
        &["--name", "analysis"],
    );
    assert!(out.status.success(), "install failed: {}", stderr(&out));
    let message = stderr(&out);
    assert!(
        message.contains(&format!(
            "warning: Jupyter will not start this kernel: the kernel analysis in {} comes first",
            earlier.display()
        )) && message.contains("--name analysis-2"),
        "{message}"
    );
    // Jupyter agrees about which one it starts.
    let specs = jupyter.kernelspecs(&project);
    let started = specs
        .iter()
        .find(|(name, _, _)| name == "analysis")
        .unwrap();
    assert_eq!(started.2, earlier);

    let out = jupyter.envguard(&project, ["kernel", "list"]);
    assert!(out.status.success(), "kernel list failed: {}", stderr(&out));
    let listing = stdout(&out);
    let user_spec = jupyter.jupyter_data_dir().join("kernels/analysis");
    let escaped_project = project_real.display().to_string().replace('\n', "\\n");
    assert_eq!(listing.lines().count(), 1, "{listing}");
    assert!(
        listing.starts_with("analysis  ")
            && listing.contains(&escaped_project)
            && listing.contains(&format!(
                "{}  (not started: Jupyter starts {})",
                user_spec.display(),
                earlier.display()
            )),
        "{listing}"
    );

    // The fix from the warning, run as shown, gives a kernel Jupyter does start.
    let out = jupyter.run_fix(&project, &message);
    assert!(out.status.success(), "the fix failed: {}", stderr(&out));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    let specs = jupyter.kernelspecs(&project);
    assert!(
        specs
            .iter()
            .any(|(name, served, _)| name == "analysis-2"
                && served.as_deref() == project_real.to_str()),
        "{specs:?}"
    );
}

#[test]
fn kernels_from_before_they_named_their_env_file_are_listed_as_outdated_with_the_fix() {
    let jupyter = Jupyter::new();
    let project = jupyter.env.allowed_project("analysis", "API_TOKEN=x\n");
    let project_real = fs::canonicalize(&project).unwrap();
    let python = jupyter.python.to_str().unwrap();
    let old = jupyter.jupyter_data_dir().join("kernels/analysis");
    fs::create_dir_all(&old).unwrap();
    let old_spec = serde_json::json!({
        "argv": [fs::canonicalize(BIN).unwrap(), "exec", "-C", project_real, "--",
                 python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (envguard: analysis)",
        "language": "python",
        "metadata": {"envguard": {"project": project_real}},
    });
    fs::write(old.join("kernel.json"), old_spec.to_string()).unwrap();

    let out = jupyter.envguard(&project, ["kernel", "list"]);
    let listing = stdout(&out);
    assert!(
        listing.contains(&format!(
            "outdated: would load a parent directory's .env if this one went away \
             (fix: envguard kernel install --dir {} --python {python} --name analysis)",
            project_real.display()
        )),
        "{listing}{}",
        stderr(&out)
    );
    let out = jupyter.run_fix(&project, &listing);
    assert!(out.status.success(), "the fix failed: {}", stderr(&out));
    assert_eq!(
        listed(&jupyter.envguard(&project, ["kernel", "list"])),
        [[
            "analysis".to_string(),
            project_real.display().to_string(),
            old.display().to_string()
        ]]
    );
}
