//! `exec --watch --mask`: the output of every run of the program through the mask filter, on
//! one relay that outlives restarts.
//!
//! Each run's values are masked in what that run writes, and what an old run wrote is masked
//! with the old values even when it is read after the new run has started (a server logging
//! its key as it shuts down). Through pipes (CI, a log) each run gets pipes of its own, read
//! until every process of the run has closed them, each with its run's masker: nothing of the
//! old run can be mistaken for the new one's. On a terminal there is one pseudo-terminal for
//! the whole session, so that the user's terminal stays in raw mode across restarts and line
//! editing, colours and resizes work in every run; a restart masks with the old and the new
//! values together until the old run's output has been read ([`DRAIN`]), then with the new
//! ones alone. The relay is a thread of its own, so the supervisor's loop stays as it was: it
//! hands each run's streams over ([`MaskedOutput::wire`]) and forwards window sizes.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};
use nix::unistd::{getpgrp, isatty, pipe2, tcgetpgrp};

use super::child::Wiring;
use crate::cmd::exec::mask::{
    RawMode, failed, follow_window_size, masker_of, open_terminal, write_all,
};
use crate::error::Result;
use crate::load::dotenv::Binding;
use crate::mask::filter::{Masker, Stream};

/// How long after a restart the pseudo-terminal is masked with the old values too: the kernel
/// hands what a program wrote to its terminal over to the reader asynchronously, so the old
/// run's last output can be read after its processes are gone.
const DRAIN: Duration = Duration::from_millis(500);

/// Once envguard is ending, the relay stops when no output has come for this long, or after
/// [`LAST_OUTPUT_MAX`] in all (a process outside the program's tree may hold a pipe open).
const LAST_OUTPUT_IDLE: Duration = Duration::from_millis(50);
const LAST_OUTPUT_MAX: Duration = Duration::from_secs(1);

const CHUNK: usize = 64 * 1024;

/// How often the relay looks whether the shell has given envguard the terminal back (`fg`)
/// while it runs in the background (`bg`), where it must not read the user's keys.
const FOREGROUND_POLL: Duration = Duration::from_millis(100);

enum Order {
    /// Relay `from` to fd `to` through `masker` until every writer has closed it.
    Attach {
        from: OwnedFd,
        to: i32,
        masker: Arc<Masker>,
    },
    /// A restart: mask the terminal with `draining` (old and new values) for [`DRAIN`], then
    /// with `then` (the new values).
    Switch {
        draining: Arc<Masker>,
        then: Arc<Masker>,
    },
    /// envguard is ending: relay what is left, then stop.
    Finish,
}

/// The relay, as the supervisor holds it. Dropping it relays what is left and restores the
/// user's terminal.
pub struct MaskedOutput {
    orders: Sender<Order>,
    /// Written once per order, to wake the relay's `poll`.
    wake: OwnedFd,
    relay: Option<JoinHandle<()>>,
    terminal: Option<Terminal>,
    /// The values of the run wired last, masked along with the next run's while it drains.
    previous: Vec<Binding>,
}

/// The pseudo-terminal every run gets, on a terminal.
struct Terminal {
    master: OwnedFd,
    /// Kept open so that the master never reads an end of file between runs; each run gets
    /// copies of it.
    slave: OwnedFd,
    /// The user's terminal, raw while envguard runs (when keys are relayed).
    raw: Option<RawMode>,
    stderr_is_terminal: bool,
}

