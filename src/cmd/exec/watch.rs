//! `envguard exec --watch`: keep a long-running program on the current secrets.
//!
//! envguard stays as the program's supervisor and restarts it when the project's files (a
//! team's `.env.shared` and the `.env`) or the trust given to them change in a way that
//! changes the variables, and only through the loader:
//! a file that is refused never reaches the program, and the running program is kept until
//! the file loads again. Everything the supervisor reacts to (signals, file changes) arrives
//! as an [`Event`] on one channel, read by this one thread; every wait on it is bounded by the
//! grace period or ended by a signal, so envguard cannot hang. Changes are acted on once they
//! have been quiet for [`QUIET_PERIOD`], so a burst of edits and `allow`s restarts the program
//! once, with the final variables, not once per intermediate state. The files are watched
//! before they are first loaded, so a change between the two is not missed. No process the
//! program started outlives it or envguard: see [`child`] and [`keeper`]. With `--mask`, every
//! run's output reaches envguard's stdout and stderr through one relay that lasts across
//! restarts ([`output`]).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io::{self, Write};
use std::path::Path;
use std::str::FromStr;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::sys::termios::{OutputFlags, tcgetattr};

use super::{launch_failure, load_project};
use crate::display::escape_for_display;
use crate::error::{Error, Refusal, RefusalKind, Result};
use crate::load::discover;
use crate::load::dotenv::Binding;
use crate::load::trust::TrustStore;

mod child;
mod files;
pub mod keeper;
mod output;
mod signals;
mod terminal;
mod tree;

use child::{Delivery, Group, Leader};
use output::MaskedOutput;
use terminal::Terminal;

/// How long a group may take to disappear after SIGKILL before envguard stops waiting (only a
/// process stuck in the kernel, e.g. on a dead NFS mount, takes this long).
const KILL_WAIT: Duration = Duration::from_secs(2);

/// How often the group is checked while waiting for it to end. The keeper's exit arrives as
/// SIGCHLD at once; this only bounds a wait for processes that signal nothing.
const GROUP_POLL: Duration = Duration::from_millis(20);

/// How long the files must stay unchanged before envguard reloads them. An `envguard allow`
/// after an edit, or a script rotating several keys (each `envguard set` a process start,
/// slower on a loaded machine), comes within this; and half a second after the last
/// `allow` is still "at once" to the person who typed it.
const QUIET_PERIOD: Duration = Duration::from_millis(500);

/// How often envguard looks whether the shell gave it the terminal while the program runs
/// without it: `fg` of a job that `bg` left running sends no signal, only hands the terminal
/// to envguard's group. Only in that state; otherwise nothing is polled.
const TERMINAL_POLL: Duration = Duration::from_millis(100);

/// The longest a reload waits for the changes to stop, so that a file rewritten without
/// pause (a loop in a script) still gets loaded.
const MAX_SETTLE: Duration = Duration::from_secs(3);

/// How the program is asked to stop before a restart.
pub struct StopPolicy {
    signal: Signal,
    grace: Duration,
}

impl StopPolicy {
    /// From `--signal` (a name with or without `SIG`, any case, or a number) and `--grace`.
    pub fn parse(signal: &str, grace: f64) -> Result<Self> {
        let signal = parse_signal(signal).ok_or_else(|| {
            Error::Usage(format!(
                "--signal {signal}: not a signal (use a name like TERM, INT, HUP or a number)"
            ))
        })?;
        let grace = Duration::try_from_secs_f64(grace).map_err(|_| {
            Error::Usage(format!(
                "--grace {grace}: expected a number of seconds, 0 or more"
            ))
        })?;
        Ok(StopPolicy { signal, grace })
    }
}

fn parse_signal(text: &str) -> Option<Signal> {
    let text = text.trim().to_ascii_uppercase();
    if let Ok(number) = text.parse::<i32>() {
        return Signal::try_from(number).ok();
    }
    let name = if text.starts_with("SIG") {
        text
    } else {
        format!("SIG{text}")
    };
    Signal::from_str(&name).ok()
}

/// Something the supervisor must react to.
pub enum Event {
    Signal(Signal),
    /// The `.env` or the trust store may have changed.
    FilesChanged,
    /// The watcher lost track (e.g. too many events); the files may have changed.
    WatchFailed(String),
}

