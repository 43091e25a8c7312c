//! Which variable names a `.env` may set.
//!
//! A `.env` is data, but the shell hook exports its names into an interactive shell, where some
//! names are code or control: `PROMPT_COMMAND` and `PS1` run commands at every prompt,
//! `BASH_ENV` and `ENV` name scripts that shells source, `IFS` changes how every command is
//! split, `ZDOTDIR` moves zsh's startup files, fish's `fish_*` variables change fish itself,
//! read-only specials (`UID`, `status`) abort the hook's own statements, and `ENVGUARD_*` /
//! `__ENVGUARD_*` would let a file switch the guard off or forge the hook's state. Such a name
//! refuses the whole file: the list below is the union over bash, zsh and fish, because the
//! same file may be loaded by any of them.
//!
//! A second, milder list names variables that make *other* programs run code
//! (`LD_PRELOAD`, `PYTHONSTARTUP`, ...): those are legitimate in a project, so they only warn.

/// Names refused exactly (case-sensitive, as the shells are).
#[rustfmt::skip]
const RESERVED: &[&str] = &[
    // Prompt and hook machinery.
    "PROMPT_COMMAND", "PS0", "PS1", "PS2", "PS3", "PS4", "PROMPT", "PROMPT2", "PROMPT3",
    "PROMPT4", "RPROMPT", "RPROMPT2", "RPS1", "RPS2", "SPROMPT", "prompt", "psvar",
    // Startup files and shell behaviour.
    "BASH_ENV", "ENV", "ZDOTDIR", "IFS", "SHELLOPTS", "BASHOPTS", "BASH_COMPAT",
    "BASH_XTRACEFD", "BASH_LOADABLES_PATH", "POSIXLY_CORRECT", "FPATH", "fpath",
    "MODULE_PATH", "module_path", "CDPATH", "cdpath", "TMOUT", "HISTFILE", "PWD", "OLDPWD",
    "SHLVL", "_",
    // Read-only or side-effecting specials: assigning them fails or changes the user.
    "UID", "EUID", "GID", "EGID", "PPID", "USERNAME", "BASHPID", "BASH_VERSINFO",
    "BASH_ARGV0", "HISTCMD", "LINENO", "RANDOM", "SRANDOM", "SECONDS", "EPOCHREALTIME",
    "EPOCHSECONDS", "ARGC", "ERRNO", "status", "pipestatus", "argv", "history", "version",
    "hostname", "umask", "pid", "last_pid", "SHELL_VERBOSITY", "CMD_DURATION", "FISH_VERSION",
    "path",
];

/// Name prefixes refused (envguard's own namespace, exported shell functions, fish's own).
#[rustfmt::skip]
const RESERVED_PREFIXES: &[&str] =
    &["ENVGUARD_", "__ENVGUARD", "BASH_FUNC_", "BASH_", "ZSH_", "fish_", "__fish"];

/// Name suffixes refused: zsh hook arrays (`precmd_functions`, `chpwd_functions`, ...).
#[rustfmt::skip]
const RESERVED_SUFFIXES: &[&str] = &["_functions"];

/// Variables that make other programs load or run code of the value's choosing.
#[rustfmt::skip]
const RUNS_CODE: &[&str] = &[
    "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "DYLD_INSERT_LIBRARIES",
    "DYLD_LIBRARY_PATH", "PATH", "PYTHONSTARTUP", "PYTHONPATH", "PYTHONHOME",
    "PYTHONINSPECT", "NODE_OPTIONS", "NODE_PATH", "PERL5OPT", "PERL5LIB", "PERLLIB",
    "RUBYOPT", "RUBYLIB", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_EXEC_PATH", "GIT_EDITOR",
    "GIT_PAGER", "GIT_ASKPASS", "SSH_ASKPASS", "EDITOR", "VISUAL", "PAGER", "BROWSER",
    "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH", "LESSOPEN",
    "LESSCLOSE", "MANPAGER", "PROMPT_TOOLKIT_EDITOR", "R_PROFILE_USER", "JUPYTER_PATH",
    "JUPYTER_CONFIG_DIR", "IPYTHONDIR",
];

/// Whether `name` is a shell name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_valid(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Whether setting `name` in a shell could disable or hijack the hook or the session.
pub fn is_reserved(name: &str) -> bool {
    RESERVED.contains(&name)
        || RESERVED_PREFIXES
            .iter()
            .any(|prefix| name.starts_with(prefix))
        || RESERVED_SUFFIXES
            .iter()
            .any(|suffix| name.ends_with(suffix))
}

/// Whether `name` makes other programs run code chosen by its value.
pub fn runs_code(name: &str) -> bool {
    RUNS_CODE.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn hook_hijackers_are_reserved_and_ordinary_names_are_not() {
        for name in [
            "ENVGUARD_QUIET",
            "__ENVGUARD_STATE",
            "PROMPT_COMMAND",
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
        for name in [
            "API_KEY",
            "DATABASE_URL",
            "ENVIRONMENT",
            "PATH",
            "HOME",
            "BASHFUL",
        ] {
            assert!(!is_reserved(name), "{name}");
        }
    }
}
