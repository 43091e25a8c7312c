//! The kernel.json envguard writes, and how it recognises its own among everyone else's.
//!
//! The kernel's argv is `envguard exec --kernel NAME -f PROJECT/.env -- PYTHON -P -m
//! ipykernel_launcher -f {connection_file}` (see [`super::launch`] for why a file and why
//! `-P`): Jupyter starts envguard, envguard loads that one file through the one loader and
//! replaces itself with the kernel (same pid, so Jupyter's interrupt and shutdown signals reach
//! the kernel). If the file is refused or gone, envguard exits with its one-line error on
//! stderr, which Jupyter shows in the kernel log: the kernel fails to start rather than
//! starting without its secrets, or with another project's. The file holds paths only, never
//! a value.
//!
//! A masking kernel (the default) runs `PYTHON [-P] -c MASK_LAUNCHER` instead of
//! `-m ipykernel_launcher`; `metadata.envguard.mask` records which it is.
//!
//! `metadata.envguard.project` marks a kernelspec as envguard's; `list` and `remove` act only
//! on kernelspecs that carry it, and `install` replaces one only for the same project.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::display::escape_for_display;
use crate::error::{Error, Result};
use crate::jupyter::launch;
use crate::jupyter::python::Python;

pub const SPEC_FILE: &str = "kernel.json";

/// A kernel name as Jupyter accepts it (ASCII letters, digits, `-`, `.`, `_`), lowercased as
/// `jupyter kernelspec install` does, since Jupyter looks kernels up by their lowercase name.
pub fn validate_name(name: &str) -> Result<String> {
    let valid = name.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"-._".contains(&byte))
        // `.` and `..` pass Jupyter's pattern but would name the kernels directory or its parent.
        && name.bytes().any(|byte| byte != b'.');
    if !valid {
        return Err(Error::Usage(format!(
            "{name:?} is not a valid kernel name: use ASCII letters, digits, '-', '.' and '_' \
             (fix: pass --name my-project)"
        )));
    }
    Ok(name.to_ascii_lowercase())
}

/// A kernel name made from the project directory's name: lowercased, with every run of
/// characters Jupyter does not accept turned into one `-`.
pub fn default_name(project: &Path) -> Option<String> {
    let base = project.file_name()?.to_string_lossy().to_ascii_lowercase();
    let mut name = String::with_capacity(base.len());
    for c in base.chars() {
        if c.is_ascii_alphanumeric() || "._".contains(c) {
            name.push(c);
        } else if !name.ends_with('-') {
            name.push('-');
        }
    }
    let name = name.trim_matches(|c| c == '-' || c == '.');
    (!name.is_empty()).then(|| name.to_string())
}

pub fn default_display_name(project: &Path) -> String {
    let base = project
        .file_name()
        .map_or_else(|| project.to_string_lossy(), |name| name.to_string_lossy());
    format!("Python (envguard: {base})")
}

/// What a kernelspec is made of.
pub struct Spec<'a> {
    pub name: &'a str,
    pub display_name: &'a str,
    pub envguard: &'a Path,
    pub project: &'a Path,
    /// The one `.env` the kernel loads.
    pub env_file: &'a Path,
    pub python: &'a Python,
    /// Whether the kernel masks the loaded values in everything it sends (see
    /// [`launch::MASK_LAUNCHER`]).
    pub mask: bool,
}

/// The kernel.json of a kernel that runs `python` with exactly `env_file`'s variables.
pub fn render(spec: &Spec) -> Result<Vec<u8>> {
    let envguard = utf8(spec.envguard)?;
    let (project, env_file) = (utf8(spec.project)?, utf8(spec.env_file)?);
    let python = utf8(&spec.python.executable)?;
    let mut argv = vec![
        envguard, "exec", "--kernel", spec.name, "-f", env_file, "--", python,
    ];
    argv.extend(launch::python_args(spec.python, spec.mask));
    argv.extend(["-f", "{connection_file}"]);
    let spec = json!({
        "argv": argv,
        "display_name": spec.display_name,
        "language": "python",
        "interrupt_mode": "signal",
        "metadata": {
            "debugger": true,
            "envguard": { "project": project, "env_file": env_file, "mask": spec.mask },
        },
    });
    let mut bytes = serde_json::to_vec_pretty(&spec).expect("a JSON value always serialises");
    bytes.push(b'\n');
    Ok(bytes)
}

/// JSON strings are Unicode; a path that is not cannot be written into a kernelspec.
fn utf8(path: &Path) -> Result<&str> {
    path.to_str().ok_or_else(|| {
        Error::Usage(format!(
            "{}: a kernelspec can only hold UTF-8 paths (fix: use a UTF-8 path)",
            escape_for_display(path)
        ))
    })
}