/// Runs `command` with the variables of `env_file` until it ends on its own or a signal ends
/// it, restarting it whenever `env_file` loads with different variables.
pub fn run(
    env_file: Option<&Path>,
    command: &[OsString],
    stop: StopPolicy,
    masked: bool,
) -> Result<()> {
    let (events, received) = mpsc::channel();
    signals::start(events.clone(), masked)?;
    child::become_subreaper();
    // Watching starts before the first load, so an edit made while it runs is seen.
    let _watch = env_file
        .map(|file| files::watch(file, events))
        .transpose()?;
    let bindings = match env_file {
        Some(path) => load_project(path, &TrustStore::open()?)?,
        None => Vec::new(),
    };
    let output = masked.then(MaskedOutput::start).transpose()?;
    // On a pseudo-terminal of envguard's, the user's terminal stays envguard's.
    let on_own_terminal = output
        .as_ref()
        .and_then(MaskedOutput::program_takes_terminal)
        .is_some();
    let mut supervisor = Supervisor {
        env_file,
        command,
        stop,
        events: received,
        terminal: if on_own_terminal {
            None
        } else {
            Terminal::if_foreground()
        },
        output,
        running: bindings,
        reported: None,
        shutdown: None,
        files_changed: false,
        settle: None,
        stop_passed_on: false,
    };
    match supervisor.supervise()? {
        0 => Ok(()),
        code => Err(Error::Silent(code)),
    }
}

/// When to reload after changes: `at`, moved later by each change, but never past
/// `first + MAX_SETTLE`.
struct Settle {
    first: Instant,
    at: Instant,
}

impl Settle {
    /// The reload after a change at `now`, given the one pending from earlier changes.
    fn after_change(pending: Option<&Settle>, now: Instant) -> Settle {
        let first = pending.map_or(now, |settle| settle.first);
        Settle {
            first,
            at: (now + QUIET_PERIOD).min(first + MAX_SETTLE),
        }
    }
}

struct Supervisor<'a> {
    env_file: Option<&'a Path>,
    command: &'a [OsString],
    stop: StopPolicy,
    events: Receiver<Event>,
    terminal: Option<Terminal>,
    /// The relay of the program's output through the mask filter, with `--mask`.
    output: Option<MaskedOutput>,
    /// The variables the running program was started with.
    running: Vec<Binding>,
    /// The last refusal reported, so that one bad edit is reported once, not at every event.
    reported: Option<Refusal>,
    /// The signal that asked envguard to end, once one did.
    shutdown: Option<Signal>,
    /// Whether the files changed while a restart was stopping the old program.
    files_changed: bool,
    /// The pending reload, once the files changed.
    settle: Option<Settle>,
    /// Whether envguard passed a SIGTSTP on to the program, which then stops because envguard
    /// was asked to, not because it read the terminal from the background.
    stop_passed_on: bool,
}

