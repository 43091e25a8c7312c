//! The data behind [`super`]: every name the shells themselves call theirs, as data, each with
//! the class it was deliberately given. A name missing here is what `tests/names.rs` catches:
//! it asks the installed bash, zsh and fish for their special names and fails on any that is
//! neither refused nor classified, so a new shell release cannot silently add a hole.
//!
//! Sources:
//! - bash 5.2: bash(1) "Shell Variables" (its "Bourne Shell Variables" and "Bash Variables").
//! - zsh 5.9: every parameter `${parameters[NAME]}` marks `special` with all modules loaded,
//!   plus zshparam(1) "Parameters Set By the Shell" and "Parameters Used By the Shell".
//! - fish 3.6: the "Special variables" section of the fish language documentation, and
//!   `env -i fish -c 'set -n'`.

use super::Class::{self, *};

/// envguard's own namespace, compared in lower case: `ENVGUARD_*`, `__ENVGUARD_*` and the
/// hook scripts' `__envguard_*`, in any letter case.
pub(super) const ENVGUARD_PREFIXES: &[&str] = &["envguard_", "__envguard"];

#[rustfmt::skip]
pub(super) const SHELL_NAMES: &[(&str, Class)] = &[
    // bash 5.2, "Bourne Shell Variables".
    ("CDPATH", ScriptRules), ("HOME", Informational), ("IFS", ScriptRules),
    ("MAIL", ShellBehaviour), ("MAILPATH", ShellCode), ("OPTARG", ShellState),
    ("OPTIND", ShellState), ("PATH", Informational), ("PS1", ShellCode), ("PS2", ShellCode),
    // bash 5.2, "Bash Variables".
    ("_", ShellState), ("BASH", Informational), ("BASHOPTS", ScriptRules),
    ("BASHPID", ShellState), ("BASH_ALIASES", ShellCode), ("BASH_ARGC", ShellState),
    ("BASH_ARGV", ShellState), ("BASH_ARGV0", ShellState), ("BASH_CMDS", ShellCode),
    ("BASH_COMMAND", ShellState), ("BASH_COMPAT", ScriptRules), ("BASH_ENV", ShellCode),
    ("BASH_EXECUTION_STRING", ShellState), ("BASH_LINENO", ShellState),
    ("BASH_LOADABLES_PATH", ShellCode), ("BASH_REMATCH", ShellState),
    ("BASH_SOURCE", ShellState), ("BASH_SUBSHELL", ShellState),
    ("BASH_VERSINFO", ShellState), ("BASH_VERSION", ShellState),
    ("BASH_XTRACEFD", ScriptRules), ("CHILD_MAX", ShellBehaviour), ("COLUMNS", ShellBehaviour),
    ("COMP_CWORD", ShellState), ("COMP_KEY", ShellState), ("COMP_LINE", ShellState),
    ("COMP_POINT", ShellState), ("COMP_TYPE", ShellState),
    ("COMP_WORDBREAKS", ShellBehaviour), ("COMP_WORDS", ShellState),
    ("COMPREPLY", ShellState), ("COPROC", ShellState), ("DIRSTACK", ShellState),
    ("EMACS", Informational), ("ENV", ShellCode), ("EPOCHREALTIME", ShellState),
    ("EPOCHSECONDS", ShellState), ("EUID", ShellState), ("EXECIGNORE", ShellBehaviour),
    ("FCEDIT", ShellBehaviour), ("FIGNORE", ShellBehaviour), ("FUNCNAME", ShellState),
    ("FUNCNEST", ShellBehaviour), ("GLOBIGNORE", ShellBehaviour), ("GROUPS", ShellState),
    ("histchars", ShellBehaviour), ("HISTCMD", ShellState), ("HISTCONTROL", ShellBehaviour),
    ("HISTFILE", ShellBehaviour), ("HISTFILESIZE", ShellBehaviour),
    ("HISTIGNORE", ShellBehaviour), ("HISTSIZE", ShellBehaviour),
    ("HISTTIMEFORMAT", ShellBehaviour), ("HOSTFILE", ShellBehaviour),
    ("HOSTNAME", Informational), ("HOSTTYPE", Informational), ("IGNOREEOF", ShellBehaviour),
    ("INPUTRC", ShellBehaviour), ("INSIDE_EMACS", Informational), ("LANG", Informational),
    ("LC_ALL", Informational), ("LC_COLLATE", Informational), ("LC_CTYPE", Informational),
    ("LC_MESSAGES", Informational), ("LC_NUMERIC", Informational), ("LC_TIME", Informational),
    ("LINENO", ShellState), ("LINES", ShellBehaviour), ("MACHTYPE", Informational),
    ("MAILCHECK", ShellBehaviour), ("MAPFILE", ShellState), ("OLDPWD", ShellState),
    ("OPTERR", ShellState), ("OSTYPE", Informational), ("PIPESTATUS", ShellState),
    ("POSIXLY_CORRECT", ScriptRules), ("PPID", ShellState), ("PROMPT_COMMAND", ShellCode),
    ("PROMPT_DIRTRIM", ShellBehaviour), ("PS0", ShellCode), ("PS3", ShellCode),
    ("PS4", ShellCode), ("PWD", ShellState), ("RANDOM", ShellState),
    ("READLINE_ARGUMENT", ShellState), ("READLINE_LINE", ShellState),
    ("READLINE_MARK", ShellState), ("READLINE_POINT", ShellState), ("REPLY", ShellState),
    ("SECONDS", ShellState), ("SHELL", Informational), ("SHELLOPTS", ScriptRules),
    ("SHLVL", ShellState), ("SRANDOM", ShellState), ("TIMEFORMAT", ShellBehaviour),
    ("TMOUT", ShellBehaviour), ("TMPDIR", Informational), ("UID", ShellState),
    ("auto_resume", ShellBehaviour),

    // zsh 5.9, parameters marked special (with every module loaded).
    ("ARGC", ShellState), ("argv", ShellState), ("status", ShellState),
    ("pipestatus", ShellState), ("EGID", ShellState), ("GID", ShellState),
    ("ERRNO", ShellState), ("TRY_BLOCK_ERROR", ShellState),
    ("TRY_BLOCK_INTERRUPT", ShellState), ("TTYIDLE", ShellState),
    // Assigning USERNAME makes zsh try to become that user.
    ("USERNAME", ShellState),
    ("FPATH", ShellCode), ("fpath", ShellCode), ("MODULE_PATH", ShellCode),
    ("module_path", ShellCode), ("cdpath", ScriptRules), ("fignore", ShellBehaviour),
    ("mailpath", ShellCode), ("MANPATH", Informational), ("manpath", ShellState),
    // The lower-case tied array is PATH itself to zsh.
    ("path", ShellState),
    ("HISTCHARS", ShellBehaviour), ("KEYBOARD_HACK", ShellBehaviour),
    // Commands zsh runs for a redirection without one (`< file`).
    ("NULLCMD", ShellBehaviour), ("READNULLCMD", ShellBehaviour),
    ("PROMPT", ShellCode), ("PROMPT2", ShellCode), ("PROMPT3", ShellCode),
    ("PROMPT4", ShellCode), ("prompt", ShellCode), ("PSVAR", ShellCode), ("psvar", ShellCode),
    ("SAVEHIST", ShellBehaviour), ("SPROMPT", ShellCode), ("WATCH", ShellBehaviour),
    ("watch", ShellBehaviour), ("WORDCHARS", ShellBehaviour),
    ("ZSH_EVAL_CONTEXT", ShellState), ("zsh_eval_context", ShellState),
    ("ZSH_SUBSHELL", ShellState),
    // zsh's tables of the shell itself: assigning defines aliases, commands, functions, options.
    ("aliases", ShellCode), ("builtins", ShellState), ("commands", ShellCode),
    ("dis_aliases", ShellCode), ("dis_builtins", ShellState), ("dis_functions", ShellCode),
    ("dis_functions_source", ShellState), ("dis_galiases", ShellCode),
    ("dis_patchars", ShellBehaviour), ("dis_reswords", ShellBehaviour),
    ("dis_saliases", ShellCode), ("funcfiletrace", ShellState), ("funcsourcetrace", ShellState),
    ("funcstack", ShellState), ("functions", ShellCode), ("functions_source", ShellState),
    ("functrace", ShellState), ("galiases", ShellCode), ("history", ShellState),
    ("historywords", ShellState), ("jobdirs", ShellState), ("jobstates", ShellState),
    ("jobtexts", ShellState), ("keymaps", ShellState), ("modules", ShellState),
    ("nameddirs", ShellBehaviour), ("options", ShellBehaviour), ("parameters", ShellState),
    ("patchars", ShellBehaviour), ("reswords", ShellBehaviour), ("saliases", ShellCode),
    ("termcap", ShellState), ("terminfo", ShellState), ("userdirs", ShellState),
    ("usergroups", ShellState), ("widgets", ShellState), ("dirstack", ShellState),
    ("zsh_scheduled_events", ShellState),
    // Module parameters (zsh/datetime, zsh/system, zsh/langinfo, zsh/curses, zsh/mapfile).
    ("epochtime", ShellState), ("errnos", ShellState), ("sysparams", ShellState),
    ("langinfo", ShellState), ("ZCURSES_COLORS", ShellState),
    ("ZCURSES_COLOR_PAIRS", ShellState), ("zcurses_attrs", ShellState),
    ("zcurses_colors", ShellState), ("zcurses_keycodes", ShellState),
    ("zcurses_windows", ShellState),
    // Assigning an element of mapfile writes that file.
    ("mapfile", ShellCode),
    // zshparam(1), "Parameters Set By the Shell" not already above.
    ("CPUTYPE", Informational), ("HOST", Informational), ("LOGNAME", Informational),
    ("signals", ShellState), ("TTY", Informational), ("VENDOR", Informational),
    ("ZSH_ARGZERO", ShellState), ("ZSH_EXECUTION_STRING", ShellState),
    ("ZSH_NAME", ShellState), ("ZSH_PATCHLEVEL", ShellState), ("ZSH_SCRIPT", ShellState),
    ("ZSH_VERSION", ShellState),
    // zshparam(1), "Parameters Used By the Shell" not already above.
    ("ARGV0", ShellBehaviour), ("BAUD", ShellBehaviour), ("CORRECT_IGNORE", ShellBehaviour),
    ("CORRECT_IGNORE_FILE", ShellBehaviour), ("DIRSTACKSIZE", ShellBehaviour),
    ("HISTORY_IGNORE", ShellBehaviour), ("KEYTIMEOUT", ShellBehaviour),
    ("LISTMAX", ShellBehaviour), ("match", ShellState), ("mbegin", ShellState),
    ("mend", ShellState), ("MATCH", ShellState), ("MBEGIN", ShellState), ("MEND", ShellState),
    ("POSTEDIT", ShellBehaviour), ("PROMPT_EOL_MARK", ShellCode),
    ("REPORTMEMORY", ShellBehaviour), ("REPORTTIME", ShellBehaviour), ("reply", ShellState),
    ("RPROMPT", ShellCode), ("RPS1", ShellCode), ("RPROMPT2", ShellCode), ("RPS2", ShellCode),
    ("STTY", ShellBehaviour), ("TERM", ShellBehaviour), ("TERMINFO", ShellBehaviour),
    ("TERMINFO_DIRS", ShellBehaviour), ("TIMEFMT", ShellBehaviour),
    ("TMPPREFIX", ShellBehaviour), ("TMPSUFFIX", ShellBehaviour), ("ZBEEP", ShellBehaviour),
    ("ZDOTDIR", ShellCode), ("zle_bracketed_paste", ShellBehaviour),
    ("zle_highlight", ShellBehaviour), ("ZLE_LINE_ABORTED", ShellState),
    ("ZLE_REMOVE_SUFFIX_CHARS", ShellBehaviour), ("ZLE_SPACE_SUFFIX_CHARS", ShellBehaviour),
    ("ZLE_RPROMPT_INDENT", ShellBehaviour),
    // zsh/watch: printed with prompt escapes at every login seen.
    ("WATCHFMT", ShellCode), ("LOGCHECK", ShellBehaviour),

    // fish 3.6, "Special variables" (fish_* and __fish* are namespaces, below).
    ("BROWSER", Informational), ("CMD_DURATION", ShellState), ("FISH_DEBUG", ShellBehaviour),
    ("FISH_DEBUG_OUTPUT", ShellBehaviour), ("FISH_VERSION", ShellState),
    ("USER", Informational), ("LC_MONETARY", Informational), ("hostname", ShellState), ("last_pid", ShellState),
    ("status_generation", ShellState), ("umask", ShellState), ("version", ShellState),
    // Older zsh and envguard's earlier list: the shell's own process id.
    ("pid", ShellState),
];

