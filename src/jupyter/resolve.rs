//! Which kernelspec Jupyter starts for a name. Jupyter takes, for each lowercase name, the
//! first directory of its search path that has one, so a kernel installed further down the
//! path is silently never started: `install` must say so and `list` must show it.
//!
//! The environment directory searched is that of `python3` on PATH, the interpreter `jupyter`
//! most likely runs under; without a working one, that directory is not searched.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::jupyter::dirs::{self, Lookup};
use crate::jupyter::kernelspec::{self, Installed};
use crate::jupyter::python::{self, Python};

/// One kernelspec directory on Jupyter's search path.
pub struct Found {
    pub name: String,
    pub spec_dir: PathBuf,
    pub installed: Installed,
    /// Whether Jupyter starts this one for `name` (false: one earlier in the path shadows it).
    pub started: bool,
}

/// Every kernelspec on the search path in order of precedence, shadowed ones included.
pub fn every_kernel(env: Lookup) -> Result<Vec<Found>> {
    let python: Option<Python> = python::locate(None, env)
        .ok()
        .and_then(|path| python::probe(&path, false).ok());
    let mut seen_dirs = HashSet::new();
    let mut seen_names = HashSet::new();
    let mut found = Vec::new();
    for kernels_dir in dirs::kernel_search_path(env, python.as_ref())? {
        // The same directory twice (JUPYTER_PATH naming the user's own) shadows nothing.
        let identity = fs::canonicalize(&kernels_dir).unwrap_or_else(|_| kernels_dir.clone());
        if !seen_dirs.insert(identity) {
            continue;
        }
        let Ok(entries) = fs::read_dir(&kernels_dir) else {
            continue;
        };
        let mut here: Vec<(String, PathBuf)> = entries
            .flatten()
            .map(|entry| {
                (
                    entry.file_name().to_string_lossy().to_lowercase(),
                    entry.path(),
                )
            })
            .collect();
        here.sort();
        for (name, spec_dir) in here {
            if let Some(installed) = kernelspec::inspect(&spec_dir) {
                let started = seen_names.insert(name.clone());
                found.push(Found {
                    name,
                    spec_dir,
                    installed,
                    started,
                });
            }
        }
    }
    Ok(found)
}

/// The kernelspec Jupyter starts for `name`.
pub fn started<'a>(kernels: &'a [Found], name: &str) -> Option<&'a Found> {
    kernels
        .iter()
        .find(|kernel| kernel.started && kernel.name == name)
}

/// Whether `a` and `b` are the same directory (however each is spelled).
pub fn same_dir(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
