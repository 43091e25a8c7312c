//! `envguard export SHELL`: what the prompt hook evaluates before every prompt.
//!
//! It prints the statements that take the shell from what it has loaded (recorded in
//! [`state::VAR`]) to what its working directory asks for: the nearest `.env`, through the one
//! loader, or nothing. Because it runs before *every* prompt it has two paths:
//!
//! - the fast path, taken almost always: find the nearest project (a directory holding `.env`
//!   or the team's `.env.shared`) by `lstat`ing up the ancestors, `stat` both of its files and
//!   the trust store (at the path the state recorded), and if the state variable's header
//!   still describes exactly that (same path, same [`Files`] identities, same
//!   store, and the outer variables the values came from unchanged, by an HMAC of their values
//!   in this process's environment), print nothing. No file is opened, parsed or hashed,
//!   and the saved values in the state are not decoded. An edit changes the size,
//!   mtime or ctime (nanoseconds) or the inode; `allow`/`deny` rewrite the store, which
//!   changes its identity.
//! - the full path, when anything differs: guard, read, parse, decrypt and trust-check each
//!   of the project's files through [`loader::load_files_into`], `.env.shared` first so that
//!   the personal `.env` wins, all or nothing across the two (as `exec` does), then plan ([`diff`]) and emit ([`emit`]) restores and unsets first,
//!   exports next and the new state last, so an interrupted `eval` never records a state it
//!   did not apply.
//!
//! In bash and zsh the hook asks for more ([`record::REQUEST_VAR`]): after the statements, the
//! [`record`] of what this run looked at, which lets the hook's own check skip this process at
//! the prompts where nothing changed. It is written on every path, the silent one too, since the
//! hook only starts this process when its record no longer holds.

use std::collections::HashSet;
use std::env;
use std::ffi::OsString;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::cli::{ShellArgs, ShellKind};
use crate::display::{LISTED_NAMES, quote_for_display};
use crate::error::{IoContext, Refusal, RefusalKind, Result};
use crate::hook::diff::{self, Base, Mark, Plan};
use crate::hook::emit;
use crate::hook::project::{self, Project};
use crate::hook::record::{self, Observed};
use crate::hook::state::{self, Current, Files, Inputs, Key, Loaded, Original, Saved, State};
use crate::load::discover;
use crate::load::guard::Identity;
use crate::load::loader;
use crate::load::names;
use crate::load::resolve;
use crate::load::trust::{self, TrustStore};

/// The names of the hook's own variables in the environment ([`state::VAR`], [`state::KEY_VAR`]).
const HOOK_PREFIX: &str = "__ENVGUARD_";

pub fn run(args: &ShellArgs) -> Result<()> {
    let dir = discover::working_dir()?;
    // Looked at before anything is decided (see `record`).
    let observed = record::requested(args.shell).then(|| Observed::take(&dir));
    let raw = env::var_os(state::VAR);
    let nearest = discover::nearest_project(&dir);
    if nearest.is_none() && raw.is_none() {
        return finish(Vec::new(), args.shell, observed, None);
    }
    let nearest_identity = nearest.as_deref().map(project::stats).unwrap_or_default();
    let key = Key::from_env();
    let (store_path, store, current) = {
        let header = raw
            .as_deref()
            .and_then(|raw| state::Header::parse(raw.as_bytes()));
        // The store the state was decided against: a loaded file may have moved `HOME` or
        // `XDG_DATA_HOME` since, and must not choose the store that judges the next file.
        let store_path = match header.as_ref().and_then(state::Header::store_path) {
            Some(recorded) => recorded,
            None => trust::store_path()?,
        };
        let store = Identity::of_path(&store_path);
        let current = match (&nearest, &header) {
            (Some(path), Some(header)) => {
                header.is_current(path, nearest_identity, store, key.as_ref(), &|name| {
                    env::var_os(name)
                })
            }
            _ => false,
        };
        (store_path, store, current)
    };
    if current {
        // A state whose saved values are damaged gets no record: its next prompt starts the
        // process, whose full path finds the damage.
        let state = raw
            .as_deref()
            .map(OsStrExt::as_bytes)
            .and_then(State::decode);
        let observed = observed.filter(|_| state.is_some());
        return finish(Vec::new(), args.shell, observed, state.as_ref());
    }
    ignore_interrupts();
    let state = raw
        .as_deref()
        .map(OsStrExt::as_bytes)
        .and_then(State::decode);
    let update = Update {
        shell: args.shell,
        raw,
        state,
        nearest,
        nearest_identity,
        store_path,
        store,
        key,
    };
    let (out, next) = update.run()?;
    finish(out, args.shell, observed, next.as_ref())
}

