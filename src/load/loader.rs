//! The loader: one `.env` path in, an ordered list of variables (or one refusal) out.
//!
//! Every way envguard puts secrets somewhere (`exec`, the shell hook, kernels, `--watch`)
//! goes through [`load`] (a project's two files through [`load_files`]), so the guard, the parser, the
//! name rules and the trust gate are applied identically everywhere, except that the hook, which
//! assigns into the user's own shell, also refuses the names that only change how that shell
//! behaves (see [`crate::load::names`]). It is all or nothing: any refusal loads no variable.
//!
//! A load is a chain of stages, each one function from what the last produced to what the
//! next needs, so that a new source of values plugs in as one stage rather than as branches
//! through the others:
//!
//! 1. `read`: path → [`Guarded`] bytes (the guard's checks, one bounded read);
//! 2. `parse`: bytes → [`Binding`]s, python-dotenv's grammar;
//! 3. [`decrypt::decrypt`]: bindings → bindings with plaintext values;
//! 4. `check_rules`: the name and size rules;
//! 5. `trusted`: the trust gate, on the digest of the bytes as read;
//! 6. [`resolve::resolve`]: bindings → bindings with referenced values fetched, then the
//!    rules again on what would actually be loaded. It follows the gate because resolving
//!    starts provider CLIs, which an unallowed file must never do; `check` and `list` stop
//!    before it and show references as written.
//!
//! Decryption follows parsing, not the other way round: a team file's ciphertexts are values
//! (`NAME=age:<base64>`, one per line, so that two people's additions merge in git), and only
//! the parsed name can be checked against the name sealed inside each ciphertext. Trust is
//! decided on the bytes as read, ciphertexts and references included: what the user reviewed
//! is the file, not what a key or a secret manager returned. These stages run only when a file
//! is loaded; the hook's no-change prompt compares [`Identity`]s and reaches none of them.

use std::collections::{HashMap, HashSet};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::display::quote_for_display;
use crate::error::{Refusal, RefusalKind};
use crate::load::discover::SHARED_FILE_NAME;
use crate::load::dotenv::{self, Binding, Limits, ParseError, Problem};
use crate::load::guard::{self, Guarded, Identity, Policy};
use crate::load::names::{self, Destination};
use crate::load::trust::{self, Trust, TrustStore};
use crate::load::{decrypt, resolve};

/// A `.env` that passed the guard, parsed, with valid names; trust not yet decided.
pub struct Checked {
    /// The path as discovered or given (what messages show).
    pub path: PathBuf,
    /// The file the path reaches, symlinks resolved (what trust is recorded for).
    pub canonical: PathBuf,
    pub identity: Identity,
    /// Of the bytes as read: what allowing the file records.
    pub digest: String,
    pub bindings: Vec<Binding>,
    /// The outer names `${...}` substitution looked up, in the order asked: what the loaded
    /// values were computed from, which the shell hook watches so that a changed outer value
    /// reloads the file. Only the parse stage's lookups count; the size rules also consult the
    /// environment, but for the room it leaves, not for any value.
    pub referenced: Vec<String>,
}

/// The stages before the trust gate: guards, reads, parses, decrypts and checks the names of
/// `path`.
///
/// `outer` answers `${NAME}` references the file does not define itself.
pub fn check(path: &Path, outer: &dyn Fn(&str) -> Option<String>) -> Result<Checked, Refusal> {
    from_contents(path, read(path)?, outer)
}

/// Stage 1: the guard's checks, then the file's bytes, bounded by [`guard::max_size`]. A
/// team's `.env.shared` holds only ciphertext and is checked out by git: its own policy.
fn read(path: &Path) -> Result<Guarded, Refusal> {
    let policy = match path.file_name() {
        Some(name) if name == SHARED_FILE_NAME => Policy::Shared,
        _ => Policy::Load,
    };
    let admitted = guard::open(path)?.read(path, guard::max_size(), policy)?;
    Ok(admitted.guarded)
}

/// The stages of [`check`] after the read, on contents a caller has read itself (`check` and
/// `list` read a loose file's contents to show them).
pub fn from_contents(
    path: &Path,
    guarded: Guarded,
    outer: &dyn Fn(&str) -> Option<String>,
) -> Result<Checked, Refusal> {
    let space = ArgSpace::current();
    let referenced = std::cell::RefCell::new(Vec::new());
    let recording = |name: &str| {
        referenced.borrow_mut().push(name.to_owned());
        outer(name)
    };
    let bindings = parse(path, &guarded.bytes, &recording, space)?;
    let bindings = decrypt::decrypt(path, bindings)?;
    check_rules(path, &bindings, outer, space)?;
    Ok(Checked {
        path: path.to_path_buf(),
        canonical: guarded.canonical,
        identity: guarded.identity,
        digest: trust::digest(&guarded.bytes),
        bindings,
        referenced: referenced.into_inner(),
    })
}