/// What is installed in one kernelspec directory.
pub enum Installed {
    /// Written by envguard, serving this project.
    Envguard { project: PathBuf },
    /// Anyone else's kernel (or a kernel.json envguard cannot read).
    Foreign,
}

/// Reads `dir/kernel.json`; `None` when there is no kernelspec in `dir`. A kernel.json that
/// cannot be read or does not carry the marker is someone else's.
///
/// Only the marker is extracted: a foreign kernel.json may carry an `env` block with secrets,
/// so neither its text nor a parse error quoting it is ever shown.
pub fn inspect(dir: &Path) -> Option<Installed> {
    if !dir.join(SPEC_FILE).is_file() {
        return None;
    }
    let project = read_spec(dir).and_then(|spec| {
        spec.pointer("/metadata/envguard/project")?
            .as_str()
            .map(PathBuf::from)
    });
    Some(match project {
        Some(project) => Installed::Envguard { project },
        None => Installed::Foreign,
    })
}

/// Whether the envguard kernel in `dir` names its `.env` file. Kernels installed before
/// envguard did (`exec -C PROJECT`) walk up from the project, so a moved project or a removed
/// `.env` would have them load a parent directory's: they need installing again.
pub fn names_its_env_file(dir: &Path) -> bool {
    read_spec(dir).is_some_and(|spec| spec.pointer("/metadata/envguard/env_file").is_some())
}

/// Whether the envguard kernel in `dir` masks the loaded values in what it sends; `None` for
/// a kernel installed before kernels masked, which shows them.
pub fn masks(dir: &Path) -> Option<bool> {
    read_spec(dir)?
        .pointer("/metadata/envguard/mask")?
        .as_bool()
}

/// The interpreter an envguard kernel runs: the argument after `exec`'s `--`.
pub fn kernel_python(dir: &Path) -> Option<PathBuf> {
    let spec = read_spec(dir)?;
    let mut argv = spec
        .get("argv")?
        .as_array()?
        .iter()
        .filter_map(|arg| arg.as_str());
    argv.find(|&arg| arg == "--")?;
    argv.next().map(PathBuf::from)
}

fn read_spec(dir: &Path) -> Option<serde_json::Value> {
    let bytes = fs::read(dir.join(SPEC_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_jupyter_rules_and_never_escape_the_kernels_dir() {
        assert_eq!(validate_name("My_Proj-2.1").unwrap(), "my_proj-2.1");
        for bad in ["", ".", "..", "a/b", "a b", "é", "x\n"] {
            assert!(validate_name(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn default_names_come_from_the_directory_name() {
        assert_eq!(
            default_name(Path::new("/w/My Project (v2)")).as_deref(),
            Some("my-project-v2")
        );
        assert_eq!(
            default_name(Path::new("/w/data.science_x")).as_deref(),
            Some("data.science_x")
        );
        assert_eq!(default_name(Path::new("/w/ééé")), None);
        assert_eq!(default_name(Path::new("/")), None);
        assert_eq!(
            default_display_name(Path::new("/w/myproject")),
            "Python (envguard: myproject)"
        );
    }

    /// The spec `render` writes for a project `/w/p` whose venv is `/v`.
    fn rendered(mask: bool) -> serde_json::Value {
        let python = Python {
            executable: "/v/bin/python".into(),
            prefix: "/v".into(),
            base_prefix: "/usr".into(),
            user_base: None,
            has_safe_path_flag: true,
            has_ipykernel: true,
        };
        let bytes = render(&Spec {
            name: "p",
            display_name: "P",
            envguard: Path::new("/bin/envguard"),
            project: Path::new("/w/p"),
            env_file: Path::new("/w/p/.env"),
            python: &python,
            mask,
        })
        .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn rendered_spec_is_marked_and_starts_through_envguard() {
        let spec = rendered(false);
        let argv: Vec<&str> = spec["argv"]
            .as_array()
            .unwrap()
            .iter()
            .map(|arg| arg.as_str().unwrap())
            .collect();
        assert_eq!(
            argv,
            [
                "/bin/envguard",
                "exec",
                "--kernel",
                "p",
                "-f",
                "/w/p/.env",
                "--",
                "/v/bin/python",
                "-P",
                "-m",
                "ipykernel_launcher",
                "-f",
                "{connection_file}",
            ]
        );
        assert_eq!(spec["metadata"]["envguard"]["project"], "/w/p");
        assert_eq!(spec["metadata"]["envguard"]["mask"], false);
    }

    #[test]
    fn a_masking_spec_runs_the_mask_launcher() {
        let spec = rendered(true);
        let argv = spec["argv"].as_array().unwrap();
        assert_eq!(argv[8], "-P");
        assert_eq!(argv[9], "-c");
        assert_eq!(argv[10], launch::MASK_LAUNCHER);
        assert_eq!(argv[11..], ["-f", "{connection_file}"]);
        assert_eq!(spec["metadata"]["envguard"]["mask"], true);
    }
}