impl MaskedOutput {
    /// Starts the relay, on a pseudo-terminal when envguard's stdout is a terminal. Must run
    /// after the supervisor's signals are blocked, so that the relay's thread blocks them too.
    pub fn start() -> Result<MaskedOutput> {
        let (wake_read, wake) = pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)
            .map_err(failed("start the output relay"))?;
        let (orders, received) = mpsc::channel();
        let mut relay = Relay {
            wake: wake_read,
            orders: received,
            sources: Vec::new(),
            keys: None,
            switch: None,
        };
        let mut terminal = None;
        if isatty(io::stdout()).unwrap_or(false) {
            let pty = open_terminal()?;
            let reader = pty.master.try_clone().map_err(failed("open a terminal"))?;
            // Read until nothing is left when a restart drains it.
            fcntl(&reader, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))
                .map_err(failed("open a terminal"))?;
            let keys = isatty(io::stdin()).unwrap_or(false);
            if keys {
                relay.keys = Some(pty.master.try_clone().map_err(failed("open a terminal"))?);
            }
            relay.sources.push(Source {
                from: reader,
                to: 1,
                stream: masker_of(&[]).stream(),
                is_terminal: true,
            });
            terminal = Some(Terminal {
                master: pty.master,
                slave: pty.slave,
                raw: if keys { RawMode::enter()? } else { None },
                stderr_is_terminal: isatty(io::stderr()).unwrap_or(false),
            });
        }
        let relay = thread::Builder::new()
            .name("envguard-mask".into())
            .spawn(move || relay.run())
            .map_err(failed("start the output relay"))?;
        Ok(MaskedOutput {
            orders,
            wake,
            relay: Some(relay),
            terminal,
            previous: Vec::new(),
        })
    }

    /// On a terminal, whether the program takes the pseudo-terminal's foreground (it does
    /// when the user's keys reach it); `None` through pipes, where envguard's own terminal, if
    /// any, is handed over as without masking.
    pub fn program_takes_terminal(&self) -> Option<bool> {
        self.terminal
            .as_ref()
            .map(|terminal| terminal.raw.is_some())
    }

    /// The streams of a new run with `bindings`, masked with their values.
    pub fn wire(&mut self, bindings: &[Binding]) -> Result<Wiring> {
        let masker = masker_of(bindings);
        let pipe = |to: i32| -> Result<OwnedFd> {
            let (from, into) = pipe2(OFlag::O_CLOEXEC).map_err(failed("make a pipe"))?;
            self.send(Order::Attach {
                from,
                to,
                masker: Arc::clone(&masker),
            });
            Ok(into)
        };
        let wiring = match &self.terminal {
            None => Wiring {
                stdin: None,
                stdout: pipe(1)?,
                stderr: pipe(2)?,
                controlling_terminal: false,
            },
            Some(terminal) => {
                let both = self.previous.iter().chain(bindings).cloned();
                self.send(Order::Switch {
                    draining: masker_of(&both.collect::<Vec<_>>()),
                    then: Arc::clone(&masker),
                });
                let slave = || {
                    terminal
                        .slave
                        .try_clone()
                        .map_err(failed("open a terminal"))
                };
                Wiring {
                    stdin: terminal.raw.is_some().then(slave).transpose()?,
                    stdout: slave()?,
                    stderr: if terminal.stderr_is_terminal {
                        slave()?
                    } else {
                        pipe(2)?
                    },
                    controlling_terminal: true,
                }
            }
        };
        self.previous = bindings.to_vec();
        Ok(wiring)
    }

    /// Gives the pseudo-terminal the size of the user's (after SIGWINCH).
    pub fn resize(&self) {
        if let Some(terminal) = &self.terminal {
            follow_window_size(terminal.master.as_fd());
        }
    }

    /// The user's terminal as envguard found it, before envguard stops (Ctrl-Z), so that the
    /// shell gets it back in its own modes.
    pub fn restore_terminal(&self) {
        if let Some(raw) = self.terminal.as_ref().and_then(|t| t.raw.as_ref()) {
            raw.restore();
        }
    }

    /// The user's terminal raw again once envguard continues, at its size now.
    pub fn reenter_terminal(&self) {
        if let Some(raw) = self.terminal.as_ref().and_then(|t| t.raw.as_ref()) {
            raw.reenter();
        }
        self.resize();
    }

    fn send(&self, order: Order) {
        // The relay ends only when told to, and the pipe only fills if it is far behind, in
        // which case it has a wake-up pending anyway.
        let _ = self.orders.send(order);
        let _ = nix::unistd::write(&self.wake, &[1]);
    }
}

impl Drop for MaskedOutput {
    fn drop(&mut self) {
        self.send(Order::Finish);
        if let Some(relay) = self.relay.take() {
            let _ = relay.join();
        }
    }
}

/// Whether envguard's group is the foreground of its terminal: the user's keys are its to
/// relay only then.
fn in_foreground() -> bool {
    tcgetpgrp(io::stdin()) == Ok(getpgrp())
}

/// One output being relayed.
struct Source {
    from: OwnedFd,
    to: i32,
    stream: Stream,
    /// The pseudo-terminal, which lasts the session; pipes last one run.
    is_terminal: bool,
}

/// The relay thread's state.
struct Relay {
    wake: OwnedFd,
    orders: Receiver<Order>,
    sources: Vec<Source>,
    /// The pseudo-terminal's master, to pass the user's keys to.
    keys: Option<OwnedFd>,
    /// When the terminal stops masking the old values, and the masker it takes then.
    switch: Option<(Instant, Arc<Masker>)>,
}

