//! One run of the program, as envguard sees it: a keeper process ([`keeper`]) with the
//! program below it, leading its own process group.
//!
//! A restart must stop everything the program started (a shell script's server, `npm`'s
//! node, a daemon that called `setsid()`): every signal goes to the program's group and to
//! every other process below envguard in the process tree ([`tree`]), where the keeper and
//! envguard, both child subreapers, keep whatever gets orphaned. "The program is gone" is the
//! keeper's exit, which happens only once nothing is left below it, and then no child of
//! envguard's is left either.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::prctl;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, killpg, sigprocmask};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Pid, getpid, getppid, pipe2};

use super::keeper::{self, Invocation, MESSAGE_LEN, Message};
use super::tree;
use crate::load::dotenv::Binding;

/// Lets processes orphaned below envguard be re-parented to it rather than to init, so that
/// they stay in its tree ([`tree`]) and are reaped here.
pub fn become_subreaper() {
    let _ = prctl::set_child_subreaper(true);
}

pub struct Group {
    keeper: Pid,
    leader: Pid,
    /// The keeper's reports, read without blocking once the program has started.
    messages: File,
    /// The leader's exit, as a shell reports it: the exit code, or 128 + the signal.
    status: Option<u8>,
    keeper_ended: bool,
}

/// A signal sent to everything below envguard, and the processes it has reached.
pub struct Delivery {
    signal: Signal,
    reached: BTreeSet<Pid>,
}

/// Where a masked run's standard streams go instead of envguard's own: pipes or a
/// pseudo-terminal that envguard relays through the mask filter ([`super::output`]).
pub struct Wiring {
    /// `None`: envguard's own stdin.
    pub stdin: Option<OwnedFd>,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    /// Whether stdout is a pseudo-terminal that becomes the controlling terminal of the
    /// keeper's new session, so that the program can be its foreground group.
    pub controlling_terminal: bool,
}

/// What reaping found out about the program.
#[derive(PartialEq, Eq)]
pub enum Leader {
    Running,
    /// Stopped by a signal (Ctrl-Z in the terminal, or a read from it in the background).
    Stopped,
    Exited,
}

