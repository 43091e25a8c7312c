//! Which variable names a `.env` may set, and where.
//!
//! A `.env` is data, but its names are not all just names. A hand-kept denylist always misses
//! the next one, so the shell names here are the shells' own lists (see `lists`), each name
//! classified once, on purpose, with the reason. The rule behind the classes:
//!
//! - A name whose value some shell runs as code, or that names files a shell loads code from
//!   (`PROMPT_COMMAND`, `PS1`, `MAILPATH`, `PROMPT_EOL_MARK`, `BASH_ENV`, `ZDOTDIR`, `FPATH`,
//!   ...), or that changes how every shell script parses (`IFS`, `CDPATH`, `SHELLOPTS`), is
//!   refused wherever the file loads: `envguard exec -- bash`, or a program's own `sh -c`,
//!   imports it just as the hook would.
//! - A name that only changes how the user's interactive shell behaves once it is *assigned*
//!   (`GLOBIGNORE` turns on dotglob, `HISTSIZE=0` drops history, `TMOUT` logs out, ...), or
//!   that is the shell's own state (`UID`, `status`, `OPTIND`; zsh's `USERNAME` changes user),
//!   is refused by the shell hook only, which assigns into that shell. `envguard exec` and
//!   kernels start no shell of envguard's, so programs get it as the plain variable it is to
//!   them (`USERNAME=dbadmin` is a common `.env` line).
//! - envguard's own namespace (`ENVGUARD_*`, `__envguard*`, in any letter case: the hook
//!   scripts keep the binary's path there) is refused everywhere.
//! - A name a shell merely reads or reports (`LANG`, `USER`, `HOSTNAME`) loads.
//!
//! Apart from the shells, names that make *other* programs run code of the value's choosing
//! (`LD_PRELOAD`, `GIT_CONFIG_GLOBAL`, `HOME`, proxies and CA bundles, ...) are legitimate in a
//! project, so they load with a warning that names them and says why.

use std::collections::HashMap;
use std::sync::OnceLock;

mod lists;

/// Where a file's variables are going: the rules differ only for shell-only names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    /// Assigned into the user's interactive shell by the prompt hook.
    ShellHook,
    /// Put into the environment of a program envguard starts (`exec`, `--watch`, kernels).
    Program,
}

/// Why a shell name is what it is; each class implies where it is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// envguard's or its hook's own variable: a file could switch the guard off or make the
    /// hook run a program of its choosing. Refused everywhere.
    Envguard,
    /// A shell runs the value as code, or loads code from where it points. Refused everywhere.
    ShellCode,
    /// Changes how every shell script splits words, finds directories or sets options.
    /// Refused everywhere.
    ScriptRules,
    /// Changes how the user's interactive shell behaves once assigned (history, globbing,
    /// line editing, timeouts, temporary files). Refused in the shell hook only.
    ShellBehaviour,
    /// The shell's own state, read-only or side-effecting when assigned. Refused in the shell
    /// hook only.
    ShellState,
    /// A shell reads or reports it, but a value from a file changes nothing dangerous. Loads.
    Informational,
}

impl Class {
    pub fn is_refused(self, destination: Destination) -> bool {
        match self {
            Class::Envguard | Class::ShellCode | Class::ScriptRules => true,
            Class::ShellBehaviour | Class::ShellState => destination == Destination::ShellHook,
            Class::Informational => false,
        }
    }

    /// Why, as the end of "NAME ..." in a message.
    pub fn reason(self) -> &'static str {
        match self {
            Class::Envguard => "belongs to envguard and its shell hook",
            Class::ShellCode => "is run as code by a shell, or names where a shell loads code",
            Class::ScriptRules => "changes how every shell script parses and runs",
            Class::ShellBehaviour => "changes how your interactive shell behaves",
            Class::ShellState => "is your shell's own state, which assigning would break",
            Class::Informational => "is only informational to a shell",
        }
    }
}

/// Whether `name` is a shell name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_valid(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// How the shells' lists classify `name`, if any shell knows it: an exact entry first (each was
/// decided on its own), then the namespaces a shell keeps for itself.
pub fn classify(name: &str) -> Option<Class> {
    if lists::ENVGUARD_PREFIXES
        .iter()
        .any(|prefix| starts_with_ignoring_case(name, prefix))
    {
        return Some(Class::Envguard);
    }
    exact(&SHELL_NAMES, lists::SHELL_NAMES, name)
        .or_else(|| {
            lists::SHELL_PREFIXES
                .iter()
                .find(|(prefix, _)| name.starts_with(prefix))
                .map(|(_, class)| *class)
        })
        .or_else(|| {
            lists::SHELL_SUFFIXES
                .iter()
                .find(|(suffix, _)| name.ends_with(suffix))
                .map(|(_, class)| *class)
        })
}

static SHELL_NAMES: OnceLock<HashMap<&str, Class>> = OnceLock::new();
static RUNS_CODE: OnceLock<HashMap<&str, &str>> = OnceLock::new();