/// Namespaces a shell keeps for itself: names not listed above but under one of these are
/// the shell's all the same (`BASH_FUNC_name%%` is an exported bash function).
#[rustfmt::skip]
pub(super) const SHELL_PREFIXES: &[(&str, Class)] = &[
    ("BASH_FUNC_", ShellCode), ("BASH_", ShellCode), ("ZSH_", ShellCode),
    ("fish_", ShellCode), ("__fish", ShellState),
];

/// zsh's hook arrays (`precmd_functions`, `chpwd_functions`, ...): functions run at events.
pub(super) const SHELL_SUFFIXES: &[(&str, Class)] = &[("_functions", ShellCode)];

const LOADS_LIBRARIES: &str = "makes programs load libraries or modules from where it points";
const RUNS_OPTIONS: &str = "passes options to an interpreter, which can run code";
const NAMES_A_PROGRAM: &str = "names a program that other programs run";
const GIT_CONFIG: &str = "gives git a configuration of the file's choosing (`core.fsmonitor` runs a program on `git status`)";
const MOVES_CONFIG: &str =
    "moves where programs read their configuration (and envguard its trust store) from";
const PACKAGE_SOURCE: &str = "changes where packages are installed from or which hosts are trusted";
const CA_BUNDLE: &str = "changes which certificates TLS trusts, so traffic can be intercepted";
const PROXY: &str = "sends network traffic, credentials included, through a proxy";
const JUPYTER: &str = "makes Jupyter and IPython load configuration and code from where it points";
const TEMP_FILES: &str = "moves where programs write temporary files";