/// Writes `out`, followed by the record of what was observed for the shell that will hold
/// `state` once it has evaluated `out`.
fn finish(
    mut out: Vec<u8>,
    shell: ShellKind,
    observed: Option<Observed>,
    state: Option<&State>,
) -> Result<()> {
    if let Some(observed) = observed {
        observed.push(&mut out, shell, state);
    }
    if out.is_empty() {
        return Ok(());
    }
    io::stdout()
        .lock()
        .write_all(&out)
        .context("write", Path::new("standard output"))
}

/// From here on the output changes the shell: a Ctrl-C that killed envguard halfway through
/// writing it would leave the shell half an environment to evaluate. The hook protects its own
/// evaluation; this keeps what it evaluates whole.
fn ignore_interrupts() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: installs no handler (SIG_IGN), so nothing runs in signal context.
    let _ = unsafe { signal(Signal::SIGINT, SigHandler::SigIgn) };
}

/// Everything the full path needs, gathered by the fast path.
struct Update {
    shell: ShellKind,
    raw: Option<OsString>,
    state: Option<State>,
    nearest: Option<PathBuf>,
    nearest_identity: Files,
    store_path: PathBuf,
    /// The store's identity, taken before the store is read: if it changes meanwhile, the
    /// next prompt looks again.
    store: Option<Identity>,
    /// The key the hook passed, if any; one is made when a file refers to outer variables.
    key: Option<Key>,
}

impl Update {
    /// The statements that bring the shell to the next state, and that state.
    fn run(self) -> Result<(Vec<u8>, Option<State>)> {
        let previous_file = match self.state.as_ref().map(|state| &state.current) {
            Some(Current::Loaded(loaded)) => Some(loaded),
            _ => None,
        };
        let mut message = Message::default();
        if self.raw.is_some() && self.state.is_none() {
            message.part(&format!(
                "ignoring a damaged {}: variables loaded before it cannot be restored",
                state::VAR
            ));
        }
        let previous: Vec<Saved> = previous_file.and_then(Loaded::saved).unwrap_or_default();
        let base = Base::new(&previous);
        let (mut loaded, mut refusal) = self.load(&base)?;
        let mut plan = plan_for(&previous, &base, loaded.as_ref());
        let mut out = Vec::new();
        let inputs = loaded
            .as_ref()
            .map(|checked| self.inputs(&mut out, checked, &base))
            .unwrap_or_default();
        if let Some(checked) = &loaded
            && let Some(too_many) = self.state_too_large(previous_file, checked, &plan, &inputs)
        {
            refusal = Some(too_many);
            loaded = None;
            plan = plan_for(&previous, &base, None);
        }

        for restore in &plan.restores {
            let current = env::var_os(restore.name);
            match restore.original {
                Original::Unset if current.is_some() => {
                    emit::unset(&mut out, self.shell, restore.name);
                }
                Original::Value(original) if current.as_ref() != Some(original) => {
                    emit::set(&mut out, self.shell, restore.name, original.as_bytes());
                }
                _ => {}
            }
        }
        for binding in &plan.exports {
            emit::set(
                &mut out,
                self.shell,
                &binding.name,
                binding.value.as_bytes(),
            );
        }
        let reloaded_unchanged = self.report(
            &mut message,
            previous_file,
            &previous,
            loaded.as_ref(),
            &plan,
        );
        if let Some(refusal) = &refusal {
            message.refusal(refusal);
        }
        message.print();
        let next = self.next_state(
            previous_file,
            loaded.as_ref(),
            &plan,
            inputs,
            reloaded_unchanged,
        );
        match next.as_ref().map(State::encode) {
            Some(encoded) if self.raw.as_deref() != Some(encoded.as_ref()) => {
                emit::set(&mut out, self.shell, state::VAR, encoded.as_bytes());
            }
            Some(_) => {}
            None if self.raw.is_some() => emit::unset(&mut out, self.shell, state::VAR),
            None => {}
        }
        Ok((out, next))
    }

    /// The nearest project through the loader, or `None` when there is none or it is refused;
    /// with the refusal to warn about, once per version of its files.
    fn load(&self, base: &Base) -> Result<(Option<Project>, Option<Refusal>)> {
        let Some(path) = &self.nearest else {
            return Ok((None, None));
        };
        // `${NAME}` resolves against the shell without the previous file's values, and never
        // reaches the hook's own bookkeeping: the state changes at every load (a file that
        // referred to it would reload at every prompt), and the key is only in envguard's
        // environment so that no program the user runs ever sees it.
        let outer = |name: &str| {
            if name.starts_with(HOOK_PREFIX) {
                return None;
            }
            base.get(name).and_then(|value| value.into_string().ok())
        };
        let store = TrustStore::open_at(self.store_path.clone())?;
        match Project::load(path, &outer, &store, resolve::Mode::Fetch) {
            Ok(checked) => Ok((Some(checked), None)),
            Err(_) if self.warned_about(path) => Ok((None, None)),
            Err(refusal) => Ok((None, Some(refusal))),
        }
    }