/// Stage 2: the bindings of `bytes`, substitution stopped at the room `space` leaves.
fn parse(
    path: &Path,
    bytes: &[u8],
    outer: &dyn Fn(&str) -> Option<String>,
    space: ArgSpace,
) -> Result<Vec<Binding>, Refusal> {
    let limits = Limits {
        variable: MAX_VARIABLE_BYTES,
        total: space.for_environment(),
    };
    dotenv::parse_within(bytes, outer, limits).map_err(|e| match e {
        ParseError {
            line,
            problem: Problem::TotalTooLong,
        } => space.refusal(path, Some(line), None),
        e => parse_refusal(path, &e),
    })
}

/// Stage 4: the rules any program's environment needs, on the values that would be loaded:
/// no name a `.env` may not set, no variable or total too large to pass to a program.
fn check_rules(
    path: &Path,
    bindings: &[Binding],
    outer: &dyn Fn(&str) -> Option<String>,
    space: ArgSpace,
) -> Result<(), Refusal> {
    check_names(path, bindings, Destination::Program)?;
    check_sizes(path, bindings, outer, space)
}

/// The size rules alone: all that resolving references, which changes values but never names,
/// can newly break.
fn check_sizes(
    path: &Path,
    bindings: &[Binding],
    outer: &dyn Fn(&str) -> Option<String>,
    space: ArgSpace,
) -> Result<(), Refusal> {
    bindings
        .iter()
        .try_for_each(|binding| check_size(path, binding))?;
    total_refusal(path, bindings, outer, space).map_or(Ok(()), Err)
}

/// [`check`], then the trust gate: the variables of `path` for a program envguard starts
/// (`exec`, `--watch`, kernels), or why it may not load.
pub fn load(
    path: &Path,
    outer: &dyn Fn(&str) -> Option<String>,
    store: &TrustStore,
) -> Result<Checked, Refusal> {
    load_into(
        path,
        outer,
        store,
        Destination::Program,
        resolve::Mode::Fetch,
    )
}

fn load_into(
    path: &Path,
    outer: &dyn Fn(&str) -> Option<String>,
    store: &TrustStore,
    destination: Destination,
    mode: resolve::Mode,
) -> Result<Checked, Refusal> {
    let checked = admit(path, outer, store, destination)?;
    fetch(checked, outer, mode)
}

/// The stages up to the trust gate, with `destination`'s name rules. Names come before trust:
/// allowing the file would not make a refused name load.
fn admit(
    path: &Path,
    outer: &dyn Fn(&str) -> Option<String>,
    store: &TrustStore,
    destination: Destination,
) -> Result<Checked, Refusal> {
    let checked = check(path, outer)?;
    if destination != Destination::Program {
        check_names(path, &checked.bindings, destination)?;
    }
    trusted(checked, store)
}

/// Stage 6 on an admitted file: its references resolved, and the sizes checked again on what
/// would actually be loaded.
fn fetch(
    mut checked: Checked,
    outer: &dyn Fn(&str) -> Option<String>,
    mode: resolve::Mode,
) -> Result<Checked, Refusal> {
    checked.bindings = resolve::resolve(&checked.path, checked.bindings, mode)?;
    check_sizes(&checked.path, &checked.bindings, outer, ArgSpace::current())?;
    Ok(checked)
}

/// The variables of `paths` for a program (`exec`, `--watch`, `get`), against the process's
/// own environment: [`load_files_into`] for a program.
pub fn load_files(paths: &[PathBuf], store: &TrustStore) -> Result<Vec<Binding>, Refusal> {
    let destination = Destination::Program;
    load_files_into(
        paths,
        &from_process_env,
        store,
        destination,
        resolve::Mode::Fetch,
    )
    .map(|loaded| loaded.bindings)
}

/// Several files loaded as one (a team's `.env.shared`, then the `.env`).
pub struct Loaded {
    /// In order of first definition, a later file's value winning.
    pub bindings: Vec<Binding>,
    /// Each file as it was checked; its bindings are in [`Loaded::bindings`].
    pub files: Vec<Checked>,
}

