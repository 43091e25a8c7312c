//! Who owns the terminal: the program, as if the shell had started it.
//!
//! The program runs in its own process group (so a restart can stop everything it started),
//! and a terminal sends Ctrl-C, Ctrl-\ and Ctrl-Z only to its foreground group, and stops a
//! background group that reads from it. So when envguard itself is the foreground job, each
//! new program's group is made the foreground group: Ctrl-C reaches the program and its
//! children exactly as without envguard, a dev server can read keys from the terminal, and
//! envguard learns of the end through the program's exit. envguard never reads the
//! terminal; it takes it back when the program is suspended (Ctrl-Z) and when it exits,
//! hands it back when the shell gives it to envguard again (`fg`), and leaves it alone when
//! it was started in the background.

use std::cell::Cell;
use std::io;
use std::os::fd::BorrowedFd;

use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use nix::unistd::{Pid, getpgrp, tcgetpgrp, tcsetpgrp};

/// The terminal on stdin, while envguard is (or was started as) its foreground job.
pub struct Terminal {
    own_group: Pid,
    /// The program group the terminal was last handed to.
    handed_to: Cell<Option<Pid>>,
}

impl Terminal {
    /// The terminal on stdin, if envguard is in its foreground group now.
    pub fn if_foreground() -> Option<Terminal> {
        let own_group = getpgrp();
        (tcgetpgrp(io::stdin()) == Ok(own_group)).then_some(Terminal {
            own_group,
            handed_to: Cell::new(None),
        })
    }

    /// Records that a new child's group made itself the foreground group ([`claim_in_child`]).
    pub fn claimed_by(&self, group: Pid) {
        self.handed_to.set(Some(group));
    }

    /// Whether the shell has given the terminal back to envguard (after `fg`, not `bg`).
    pub fn is_ours(&self) -> bool {
        tcgetpgrp(io::stdin()) == Ok(self.own_group)
    }

    /// Whether the program envguard last handed the terminal to has it now.
    pub fn is_programs(&self) -> bool {
        self.handed_to
            .get()
            .is_some_and(|group| tcgetpgrp(io::stdin()) == Ok(group))
    }

    /// Whether a new program may take the terminal: it is envguard's, or still the previous
    /// program's (a restart), not the shell's.
    pub fn may_hand_over(&self) -> bool {
        let foreground = tcgetpgrp(io::stdin()).ok();
        foreground == Some(self.own_group)
            || (foreground.is_some() && foreground == self.handed_to.get())
    }

    /// Makes `group` the foreground group. Works from the background because envguard
    /// blocks SIGTTOU.
    pub fn give_to(&self, group: Pid) {
        // Failing only means the terminal went away; there is nothing left to hand over.
        let _ = tcsetpgrp(io::stdin(), group);
        self.handed_to.set(Some(group));
    }

    /// Takes the terminal back from the program, never from the shell: after a suspended
    /// envguard is continued with `bg`, the shell owns it.
    pub fn take_back(&self) {
        if self
            .handed_to
            .get()
            .is_some_and(|group| tcgetpgrp(io::stdin()) == Ok(group))
        {
            let _ = tcsetpgrp(io::stdin(), self.own_group);
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        self.take_back();
    }
}

/// In a new child, before exec: makes the child's own group the terminal's foreground
/// group. Done by the child itself (as shells do) so that the program cannot read the
/// terminal before it owns it. Only async-signal-safe system calls.
pub fn claim_in_child() -> io::Result<()> {
    let mut ttou = SigSet::empty();
    ttou.add(Signal::SIGTTOU);
    let mut previous = SigSet::empty();
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&ttou), Some(&mut previous))?;
    // SAFETY: fd 0 is the terminal envguard checked before spawning; the child inherits it
    // and it stays open for this call.
    let stdin = unsafe { BorrowedFd::borrow_raw(0) };
    let claimed = tcsetpgrp(stdin, getpgrp());
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&previous), None)?;
    Ok(claimed?)
}