    /// What the fast path must watch besides the file: the outer variables `checked`'s values
    /// were computed from, as they will be once `out` is evaluated. A name the file sets is
    /// left out: its outer value is its saved original, which only changes with the state.
    /// The first such file in a shell makes the key, which `out` hands to the hook.
    fn inputs(&self, out: &mut Vec<u8>, checked: &Project, base: &Base) -> Inputs {
        let sets: HashSet<&str> = checked.bindings.iter().map(|b| b.name.as_str()).collect();
        let outside: Vec<String> = checked
            .referenced
            .iter()
            // The hook's own variables expand to nothing and change at every load.
            .filter(|name| !sets.contains(name.as_str()) && !name.starts_with(HOOK_PREFIX))
            .cloned()
            .collect();
        if outside.is_empty() {
            return Inputs::default();
        }
        let made;
        let key = match &self.key {
            Some(key) => key,
            None => match Key::generate() {
                Ok(key) => {
                    emit::assign_local(
                        out,
                        self.shell,
                        state::KEY_SHELL_VAR,
                        key.to_hex().as_bytes(),
                    );
                    made = key;
                    &made
                }
                // Without a key the file is reloaded at the next `cd`, as before there were
                // inputs to watch.
                Err(_) => return Inputs::default(),
            },
        };
        Inputs::new(outside, key, &|name| base.get(name))
    }

    /// The refusal for a file whose names (and the values they replace) would make the state
    /// longer than one variable may be: the shell could then run no command at all.
    fn state_too_large(
        &self,
        previous: Option<&Loaded>,
        checked: &Project,
        plan: &Plan,
        inputs: &Inputs,
    ) -> Option<Refusal> {
        let state = self.next_state(previous, Some(checked), plan, inputs.clone(), false)?;
        let size = state::VAR.len() + 1 + state.encode().len() + 1;
        (size > loader::MAX_VARIABLE_BYTES).then(|| {
            Refusal::new(
                &checked.path,
                RefusalKind::Size,
                format!(
                    "sets {} variables, more than the shell hook can carry between prompts ({size} bytes of state, over 128 KiB)",
                    checked.bindings.len()
                ),
                "split the file, or run programs with `envguard exec -- CMD` instead of the hook",
            )
        })
    }

    /// Whether this version of `path` was already refused with a warning in this shell.
    fn warned_about(&self, path: &Path) -> bool {
        matches!(
            self.state.as_ref().map(|state| &state.current),
            Some(Current::Refused { path: refused, identity }) if refused == path && *identity == self.nearest_identity
        )
    }

    /// Tells the user what changed; returns whether the same file was re-read with no visible
    /// change (the store changed, or an edit was reverted), which keeps its "loaded since".
    fn report(
        &self,
        message: &mut Message,
        previous: Option<&Loaded>,
        previous_names: &[Saved],
        loaded: Option<&Project>,
        plan: &Plan,
    ) -> bool {
        let previous_path = previous.map(|loaded| loaded.path.as_path());
        let new_path = loaded.map(|checked| checked.path.as_path());
        if let Some(left) = previous_path
            && previous_path != new_path
        {
            let names = previous_names
                .iter()
                .map(|saved| (Mark::Removed, saved.name.as_str()));
            let shown = previous.map_or_else(
                || quote_for_display(left),
                |p| project::shown(left, p.identity),
            );
            message.names(&format!("unloaded {shown}"), names);
            message.unloaded = Some(left.to_path_buf());
        }
        let Some(project) = loaded else {
            return false;
        };
        let entered = project.path.as_path();
        let entered_shown = project::shown(entered, project.identity);
        if previous_path != Some(entered) {
            let names = plan.entered.iter().map(|e| (e.mark, e.name));
            message.names(&format!("loaded {entered_shown}"), names);
            return false;
        }
        let added = plan
            .entered
            .iter()
            .filter(|e| !e.was_loaded)
            .map(|e| (Mark::Added, e.name));
        let changed = plan
            .entered
            .iter()
            .filter(|e| e.was_loaded && e.differs)
            .map(|e| (Mark::Changed, e.name));
        let removed = plan.restores.iter().map(|r| (Mark::Removed, r.name));
        let names: Vec<_> = added.chain(changed).chain(removed).collect();
        if names.is_empty() {
            return true;
        }
        message.names(&format!("reloaded {entered_shown}"), names.into_iter());
        false
    }

