//! One run of the program: a child leading its own process group.
//!
//! A restart must stop everything the program started (a shell script's server, `npm`'s
//! node), so the program gets its own process group and every signal goes to the group.
//! The group's number is the leader's pid, which the kernel does not reuse while any member,
//! zombie or not, remains; envguard is also made a child subreaper, so members orphaned by the
//! leader's exit are reparented to it and reaped here, which makes "the group is empty" a
//! reliable test (`kill(-pgid, 0)` failing with ESRCH). If envguard is killed outright, the
//! leader gets SIGKILL from the kernel (parent-death signal) instead of living on unwatched.

use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::errno::Errno;
use nix::sys::prctl;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, killpg, sigprocmask};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Pid, getpid, getppid};

use super::terminal;
use crate::dotenv::Binding;

/// Lets orphaned members of the program's group be reaped by envguard (see the module docs).
/// Without it (an old kernel), they are reaped by init instead, which only delays the test.
pub fn become_subreaper() {
    let _ = prctl::set_child_subreaper(true);
}

pub struct Group {
    leader: Pid,
    /// The leader's exit, as a shell reports it: the exit code, or 128 + the signal.
    status: Option<u8>,
}

/// What reaping found out about the leader.
#[derive(PartialEq, Eq)]
pub enum Leader {
    Running,
    /// Stopped by a signal (Ctrl-Z in the terminal, or a read from it in the background).
    Stopped,
    Exited,
}

impl Group {
    /// Starts `command` with `bindings` over envguard's environment, in a new process group
    /// that takes the terminal's foreground when `take_terminal`.
    pub fn spawn(
        command: &[OsString],
        bindings: &[Binding],
        take_terminal: bool,
    ) -> io::Result<Group> {
        let (program, arguments) = command.split_first().expect("clap requires a command");
        let supervisor = getpid();
        let mut child = Command::new(program);
        child
            .args(arguments)
            .envs(
                bindings
                    .iter()
                    .map(|binding| (&binding.name, &binding.value)),
            )
            .process_group(0);
        // SAFETY: the closure runs between fork and exec and makes only async-signal-safe
        // system calls (prctl, getppid, sigprocmask, tcsetpgrp); it allocates nothing.
        unsafe {
            child.pre_exec(move || {
                prctl::set_pdeathsig(Signal::SIGKILL)?;
                if getppid() != supervisor {
                    // envguard died before the parent-death signal was armed.
                    return Err(io::Error::from(io::ErrorKind::Interrupted));
                }
                if take_terminal {
                    terminal::claim_in_child()?;
                }
                // The program must not inherit the signals envguard blocks for itself.
                sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)?;
                Ok(())
            });
        }
        let leader = Pid::from_raw(child.spawn()?.id() as i32);
        Ok(Group {
            leader,
            status: None,
        })
    }

    pub fn id(&self) -> Pid {
        self.leader
    }

    pub fn status(&self) -> Option<u8> {
        self.status
    }

    /// Sends `signal` to every process of the group. A group that is already empty is not
    /// an error: it has done what the signal asked.
    pub fn signal(&self, signal: Signal) {
        let _ = killpg(self.leader, signal);
    }

    /// Reaps every child that has ended (the leader, and members of its group orphaned onto
    /// envguard), without blocking; reports on the leader.
    pub fn reap(&mut self) -> Leader {
        let mut leader = if self.status.is_some() {
            Leader::Exited
        } else {
            Leader::Running
        };
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG | WaitPidFlag::WUNTRACED)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == self.leader => {
                    self.status = Some(code as u8);
                    leader = Leader::Exited;
                }
                Ok(WaitStatus::Signaled(pid, signal, _)) if pid == self.leader => {
                    self.status = Some(128 + signal as i32 as u8);
                    leader = Leader::Exited;
                }
                Ok(WaitStatus::Stopped(pid, _)) if pid == self.leader => leader = Leader::Stopped,
                Ok(WaitStatus::StillAlive) | Err(_) => return leader,
                Ok(_) => {}
            }
        }
    }

    /// True once the leader is reaped and no process is left in the group.
    pub fn is_empty(&mut self) -> bool {
        self.reap() == Leader::Exited && killpg(self.leader, None) == Err(Errno::ESRCH)
    }
}