impl Supervisor<'_> {
    /// The main loop; returns envguard's exit code.
    fn supervise(&mut self) -> Result<u8> {
        let mut group = self.start()?;
        loop {
            let event = match self.next_wake() {
                None => self
                    .events
                    .recv()
                    .map_err(|_| RecvTimeoutError::Disconnected),
                Some(at) => self
                    .events
                    .recv_timeout(at.saturating_duration_since(Instant::now())),
            };
            let event = match event {
                Ok(event) => event,
                Err(RecvTimeoutError::Timeout) => {
                    self.hand_over_terminal_if_ours(&group);
                    if self.settle.as_ref().is_some_and(|s| s.at <= Instant::now()) {
                        self.settle = None;
                        if let Some(code) = self.restart_if_changed(&mut group)? {
                            return Ok(code);
                        }
                    }
                    continue;
                }
                // Never disconnected: the signal thread holds a sender for the process's life.
                Err(RecvTimeoutError::Disconnected) => return Ok(self.end(&mut group)),
            };
            match event {
                Event::Signal(Signal::SIGCHLD) => match group.reap() {
                    Leader::Running => {}
                    Leader::Stopped => self.suspend(&group),
                    Leader::Exited => return Ok(self.end(&mut group)),
                },
                // A Ctrl-Z that reached envguard's group rather than the program's: the
                // program stops, and envguard follows when it sees that.
                Event::Signal(Signal::SIGTSTP) => {
                    self.stop_passed_on = true;
                    group.signal_group(Signal::SIGTSTP);
                }
                Event::Signal(Signal::SIGCONT) => self.resume(&group),
                Event::Signal(Signal::SIGWINCH) => self.resize(),
                Event::Signal(signal) => {
                    self.shutdown = Some(signal);
                    self.terminate(&mut group, signal);
                    return Ok(self.end(&mut group));
                }
                Event::FilesChanged => self.schedule_reload(),
                Event::WatchFailed(error) => {
                    note(format_args!(
                        "watching files failed ({error}); checking them now"
                    ));
                    self.schedule_reload();
                }
            }
        }
    }

    /// When the main loop must look again without an event: for a pending reload, and while
    /// the program runs without the terminal envguard was given.
    fn next_wake(&self) -> Option<Instant> {
        let terminal_check = self
            .terminal
            .as_ref()
            .filter(|terminal| !terminal.is_programs())
            .map(|_| Instant::now() + TERMINAL_POLL);
        let reload = self.settle.as_ref().map(|settle| settle.at);
        match (reload, terminal_check) {
            (Some(reload), Some(check)) => Some(reload.min(check)),
            (reload, check) => reload.or(check),
        }
    }

    /// Puts the reload off until the files have been quiet for [`QUIET_PERIOD`].
    fn schedule_reload(&mut self) {
        self.settle = Some(Settle::after_change(self.settle.as_ref(), Instant::now()));
    }

    /// Reloads, and restarts the program if its variables changed. `Some(code)` when envguard
    /// must exit instead (it was asked to while the old program was stopping).
    fn restart_if_changed(&mut self, group: &mut Group) -> Result<Option<u8>> {
        let Some(bindings) = self.reload() else {
            return Ok(None);
        };
        self.terminate(group, self.stop.signal);
        if self.shutdown.is_some() {
            return Ok(Some(self.end(group)));
        }
        self.running = bindings;
        *group = self.start()?;
        if std::mem::take(&mut self.files_changed) {
            self.schedule_reload();
        }
        Ok(None)
    }

    fn start(&mut self) -> Result<Group> {
        let wiring = self
            .output
            .as_mut()
            .map(|output| output.wire(&self.running))
            .transpose()?;
        let take_terminal = match self
            .output
            .as_ref()
            .and_then(MaskedOutput::program_takes_terminal)
        {
            Some(takes_pseudo_terminal) => takes_pseudo_terminal,
            None => self.terminal.as_ref().is_some_and(Terminal::may_hand_over),
        };
        let group = Group::spawn(self.command, &self.running, take_terminal, wiring)
            .map_err(|error| launch_failure(&self.command[0], &error))?;
        if take_terminal && let Some(terminal) = &self.terminal {
            terminal.claimed_by(group.id());
        }
        Ok(group)
    }

    /// Loads the `.env` again; the new variables if they differ from the running ones.
    /// A refusal is reported (once) and keeps the running program.
    fn reload(&mut self) -> Option<Vec<Binding>> {
        let path = self.env_file?;
        let loaded = TrustStore::open()
            .map_err(|error| note(format_args!("{error}; the program keeps running unchanged")))
            .ok()?;
        match load_project(path, &loaded) {
            Err(refusal) => {
                if self.reported.as_ref() != Some(&refusal) {
                    if was_deleted(&refusal) {
                        note(format_args!(
                            "{} was deleted; the program keeps running unchanged \
                             (fix: put the file back; it is loaded again when it reappears)",
                            escape_for_display(path)
                        ));
                    } else {
                        note(format_args!(
                            "{refusal}; the program keeps running unchanged"
                        ));
                    }
                    self.reported = Some(refusal);
                }
                None
            }
            Ok(bindings) => {
                let was_refused = self.reported.take().is_some();
                let changed = changed_names(&self.running, &bindings);
                if changed.is_empty() {
                    if was_refused {
                        note(format_args!(
                            "{} loads again, with the same variables",
                            project_display(path)
                        ));
                    }
                    return None;
                }
                note(format_args!(
                    "{} changed ({}): restarting the program",
                    project_display(path),
                    changed.join(", ")
                ));
                Some(bindings)
            }
        }
    }

    /// Sends `signal` to the group, waits up to the grace period for it to end, then kills
    /// what is left. Returns when the group is empty or cannot be killed.
    fn terminate(&mut self, group: &mut Group, signal: Signal) {
        let mut asked = group.deliver(signal);
        // A stopped program (Ctrl-Z) would not act on the signal until continued.
        group.signal(Signal::SIGCONT);
        if self.wait_until_empty(group, Instant::now() + self.stop.grace, &mut asked) {
            return;
        }
        note(format_args!(
            "the program did not end within {:?} of SIG{}; killing it",
            self.stop.grace,
            signal_name(signal)
        ));
        let mut killed = group.deliver(Signal::SIGKILL);
        if !self.wait_until_empty(group, Instant::now() + KILL_WAIT, &mut killed) {
            note(format_args!(
                "the program's processes did not end after SIGKILL (stuck in the kernel?)"
            ));
        }
    }

    /// Waits for the group to be empty, handling events meanwhile and taking `delivery` to
    /// any process it missed; false at the deadline.
    fn wait_until_empty(
        &mut self,
        group: &mut Group,
        deadline: Instant,
        delivery: &mut Delivery,
    ) -> bool {
        loop {
            if group.is_empty() {
                return true;
            }
            group.deliver_to_missed(delivery);
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match self.events.recv_timeout(left.min(GROUP_POLL)) {
                Ok(Event::Signal(Signal::SIGCHLD | Signal::SIGTSTP))
                | Err(RecvTimeoutError::Timeout) => {}
                Ok(Event::Signal(Signal::SIGCONT)) => group.signal(Signal::SIGCONT),
                Ok(Event::Signal(Signal::SIGWINCH)) => self.resize(),
                Ok(Event::Signal(signal)) => {
                    // The user wants out: pass it on, and do not start a new program.
                    self.shutdown = Some(signal);
                    group.signal(signal);
                }
                Ok(Event::FilesChanged | Event::WatchFailed(_)) => self.files_changed = true,
                Err(RecvTimeoutError::Disconnected) => std::thread::sleep(left.min(GROUP_POLL)),
            }
        }
    }

    /// The program was stopped (Ctrl-Z): stop envguard too, so that the shell sees its job
    /// stopped and gets the terminal back. The shell's `fg` or `bg` continues envguard, and
    /// the SIGCONT that does it continues the program ([`Self::resume`]). A program that
    /// stopped because it read the terminal envguard's group has (after `fg` of a running
    /// job, before envguard noticed) is given the terminal and continued instead.
    fn suspend(&mut self, group: &Group) {
        let asked = std::mem::take(&mut self.stop_passed_on);
        if !asked && self.terminal.as_ref().is_some_and(Terminal::is_ours) {
            self.resume(group);
            return;
        }
        if let Some(terminal) = &self.terminal {
            terminal.take_back();
        }
        if let Some(output) = &self.output {
            output.restore_terminal();
        }
        signals::stop_self();
        if let Some(output) = &self.output {
            output.reenter_terminal();
        }
    }

    /// The user's terminal changed size: so does the program's pseudo-terminal, if it has one.
    fn resize(&self) {
        if let Some(output) = &self.output {
            output.resize();
        }
    }

    /// envguard was continued (`fg`, `bg`, or a `kill -CONT`): after `fg` the terminal is
    /// envguard's again and goes back to the program, so that Ctrl-Z and Ctrl-C reach it;
    /// after `bg` the shell keeps it. Then the program continues.
    fn resume(&self, group: &Group) {
        self.hand_over_terminal_if_ours(group);
        if let Some(output) = &self.output {
            output.reenter_terminal();
        }
        group.signal(Signal::SIGCONT);
    }

    /// Gives the terminal to the program if the shell has given it to envguard.
    fn hand_over_terminal_if_ours(&self, group: &Group) {
        if let Some(terminal) = &self.terminal
            && terminal.is_ours()
        {
            terminal.give_to(group.id());
        }
    }

    /// envguard's exit code once the program has ended: its status, with anything it left in
    /// its group stopped first.
    fn end(&mut self, group: &mut Group) -> u8 {
        if !group.is_empty() {
            self.terminate(group, self.stop.signal);
        }
        let killed_by = self.shutdown.map_or(Signal::SIGKILL, |signal| signal);
        group.status().unwrap_or(128 + killed_by as i32 as u8)
    }
}