    fn next_state(
        &self,
        previous: Option<&Loaded>,
        loaded: Option<&Project>,
        plan: &Plan,
        inputs: Inputs,
        keep_since: bool,
    ) -> Option<State> {
        let current = match (loaded, &self.nearest) {
            (Some(checked), _) => {
                let since = match previous {
                    Some(previous) if keep_since => previous.since,
                    _ => now(),
                };
                Current::Loaded(Loaded::new(
                    checked.path.clone(),
                    checked.identity,
                    since,
                    inputs,
                    &plan.saved,
                ))
            }
            (None, Some(path)) => Current::Refused {
                path: path.clone(),
                identity: self.nearest_identity,
            },
            (None, None) => return None,
        };
        Some(State {
            store_path: Some(self.store_path.clone()),
            store: self.store,
            current,
        })
    }
}

/// What bringing the shell from `previous` to `loaded` (nothing, when `None`) takes.
fn plan_for<'a>(previous: &'a [Saved], base: &Base<'a>, loaded: Option<&'a Project>) -> Plan<'a> {
    let target = loaded.map_or(&[][..], |checked| &checked.bindings[..]);
    diff::plan(previous, base, target, &|name| env::var_os(name))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

fn quiet() -> bool {
    env::var_os("ENVGUARD_QUIET").is_some_and(|value| !value.is_empty() && value != "0")
}

/// What one prompt tells the user: one line on stderr, however many things changed at once
/// (`unloaded /p/.env -A; loaded /q/.env +B`), and nothing when nothing did.
#[derive(Default)]
struct Message {
    line: String,
    /// The file the line so far ends by unloading: a refusal of that same file (it was edited)
    /// is the reason for the unload, and is said as such.
    unloaded: Option<PathBuf>,
}

impl Message {
    fn part(&mut self, text: &str) {
        if !self.line.is_empty() {
            self.line.push_str("; ");
        }
        self.line.push_str(text);
        self.unloaded = None;
    }

    /// A load/unload part, `loaded /p/.env +A ~B !C`, unless `ENVGUARD_QUIET` is set. A name
    /// that makes other programs run code (`GIT_CONFIG_GLOBAL`, `HOME`) is marked `!` instead
    /// of `+`/`~` when it is loaded: that is the one to look at twice.
    fn names<'a>(&mut self, what: &str, names: impl Iterator<Item = (Mark, &'a str)>) {
        if quiet() {
            return;
        }
        let mut part = what.to_owned();
        let mut unlisted = 0;
        for (i, (mark, name)) in names.enumerate() {
            if i >= LISTED_NAMES {
                unlisted += 1;
                continue;
            }
            part.push(' ');
            part.push(match mark {
                Mark::Removed => '-',
                _ if names::runs_code(name) => '!',
                Mark::Added => '+',
                Mark::Changed => '~',
            });
            part.push_str(name);
        }
        if unlisted > 0 {
            part.push_str(&format!(" (and {unlisted} more)"));
        }
        self.part(&part);
    }

    /// A refused file is reported even with `ENVGUARD_QUIET`: it is said once per version of
    /// the file, and silence would leave the user wondering where their variables went.
    fn refusal(&mut self, refusal: &Refusal) {
        if self.unloaded.as_deref() == Some(refusal.path.as_path()) {
            // The line already names the file it unloaded.
            self.line.push_str(": ");
            if let Some(line) = refusal.line {
                self.line.push_str(&format!("line {line}: "));
            }
            self.line.push_str(&refusal.reason);
            if !refusal.fix.is_empty() {
                self.line.push_str(&format!(" (fix: {})", refusal.fix));
            }
            return;
        }
        self.part(&format!("{refusal}; nothing loaded"));
    }

    /// A closed stderr is no reason to fail the prompt, so a failed write is ignored.
    fn print(self) {
        if !self.line.is_empty() {
            let _ = writeln!(io::stderr().lock(), "envguard: {}", self.line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::RefusalKind;

    fn changed(path: &str) -> Refusal {
        Refusal::new(
            Path::new(path),
            RefusalKind::Untrusted,
            "has changed since it was allowed",
            format!("envguard allow {path}"),
        )
    }

    fn unloaded(path: &str) -> Message {
        let mut message = Message::default();
        let names = [(Mark::Removed, "A"), (Mark::Removed, "B")];
        message.names(&format!("unloaded {path}"), names.into_iter());
        message.unloaded = Some(path.into());
        message
    }

    #[test]
    fn an_edit_is_one_line_giving_the_refusal_as_the_reason_for_the_unload() {
        let mut message = unloaded("/p/.env");
        message.refusal(&changed("/p/.env"));
        assert_eq!(
            message.line,
            "unloaded /p/.env -A -B: has changed since it was allowed \
             (fix: envguard allow /p/.env)"
        );
    }

    #[test]
    fn leaving_for_a_refused_file_is_one_line_with_both() {
        let mut message = unloaded("/p/.env");
        message.refusal(&changed("/p/q/.env").at_line(3));
        assert_eq!(
            message.line,
            "unloaded /p/.env -A -B; /p/q/.env:3: has changed since it was allowed \
             (fix: envguard allow /p/q/.env); nothing loaded"
        );
    }
}
