//! Signals as events on the supervisor's channel instead of asynchronous handlers.
//!
//! The signals the supervisor acts on are blocked in every thread and collected by one
//! thread blocked in `sigwait`, which turns each into an [`Event::Signal`]. The main loop then
//! handles a signal like any other event, in order, with no handler code running at an
//! arbitrary point and no self-pipe. Two conditions make this work: the mask is set before any
//! other thread exists (threads inherit it, and a signal is delivered to any thread that does
//! not block it), and each child empties its mask before exec (it inherits envguard's, and the
//! standard library does not reset it; checked in `/proc/PID/status`), so the program gets
//! the default signal behaviour.
//!
//! Job control is reported too: SIGTSTP (a Ctrl-Z that reached envguard instead of the
//! program) is passed on to the program rather than stopping envguard alone, and SIGCONT
//! (the shell's `fg` or `bg`) tells envguard to hand the terminal back to the program and
//! continue it. Blocking SIGCONT does not keep it from continuing the process; it only makes
//! it an event as well.

use std::sync::mpsc::Sender;
use std::thread;

use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, raise, signal};
use nix::unistd::getpgrp;

use super::{Event, tree};
use crate::error::{Error, Result};

/// Signals sent to envguard that are meant for the program.
pub const FORWARDED: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

/// Blocks the supervisor's signals in the calling thread and starts the thread that reports
/// them, window size changes too when `resizes` (a masked program's pseudo-terminal follows
/// the user's). Must run before any other thread is started.
pub fn start(events: Sender<Event>, resizes: bool) -> Result<()> {
    let mut reported = SigSet::empty();
    if resizes {
        reported.add(Signal::SIGWINCH);
    }
    for forwarded in FORWARDED {
        reported.add(forwarded);
    }
    reported.add(Signal::SIGCHLD);
    reported.add(Signal::SIGTSTP);
    reported.add(Signal::SIGCONT);
    // SIGTTOU is blocked, not reported: it lets envguard hand the terminal to each new child
    // (`tcsetpgrp`) while the previous child's group is in the foreground.
    let mut blocked = reported;
    blocked.add(Signal::SIGTTOU);
    blocked
        .thread_block()
        .map_err(|e| Error::Failed(format!("cannot block signals: {e}")))?;
    // A SIGCHLD inherited as ignored would make the kernel reap children by itself, and their
    // exit status (which envguard exits with) would be lost.
    // SAFETY: installs the default disposition, no handler code.
    unsafe { signal(Signal::SIGCHLD, SigHandler::SigDfl) }
        .map_err(|e| Error::Failed(format!("cannot reset SIGCHLD: {e}")))?;
    thread::Builder::new()
        .name("envguard-signals".into())
        .spawn(move || {
            loop {
                if let Ok(received) = reported.wait()
                    && events.send(Event::Signal(received)).is_err()
                {
                    return;
                }
            }
        })
        .map_err(|e| Error::Failed(format!("cannot start the signal thread: {e}")))?;
    Ok(())
}

/// Stops envguard as a Ctrl-Z would, so that the shell reports its job stopped: SIGTSTP,
/// unblocked for this thread alone while it is raised here. Returns once continued.
///
/// In an orphaned process group (envguard started by a CI runner, a container or `setsid`)
/// the kernel discards a SIGTSTP, and envguard would keep running with its program stopped
/// below it, which whoever stopped it cannot see; SIGSTOP is never discarded.
pub fn stop_self() {
    if tree::group_is_orphaned(getpgrp()) {
        let _ = raise(Signal::SIGSTOP);
        return;
    }
    let mut tstp = SigSet::empty();
    tstp.add(Signal::SIGTSTP);
    let _ = tstp.thread_unblock();
    // Sent to this thread, which alone does not block it: its default action stops the
    // whole process, here, until the shell continues it.
    let _ = raise(Signal::SIGTSTP);
    let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&tstp), None);
}
