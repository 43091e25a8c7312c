//! How an envguard kernel starts, so that it runs with exactly its own project's variables and
//! nothing in the folder it starts from runs before ipykernel does.
//!
//! The kernel names its `.env` file (`exec -f`), never a directory: `exec -C DIR` walks up
//! from DIR, so a project that was moved, or whose `.env` was removed, would load a parent
//! directory's `.env` (someone else's secrets) instead of failing. [`check_before_start`]
//! gives those failures their reason, since a kernel's stderr is all the user sees of it.
//!
//! Python's `-m` puts the working directory (the notebook's folder) first on `sys.path`, so an
//! `ipykernel_launcher.py` there would run with the secrets in its environment instead of
//! ipykernel. Python 3.11's `-P` leaves the working directory out; older Pythons get a `-c`
//! program that removes it and then runs the launcher as `-m` would. `check` warns about such
//! a file ([`stray_launchers`]), because other kernels still run it.
//!
//! A masking kernel (the default) runs envguard's own launcher instead ([`MASK_LAUNCHER`],
//! passed with `-c` so kernel.json is all there is to install and to tamper with), which masks
//! every loaded value in what the kernel sends and then starts ipykernel. It learns which
//! names to mask from [`MASK_NAMES_VAR`], which `exec --kernel` sets and a `.env` cannot
//! (`ENVGUARD_*` is reserved); the values it reads from its own environment, so they are never
//! on disk or in an argv. Which values are too short or too common to mask is decided here, by
//! the rule `exec --mask` and `check` follow ([`crate::mask::filter::why_unmasked`]): the
//! launcher masks what it is told and has no rule of its own to drift.

use std::fs;
use std::path::{Path, PathBuf};

use crate::display::{escape_for_display, escape_text_for_display, quote_for_display};
use crate::error::{Refusal, RefusalKind, Result};
use crate::jupyter::python::Python;
use crate::load::discover;
use crate::load::dotenv::Binding;
use crate::mask::filter;

const LAUNCHER_MODULE: &str = "ipykernel_launcher";

/// What `-P -m ipykernel_launcher` does, for Pythons before 3.11: with `-c`, `sys.path[0]` is
/// `''` (the working directory); it goes before anything is imported from there.
pub const LAUNCHER_WITHOUT_WORKING_DIR: &str = "import runpy, sys\n\
     if sys.path and sys.path[0] == '':\n    del sys.path[0]\n\
     runpy.run_module('ipykernel_launcher', run_name='__main__', alter_sys=True)\n";

/// Masks the loaded values in every message the kernel sends, then runs `ipykernel_launcher`;
/// it leaves the working directory off `sys.path` itself, for Pythons without `-P`.
pub const MASK_LAUNCHER: &str = include_str!("mask_launcher.py");

/// The variable that tells a masking kernel which names' values to mask: comma-separated
/// entries `NAME` or `NAME:LINE:LINE...`, the lines (indices among the value's `\n`-separated
/// lines) of a multi-line value that are masked on their own too. Names and numbers only: a
/// name never holds a comma or a colon.
pub const MASK_NAMES_VAR: &str = "ENVGUARD_MASK_NAMES";

/// The interpreter's arguments (before `-f {connection_file}`) that start ipykernel without
/// the working directory on `sys.path`, through the masking launcher when `mask` is set.
pub fn python_args(python: &Python, mask: bool) -> Vec<&'static str> {
    let mut args = Vec::new();
    if python.has_safe_path_flag {
        args.push("-P");
    }
    match (mask, python.has_safe_path_flag) {
        (true, _) => args.extend(["-c", MASK_LAUNCHER]),
        (false, true) => args.extend(["-m", LAUNCHER_MODULE]),
        (false, false) => args.extend(["-c", LAUNCHER_WITHOUT_WORKING_DIR]),
    }
    args
}

/// The [`MASK_NAMES_VAR`] binding for the kernel `exec --kernel` starts: every loaded name
/// whose value is masked, so a masking kernel knows whose values to hide. Set for every
/// envguard kernel, because kernel.json, not exec, says whether the kernel masks.
pub fn mask_names(loaded: &[Binding]) -> Binding {
    let entries: Vec<String> = loaded
        .iter()
        .filter(|binding| filter::why_unmasked(&binding.value).is_none())
        .map(|binding| {
            let mut entry = binding.name.clone();
            for (index, _) in filter::masked_lines(&binding.value) {
                entry.push_str(&format!(":{index}"));
            }
            entry
        })
        .collect();
    Binding {
        name: MASK_NAMES_VAR.to_owned(),
        value: entries.join(","),
        line: 0,
        value_span: 0..0,
        substituted: false,
    }
}