/// The entry of `list` for `name`, through an index built once per process: a load asks about
/// every name it sets, and scanning a few hundred entries per name was a quarter of the time
/// of a 10,000-variable load.
fn exact<T: Copy>(
    index: &'static OnceLock<HashMap<&'static str, T>>,
    list: &'static [(&'static str, T)],
    name: &str,
) -> Option<T> {
    index
        .get_or_init(|| list.iter().copied().collect())
        .get(name)
        .copied()
}

fn starts_with_ignoring_case(name: &str, prefix: &str) -> bool {
    name.len() >= prefix.len()
        && name.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Why a file bound for `destination` may not set `name`, if it may not.
pub fn refusal(name: &str, destination: Destination) -> Option<&'static str> {
    classify(name)
        .filter(|class| class.is_refused(destination))
        .map(Class::reason)
}

/// Whether `name` is refused wherever a file loads (so `set` will not write it).
pub fn is_reserved(name: &str) -> bool {
    refusal(name, Destination::Program).is_some()
}

/// Why the shell hook, and only the hook, refuses `name`, if it does.
pub fn refused_by_hook_only(name: &str) -> Option<&'static str> {
    refusal(name, Destination::ShellHook).filter(|_| !is_reserved(name))
}

/// What `name` makes other programs do, if it makes them run code of the value's choosing.
pub fn runs_code_reason(name: &str) -> Option<&'static str> {
    exact(&RUNS_CODE, lists::RUNS_CODE, name).or_else(|| {
        lists::RUNS_CODE_PREFIXES
            .iter()
            .find(|(prefix, _)| starts_with_ignoring_case(name, prefix))
            .map(|(_, why)| *why)
    })
}

/// Whether `name` makes other programs run code chosen by its value.
pub fn runs_code(name: &str) -> bool {
    runs_code_reason(name).is_some()
}

/// Each name worth a second look before the file loads, with why, as "NAME ..." (names only,
/// never a value): one that makes other programs run code, and one the shell hook will refuse.
pub fn warnings<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<(&'a str, String)> {
    let mut found = Vec::new();
    for name in names {
        if let Some(why) = refused_by_hook_only(name) {
            found.push((
                name,
                format!(
                    "{name} {why}, so the shell hook will not load this file (`envguard exec` will)"
                ),
            ));
        }
        if let Some(why) = runs_code_reason(name) {
            found.push((name, format!("{name} {why}")));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn shell_names() {
        for good in ["A", "_", "a_1", "API_KEY", "_x9"] {
            assert!(is_valid(good), "{good}");
        }
        for bad in ["", "1A", "A-B", "A.B", "A B", "É", "A=B"] {
            assert!(!is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn a_name_listed_by_two_shells_has_one_class() {
        let mut seen = HashMap::new();
        for (name, class) in lists::SHELL_NAMES {
            if let Some(earlier) = seen.insert(*name, *class) {
                assert_eq!(earlier, *class, "{name} is classified twice, differently");
            }
        }
    }

    #[test]
    fn code_and_envguard_names_are_refused_everywhere() {
        for name in [
            "ENVGUARD_QUIET",
            "__ENVGUARD_STATE",
            "__envguard_exe",
            "__EnvGuard_hook",
            "envguard_x",
            "PROMPT_COMMAND",
            "MAILPATH",
            "PROMPT_EOL_MARK",
            "IFS",
            "BASH_ENV",
            "ENV",
            "ZDOTDIR",
            "fish_user_paths",
            "precmd_functions",
            "PS1",
            "BASH_FUNC_ls%%",
        ] {
            assert!(is_reserved(name), "{name}");
        }
    }

    #[test]
    fn shell_behaviour_is_refused_in_the_hook_only() {
        for name in [
            "GLOBIGNORE",
            "HISTSIZE",
            "SAVEHIST",
            "histchars",
            "TMPPREFIX",
            "USERNAME",
            "UID",
            "WORDCHARS",
        ] {
            assert!(refused_by_hook_only(name).is_some(), "{name}");
            assert!(refusal(name, Destination::Program).is_none(), "{name}");
        }
    }

    #[test]
    fn ordinary_names_load() {
        for name in [
            "API_KEY",
            "DATABASE_URL",
            "ENVIRONMENT",
            "PATH",
            "HOME",
            "BASHFUL",
            "LANG",
            "USER",
        ] {
            assert!(refusal(name, Destination::ShellHook).is_none(), "{name}");
        }
    }

    #[test]
    fn programs_that_run_code_warn_with_prefixes_in_any_case() {
        for name in [
            "HOME",
            "GIT_CONFIG_GLOBAL",
            "GIT_CONFIG_KEY_0",
            "GIT_CONFIG_VALUE_12",
            "npm_config_registry",
            "NPM_CONFIG_SCRIPT_SHELL",
            "https_proxy",
            "JUPYTER_DATA_DIR",
        ] {
            assert!(runs_code(name), "{name}");
        }
        assert!(!runs_code("API_KEY"));
        let found = warnings(["HISTSIZE", "API_KEY", "HOME"]);
        let named: Vec<&str> = found.iter().map(|(name, _)| *name).collect();
        assert_eq!(named, ["HISTSIZE", "HOME"]);
        assert!(found.iter().all(|(name, line)| line.starts_with(name)));
    }
}