impl Relay {
    fn run(mut self) {
        // A read of the terminal from the background then fails instead of stopping envguard
        // (SIGTTIN), which would stop the supervisor with it, restarts and all.
        let mut ttin = SigSet::empty();
        ttin.add(Signal::SIGTTIN);
        let _ = ttin.thread_block();
        let mut buf = vec![0u8; CHUNK];
        let mut out = Vec::with_capacity(CHUNK * 2);
        let mut finishing: Option<Instant> = None;
        loop {
            let stdin = io::stdin();
            // Orders may add sources after the poll: only these were polled.
            let polled = self.sources.len();
            let mut fds = vec![PollFd::new(self.wake.as_fd(), PollFlags::POLLIN)];
            fds.extend(
                self.sources
                    .iter()
                    .map(|source| PollFd::new(source.from.as_fd(), PollFlags::POLLIN)),
            );
            let keys_wanted = self.keys.is_some() && finishing.is_none();
            let keys_polled = keys_wanted && in_foreground();
            if keys_polled {
                fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
            }
            let foreground_check =
                (keys_wanted && !keys_polled).then(|| Instant::now() + FOREGROUND_POLL);
            let wake_at = self
                .sources
                .iter()
                .filter_map(|source| source.stream.deadline())
                .chain(self.switch.as_ref().map(|(at, _)| *at))
                .chain(foreground_check)
                .min();
            let wait = match (finishing, wake_at) {
                (Some(_), _) => Some(LAST_OUTPUT_IDLE),
                (None, Some(at)) => Some(at.saturating_duration_since(Instant::now())),
                (None, None) => None,
            };
            let timeout = wait.map_or(PollTimeout::NONE, |wait| {
                PollTimeout::from(wait.as_millis().min(10_000) as u16)
            });
            match poll(&mut fds, timeout) {
                Ok(_) | Err(Errno::EINTR) => {}
                // Nothing sensible is left to do; the terminal is restored by the drop.
                Err(_) => return,
            }
            let ready: Vec<bool> = fds
                .iter()
                .map(|fd| !fd.revents().unwrap_or(PollFlags::empty()).is_empty())
                .collect();
            drop(fds);
            let was_finishing = finishing;
            if ready[0] {
                self.take_orders(&mut finishing);
            }
            let outputs = &ready[1..=polled];
            if let Some(since) = was_finishing
                && (!outputs.contains(&true) || since.elapsed() >= LAST_OUTPUT_MAX)
            {
                break;
            }
            self.relay_ready(outputs, &mut buf, &mut out);
            if keys_polled && ready[polled + 1] {
                self.pass_keys(&mut buf);
            }
            self.release_due(&mut buf, &mut out);
        }
        for source in &mut self.sources {
            out.clear();
            source.stream.finish(&mut out);
            write_all(source.to, &out);
        }
    }

    fn take_orders(&mut self, finishing: &mut Option<Instant>) {
        let mut drained = [0u8; 64];
        while nix::unistd::read(&self.wake, &mut drained).is_ok_and(|n| n > 0) {}
        while let Ok(order) = self.orders.try_recv() {
            match order {
                Order::Attach { from, to, masker } => self.sources.push(Source {
                    from,
                    to,
                    stream: masker.stream(),
                    is_terminal: false,
                }),
                Order::Switch { draining, then } => {
                    for source in self.sources.iter_mut().filter(|s| s.is_terminal) {
                        source.stream.switch(Arc::clone(&draining));
                    }
                    self.switch = Some((Instant::now() + DRAIN, then));
                }
                Order::Finish => *finishing = Some(Instant::now()),
            }
        }
    }

    /// Reads once from each source `ready` marks (the sources as they were polled) and writes
    /// it on masked; drops the sources that have closed.
    fn relay_ready(&mut self, ready: &[bool], buf: &mut [u8], out: &mut Vec<u8>) {
        let mut index = 0;
        self.sources.retain_mut(|source| {
            index += 1;
            if !ready.get(index - 1).copied().unwrap_or(false) {
                return true;
            }
            out.clear();
            let open = match nix::unistd::read(&source.from, buf) {
                Ok(0) | Err(Errno::EIO) => {
                    source.stream.finish(out);
                    false
                }
                Ok(n) => {
                    source.stream.push(&buf[..n], out);
                    true
                }
                Err(Errno::EINTR | Errno::EAGAIN) => true,
                Err(_) => {
                    source.stream.finish(out);
                    false
                }
            };
            // A reader of envguard's output that has gone: the program learns it as it would
            // have without envguard, on its next write.
            write_all(source.to, out) && open
        });
    }

    /// Releases held tails whose time is up, and ends a restart's drain when it is due.
    fn release_due(&mut self, buf: &mut [u8], out: &mut Vec<u8>) {
        let now = Instant::now();
        if let Some((_, then)) = self.switch.take_if(|(at, _)| *at <= now) {
            for source in self.sources.iter_mut().filter(|s| s.is_terminal) {
                // What is still waiting on the terminal is masked with the old values too.
                loop {
                    out.clear();
                    match nix::unistd::read(&source.from, buf) {
                        Ok(n) if n > 0 => source.stream.push(&buf[..n], out),
                        Err(Errno::EINTR) => continue,
                        _ => break,
                    }
                    write_all(source.to, out);
                }
                source.stream.switch(Arc::clone(&then));
            }
        }
        for source in &mut self.sources {
            if source.stream.deadline().is_some_and(|at| at <= now) {
                out.clear();
                source.stream.finish(out);
                write_all(source.to, out);
            }
        }
    }

    /// Copies what the user typed to the program's terminal; stops at the end of stdin.
    fn pass_keys(&mut self, buf: &mut [u8]) {
        let Some(master) = &self.keys else {
            return;
        };
        let open = match nix::unistd::read(io::stdin().as_fd(), buf) {
            Ok(0) => false,
            Ok(n) => write_all(std::os::fd::AsRawFd::as_raw_fd(master), &buf[..n]),
            // EIO: the shell took the terminal (Ctrl-Z, then `bg`) since the poll; the keys
            // are its own until `fg`.
            Err(Errno::EINTR | Errno::EAGAIN | Errno::EIO) => true,
            Err(_) => false,
        };
        if !open {
            self.keys = None;
        }
    }
}