/// The files `env_file`'s project loads now, for a note: `.env.shared and .env` in a team's
/// project, so that an edit of the team file is not reported as one of the `.env`.
fn project_display(env_file: &Path) -> String {
    let files: Vec<String> = discover::project_files(env_file)
        .iter()
        .map(|file| escape_for_display(file))
        .collect();
    files.join(" and ")
}

/// Whether `refusal` means the `.env` itself is gone, as opposed to a symlink that reaches
/// nothing (which the loader's own wording is about).
fn was_deleted(refusal: &Refusal) -> bool {
    refusal.kind == RefusalKind::NotFound
        && std::fs::symlink_metadata(&refusal.path)
            .is_err_and(|error| error.kind() == io::ErrorKind::NotFound)
}

/// Names whose value differs between `old` and `new`, sorted, including names only one of
/// them sets. Values are compared, never shown.
fn changed_names<'a>(old: &'a [Binding], new: &'a [Binding]) -> Vec<&'a str> {
    let values = |bindings: &'a [Binding]| -> BTreeMap<&'a str, &'a str> {
        bindings
            .iter()
            .map(|b| (b.name.as_str(), b.value.as_str()))
            .collect()
    };
    let (old, new) = (values(old), values(new));
    let names: BTreeSet<&str> = old.keys().chain(new.keys()).copied().collect();
    names
        .into_iter()
        .filter(|name| old.get(name) != new.get(name))
        .collect()
}

