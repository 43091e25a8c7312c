//! The record a bash or zsh hook checks at each prompt before it decides to start envguard at
//! all: what `envguard export` looked at, and what it found, written into shell-local
//! (unexported) variables, so that an unchanged prompt starts no process.
//!
//! The hook's own check (in `shell/`) may only say "unchanged" when this process would have
//! said so itself; anything else it is unsure of starts the process, which decides as before.
//! Three rules make that hold:
//!
//! - Every look is taken *before* the decision ([`Observed::take`] runs first), so a file that
//!   appears or changes while envguard decides differs from the record at the next prompt.
//! - No rule of `discover` is restated here: every `.env` and `.env.shared` from the working
//!   directory up to the project's directory (or `/`, outside any) is recorded as it is
//!   (absent, a symlink to nothing, or a stat identity), directories named `.env` included:
//!   a change to one only costs one process.
//! - The project's files and the trust store are recorded with the identities the new state
//!   holds, which are what this process compares against at the next prompt.
//!
//! bash's `stat` loadable gives whole seconds only. Git's "racily clean" rule makes that exact:
//! a change inside the second of the recorded ctime could keep every whole-second field, so a
//! bash record is written only when this process looked at least [`SETTLED_SECS`] after every
//! recorded ctime second. Until then no record is written, and the next prompt starts the
//! process again, which compares nanoseconds. The clock is this process's, read before it looks
//! at any file: a shell's clock read at the prompt would trust a record taken inside the racy
//! second as soon as the prompt came two seconds later.
//!
//! The referenced outer variables (`${VIRTUAL_ENV}`) are recorded by name only; the hook copies
//! their values itself, after it evaluated this output, into a shell-local variable, and
//! compares them at each prompt: with builtins alone, only the values themselves compare
//! exactly. The copy is never exported, never in a child's environment or argv, and it spares
//! the process from printing an outer value. It lives no longer than its record: the hook
//! empties it before each run of this process (every unload and change of project among them),
//! and a variable unset or changed since fails the next prompt's comparison, which ends the
//! record. So it only ever holds what the shell's own variables hold, as of the last prompt.
//! The hook records its key beside the state, as this process decides with it too.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::cli::ShellKind;
use crate::hook::quote::push_quoted_bytes;
use crate::hook::state::{Current, State};
use crate::load::discover::{FILE_NAME, SHARED_FILE_NAME};
use crate::load::guard::Identity;

/// The variable by which the hook asks for a record (and says which shell's stat it has).
pub const REQUEST_VAR: &str = "__ENVGUARD_RECORD";

/// Whether the hook asked for a record: bash and zsh hooks that have a stat builtin do.
pub fn requested(shell: ShellKind) -> bool {
    shell != ShellKind::Fish && std::env::var_os(REQUEST_VAR).is_some_and(|value| !value.is_empty())
}

/// How long after a ctime second a bash record may be trusted: one second for the second
/// itself, one for the kernel's coarse file clock lagging the wall clock.
pub const SETTLED_SECS: i64 = 2;

/// What one path was when it was looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// Nothing there, not even a symlink.
    Absent,
    /// A symlink whose target cannot be stat'ed.
    Dangling,
    Present(Identity),
    /// Changed while envguard decided: no record is written, and the next prompt asks again.
    Unsure,
}

impl Seen {
    fn of(path: &Path) -> Seen {
        match Identity::of_path(path) {
            Some(identity) => Seen::Present(identity),
            None if path.symlink_metadata().is_ok() => Seen::Dangling,
            None => Seen::Absent,
        }
    }

    /// What a state's `None` means, given what was seen at the same path: absent or dangling
    /// as seen, and anything else is a change in between that the record must not hide.
    fn with_none(self) -> Seen {
        match self {
            Seen::Absent | Seen::Dangling => self,
            Seen::Present(_) | Seen::Unsure => Seen::Unsure,
        }
    }
}

/// The candidate files from the working directory up to `/`, looked at before the decision.
pub struct Observed {
    dir: PathBuf,
    /// When the looking began, in whole seconds.
    at: i64,
    entries: Vec<(PathBuf, Seen)>,
}

