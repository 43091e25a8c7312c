//! `exec --mask`: the program runs as envguard's child so that its output passes through the
//! mask filter ([`crate::mask::filter`]) before anything can save it.
//!
//! Masking must not cost the program its terminal, which is what users of piping maskers
//! complain about (colours dropped, no line editing, no resizes). So when envguard's stdout
//! is a terminal the program gets a pseudo-terminal of its own, which envguard relays in raw
//! mode: the program's line discipline, not envguard's terminal, sees every key, so Ctrl-C
//! and Ctrl-Z act on the program; window sizes follow SIGWINCH; the user's terminal modes are
//! restored on every way out. On that terminal stdout and stderr are one stream, as on any
//! terminal. When stdout is not a terminal (CI, a pipe, a log), stdout and stderr are pipes,
//! each filtered on its own. Either way the program's exit status is envguard's, and a program
//! killed by a signal makes envguard die of the same signal. With `--watch` the supervisor
//! relays instead, across restarts (`watch::output`), with the pieces shared from here.

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, FdFlag, fcntl};
use nix::libc;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::pty::{OpenptyResult, Winsize, openpty};
use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, kill, raise, signal, sigprocmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{SetArg, Termios, cfmakeraw, tcgetattr, tcsetattr};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Pid, getpgrp, isatty, setsid, tcgetpgrp};

use crate::error::{Error, Result};
use crate::load::dotenv::Binding;
use crate::mask::filter::{Masker, Stream};

/// Signals sent to envguard that are meant for the program.
const FORWARDED: [Signal; 4] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
];

const CHUNK: usize = 64 * 1024;

