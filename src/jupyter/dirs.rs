//! Where Jupyter keeps kernelspecs, worked out the way `jupyter_core.paths` and
//! `jupyter_client.kernelspec` do on Unix (jupyter_core 5.x), so that `envguard kernel install`
//! writes where `jupyter kernelspec list` looks, and `envguard kernel list` sees the same
//! kernels in the same order of precedence.
//!
//! Every environment variable is read through a lookup function rather than from the process,
//! so the rules can be tested without touching the test process's environment.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::jupyter::python::Python;

/// Reads one environment variable.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// The environment of this process, as Jupyter would see it.
pub fn process_env(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

/// Jupyter's per-user data directory (`jupyter --data-dir`), where `--user` kernels go.
pub fn user_data_dir(env: Lookup) -> Result<PathBuf> {
    if let Some(dir) = non_empty(env, "JUPYTER_DATA_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let home = home_dir(env)?;
    if cfg!(target_os = "macos") {
        return Ok(home.join("Library/Jupyter"));
    }
    // platformdirs (JUPYTER_PLATFORM_DIRS) ignores a relative XDG_DATA_HOME; jupyter_core's
    // own rule takes any non-empty value.
    let xdg = non_empty(env, "XDG_DATA_HOME")
        .filter(|dir| !use_platform_dirs(env) || Path::new(dir).is_absolute());
    Ok(match xdg {
        Some(xdg) => PathBuf::from(xdg).join("jupyter"),
        None => home.join(".local/share/jupyter"),
    })
}

/// The directories Jupyter searches for kernelspecs, highest precedence first: `JUPYTER_PATH`,
/// then the user's and `python`'s environment directories (the environment's first when
/// Jupyter runs from a virtualenv or conda env), then the system directories, then IPython's.
///
/// `python` is the interpreter Jupyter runs under; without one, no environment directory is
/// searched.
pub fn kernel_search_path(env: Lookup, python: Option<&Python>) -> Result<Vec<PathBuf>> {
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Some(list) = non_empty(env, "JUPYTER_PATH") {
        roots.extend(split_path_list(&list).map(trim_trailing_slashes));
    }

    let mut user = vec![user_data_dir(env)?];
    if let Some(user_base) = python.and_then(|python| python.user_base.as_ref()) {
        let dir = user_base.join("share/jupyter");
        if !user.contains(&dir) {
            user.push(dir);
        }
    }
    let system = system_dirs(env);
    let environment: Vec<PathBuf> = python
        .map(|python| python.prefix.join("share/jupyter"))
        .filter(|dir| !system.contains(dir))
        .into_iter()
        .collect();
    if prefer_environment_over_user(env, python) {
        roots.extend(environment);
        roots.extend(user);
    } else {
        roots.extend(user);
        roots.extend(environment);
    }
    for dir in system {
        if !roots.contains(&dir) {
            roots.push(dir);
        }
    }

    let mut kernel_dirs: Vec<PathBuf> =
        roots.into_iter().map(|root| root.join("kernels")).collect();
    kernel_dirs.push(ipython_dir(env)?.join("kernels"));
    Ok(kernel_dirs)
}

fn system_dirs(env: Lookup) -> Vec<PathBuf> {
    if use_platform_dirs(env)
        && let Some(list) = non_empty(env, "XDG_DATA_DIRS")
    {
        let dirs: Vec<PathBuf> = split_path_list(&list)
            .filter(|dir| dir.is_absolute())
            .map(|dir| dir.join("jupyter"))
            .collect();
        if !dirs.is_empty() {
            return dirs;
        }
    }
    vec![
        PathBuf::from("/usr/local/share/jupyter"),
        PathBuf::from("/usr/share/jupyter"),
    ]
}

/// jupyter_core's `prefer_environment_over_user`: an explicit `JUPYTER_PREFER_ENV_PATH`, else
/// whether Jupyter runs from a virtualenv or a non-base conda env that the user owns.
fn prefer_environment_over_user(env: Lookup, python: Option<&Python>) -> bool {
    if let Some(value) = env("JUPYTER_PREFER_ENV_PATH") {
        return is_set(&value);
    }
    let Some(python) = python else { return false };
    if python.prefix != python.base_prefix && owned_by_me(&python.prefix) {
        return true;
    }
    let in_conda_env = env("CONDA_PREFIX").is_some_and(|conda| {
        python
            .prefix
            .as_os_str()
            .as_bytes()
            .starts_with(conda.as_bytes())
    }) && env("CONDA_DEFAULT_ENV").is_none_or(|name| name != "base");
    in_conda_env && owned_by_me(&python.prefix)
}

/// jupyter_core's `envset`: set unless it is one of the usual spellings of "no".
fn is_set(value: &OsStr) -> bool {
    let value = value.to_string_lossy().to_lowercase();
    !["no", "n", "false", "off", "0", "0.0"].contains(&value.as_str())
}

fn use_platform_dirs(env: Lookup) -> bool {
    env("JUPYTER_PLATFORM_DIRS").is_some_and(|value| is_set(&value))
}

/// Whether the nearest existing ancestor of `path` belongs to this user.
fn owned_by_me(path: &Path) -> bool {
    let uid = nix::unistd::geteuid().as_raw();
    path.ancestors()
        .find_map(|dir| fs::metadata(dir).ok())
        .is_some_and(|meta| meta.uid() == uid)
}

fn ipython_dir(env: Lookup) -> Result<PathBuf> {
    match non_empty(env, "IPYTHONDIR") {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => Ok(home_dir(env)?.join(".ipython")),
    }
}

/// `~` as Python's `Path("~").expanduser().resolve()` finds it: `$HOME`, else the password
/// database, with symlinks resolved.
fn home_dir(env: Lookup) -> Result<PathBuf> {
    let home = match env("HOME") {
        Some(home) => PathBuf::from(home),
        None => nix::unistd::User::from_uid(nix::unistd::getuid())
            .ok()
            .flatten()
            .map(|user| user.dir)
            .ok_or_else(|| Error::Failed("cannot find your home directory (set HOME)".into()))?,
    };
    Ok(fs::canonicalize(&home).unwrap_or(home))
}

fn non_empty(env: Lookup, name: &str) -> Option<OsString> {
    env(name).filter(|value| !value.is_empty())
}

fn split_path_list(list: &OsStr) -> impl Iterator<Item = PathBuf> + '_ {
    list.as_bytes()
        .split(|&byte| byte == b':')
        .filter(|entry| !entry.is_empty())
        .map(|entry| PathBuf::from(OsStr::from_bytes(entry)))
}

fn trim_trailing_slashes(path: PathBuf) -> PathBuf {
    let bytes = path.as_os_str().as_bytes();
    let end = bytes
        .iter()
        .rposition(|&byte| byte != b'/')
        .map_or(bytes.len().min(1), |last| last + 1);
    PathBuf::from(OsStr::from_bytes(&bytes[..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, OsString)> = pairs
            .iter()
            .map(|(name, value)| (name.to_string(), OsString::from(value)))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, value)| value.clone())
        }
    }

    fn venv_python(root: &Path) -> Python {
        Python {
            executable: root.join("venv/bin/python"),
            prefix: root.join("venv"),
            base_prefix: PathBuf::from("/usr"),
            user_base: None,
            has_safe_path_flag: true,
            has_ipykernel: true,
        }
    }

    #[test]
    fn data_dir_prefers_jupyter_data_dir_then_xdg_then_home() {
        let env = vars(&[
            ("HOME", "/nonexistent/me"),
            ("JUPYTER_DATA_DIR", "/j"),
            ("XDG_DATA_HOME", "/x"),
        ]);
        assert_eq!(user_data_dir(&env).unwrap(), PathBuf::from("/j"));
        let env = vars(&[
            ("HOME", "/nonexistent/me"),
            ("JUPYTER_DATA_DIR", ""),
            ("XDG_DATA_HOME", "/x"),
        ]);
        assert_eq!(user_data_dir(&env).unwrap(), PathBuf::from("/x/jupyter"));
        let env = vars(&[("HOME", "/nonexistent/me")]);
        assert_eq!(
            user_data_dir(&env).unwrap(),
            PathBuf::from("/nonexistent/me/.local/share/jupyter")
        );
    }

    #[test]
    fn a_virtualenv_owned_by_the_user_comes_before_the_user_dir() {
        let root = tempfile::tempdir().unwrap();
        let python = venv_python(root.path());
        let env = vars(&[
            ("HOME", "/nonexistent/me"),
            ("JUPYTER_PATH", "/extra/:/more"),
        ]);
        let dirs = kernel_search_path(&env, Some(&python)).unwrap();
        let expected: Vec<PathBuf> = vec![
            "/extra/kernels".into(),
            "/more/kernels".into(),
            root.path().join("venv/share/jupyter/kernels"),
            "/nonexistent/me/.local/share/jupyter/kernels".into(),
            "/usr/local/share/jupyter/kernels".into(),
            "/usr/share/jupyter/kernels".into(),
            "/nonexistent/me/.ipython/kernels".into(),
        ];
        assert_eq!(dirs, expected);

        let env = vars(&[
            ("HOME", "/nonexistent/me"),
            ("JUPYTER_PREFER_ENV_PATH", "off"),
        ]);
        let dirs = kernel_search_path(&env, Some(&python)).unwrap();
        assert_eq!(
            dirs[0],
            PathBuf::from("/nonexistent/me/.local/share/jupyter/kernels")
        );
        assert_eq!(dirs[1], root.path().join("venv/share/jupyter/kernels"));
    }

    #[test]
    fn the_system_python_adds_its_user_base_and_no_duplicate_system_dir() {
        let python = Python {
            executable: "/usr/bin/python3".into(),
            prefix: "/usr".into(),
            base_prefix: "/usr".into(),
            user_base: Some("/nonexistent/me/.local".into()),
            has_safe_path_flag: true,
            has_ipykernel: true,
        };
        let env = vars(&[("HOME", "/nonexistent/me"), ("XDG_DATA_HOME", "/x")]);
        let dirs = kernel_search_path(&env, Some(&python)).unwrap();
        let expected: Vec<PathBuf> = vec![
            "/x/jupyter/kernels".into(),
            "/nonexistent/me/.local/share/jupyter/kernels".into(),
            "/usr/local/share/jupyter/kernels".into(),
            "/usr/share/jupyter/kernels".into(),
            "/nonexistent/me/.ipython/kernels".into(),
        ];
        assert_eq!(dirs, expected);
    }
}
