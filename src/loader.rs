//! The loader: one `.env` path in, an ordered list of variables (or one refusal) out.
//!
//! Every way envguard puts secrets somewhere (`exec`, the shell hook, kernels, `--watch`)
//! goes through [`load`] (the hook through [`load_into_shell`]), so the guard, the parser, the
//! name rules and the trust gate are applied identically everywhere, except that the hook, which
//! assigns into the user's own shell, also refuses the names that only change how that shell
//! behaves (see [`crate::names`]). It is all or nothing: any refusal loads no variable.

use std::path::{Path, PathBuf};

use crate::dotenv::{self, Binding, ParseError};
use crate::error::{Refusal, RefusalKind};
use crate::guard::{self, Guarded, Identity};
use crate::names::{self, Destination};
use crate::shell::quote_for_display;
use crate::trust::{self, Trust, TrustStore};

/// A `.env` that passed the guard, parsed, with valid names; trust not yet decided.
pub struct Checked {
    /// The path as discovered or given (what messages show).
    pub path: PathBuf,
    /// The file the path reaches, symlinks resolved (what trust is recorded for).
    pub canonical: PathBuf,
    pub identity: Identity,
    pub digest: String,
    pub bindings: Vec<Binding>,
}

/// Guards, reads, parses and checks the names of `path`; does not consult trust.
///
/// `outer` answers `${NAME}` references the file does not define itself.
pub fn check(path: &Path, outer: &dyn Fn(&str) -> Option<String>) -> Result<Checked, Refusal> {
    let guarded = guard::open(path)?.read(path, guard::max_size())?;
    from_contents(path, guarded, outer)
}

/// The part of [`check`] after the guard: parse and name rules on contents already read.
pub fn from_contents(
    path: &Path,
    guarded: Guarded,
    outer: &dyn Fn(&str) -> Option<String>,
) -> Result<Checked, Refusal> {
    let digest = trust::digest(&guarded.bytes);
    let bindings = dotenv::parse(&guarded.bytes, outer).map_err(|e| parse_refusal(path, &e))?;
    check_bindings(path, &bindings, Destination::Program)?;
    Ok(Checked {
        path: path.to_path_buf(),
        canonical: guarded.canonical,
        identity: guarded.identity,
        digest,
        bindings,
    })
}

/// [`check`], then the trust gate: the variables of `path` for a program envguard starts
/// (`exec`, `--watch`, kernels), or why it may not load.
pub fn load(
    path: &Path,
    outer: &dyn Fn(&str) -> Option<String>,
    store: &TrustStore,
) -> Result<Checked, Refusal> {
    load_into(path, outer, store, Destination::Program)
}

/// [`load`] for the prompt hook, which assigns into the user's shell and so also refuses the
/// names that change how that shell behaves.
pub fn load_into_shell(
    path: &Path,
    outer: &dyn Fn(&str) -> Option<String>,
    store: &TrustStore,
) -> Result<Checked, Refusal> {
    load_into(path, outer, store, Destination::ShellHook)
}

/// Names come before trust: allowing the file would not make a refused name load.
fn load_into(
    path: &Path,
    outer: &dyn Fn(&str) -> Option<String>,
    store: &TrustStore,
    destination: Destination,
) -> Result<Checked, Refusal> {
    let checked = check(path, outer)?;
    if destination != Destination::Program {
        check_bindings(path, &checked.bindings, destination)?;
    }
    trust_refusal(&checked, store.trust(&checked.canonical, &checked.digest))
        .map_or(Ok(checked), Err)
}

/// The refusal for a checked file the store does not trust as it is, if any.
pub fn trust_refusal(checked: &Checked, trust: Trust) -> Option<Refusal> {
    let reason = match trust {
        Trust::Allowed => return None,
        Trust::Changed => "has changed since it was allowed",
        Trust::NeverAllowed => "is not allowed yet",
    };
    let fix = format!(
        "review it, then run `envguard allow {}`",
        quote_for_display(&checked.path)
    );
    Some(Refusal::new(
        &checked.path,
        RefusalKind::Untrusted,
        reason,
        fix,
    ))
}

/// The refusal for a file that does not parse: where, what, and how to fix it.
pub fn parse_refusal(path: &Path, error: &ParseError) -> Refusal {
    Refusal::new(
        path,
        RefusalKind::Parse,
        error.problem.to_string(),
        format!(
            "correct line {} (`envguard edit`), then `envguard allow`",
            error.line
        ),
    )
    .at_line(error.line)
}

/// The largest `NAME=value` string Linux passes to a program (`MAX_ARG_STRLEN`, with its NUL).
/// A longer variable makes every `execve` that carries it fail with E2BIG: in a shell, every
/// command would stop working.
pub const MAX_VARIABLE_BYTES: usize = 128 * 1024;

/// The rules on bindings beyond the grammar: no name that `destination` refuses (one that would
/// take over a shell or envguard), and no variable too long for any program to receive.
fn check_bindings(
    path: &Path,
    bindings: &[Binding],
    destination: Destination,
) -> Result<(), Refusal> {
    for binding in bindings {
        let size = binding.name.len() + 1 + binding.value.len() + 1;
        if size > MAX_VARIABLE_BYTES {
            return Err(Refusal::new(
                path,
                RefusalKind::Size,
                format!(
                    "{} is {size} bytes with its name; no program can receive a variable over 128 KiB, so every command would fail",
                    binding.name
                ),
                "keep large data in a file of its own and put its path in the .env",
            )
            .at_line(binding.line));
        }
        if let Some(why) = names::refusal(&binding.name, destination) {
            let (whom, elsewhere) = match destination {
                Destination::ShellHook if !names::is_reserved(&binding.name) => {
                    ("the shell hook", "; `envguard exec` may load it")
                }
                _ => ("a .env", ""),
            };
            return Err(Refusal::new(
                path,
                RefusalKind::Name,
                format!("{} {why}, so {whom} may not set it", binding.name),
                format!(
                    "remove line {} (`envguard unset {}`){elsewhere}",
                    binding.line, binding.name
                ),
            )
            .at_line(binding.line));
        }
    }
    Ok(())
}

/// `${NAME}` lookups against the environment envguard itself was started with.
pub fn from_process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
