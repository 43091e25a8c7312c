//! A project as the prompt hook sees it: the team's `.env.shared` and the personal `.env`
//! beside it, loaded as one (all or nothing, the personal value winning, as `exec` loads
//! them), and watched as one by the per-prompt test, which stats both files.
//!
//! It is the hook's own view because the hook applies the shell's name rules and records
//! both files' identities; `status` shares it so that it reports what the hook would do.

use std::path::{Path, PathBuf};

use crate::display::quote_for_display;
use crate::error::Refusal;
use crate::hook::state::Files;
use crate::load::discover;
use crate::load::dotenv::Binding;
use crate::load::guard::Identity;
use crate::load::loader;
use crate::load::names::Destination;
use crate::load::resolve;
use crate::load::trust::TrustStore;

/// A project's files loaded together, as one file is: `.env.shared` then `.env`, the personal
/// value winning, each through the guard, the trust gate and the shell's name rules.
pub struct Project {
    /// The project's `.env` path, whether or not it exists: what the state records.
    pub path: PathBuf,
    /// Of each file as it was read: an edit during the load is noticed at the next prompt.
    pub identity: Files,
    pub bindings: Vec<Binding>,
    /// The outer names the files' `${...}` looked up (see `Checked::referenced`).
    pub referenced: Vec<String>,
}

impl Project {
    /// All or nothing: a refusal of either file loads neither. A later file's `${NAME}` sees
    /// what the earlier one set, as in `exec`. Decryption happens here, on the full path only.
    pub fn load(
        path: &Path,
        outer: &dyn Fn(&str) -> Option<String>,
        store: &TrustStore,
        mode: resolve::Mode,
    ) -> Result<Project, Refusal> {
        let files = discover::project_files(path);
        let loaded = loader::load_files_into(&files, outer, store, Destination::ShellHook, mode)?;
        let mut identity = Files::default();
        let mut referenced = Vec::new();
        for checked in loaded.files {
            if checked.path == path {
                identity.personal = Some(checked.identity);
            } else {
                identity.shared = Some(checked.identity);
            }
            referenced.extend(checked.referenced);
        }
        let bindings = loaded.bindings;
        Ok(Project {
            path: path.to_path_buf(),
            identity,
            bindings,
            referenced,
        })
    }
}

/// The stats of `path` (a project's `.env`) and of the `.env.shared` beside it: the whole
/// per-prompt look at a project, no file opened.
pub fn stats(path: &Path) -> Files {
    let shared = path
        .parent()
        .map(|dir| dir.join(discover::SHARED_FILE_NAME));
    Files {
        personal: Identity::of_path(path),
        shared: shared.as_deref().and_then(Identity::of_path),
    }
}

/// How a message names a project: its `.env`, or the team's file, or both.
pub fn shown(path: &Path, files: Files) -> String {
    let shared = || {
        path.parent()
            .unwrap_or(Path::new("/"))
            .join(discover::SHARED_FILE_NAME)
    };
    match (files.personal, files.shared) {
        (_, None) => quote_for_display(path),
        (None, Some(_)) => quote_for_display(&shared()),
        (Some(_), Some(_)) => format!(
            "{} and {}",
            quote_for_display(&shared()),
            quote_for_display(path)
        ),
    }
}