/// Run by `exec --kernel NAME -f FILE` before loading: a kernel whose `.env` is gone says why
/// and how to repoint it, instead of the guard's generic "does not exist".
pub fn check_before_start(kernel: &str, env_file: Option<&Path>) -> Result<()> {
    let Some(env_file) = env_file else {
        return Ok(());
    };
    if fs::symlink_metadata(env_file).is_ok() {
        return Ok(());
    }
    // Validated when it was written, but kernel.json is a file anyone may have edited.
    let kernel = escape_text_for_display(kernel);
    let project = env_file.parent().unwrap_or(Path::new("/"));
    let never_a_parent = format!("kernel {kernel} loads only this file, never a parent's .env");
    let refusal = if project.is_dir() {
        Refusal::new(
            env_file,
            RefusalKind::NotFound,
            format!("was removed; {never_a_parent}"),
            format!(
                "cd {} && envguard init, or `envguard kernel remove {kernel}`",
                quote_for_display(project)
            ),
        )
    } else {
        Refusal::new(
            env_file,
            RefusalKind::NotFound,
            format!("its project directory no longer exists (moved or deleted?); {never_a_parent}"),
            format!(
                "run `envguard kernel install --name {kernel} --force` in the project's new \
                 directory, or `envguard kernel remove {kernel}`"
            ),
        )
    };
    Err(refusal.into())
}

/// `(warning, fix)` for each `ipykernel_launcher` module in the checked file's directory or
/// the working directory: `python -m ipykernel_launcher`, as most kernels start, would run it
/// (with the secrets) instead of ipykernel.
pub fn stray_launchers(env_file: &Path) -> Vec<(String, String)> {
    let mut dirs: Vec<PathBuf> = env_file
        .parent()
        .map(Path::to_path_buf)
        .into_iter()
        .collect();
    if let Ok(here) = discover::working_dir()
        && !dirs.contains(&here)
    {
        dirs.push(here);
    }
    let mut warnings = Vec::new();
    for dir in dirs {
        for candidate in [format!("{LAUNCHER_MODULE}.py"), LAUNCHER_MODULE.to_string()] {
            let path = dir.join(candidate);
            if fs::symlink_metadata(&path).is_ok() {
                warnings.push((
                    format!(
                        "{} would run instead of ipykernel, with the secrets, in a kernel \
                         started from that folder by `python -m ipykernel_launcher` \
                         (envguard's kernels do not run it)",
                        escape_for_display(&path)
                    ),
                    format!(
                        "remove it unless you wrote it: rm -r {}",
                        quote_for_display(&path)
                    ),
                ));
            }
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python(has_safe_path_flag: bool) -> Python {
        Python {
            executable: "/v/bin/python".into(),
            prefix: "/v".into(),
            base_prefix: "/usr".into(),
            user_base: None,
            has_safe_path_flag,
            has_ipykernel: true,
        }
    }

    #[test]
    fn the_working_directory_is_left_off_sys_path_on_every_python() {
        assert_eq!(
            python_args(&python(true), false),
            ["-P", "-m", "ipykernel_launcher"]
        );
        let old = python_args(&python(false), false);
        assert_eq!(old[0], "-c");
        assert!(old[1].contains("del sys.path[0]") && old[1].contains("run_module"));
        assert_eq!(
            python_args(&python(true), true),
            ["-P", "-c", MASK_LAUNCHER]
        );
        assert_eq!(python_args(&python(false), true), ["-c", MASK_LAUNCHER]);
    }

    #[test]
    fn the_mask_launcher_leaves_the_working_directory_before_any_import() {
        let first_import = MASK_LAUNCHER
            .lines()
            .position(|line| line.starts_with("import ") && line != "import sys")
            .unwrap();
        let path_removed = MASK_LAUNCHER.find("del sys.path[0]").unwrap();
        let before: usize = MASK_LAUNCHER
            .lines()
            .take(first_import)
            .map(|l| l.len() + 1)
            .sum();
        assert!(path_removed < before);
        // Jupyter substitutes `{word}` in a kernel's argv: the launcher must hold none.
        let mut rest = MASK_LAUNCHER;
        while let Some(open) = rest.find('{') {
            rest = &rest[open + 1..];
            let word = rest.split('}').next().unwrap();
            assert!(
                !(rest.contains('}')
                    && !word.is_empty()
                    && word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')),
                "{{{word}}}"
            );
        }
    }

    #[test]
    fn mask_names_are_names_and_line_numbers_of_the_masked_values_only() {
        let binding = |name: &str, value: &str| Binding {
            name: name.into(),
            value: value.into(),
            line: 1,
            value_span: 0..0,
            substituted: false,
        };
        let names = mask_names(&[
            binding("API_KEY", "a-secret-value"),
            binding("DEBUG", "true"),
            binding("PORT", "8080808"),
            binding("SHORT", "abc"),
            binding(
                "CERT",
                "-----BEGIN-----\nQUJDREVGR0hJSktM\nend\r\n-----END-----",
            ),
        ]);
        assert_eq!(names.name, "ENVGUARD_MASK_NAMES");
        assert_eq!(names.value, "API_KEY,CERT:0:1:3");
    }

    #[test]
    fn a_kernel_whose_env_is_gone_says_which_way() {
        let root = tempfile::tempdir().unwrap();
        let removed = root.path().join(".env");
        let message = check_before_start("proj", Some(&removed))
            .unwrap_err()
            .to_string();
        assert!(message.contains("was removed"), "{message}");
        let moved = root.path().join("gone/.env");
        let message = check_before_start("proj", Some(&moved))
            .unwrap_err()
            .to_string();
        assert!(message.contains("no longer exists"), "{message}");
        assert!(message.contains("--name proj --force"), "{message}");
        fs::write(&removed, "").unwrap();
        assert!(check_before_start("proj", Some(&removed)).is_ok());
    }
}