/// The variables of `paths` for `destination`, each file loaded whole through the guard and the
/// trust gate, in order: a later file's value wins, and its `${NAME}` sees what the earlier ones
/// set, as successive `load_dotenv(..., override=True)` calls would. All or nothing across the
/// files, and every file is admitted before any reference is fetched: a refused `.env` starts
/// no provider CLI for the `.env.shared` beside it. So a later file's `${NAME}` sees an earlier
/// reference as written, as within one file, never what it fetched.
pub fn load_files_into(
    paths: &[PathBuf],
    outer: &dyn Fn(&str) -> Option<String>,
    store: &TrustStore,
    destination: Destination,
    mode: resolve::Mode,
) -> Result<Loaded, Refusal> {
    let mut admitted = Vec::with_capacity(paths.len());
    let mut written: Vec<Binding> = Vec::new();
    let mut position: HashMap<String, usize> = HashMap::new();
    for path in paths {
        let seen = |name: &str| match position.get(name) {
            Some(&at) => Some(written[at].value.clone()),
            None => outer(name),
        };
        let checked = admit(path, &seen, store, destination)?;
        if admitted.len() + 1 < paths.len() {
            // Only a later file's `${NAME}` reads these.
            merge(
                &mut written,
                &mut position,
                checked.bindings.iter().cloned(),
            );
        }
        admitted.push(checked);
    }
    let mut merged: Vec<Binding> = Vec::new();
    let mut files = Vec::with_capacity(paths.len());
    position.clear();
    for checked in admitted {
        let mut checked = fetch(checked, outer, mode)?;
        merge(
            &mut merged,
            &mut position,
            std::mem::take(&mut checked.bindings),
        );
        files.push(checked);
    }
    // Each file fits the room a program's environment has; together they may not.
    if let [_, .., last] = paths
        && let Some(refusal) = total_refusal(last, &merged, outer, ArgSpace::current())
    {
        return Err(refusal);
    }
    Ok(Loaded {
        bindings: merged,
        files,
    })
}

/// `bindings` laid over `merged`: a name already there takes the new value in its place.
fn merge(
    merged: &mut Vec<Binding>,
    position: &mut HashMap<String, usize>,
    bindings: impl IntoIterator<Item = Binding>,
) {
    for binding in bindings {
        match position.get(&binding.name) {
            Some(&at) => merged[at] = binding,
            None => {
                position.insert(binding.name.clone(), merged.len());
                merged.push(binding);
            }
        }
    }
}

/// Stage 5: `checked`, if the store trusts the file as it was read.
fn trusted(checked: Checked, store: &TrustStore) -> Result<Checked, Refusal> {
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
    let line = error.line;
    let (kind, fix) = match error.problem {
        Problem::VariableTooLong | Problem::TotalTooLong => {
            (RefusalKind::Size, LARGE_DATA_FIX.to_owned())
        }
        Problem::CancelsAssignment { .. } => (
            RefusalKind::Parse,
            format!(
                "delete line {line} or give it a value (`envguard edit`), then `envguard allow`"
            ),
        ),
        Problem::ReferencesUnassigned { listed_at } => (
            RefusalKind::Parse,
            format!(
                "give line {listed_at} a value or delete it (`envguard edit`), then `envguard allow`"
            ),
        ),
        _ => (
            RefusalKind::Parse,
            format!("correct line {line} (`envguard edit`), then `envguard allow`"),
        ),
    };
    Refusal::new(path, kind, error.problem.to_string(), fix).at_line(line)
}

const LARGE_DATA_FIX: &str = "keep large data in a file of its own and put its path in the .env";

/// The largest `NAME=value` string Linux passes to a program (`MAX_ARG_STRLEN`, with its NUL).
/// A longer variable makes every `execve` that carries it fail with E2BIG: in a shell, every
/// command would stop working.
pub const MAX_VARIABLE_BYTES: usize = Limits::KERNEL.variable;

/// The room `execve` has for a program's arguments and environment together, as the kernel
/// computes it (`bprm_stack_limits`): a quarter of the stack limit, at least 128 KiB and at
/// most 6 MiB, each string costing its bytes, its NUL and a pointer.
///
/// Why a margin: an environment that fits but fills ARG_MAX leaves no room for arguments,
/// so `ls *` or `git add` with many paths would fail with E2BIG in the shell that loaded it.
/// A loaded environment may take three quarters of ARG_MAX; the last quarter (512 KiB
/// under the usual 8 MiB stack limit) stays for command lines.
#[derive(Debug, Clone, Copy)]
pub struct ArgSpace {
    pub arg_max: usize,
}

