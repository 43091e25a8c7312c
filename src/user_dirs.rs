//! Where the user's own envguard files live (the trust store under `$XDG_DATA_HOME/envguard`,
//! the identity and `providers.toml` under `$XDG_CONFIG_HOME/envguard`, `~/.ssh`), found from
//! the environment as the user set it.
//!
//! A `.env` may set `HOME` or the XDG variables: they load, with a warning naming them. Every
//! envguard started from that shell afterwards (the hook's next load, `exec`, a kernel) inherits
//! them, and read raw they would let a project choose the trust store that decides what loads
//! and the provider schemes that run programs, both shipped in its own repository. The hook's
//! state records what each name it loaded was before; when one of these names is among them,
//! that earlier value is used, and a value only the file gave is never used.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::hook::state::{self, Current, Original, Saved, State};

/// What the user's environment held before the hook loaded a file into it, for the names that
/// locate envguard's files; `None` when the hook loaded none of them (the usual case).
struct AsSet(Vec<Saved>);

impl AsSet {
    fn now() -> Option<Self> {
        let raw = std::env::var_os(state::VAR)?;
        let State {
            current: Current::Loaded(loaded),
            ..
        } = State::decode(raw.as_encoded_bytes())?
        else {
            return None;
        };
        let moved: Vec<Saved> = loaded
            .saved()?
            .into_iter()
            .filter(|saved| LOCATING.contains(&saved.name.as_str()))
            .collect();
        (!moved.is_empty()).then_some(AsSet(moved))
    }

    /// `name` as the user had it; `None` when unset, or when only the file set it.
    fn get(&self, name: &str) -> Option<OsString> {
        match self.0.iter().find(|saved| saved.name == name) {
            None => std::env::var_os(name),
            Some(Saved {
                original: Original::Value(value),
                ..
            }) => Some(value.clone()),
            Some(_) => None,
        }
    }

    fn absolute(&self, name: &str) -> Option<PathBuf> {
        self.get(name)
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
    }

    fn home(&self) -> Option<PathBuf> {
        self.absolute("HOME").or_else(home_of_user)
    }
}

const LOCATING: [&str; 3] = ["HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME"];

/// `$XDG_DATA_HOME/envguard` (`~/.local/share/envguard`).
pub fn data_dir() -> Option<PathBuf> {
    match AsSet::now() {
        None => directories::ProjectDirs::from("", "", "envguard")
            .map(|dirs| dirs.data_dir().to_path_buf()),
        Some(set) => set
            .absolute("XDG_DATA_HOME")
            .or_else(|| set.home().map(|home| home.join(".local/share")))
            .map(|dir| dir.join("envguard")),
    }
}

/// `$XDG_CONFIG_HOME` (`~/.config`).
pub fn config_home() -> Option<PathBuf> {
    match AsSet::now() {
        None => directories::BaseDirs::new().map(|dirs| dirs.config_dir().to_path_buf()),
        Some(set) => set
            .absolute("XDG_CONFIG_HOME")
            .or_else(|| set.home().map(|home| home.join(".config"))),
    }
}

/// The user's home directory.
pub fn home() -> Option<PathBuf> {
    match AsSet::now() {
        None => directories::BaseDirs::new().map(|dirs| dirs.home_dir().to_path_buf()),
        Some(set) => set.home(),
    }
}

/// From the password database, which no environment variable moves.
fn home_of_user() -> Option<PathBuf> {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|user| user.dir)
}
