//! The keeper: the process between envguard and the program, which outlives envguard.
//!
//! When envguard is killed outright (SIGKILL) nothing in it runs, so it cannot stop the
//! program, and the kernel's parent-death signal reaches only a direct child: the program's
//! own children would be re-parented to init and keep the secrets. So each program runs
//! under a keeper, a second envguard process (this binary, started again with
//! [`MARKER`] in its environment) that
//! - is a child subreaper, so everything the program starts and orphans, a `setsid()` daemon
//!   included, is re-parented to it and stays below it in the process tree;
//! - gets [`SUPERVISOR_GONE`] from the kernel when envguard dies, and then kills every
//!   process below it and exits;
//! - sits in a process group of its own, so that `kill -9 %1` (the shell's job is envguard's
//!   group) or a Ctrl-C to envguard's group does not take it along.
//!
//! Otherwise it only relays, over a pipe: the program's pid once started (or why it could not
//! be started) and its exit status. A stop of the program (Ctrl-Z) is relayed by the keeper
//! stopping itself, which envguard sees as its own child stopping. The keeper exits once the
//! program has ended and nothing is left below it, so its exit is envguard's proof that the
//! program and everything it started are gone. envguard does all the signalling.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::prctl;
use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, kill, raise, signal, sigprocmask};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Pid, getpid, getppid};

use super::{terminal, tree};
use crate::error::{Error, Result};

/// The environment variable that makes `envguard exec` a keeper: `PID:FD:TERMINAL`, the
/// supervisor's pid, the pipe to report on, and whether the program takes the terminal. In
/// the reserved `__ENVGUARD` namespace, which no `.env` may set; removed before the program
/// starts.
pub const MARKER: &str = "__ENVGUARD_WATCH_KEEPER";

/// The parent-death signal the keeper asks for. Any signal would do; this one is not one a
/// user sends to a job.
pub const SUPERVISOR_GONE: Signal = Signal::SIGUSR1;

/// How long the keeper keeps killing what is below it after envguard died.
const KILL_WAIT: Duration = Duration::from_secs(2);

/// What the keeper tells envguard, in fixed 5-byte messages (atomic on a pipe).
#[derive(Debug, PartialEq, Eq)]
pub enum Message {
    Started(Pid),
    /// The program could not be started: the `errno` of the failed exec.
    CannotStart(i32),
    /// The program ended: its exit code, or 128 + the signal.
    Ended(u8),
}

pub const MESSAGE_LEN: usize = 5;

impl Message {
    fn encode(&self) -> [u8; MESSAGE_LEN] {
        let (tag, value) = match self {
            Message::Started(pid) => (b'P', pid.as_raw()),
            Message::CannotStart(errno) => (b'E', *errno),
            Message::Ended(status) => (b'X', i32::from(*status)),
        };
        let mut bytes = [tag, 0, 0, 0, 0];
        bytes[1..].copy_from_slice(&value.to_le_bytes());
        bytes
    }

    pub fn decode(bytes: [u8; MESSAGE_LEN]) -> Option<Message> {
        let value = i32::from_le_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
        match bytes[0] {
            b'P' => Some(Message::Started(Pid::from_raw(value))),
            b'E' => Some(Message::CannotStart(value)),
            b'X' => u8::try_from(value).ok().map(Message::Ended),
            _ => None,
        }
    }
}

/// What [`MARKER`] carries.
#[derive(Debug, PartialEq, Eq)]
pub struct Invocation {
    pub supervisor: Pid,
    pub channel: RawFd,
    pub take_terminal: bool,
}

impl Invocation {
    pub fn to_marker(&self) -> String {
        let terminal = if self.take_terminal { "t" } else { "-" };
        format!("{}:{}:{terminal}", self.supervisor, self.channel)
    }

    /// The invocation in this process's environment, if envguard started it as a keeper.
    pub fn from_env() -> Option<Invocation> {
        Invocation::parse(&std::env::var(MARKER).ok()?)
    }

    fn parse(marker: &str) -> Option<Invocation> {
        let mut parts = marker.split(':');
        let supervisor = Pid::from_raw(parts.next()?.parse().ok()?);
        let channel = parts.next()?.parse().ok()?;
        let take_terminal = match parts.next()? {
            "t" => true,
            "-" => false,
            _ => return None,
        };
        parts.next().is_none().then_some(Invocation {
            supervisor,
            channel,
            take_terminal,
        })
    }
}