/// Variables that make other programs run code of the value's choosing: they load, with a
/// warning.
#[rustfmt::skip]
pub(super) const RUNS_CODE: &[(&str, &str)] = &[
    ("LD_PRELOAD", LOADS_LIBRARIES), ("LD_LIBRARY_PATH", LOADS_LIBRARIES),
    ("LD_AUDIT", LOADS_LIBRARIES), ("DYLD_INSERT_LIBRARIES", LOADS_LIBRARIES),
    ("DYLD_LIBRARY_PATH", LOADS_LIBRARIES), ("GCONV_PATH", LOADS_LIBRARIES),
    ("PATH", "chooses which program every command runs"),
    ("PYTHONSTARTUP", LOADS_LIBRARIES), ("PYTHONPATH", LOADS_LIBRARIES),
    ("PYTHONHOME", LOADS_LIBRARIES), ("PYTHONUSERBASE", LOADS_LIBRARIES),
    ("PYTHONINSPECT", RUNS_OPTIONS), ("PYTHONBREAKPOINT", NAMES_A_PROGRAM),
    ("NODE_OPTIONS", RUNS_OPTIONS), ("NODE_PATH", LOADS_LIBRARIES),
    ("PERL5OPT", RUNS_OPTIONS), ("PERL5LIB", LOADS_LIBRARIES), ("PERLLIB", LOADS_LIBRARIES),
    ("PERL5DB", RUNS_OPTIONS), ("RUBYOPT", RUNS_OPTIONS), ("RUBYLIB", LOADS_LIBRARIES),
    ("JAVA_TOOL_OPTIONS", RUNS_OPTIONS), ("_JAVA_OPTIONS", RUNS_OPTIONS),
    ("JDK_JAVA_OPTIONS", RUNS_OPTIONS), ("CLASSPATH", LOADS_LIBRARIES),
    ("GIT_SSH", NAMES_A_PROGRAM), ("GIT_SSH_COMMAND", NAMES_A_PROGRAM),
    ("GIT_EXEC_PATH", NAMES_A_PROGRAM), ("GIT_EDITOR", NAMES_A_PROGRAM),
    ("GIT_SEQUENCE_EDITOR", NAMES_A_PROGRAM), ("GIT_PAGER", NAMES_A_PROGRAM),
    ("GIT_ASKPASS", NAMES_A_PROGRAM), ("GIT_EXTERNAL_DIFF", NAMES_A_PROGRAM),
    ("GIT_PROXY_COMMAND", NAMES_A_PROGRAM), ("GIT_TEMPLATE_DIR", "makes `git init` and `git clone` install hooks from where it points"),
    ("GIT_CONFIG", GIT_CONFIG), ("GIT_CONFIG_GLOBAL", GIT_CONFIG),
    ("GIT_CONFIG_SYSTEM", GIT_CONFIG), ("GIT_CONFIG_COUNT", GIT_CONFIG),
    ("GIT_CONFIG_PARAMETERS", GIT_CONFIG), ("GIT_DIR", GIT_CONFIG),
    ("GIT_COMMON_DIR", GIT_CONFIG),
    ("SSH_ASKPASS", NAMES_A_PROGRAM), ("EDITOR", NAMES_A_PROGRAM), ("VISUAL", NAMES_A_PROGRAM),
    ("PAGER", NAMES_A_PROGRAM), ("BROWSER", NAMES_A_PROGRAM), ("LESSOPEN", NAMES_A_PROGRAM),
    ("LESSCLOSE", NAMES_A_PROGRAM), ("MANPAGER", NAMES_A_PROGRAM),
    ("PROMPT_TOOLKIT_EDITOR", NAMES_A_PROGRAM), ("R_PROFILE_USER", LOADS_LIBRARIES),
    ("SHELL", NAMES_A_PROGRAM),
    ("HOME", MOVES_CONFIG), ("XDG_CONFIG_HOME", MOVES_CONFIG), ("XDG_DATA_HOME", MOVES_CONFIG),
    ("XDG_CONFIG_DIRS", MOVES_CONFIG), ("XDG_DATA_DIRS", MOVES_CONFIG),
    ("TMPDIR", TEMP_FILES),
    ("PIP_INDEX_URL", PACKAGE_SOURCE), ("PIP_EXTRA_INDEX_URL", PACKAGE_SOURCE),
    ("PIP_TRUSTED_HOST", PACKAGE_SOURCE), ("PIP_FIND_LINKS", PACKAGE_SOURCE),
    ("PIP_CONFIG_FILE", PACKAGE_SOURCE), ("PIP_CERT", CA_BUNDLE), ("PIP_PROXY", PROXY),
    ("CARGO_HOME", "moves cargo's configuration, which can name programs cargo runs"),
    ("RUSTC", NAMES_A_PROGRAM), ("RUSTC_WRAPPER", NAMES_A_PROGRAM),
    ("RUSTC_WORKSPACE_WRAPPER", NAMES_A_PROGRAM), ("RUSTDOC", NAMES_A_PROGRAM),
    ("SSL_CERT_FILE", CA_BUNDLE), ("SSL_CERT_DIR", CA_BUNDLE),
    ("REQUESTS_CA_BUNDLE", CA_BUNDLE), ("CURL_CA_BUNDLE", CA_BUNDLE),
    ("NODE_EXTRA_CA_CERTS", CA_BUNDLE),
    ("http_proxy", PROXY), ("https_proxy", PROXY), ("HTTP_PROXY", PROXY),
    ("HTTPS_PROXY", PROXY), ("ALL_PROXY", PROXY), ("all_proxy", PROXY),
    ("JUPYTER_PATH", JUPYTER), ("JUPYTER_CONFIG_DIR", JUPYTER),
    ("JUPYTER_CONFIG_PATH", JUPYTER), ("JUPYTER_DATA_DIR", JUPYTER), ("IPYTHONDIR", JUPYTER),
];

/// Families of such variables, compared in any letter case (npm reads `npm_config_*` so).
#[rustfmt::skip]
pub(super) const RUNS_CODE_PREFIXES: &[(&str, &str)] = &[
    ("GIT_CONFIG_KEY_", GIT_CONFIG), ("GIT_CONFIG_VALUE_", GIT_CONFIG),
    ("npm_config_", "sets an npm option, which can name the registry or the shell scripts run in"),
];