impl Group {
    /// Starts `command` with `bindings` over envguard's environment, under a keeper, in a new
    /// process group that takes the terminal's foreground when `take_terminal`, its streams
    /// wired as `wiring` says (envguard's own without one).
    pub fn spawn(
        command: &[OsString],
        bindings: &[Binding],
        take_terminal: bool,
        wiring: Option<Wiring>,
    ) -> io::Result<Group> {
        let (messages, channel) = pipe2(OFlag::O_CLOEXEC)?;
        let supervisor = getpid();
        let invocation = Invocation {
            supervisor,
            channel: channel.as_raw_fd(),
            take_terminal,
        };
        let channel_fd = channel.as_raw_fd();
        let mut child = Command::new("/proc/self/exe");
        child
            .arg0("envguard")
            .arg("exec")
            .arg("--")
            .args(command)
            .envs(
                bindings
                    .iter()
                    .map(|binding| (&binding.name, &binding.value)),
            )
            .env(keeper::MARKER, invocation.to_marker());
        let mut new_session = false;
        if let Some(wiring) = wiring {
            if let Some(stdin) = wiring.stdin {
                child.stdin(stdin);
            }
            child.stdout(wiring.stdout).stderr(wiring.stderr);
            new_session = wiring.controlling_terminal;
        }
        // A session leader leads its own group; setsid() refuses a process that already does.
        if !new_session {
            child.process_group(0);
        }
        // SAFETY: the closure runs between fork and exec and makes only async-signal-safe
        // system calls (prctl, getppid, sigprocmask, fcntl, setsid, ioctl); it allocates
        // nothing.
        unsafe {
            child.pre_exec(move || {
                let mut gone = SigSet::empty();
                gone.add(keeper::SUPERVISOR_GONE);
                sigprocmask(SigmaskHow::SIG_BLOCK, Some(&gone), None)?;
                prctl::set_pdeathsig(keeper::SUPERVISOR_GONE)?;
                if getppid() != supervisor {
                    // envguard died before the parent-death signal was armed.
                    return Err(io::Error::from(io::ErrorKind::Interrupted));
                }
                // The keeper reports on this pipe: keep it open across exec.
                if nix::libc::fcntl(channel_fd, nix::libc::F_SETFD, 0) == -1 {
                    return Err(io::Error::last_os_error());
                }
                if new_session {
                    nix::unistd::setsid()?;
                    // fd 1 is the pseudo-terminal: the previous keeper's session, which held
                    // it, ended before this one starts.
                    if nix::libc::ioctl(1, nix::libc::TIOCSCTTY as _, 0) == -1 {
                        return Err(io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let keeper = Pid::from_raw(child.spawn()?.id() as i32);
        drop::<OwnedFd>(channel);
        let mut messages = File::from(messages);
        let mut first = [0; MESSAGE_LEN];
        let started = messages
            .read_exact(&mut first)
            .map(|()| Message::decode(first));
        let leader = match started {
            Ok(Some(Message::Started(leader))) => leader,
            Ok(Some(Message::CannotStart(errno))) => {
                let _ = waitpid(keeper, None);
                return Err(io::Error::from_raw_os_error(errno));
            }
            _ => {
                let _ = waitpid(keeper, None);
                return Err(io::Error::other(
                    "envguard's keeper process ended before starting it",
                ));
            }
        };
        fcntl(&messages, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))?;
        Ok(Group {
            keeper,
            leader,
            messages,
            status: None,
            keeper_ended: false,
        })
    }

    pub fn id(&self) -> Pid {
        self.leader
    }

    pub fn status(&self) -> Option<u8> {
        self.status
    }

    /// Sends `signal` to the program's group and to every other process below envguard but
    /// the keeper, each once. Processes already gone are not an error: they have done what
    /// the signal asked. SIGCONT and SIGKILL also continue the keeper, which is stopped while
    /// the program is and must run to reap it.
    pub fn signal(&self, signal: Signal) {
        self.deliver(signal);
    }

    /// [`Self::signal`], remembering whom it reached, for [`Self::deliver_to_missed`].
    pub fn deliver(&self, signal: Signal) -> Delivery {
        let mut delivery = Delivery {
            signal,
            reached: BTreeSet::new(),
        };
        // The group's number cannot be reused while the leader is unreaped; once it is
        // reaped, the scan below reaches the members left.
        let group_alive = self.status.is_none();
        if group_alive {
            let _ = killpg(self.leader, signal);
        }
        for process in tree::descendants(getpid()) {
            if process.pid == self.keeper {
                continue;
            }
            delivery.reached.insert(process.pid);
            if !(group_alive && process.group == self.leader) {
                let _ = kill(process.pid, signal);
            }
        }
        if matches!(signal, Signal::SIGCONT | Signal::SIGKILL) && !self.keeper_ended {
            let _ = kill(self.keeper, Signal::SIGCONT);
        }
        delivery
    }

    /// Sends the delivery's signal to the processes below envguard it has not reached yet.
    /// One scan of the process table can miss a process: one whose parent exits while the
    /// table is read is seen under the old parent, and once that parent is gone from the
    /// table, under nobody (pids wrap, so the parent may come later in the listing), and a
    /// process may have been started after the scan. Each is reached once, so a program
    /// that handles the signal gets it once, not at every look.
    pub fn deliver_to_missed(&self, delivery: &mut Delivery) {
        for process in tree::descendants(getpid()) {
            if process.pid != self.keeper && delivery.reached.insert(process.pid) {
                let _ = kill(process.pid, delivery.signal);
            }
        }
    }

    /// Sends `signal` to the program's group alone, as the terminal sends Ctrl-Z to its
    /// foreground group.
    pub fn signal_group(&self, signal: Signal) {
        if self.status.is_none() {
            let _ = killpg(self.leader, signal);
        }
    }

    /// Reaps every child that has ended (the keeper, and processes orphaned onto envguard
    /// if the keeper was killed), without blocking; reports on the program.
    pub fn reap(&mut self) -> Leader {
        let mut stopped = false;
        self.read_messages();
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG | WaitPidFlag::WUNTRACED)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == self.keeper => {
                    self.keeper_ended = true;
                    self.read_messages();
                    self.status.get_or_insert(code as u8);
                }
                Ok(WaitStatus::Signaled(pid, signal, _)) if pid == self.keeper => {
                    self.keeper_ended = true;
                    self.read_messages();
                    self.status.get_or_insert(128 + signal as i32 as u8);
                }
                Ok(WaitStatus::Stopped(pid, _)) if pid == self.keeper => stopped = true,
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => {}
            }
        }
        if stopped {
            Leader::Stopped
        } else if self.status.is_some() {
            Leader::Exited
        } else {
            Leader::Running
        }
    }

    fn read_messages(&mut self) {
        let mut message = [0; MESSAGE_LEN];
        // Messages are written whole, so a read returns whole ones; EAGAIN ends the loop.
        while self.messages.read_exact(&mut message).is_ok() {
            if let Some(Message::Ended(status)) = Message::decode(message) {
                self.status = Some(status);
            }
        }
    }

    /// True once the keeper has exited, which it does when nothing is left below it, and no
    /// orphan is left on envguard either.
    pub fn is_empty(&mut self) -> bool {
        self.reap();
        self.keeper_ended && waitpid(None, Some(WaitPidFlag::WNOHANG)) == Err(Errno::ECHILD)
    }
}