impl Observed {
    pub fn take(dir: &Path) -> Observed {
        let at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs() as i64);
        let mut entries = Vec::new();
        for ancestor in dir.ancestors() {
            for name in [FILE_NAME, SHARED_FILE_NAME] {
                let path = ancestor.join(name);
                let seen = Seen::of(&path);
                entries.push((path, seen));
            }
        }
        Observed {
            dir: dir.to_path_buf(),
            at,
            entries,
        }
    }

    /// Appends the record for `shell` to `out`, for the shell once it has evaluated `out` and
    /// holds `state` (`None`: no state). Nothing for fish, nor for a bash record that is not
    /// settled yet.
    pub fn push(mut self, out: &mut Vec<u8>, shell: ShellKind, state: Option<&State>) {
        let mut store = None;
        if let Some(state) = state {
            // A version 1 state does not say which store it was decided against: no record,
            // so every prompt asks envguard, as before.
            let Some(store_path) = &state.store_path else {
                return;
            };
            let (path, files) = match &state.current {
                Current::Loaded(loaded) => (&loaded.path, loaded.identity),
                Current::Refused { path, identity } => (path, *identity),
            };
            let shared = path
                .parent()
                .map(|dir| dir.join(SHARED_FILE_NAME))
                .unwrap_or_default();
            self.hold(path, files.personal);
            if let Some(last) = self.hold(&shared, files.shared) {
                // The nearest project wins: while its files and those below it stay as
                // recorded, nothing above it can change what is loaded.
                self.entries.truncate(last + 1);
            }
            let seen = state.store.map_or(Seen::Absent, Seen::Present);
            store = Some((store_path.clone(), seen));
        }
        self.entries.extend(store);
        let bash = match shell {
            ShellKind::Bash => true,
            ShellKind::Zsh => false,
            ShellKind::Fish => return,
        };
        let unsure = self.entries.iter().any(|(_, seen)| *seen == Seen::Unsure);
        if unsure || (bash && !self.settled()) {
            return;
        }
        // By kind, so that the hook's check loops over each list without indices (bash's
        // arithmetic costs more than the tests themselves).
        let paths_seen = |wanted: Seen| {
            self.entries
                .iter()
                .filter(move |(_, seen)| *seen == wanted)
                .map(|(path, _)| path.as_os_str().as_bytes())
        };
        assign(out, "__envguard_rec_dir", self.dir.as_os_str().as_bytes());
        array(out, "__envguard_rec_absent", paths_seen(Seen::Absent));
        array(out, "__envguard_rec_dangling", paths_seen(Seen::Dangling));
        let files: Vec<(&[u8], String)> = self
            .entries
            .iter()
            .filter(|(_, seen)| matches!(seen, Seen::Present(_)))
            .map(|(path, seen)| (path.as_os_str().as_bytes(), signature(*seen, bash)))
            .collect();
        array(
            out,
            "__envguard_rec_files",
            files
                .iter()
                .flat_map(|(path, signature)| [*path, signature.as_bytes()]),
        );
        let inputs: Vec<&str> = match state.map(|state| &state.current) {
            Some(Current::Loaded(loaded)) => loaded.inputs.names().collect(),
            _ => Vec::new(),
        };
        array(
            out,
            "__envguard_rec_inputs",
            inputs.iter().map(|name| name.as_bytes()),
        );
        // Last: the hook trusts a record only when this line was evaluated too.
        out.extend_from_slice(b"__envguard_rec=1\n");
    }

    /// Records `identity` (the state's) for `path` in place of what was seen there; returns
    /// where `path` is among the entries.
    fn hold(&mut self, path: &Path, identity: Option<Identity>) -> Option<usize> {
        let at = self
            .entries
            .iter()
            .position(|(seen_at, _)| seen_at == path)?;
        let entry = &mut self.entries[at];
        entry.1 = match identity {
            Some(identity) => Seen::Present(identity),
            None => entry.1.with_none(),
        };
        Some(at)
    }

    /// Whether every recorded ctime second ended long enough before the looking began.
    fn settled(&self) -> bool {
        self.entries.iter().all(|(_, seen)| match seen {
            Seen::Present(identity) => {
                identity.ctime_ns.div_euclid(NANOS) + SETTLED_SECS <= self.at
            }
            _ => true,
        })
    }
}