/// The keeper's life: start `command`, relay, and exit once nothing is left below it.
pub fn run(invocation: Invocation, command: &[OsString]) -> Result<()> {
    let mut wakes = SigSet::empty();
    wakes.add(Signal::SIGCHLD);
    wakes.add(SUPERVISOR_GONE);
    // The signals a user or a terminal sends to envguard's job are envguard's to act on.
    let mut blocked = wakes;
    for ignored in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGTSTP,
        Signal::SIGTTIN,
        Signal::SIGTTOU,
    ] {
        blocked.add(ignored);
    }
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&blocked), None)
        .map_err(|e| Error::Failed(format!("keeper: cannot block signals: {e}")))?;
    // SAFETY: installs the default disposition, no handler code.
    unsafe { signal(Signal::SIGCHLD, SigHandler::SigDfl) }
        .map_err(|e| Error::Failed(format!("keeper: cannot reset SIGCHLD: {e}")))?;
    prctl::set_child_subreaper(true)
        .map_err(|e| Error::Failed(format!("keeper: cannot become a subreaper: {e}")))?;
    // SAFETY: envguard opened this descriptor for the keeper and nothing else owns it here.
    let mut channel = unsafe { File::from_raw_fd(invocation.channel) };
    // The program must not inherit the pipe.
    nix::fcntl::fcntl(
        &channel,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )
    .map_err(|e| Error::Failed(format!("keeper: bad channel: {e}")))?;
    let supervisor = invocation.supervisor;
    if getppid() != supervisor {
        // envguard ended before the keeper could start anything.
        return Err(Error::Silent(1));
    }
    let program = match spawn(command, invocation.take_terminal) {
        Ok(program) => program,
        Err(error) => {
            let errno = error.raw_os_error().unwrap_or(Errno::EINVAL as i32);
            let _ = channel.write_all(&Message::CannotStart(errno).encode());
            return Err(Error::Silent(127));
        }
    };
    tell(&mut channel, supervisor, Message::Started(program));
    let mut status = None;
    loop {
        if getppid() != supervisor {
            kill_everything_below();
            return exit_with(status.unwrap_or(128 + Signal::SIGKILL as u8));
        }
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG | WaitPidFlag::WUNTRACED)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == program => {
                    status = Some(code as u8);
                    tell(&mut channel, supervisor, Message::Ended(code as u8));
                }
                Ok(WaitStatus::Signaled(pid, signal, _)) if pid == program => {
                    let code = 128 + signal as i32 as u8;
                    status = Some(code);
                    tell(&mut channel, supervisor, Message::Ended(code));
                }
                // envguard sees its child stop, and continues the keeper with the program.
                Ok(WaitStatus::Stopped(pid, _)) if pid == program => {
                    let _ = raise(Signal::SIGSTOP);
                }
                Ok(WaitStatus::StillAlive) => break,
                Err(Errno::ECHILD) => match status {
                    Some(status) => return exit_with(status),
                    None => break,
                },
                Err(Errno::EINTR) | Ok(_) => {}
                Err(_) => break,
            }
        }
        let _ = wakes.wait();
    }
}

/// Sends `message` and wakes envguard (its signal thread waits for SIGCHLD). A failed write
/// means envguard is gone, which the next loop turn notices.
fn tell(channel: &mut File, supervisor: Pid, message: Message) {
    let _ = channel.write_all(&message.encode());
    let _ = kill(supervisor, Signal::SIGCHLD);
}

fn exit_with(status: u8) -> Result<()> {
    match status {
        0 => Ok(()),
        code => Err(Error::Silent(code)),
    }
}

/// Starts the program in a process group of its own (a restart and Ctrl-C reach all of it),
/// taking the terminal's foreground if asked.
fn spawn(command: &[OsString], take_terminal: bool) -> io::Result<Pid> {
    let (program, arguments) = command.split_first().expect("clap requires a command");
    let keeper = getpid();
    let mut child = Command::new(program);
    child.args(arguments).env_remove(MARKER).process_group(0);
    // SAFETY: the closure runs between fork and exec and makes only async-signal-safe
    // system calls (prctl, getppid, sigprocmask, tcsetpgrp); it allocates nothing.
    unsafe {
        child.pre_exec(move || {
            // Should the keeper itself be killed, the program goes with it.
            prctl::set_pdeathsig(Signal::SIGKILL)?;
            if getppid() != keeper {
                return Err(io::Error::from(io::ErrorKind::Interrupted));
            }
            if take_terminal {
                terminal::claim_in_child()?;
            }
            // The program must not inherit the signals the keeper blocks.
            sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)?;
            Ok(())
        });
    }
    Ok(Pid::from_raw(child.spawn()?.id() as i32))
}

/// envguard is gone: SIGKILL everything below the keeper until nothing is left. Killing a
/// process re-parents its children to the keeper, so each scan finds what the last missed.
fn kill_everything_below() {
    let deadline = Instant::now() + KILL_WAIT;
    let me = getpid();
    loop {
        for process in tree::descendants(me) {
            let _ = kill(process.pid, Signal::SIGKILL);
        }
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => break,
                Err(Errno::ECHILD) => return,
                Ok(_) | Err(Errno::EINTR) => {}
                Err(_) => return,
            }
        }
        if Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        for message in [
            Message::Started(Pid::from_raw(4_194_304)),
            Message::CannotStart(2),
            Message::Ended(0),
            Message::Ended(255),
        ] {
            let bytes = message.encode();
            assert_eq!(Message::decode(bytes), Some(message));
        }
        assert_eq!(Message::decode([b'?', 0, 0, 0, 0]), None);
        assert_eq!(Message::decode([b'X', 0, 1, 0, 0]), None);
    }

    #[test]
    fn markers_round_trip_and_junk_is_no_keeper() {
        let invocation = Invocation {
            supervisor: Pid::from_raw(77),
            channel: 5,
            take_terminal: true,
        };
        assert_eq!(Invocation::parse(&invocation.to_marker()), Some(invocation));
        for junk in ["", "1", "1:2", "1:2:x", "a:2:t", "1:2:t:4"] {
            assert_eq!(Invocation::parse(junk), None, "{junk}");
        }
    }
}
