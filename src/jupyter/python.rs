//! The Python interpreter a kernel runs on, and the facts about it that decide where Jupyter
//! looks for kernels. Only Python knows its `sys.prefix` and user site, so it is asked, once.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::display::quote_for_display;
use crate::error::{Error, Result};
use crate::jupyter::dirs::Lookup;
use crate::load::discover;

/// What Jupyter's path rules need to know about an interpreter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Python {
    /// Absolute, but with symlinks kept: a virtualenv's `bin/python` is a symlink to the base
    /// interpreter, and following it would lose the virtualenv.
    pub executable: PathBuf,
    pub prefix: PathBuf,
    pub base_prefix: PathBuf,
    /// `site.getuserbase()` when the user site is enabled (never inside a plain virtualenv).
    pub user_base: Option<PathBuf>,
    /// Python 3.11 or later, which has `-P` (do not put the working directory on `sys.path`).
    pub has_safe_path_flag: bool,
    /// Whether `ipykernel` imports (true when the probe was not asked to try).
    pub has_ipykernel: bool,
}

impl Python {
    /// A virtualenv (or conda env) rather than the system's own interpreter, which on Debian
    /// and Ubuntu refuses `pip install` (PEP 668's externally-managed-environment).
    pub fn is_virtualenv(&self) -> bool {
        self.prefix != self.base_prefix
    }
}

/// Prints the facts NUL-separated as raw bytes, so that no path has to survive a text encoding:
/// the prefixes, the user base, whether `-P` exists, and (when asked) whether `ipykernel`
/// imports.
const PROBE: &str = r#"
import os, site, sys
importable = b"1"
if sys.argv[1:] == ["ipykernel"]:
    try:
        import ipykernel
    except Exception:
        importable = b"0"
user_base = site.getuserbase() if site.ENABLE_USER_SITE else ""
paths = [os.fsencode(p) for p in (sys.prefix, sys.base_prefix, user_base)]
safe_path = b"1" if sys.version_info >= (3, 11) else b"0"
sys.stdout.buffer.write(b"\0".join(paths + [safe_path, importable]))
"#;

/// The interpreter the user named, made absolute, or `python3` from `PATH`.
pub fn locate(given: Option<&Path>, env: Lookup) -> Result<PathBuf> {
    match given {
        Some(path) => discover::absolute(path),
        None => env("PATH")
            .and_then(|path| find_in_path(OsStr::new("python3"), &path))
            .ok_or_else(|| {
                Error::Usage(
                    "python3: not found on PATH (fix: pass --python /path/to/python)".into(),
                )
            }),
    }
}

/// Asks `executable` about itself; with `need_ipykernel`, also checks that it can run a kernel.
pub fn probe(executable: &Path, need_ipykernel: bool) -> Result<Python> {
    let shown = quote_for_display(executable);
    let mut command = Command::new(executable);
    command.arg("-c").arg(PROBE);
    if need_ipykernel {
        command.arg("ipykernel");
    }
    // Run from `/` so that a stray `ipykernel` directory here cannot pass for the real one.
    let output = command
        .current_dir("/")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|error| {
            Error::Usage(format!(
                "{shown}: cannot run: {error} (fix: pass --python /path/to/python)"
            ))
        })?;
    let fields: Vec<&[u8]> = output.stdout.split(|&byte| byte == 0).collect();
    match (output.status.success(), fields.as_slice()) {
        (true, [prefix, base_prefix, user_base, safe_path, importable]) if !prefix.is_empty() => {
            Ok(Python {
                executable: executable.to_path_buf(),
                prefix: path_from(prefix),
                base_prefix: path_from(base_prefix),
                user_base: (!user_base.is_empty()).then(|| path_from(user_base)),
                has_safe_path_flag: *safe_path == b"1",
                has_ipykernel: *importable == b"1",
            })
        }
        _ => Err(Error::Usage(format!(
            "{shown}: does not answer like a Python 3 interpreter (fix: pass --python /path/to/python)"
        ))),
    }
}

/// The refusal for a Python without ipykernel. A virtualenv takes `pip install`; the system's
/// Python on Debian and Ubuntu refuses it (externally-managed-environment), so the fix there
/// is a virtualenv of the project's own, then `install_again` (the user's command, run with
/// `--python .venv/bin/python`).
pub fn missing_ipykernel(python: &Python, install_again: &str) -> Error {
    let shown = quote_for_display(&python.executable);
    let fix = if python.is_virtualenv() {
        format!("{shown} -m pip install ipykernel")
    } else {
        format!("{shown} -m venv .venv && .venv/bin/pip install ipykernel, then {install_again}")
    };
    Error::Usage(format!("{shown}: cannot import ipykernel (fix: {fix})"))
}

fn path_from(bytes: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(bytes))
}

/// The first executable file called `program` in the directories of `path`, as a shell finds
/// it (an empty entry, meaning the current directory, is skipped: a kernelspec must not
/// depend on where it was installed from).
fn find_in_path(program: &OsStr, path: &OsStr) -> Option<PathBuf> {
    path.as_bytes()
        .split(|&byte| byte == b':')
        .filter(|dir| !dir.is_empty() && dir.starts_with(b"/"))
        .map(|dir| Path::new(OsStr::from_bytes(dir)).join(program))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_lookup_skips_relative_entries_and_non_executables() {
        let root = tempfile::tempdir().unwrap();
        let (plain, exec) = (root.path().join("plain"), root.path().join("exec"));
        for dir in [&plain, &exec] {
            std::fs::create_dir(dir).unwrap();
            std::fs::write(dir.join("python3"), "").unwrap();
        }
        std::fs::set_permissions(exec.join("python3"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        let path = format!("relative::{}:{}", plain.display(), exec.display());
        assert_eq!(
            find_in_path(OsStr::new("python3"), OsStr::new(&path)),
            Some(exec.join("python3"))
        );
    }
}