fn signal_name(signal: Signal) -> &'static str {
    signal.as_str().trim_start_matches("SIG")
}

/// One line on stderr. A failed write is ignored: the terminal may be gone (SIGHUP), and
/// envguard must still stop the program. On a terminal that `--mask` put in raw mode the
/// line ends in a carriage return too, as the terminal no longer adds one.
fn note(message: std::fmt::Arguments) {
    let raw =
        tcgetattr(io::stderr()).is_ok_and(|modes| !modes.output_flags.contains(OutputFlags::OPOST));
    let end = if raw { "\r\n" } else { "\n" };
    let _ = write!(io::stderr().lock(), "envguard: {message}{end}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_or_number() {
        for text in ["TERM", "term", "SIGTERM", "15", " sigterm "] {
            assert_eq!(parse_signal(text), Some(Signal::SIGTERM), "{text}");
        }
        assert_eq!(parse_signal("hup"), Some(Signal::SIGHUP));
        for text in ["", "SIG", "TERMINATE", "0", "99", "-1"] {
            assert_eq!(parse_signal(text), None, "{text}");
        }
    }

    #[test]
    fn grace_must_be_a_duration() {
        assert!(StopPolicy::parse("TERM", 0.5).is_ok());
        for grace in [-1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                StopPolicy::parse("TERM", grace),
                Err(Error::Usage(_))
            ));
        }
    }

    #[test]
    fn a_reload_waits_for_quiet_but_not_past_the_longest_settle() {
        let start = Instant::now();
        let first = Settle::after_change(None, start);
        assert_eq!(first.at, start + QUIET_PERIOD);
        // Each change within the quiet period moves the reload later.
        let step = QUIET_PERIOD / 2;
        let second = Settle::after_change(Some(&first), start + step);
        assert_eq!(second.at, start + step + QUIET_PERIOD);
        // Changes that never stop still get the file loaded at `first + MAX_SETTLE`.
        let mut settle = second;
        let mut now = start + step;
        while now < start + MAX_SETTLE * 2 {
            now += step;
            settle = Settle::after_change(Some(&settle), now);
        }
        assert_eq!(settle.at, start + MAX_SETTLE);
    }

    #[test]
    fn changed_names_compare_values_and_ignore_line_numbers() {
        let binding = |name: &str, value: &str, line| Binding {
            name: name.into(),
            value: value.into(),
            line,
            value_span: 0..0,
            substituted: false,
        };
        let old = [
            binding("A", "1", 1),
            binding("B", "2", 2),
            binding("C", "3", 3),
        ];
        let moved = [
            binding("C", "3", 1),
            binding("B", "2", 5),
            binding("A", "1", 9),
        ];
        assert!(changed_names(&old, &moved).is_empty());
        let new = [
            binding("A", "1", 1),
            binding("B", "x", 2),
            binding("D", "4", 3),
        ];
        assert_eq!(changed_names(&old, &new), ["B", "C", "D"]);
    }
}