/// Runs `command` with `bindings` in its environment and its output masked; returns only with
/// the program's exit status (or a launch failure).
pub fn run(command: &[OsString], bindings: Vec<Binding>) -> Result<()> {
    let masker = masker_of(&bindings);
    let on_terminal = isatty(io::stdout()).unwrap_or(false);
    let mut watched = SigSet::empty();
    for forwarded in FORWARDED {
        watched.add(forwarded);
    }
    watched.add(Signal::SIGCHLD);
    if on_terminal {
        watched.add(Signal::SIGWINCH);
        watched.add(Signal::SIGCONT);
    }
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&watched), None).map_err(failed("block signals"))?;
    let signals = SignalFd::with_flags(&watched, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(failed("watch signals"))?;

    let (program, arguments) = command.split_first().expect("clap requires a command");
    let mut cmd = Command::new(program);
    cmd.args(arguments).envs(
        bindings
            .into_iter()
            .map(|binding| (binding.name, binding.value)),
    );
    let relay = if on_terminal {
        Relay::terminal(&mut cmd)?
    } else {
        Relay::pipes(&mut cmd)
    };
    // SAFETY: only async-signal-safe calls (sigprocmask, setsid, ioctl) between fork and exec.
    let wants_terminal = on_terminal;
    unsafe {
        cmd.pre_exec(move || {
            sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)?;
            if wants_terminal {
                setsid()?;
                // fd 1 is the pseudo-terminal's slave side: make it the controlling terminal.
                if libc::ioctl(1, libc::TIOCSCTTY as _, 0) == -1 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let child = match cmd.spawn() {
        Ok(child) => child,
        Err(error) => {
            drop(relay);
            return Err(super::launch_failure(program, &error));
        }
    };
    drop(cmd);
    let status = relay.run(&masker, child, &signals)?;
    exit_like(status)
}

/// Where the program's output comes from and goes, and the terminal to relay keys from.
struct Relay {
    outputs: Vec<Output>,
    /// The pseudo-terminal's master side, for keys and window sizes.
    master: Option<OwnedFd>,
    /// The user's terminal, raw while the program runs; restored when dropped.
    raw: Option<RawMode>,
}

struct Output {
    from: Option<OwnedFd>,
    to: i32,
}

impl Relay {
    fn pipes(cmd: &mut Command) -> Relay {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        Relay {
            outputs: Vec::new(),
            master: None,
            raw: None,
        }
    }

    fn terminal(cmd: &mut Command) -> Result<Relay> {
        let pty = open_terminal()?;
        cmd.stdout(Stdio::from(
            pty.slave
                .try_clone()
                .map_err(failed("open a pseudo-terminal"))?,
        ));
        if isatty(io::stderr()).unwrap_or(false) {
            cmd.stderr(Stdio::from(
                pty.slave
                    .try_clone()
                    .map_err(failed("open a pseudo-terminal"))?,
            ));
        } else {
            cmd.stderr(Stdio::piped());
        }
        let keys = isatty(io::stdin()).unwrap_or(false);
        if keys {
            cmd.stdin(Stdio::from(pty.slave));
        }
        let raw = if keys { RawMode::enter()? } else { None };
        Ok(Relay {
            outputs: vec![Output {
                from: Some(
                    pty.master
                        .try_clone()
                        .map_err(failed("open a pseudo-terminal"))?,
                ),
                to: 1,
            }],
            master: Some(pty.master),
            raw,
        })
    }

    fn run(
        mut self,
        masker: &Arc<Masker>,
        mut child: Child,
        signals: &SignalFd,
    ) -> Result<WaitStatus> {
        if let Some(out) = child.stdout.take() {
            self.outputs.push(Output {
                from: Some(out.into()),
                to: 1,
            });
        }
        if let Some(err) = child.stderr.take() {
            self.outputs.push(Output {
                from: Some(err.into()),
                to: 2,
            });
        }
        let pid = Pid::from_raw(child.id() as i32);
        let mut streams: Vec<Stream> = self.outputs.iter().map(|_| masker.stream()).collect();
        let mut status: Option<WaitStatus> = None;
        let mut keys_open = self.raw.is_some();
        let mut buf = vec![0u8; CHUNK];
        let mut out = Vec::with_capacity(CHUNK * 2);
        loop {
            let open_outputs = self.outputs.iter().any(|o| o.from.is_some());
            if !open_outputs && status.is_some() {
                break;
            }
            let stdin = io::stdin();
            let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
            let mut polled: Vec<usize> = Vec::new();
            for (index, output) in self.outputs.iter().enumerate() {
                if let Some(from) = &output.from {
                    fds.push(PollFd::new(from.as_fd(), PollFlags::POLLIN));
                    polled.push(index);
                }
            }
            if keys_open {
                fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
            }
            // Once the program has exited, only what it already wrote is read: a daemon it
            // left behind holding the output open must not keep envguard waiting.
            let deadline = streams.iter().filter_map(Stream::deadline).min();
            let timeout = if status.is_some() {
                PollTimeout::ZERO
            } else {
                match deadline {
                    Some(at) => {
                        let ms = at.saturating_duration_since(Instant::now()).as_millis();
                        PollTimeout::from(ms.min(10_000) as u16)
                    }
                    None => PollTimeout::NONE,
                }
            };
            let ready = match poll(&mut fds, timeout) {
                Ok(n) => n,
                Err(Errno::EINTR) => continue,
                Err(error) => return Err(failed("wait for output")(error)),
            };
            let revents: Vec<bool> = fds
                .iter()
                .map(|fd| !fd.revents().unwrap_or(PollFlags::empty()).is_empty())
                .collect();
            drop(fds);
            if ready == 0 && status.is_some() {
                for (index, output) in self.outputs.iter_mut().enumerate() {
                    if output.from.take().is_some() {
                        out.clear();
                        streams[index].finish(&mut out);
                        write_all(output.to, &out);
                    }
                }
                break;
            }
            if revents[0] {
                while let Ok(Some(info)) = signals.read_signal() {
                    let Ok(received) = Signal::try_from(info.ssi_signo as i32) else {
                        continue;
                    };
                    match received {
                        Signal::SIGCHLD => {
                            if let Some(done) = self.reap(pid)? {
                                status = Some(done);
                            }
                        }
                        Signal::SIGWINCH => self.resize(),
                        Signal::SIGCONT => {
                            if let Some(raw) = &self.raw {
                                raw.reenter();
                                self.resize();
                            }
                        }
                        forwarded => {
                            // In the pipe case a key the terminal turned into a signal reached
                            // the program's group already; only a `kill` is passed on.
                            let from_kernel = info.ssi_code == libc::SI_KERNEL;
                            if self.master.is_some() || !from_kernel {
                                let _ = kill(pid, forwarded);
                            }
                        }
                    }
                }
            }
            for (slot, &index) in polled.iter().enumerate() {
                if !revents[slot + 1] {
                    continue;
                }
                let output = &mut self.outputs[index];
                let from = output.from.as_ref().expect("polled outputs are open");
                out.clear();
                match nix::unistd::read(from, &mut buf) {
                    Ok(0) | Err(Errno::EIO) => {
                        streams[index].finish(&mut out);
                        output.from = None;
                    }
                    Ok(n) => streams[index].push(&buf[..n], &mut out),
                    Err(Errno::EINTR | Errno::EAGAIN) => {}
                    Err(error) => return Err(failed("relay output")(error)),
                }
                if !write_all(output.to, &out) {
                    // Whoever read envguard's output is gone: the program learns it as it
                    // would have without envguard, on its next write.
                    output.from = None;
                }
            }
            if keys_open && revents[revents.len() - 1] {
                keys_open = self.pass_keys(&mut buf);
            }
            let now = Instant::now();
            for (index, stream) in streams.iter_mut().enumerate() {
                if stream.deadline().is_some_and(|at| at <= now) {
                    out.clear();
                    stream.finish(&mut out);
                    write_all(self.outputs[index].to, &out);
                }
            }
        }
        drop(self.raw.take());
        Ok(status.expect("the loop ends once the program has exited"))
    }

    /// The program's exit, if it has exited; a stop (Ctrl-Z on its terminal) stops envguard
    /// too, handing the user's terminal back to their shell, and continues the program on `fg`.
    fn reap(&mut self, pid: Pid) -> Result<Option<WaitStatus>> {
        loop {
            let flags = WaitPidFlag::WNOHANG | WaitPidFlag::WUNTRACED;
            match waitpid(pid, Some(flags)) {
                Ok(WaitStatus::StillAlive) => return Ok(None),
                Ok(WaitStatus::Stopped(..)) => {
                    if let Some(raw) = &self.raw {
                        raw.restore();
                        let _ = raise(Signal::SIGSTOP);
                        raw.reenter();
                        self.resize();
                        let _ = kill(pid, Signal::SIGCONT);
                    }
                }
                Ok(done @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => {
                    return Ok(Some(done));
                }
                Ok(_) => {}
                Err(Errno::EINTR) => {}
                Err(error) => return Err(failed("wait for the program")(error)),
            }
        }
    }

    fn resize(&self) {
        if let Some(master) = &self.master {
            follow_window_size(master.as_fd());
        }
    }

    /// Copies what the user typed to the program's terminal; false once stdin has closed.
    fn pass_keys(&self, buf: &mut [u8]) -> bool {
        let Some(master) = &self.master else {
            return false;
        };
        match nix::unistd::read(io::stdin().as_fd(), buf) {
            Ok(0) => false,
            Ok(n) => write_all(master.as_raw_fd(), &buf[..n]),
            Err(Errno::EINTR | Errno::EAGAIN) => true,
            Err(_) => false,
        }
    }
}

/// The masker for `bindings`' values, shared by the streams that use it.
pub(super) fn masker_of(bindings: &[Binding]) -> Arc<Masker> {
    Arc::new(Masker::new(
        bindings
            .iter()
            .map(|binding| (binding.name.as_str(), binding.value.as_str())),
    ))
}

/// A pseudo-terminal the size of envguard's stdout, neither side inherited by what envguard
/// starts (a program holding the master could read the user's keys).
pub(super) fn open_terminal() -> Result<OpenptyResult> {
    let size = window_size(io::stdout().as_fd());
    let pty = openpty(size.as_ref(), None).map_err(failed("open a pseudo-terminal"))?;
    for side in [&pty.master, &pty.slave] {
        fcntl(side, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC))
            .map_err(failed("open a pseudo-terminal"))?;
    }
    Ok(pty)
}

/// Gives the pseudo-terminal `master` the size of envguard's own terminal (after SIGWINCH).
pub(super) fn follow_window_size(master: BorrowedFd) {
    if let Some(size) = window_size(io::stdout().as_fd()) {
        // SAFETY: TIOCSWINSZ reads one `winsize` from the pointer, which outlives the call.
        unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
    }
}

fn window_size(terminal: BorrowedFd) -> Option<Winsize> {
    let mut size = Winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` to the pointer, which outlives the call.
    let got = unsafe { libc::ioctl(terminal.as_raw_fd(), libc::TIOCGWINSZ, &mut size) };
    (got == 0).then_some(size)
}

/// Writes all of `bytes` to `fd`; false when the reader has gone.
pub(super) fn write_all(fd: i32, mut bytes: &[u8]) -> bool {
    // SAFETY: fds 1, 2 and the master stay open for the whole relay.
    let target = unsafe { BorrowedFd::borrow_raw(fd) };
    while !bytes.is_empty() {
        match nix::unistd::write(target, bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::EINTR | Errno::EAGAIN) => {}
            Err(_) => return false,
        }
    }
    true
}

/// The user's terminal in raw mode, so every key reaches the program's own terminal.
pub(super) struct RawMode {
    saved: Termios,
}

impl RawMode {
    pub(super) fn enter() -> Result<Option<RawMode>> {
        let Ok(saved) = tcgetattr(io::stdin()) else {
            return Ok(None);
        };
        let mode = RawMode { saved };
        mode.reenter();
        Ok(Some(mode))
    }

    /// Raw again, unless envguard runs in the background (continued by `bg`): the terminal
    /// is the shell's then, and envguard takes it raw again when `fg` continues it.
    pub(super) fn reenter(&self) {
        if tcgetpgrp(io::stdin()) != Ok(getpgrp()) {
            return;
        }
        let mut raw = self.saved.clone();
        cfmakeraw(&mut raw);
        let _ = tcsetattr(io::stdin(), SetArg::TCSADRAIN, &raw);
    }

    pub(super) fn restore(&self) {
        let _ = tcsetattr(io::stdin(), SetArg::TCSADRAIN, &self.saved);
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        self.restore();
    }
}

/// A system call of the relay failed: not the user's input, so envguard's own words.
pub(super) fn failed<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> Error {
    move |error| Error::Failed(format!("exec --mask: cannot {what}: {error}"))
}

/// Ends envguard as the program ended: its exit code, or death by its signal.
fn exit_like(status: WaitStatus) -> Result<()> {
    match status {
        WaitStatus::Exited(_, 0) => Ok(()),
        WaitStatus::Exited(_, code) => Err(Error::Silent(code as u8)),
        WaitStatus::Signaled(_, killed_by, _) => {
            // SAFETY: the default disposition, set just before dying of it.
            unsafe { signal(killed_by, SigHandler::SigDfl) }.ok();
            let mut only = SigSet::empty();
            only.add(killed_by);
            let _ = sigprocmask(SigmaskHow::SIG_UNBLOCK, Some(&only), None);
            let _ = raise(killed_by);
            Err(Error::Silent(128u8.wrapping_add(killed_by as u8)))
        }
        _ => Err(Error::Silent(1)),
    }
}