const NANOS: i64 = 1_000_000_000;

/// A path's signature exactly as the hook's check writes it: an identity as zsh's `zstat` gives it (mode as a number, times as
/// `<seconds><nanoseconds, 9 digits>`), or as bash's `stat` loadable does (type letter and
/// octal permissions, whole-second times).
fn signature(seen: Seen, bash: bool) -> String {
    let Seen::Present(id) = seen else {
        return String::new();
    };
    let (dev, ino, size, uid) = (id.dev, id.ino, id.size, id.uid);
    if bash {
        let (mtime, ctime) = (id.mtime_ns.div_euclid(NANOS), id.ctime_ns.div_euclid(NANOS));
        // The loadable leaves the sticky bit out of its permissions.
        let (kind, perms) = (file_type_letter(id.mode), id.mode & 0o6777);
        format!("{dev} {ino} {size} {kind}{perms:04o} {uid} {mtime} {ctime}")
    } else {
        let time = |ns: i64| format!("{}{:09}", ns.div_euclid(NANOS), ns.rem_euclid(NANOS));
        let (mtime, ctime) = (time(id.mtime_ns), time(id.ctime_ns));
        format!("{dev} {ino} {size} {} {uid} {mtime} {ctime}", id.mode)
    }
}

/// The letter bash's `stat` loadable gives for a file type (`ls -l`'s).
fn file_type_letter(mode: u32) -> char {
    match mode & 0o170000 {
        0o040000 => 'd',
        0o120000 => 'l',
        0o020000 => 'c',
        0o060000 => 'b',
        0o010000 => 'p',
        0o140000 => 's',
        _ => '-',
    }
}

/// `name='value'`: shell-local, as bash and zsh both read it.
fn assign(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.push(b'=');
    push_quoted_bytes(out, ShellKind::Bash, value);
    out.push(b'\n');
}

/// `name=('a' 'b')`: a shell-local array, as bash and zsh both read it.
fn array<'a>(out: &mut Vec<u8>, name: &str, values: impl Iterator<Item = &'a [u8]>) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"=(");
    for (i, value) in values.enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        push_quoted_bytes(out, ShellKind::Bash, value);
    }
    out.extend_from_slice(b")\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(ctime_ns: i64) -> Identity {
        Identity {
            dev: 1,
            ino: 2,
            size: 3,
            mtime_ns: 1_700_000_000_000_000_042,
            ctime_ns,
            mode: 0o104755,
            uid: 1000,
        }
    }

    #[test]
    fn signatures_are_written_as_each_shell_reads_them() {
        let id = identity(1_700_000_001_500_000_000);
        assert_eq!(
            signature(Seen::Present(id), false),
            format!(
                "1 2 3 {} 1000 1700000000000000042 1700000001500000000",
                0o104755
            )
        );
        assert_eq!(
            signature(Seen::Present(id), true),
            "1 2 3 -4755 1000 1700000000 1700000001"
        );
    }

    #[test]
    fn a_bash_record_waits_until_its_ctime_seconds_are_over() {
        let dir = tempfile::tempdir().unwrap();
        let mut observed = Observed::take(dir.path());
        let entries = observed.entries.len();
        assert!(entries >= 4, "{entries}");
        let now = observed.at;
        observed.entries[0].1 = Seen::Present(identity((now - 1) * NANOS + 999));
        let mut out = Vec::new();
        observed.push(&mut out, ShellKind::Bash, None);
        assert!(out.is_empty(), "an unsettled record was written");

        let mut observed = Observed::take(dir.path());
        observed.entries[0].1 = Seen::Present(identity((observed.at - 2) * NANOS + 999));
        let mut out = Vec::new();
        observed.push(&mut out, ShellKind::Bash, None);
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with("__envguard_rec=1\n"), "{text}");
        assert!(text.contains("__envguard_rec_inputs=()\n"), "{text}");
        assert!(text.contains("__envguard_rec_dangling=()\n"), "{text}");
    }
}
