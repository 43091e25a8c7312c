//! A project as the prompt hook sees it: the team's `.env.shared` and the personal `.env`
//! beside it, loaded as one (all or nothing, the personal value winning, as `exec` loads
//! them), and watched as one by the per-prompt test, which stats both files.
//!
//! It is the hook's own view because the hook applies the shell's name rules and records
//! both files' identities; `status` shares it so that it reports what the hook would do.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::display::quote_for_display;
use crate::error::Refusal;
use crate::hook::state::Files;
use crate::load::discover;
use crate::load::dotenv::Binding;
use crate::load::guard::Identity;
use crate::load::loader::{self, ArgSpace};
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
    ) -> Result<Project, Refusal> {
        let files = discover::project_files(path);
        let mut identity = Files::default();
        let mut bindings: Vec<Binding> = Vec::new();
        let mut referenced = Vec::new();
        let mut position: HashMap<String, usize> = HashMap::new();
        for file in &files {
            let seen = |name: &str| match position.get(name) {
                Some(&at) => Some(bindings[at].value.clone()),
                None => outer(name),
            };
            let checked = loader::load_into_shell(file, &seen, store)?;
            if file.as_path() == path {
                identity.personal = Some(checked.identity);
            } else {
                identity.shared = Some(checked.identity);
            }
            referenced.extend(checked.referenced);
            for binding in checked.bindings {
                match position.get(&binding.name) {
                    Some(&at) => bindings[at] = binding,
                    None => {
                        position.insert(binding.name.clone(), bindings.len());
                        bindings.push(binding);
                    }
                }
            }
        }
        // Each file fits the room a program's environment has; together they may not.
        if files.len() > 1
            && let Some(refusal) =
                loader::total_refusal(path, &bindings, outer, ArgSpace::current())
        {
            return Err(refusal);
        }
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