/// What each string costs beyond its bytes and NUL: its pointer in `envp`.
const POINTER_BYTES: usize = std::mem::size_of::<usize>();

impl ArgSpace {
    /// ARG_MAX as the kernel computes it for the programs this process starts (`exec`'s
    /// `bprm_stack_limits`): a quarter of the stack limit they inherit, held to 128 KiB at the
    /// least and 6 MiB at the most. Computed from `getrlimit`, not `sysconf(_SC_ARG_MAX)`:
    /// musl, which the shipped static binary links, reports a fixed 128 KiB whatever the
    /// limit, and glibc a quarter of any limit, unlimited included.
    pub fn current() -> Self {
        use nix::sys::resource::{Resource, getrlimit};
        let quarter = getrlimit(Resource::RLIMIT_STACK)
            .ok()
            .and_then(|(soft, _)| usize::try_from(soft / 4).ok())
            .unwrap_or(usize::MAX);
        ArgSpace {
            arg_max: quarter.clamp(128 * 1024, Limits::KERNEL.total),
        }
    }

    /// The bytes a loaded environment may take: ARG_MAX less the quarter kept for arguments.
    pub fn for_environment(&self) -> usize {
        self.arg_max - self.arg_max / 4
    }

    /// The refusal for an environment that would pass [`ArgSpace::for_environment`]; with
    /// the line where substitution stopped, or the sizes when all of it was measured.
    fn refusal(&self, path: &Path, line: Option<usize>, sizes: Option<(usize, usize)>) -> Refusal {
        let room = self.for_environment();
        let measured = match sizes {
            Some((file, present)) => format!(
                "its {file} bytes of variables, with the {present} bytes already in the environment,"
            ),
            None => "the variables up to this line".to_owned(),
        };
        let refusal = Refusal::new(
            path,
            RefusalKind::Size,
            format!(
                "{measured} take more than the {room} bytes a loaded environment may have (three quarters of ARG_MAX, {} bytes here), leaving no room for commands to start",
                self.arg_max
            ),
            format!(
                "{LARGE_DATA_FIX}, or raise the stack limit ARG_MAX follows (`ulimit -s 16384` makes it 4 MiB)"
            ),
        );
        match line {
            Some(line) => refusal.at_line(line),
            None => refusal,
        }
    }
}

/// Refuses `bindings` if, laid over the environment they join, they would leave no room for
/// a command line (see [`ArgSpace`]). The environment they join is this process's, each name
/// valued as `outer` sees it: for the hook, that is the shell without the previous file's
/// variables, which are unloaded; names the file sets are counted with the file's value.
pub fn total_refusal(
    path: &Path,
    bindings: &[Binding],
    outer: &dyn Fn(&str) -> Option<String>,
    space: ArgSpace,
) -> Option<Refusal> {
    let cost = |name: &[u8], value: usize| name.len() + 1 + value + 1 + POINTER_BYTES;
    let file: usize = bindings
        .iter()
        .map(|b| cost(b.name.as_bytes(), b.value.len()))
        .sum();
    let set: HashSet<&[u8]> = bindings.iter().map(|b| b.name.as_bytes()).collect();
    let present: usize = std::env::vars_os()
        .filter(|(name, _)| !set.contains(name.as_bytes()))
        .filter_map(|(name, value)| match name.to_str() {
            Some(utf8) => outer(utf8).map(|value| cost(name.as_bytes(), value.len())),
            None => Some(cost(name.as_bytes(), value.len())),
        })
        .sum();
    (file + present > space.for_environment())
        .then(|| space.refusal(path, None, Some((file, present))))
}

/// No variable too long for any program to receive.
fn check_size(path: &Path, binding: &Binding) -> Result<(), Refusal> {
    let size = binding.name.len() + 1 + binding.value.len() + 1;
    if size <= MAX_VARIABLE_BYTES {
        return Ok(());
    }
    Err(Refusal::new(
        path,
        RefusalKind::Size,
        format!(
            "{} is {size} bytes with its name; no program can receive a variable over 128 KiB, so every command would fail",
            binding.name
        ),
        LARGE_DATA_FIX,
    )
    .at_line(binding.line))
}

/// No name that `destination` refuses: one that would take over a shell or envguard.
fn check_names(path: &Path, bindings: &[Binding], destination: Destination) -> Result<(), Refusal> {
    for binding in bindings {
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
