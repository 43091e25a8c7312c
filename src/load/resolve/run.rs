//! One provider CLI run to its output, stopped at a deadline.
//!
//! Started directly (no shell), with standard input either closed or a template envguard
//! wrote (never a value: only references go in), its output read to a bound so a CLI cannot
//! exhaust memory. Normally it runs without the terminal: in a process group of its own (so a
//! wrapper script's real program dies with it), its error output captured, so what it printed
//! stays here and callers get words safe to show. A CLI that tries to read the terminal from
//! there is stopped by the kernel (SIGTTIN); that is noticed at once rather than at the
//! deadline. Given the terminal ([`Terminal::Shared`], for `exec` typed at a prompt), it runs
//! in envguard's own foreground group with the user's standard input and error, so it can ask
//! for a login as it would if the user had typed it.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::display::escape_text_for_display;

/// The most a CLI may print; the size rules that follow a load are stricter, this only
/// bounds memory while reading (a batch of 20 AWS secrets of 64 KiB each fits).
pub const MAX_OUTPUT: u64 = 4 << 20;

/// Why a run gave no output to use.
pub enum Failed {
    NotInstalled,
    TimedOut,
    /// It was stopped for reading (or writing to) the terminal it was not given.
    WantsTerminal,
    CouldNotStart(String),
    /// It exited unsuccessfully; its standard error, kept to be matched, never shown whole.
    Exited(Vec<u8>),
    /// It exited unsuccessfully, having said why on the user's terminal.
    ExitedOnTerminal,
    TooLarge,
}

impl Failed {
    /// Whether the CLI's error output contains `words` (how a batch learns the installed CLI
    /// lacks the batch command).
    pub fn said(&self, words: &str) -> bool {
        matches!(self, Failed::Exited(stderr) if String::from_utf8_lossy(stderr).contains(words))
    }
}

/// Why one reference got no value, in words safe to show (never the CLI's output beyond its
/// first error line).
#[derive(Clone)]
pub enum Failure {
    NotInstalled,
    TimedOut,
    Refused(String),
}

impl Failure {
    pub fn of(program: &str, failed: Failed) -> Failure {
        match failed {
            Failed::NotInstalled => Failure::NotInstalled,
            Failed::TimedOut => Failure::TimedOut,
            Failed::WantsTerminal => Failure::Refused(format!(
                "`{program}` wants to ask something on the terminal, which it cannot have here"
            )),
            Failed::CouldNotStart(e) => {
                Failure::Refused(format!("`{program}` could not start: {e}"))
            }
            Failed::ExitedOnTerminal => {
                Failure::Refused(format!("`{program}` failed (its own messages are above)"))
            }
            Failed::Exited(stderr) => {
                Failure::Refused(format!("`{program}` failed: {}", first_line(&stderr)))
            }
            Failed::TooLarge => Failure::Refused("the secret is too large".to_owned()),
        }
    }
}

/// Whether a CLI runs with the user's terminal.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Terminal {
    Withheld,
    Shared,
}

/// Runs `program` with `args` (and `stdin` fed to it, if any) to its standard output, killing
/// it (its whole process group, when it has its own) at `deadline`.
pub fn run(
    program: &str,
    args: &[String],
    stdin: Option<&[u8]>,
    deadline: Instant,
    terminal: Terminal,
) -> Result<Vec<u8>, Failed> {
    let mut command = Command::new(program);
    command.args(args).stdout(Stdio::piped());
    match terminal {
        Terminal::Withheld => {
            let input = match stdin {
                Some(_) => Stdio::piped(),
                None => Stdio::null(),
            };
            command.stdin(input).stderr(Stdio::piped()).process_group(0);
        }
        Terminal::Shared => {
            command.stdin(Stdio::inherit()).stderr(Stdio::inherit());
        }
    }
    let mut child = command.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Failed::NotInstalled,
        _ => Failed::CouldNotStart(e.to_string()),
    })?;
    let stdout = reader(child.stdout.take());
    let stderr = reader(child.stderr.take());
    let writer = child.stdin.take().zip(stdin).map(|(mut pipe, input)| {
        let input = input.to_vec();
        // A CLI that exits without reading closes the pipe: the write error is its answer.
        thread::spawn(move || {
            let _ = pipe.write_all(&input);
        })
    });
    let status = wait_until(&mut child, deadline, terminal);
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    if terminal == Terminal::Shared && !matches!(status, Ended::Exited(_)) {
        // Killed alone (it shares envguard's group): a program it started may still hold
        // the pipe, so its reader is left behind rather than waited for.
        return Err(Failed::TimedOut);
    }
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let status = match status {
        Ended::Exited(status) => status,
        Ended::Killed => return Err(Failed::TimedOut),
        Ended::Stopped => return Err(Failed::WantsTerminal),
    };
    if !status.success() && terminal == Terminal::Shared {
        return Err(Failed::ExitedOnTerminal);
    }
    if !status.success() {
        return Err(Failed::Exited(stderr));
    }
    if stdout.len() as u64 > MAX_OUTPUT {
        return Err(Failed::TooLarge);
    }
    Ok(stdout)
}

fn reader(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(pipe) = pipe {
            let _ = pipe.take(MAX_OUTPUT + 1).read_to_end(&mut bytes);
        }
        bytes
    })
}

enum Ended {
    Exited(ExitStatus),
    /// Killed at the deadline.
    Killed,
    /// Killed because the kernel stopped it for using the terminal it was not given.
    Stopped,
}

/// How the child ended, killing it when `deadline` passes or when it is stopped for the
/// terminal (which, withheld, it would wait for until the deadline).
fn wait_until(child: &mut Child, deadline: Instant, terminal: Terminal) -> Ended {
    use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
    let pid = i32::try_from(child.id())
        .map(nix::unistd::Pid::from_raw)
        .ok();
    let ended = loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ended::Exited(status),
            Ok(None) if Instant::now() < deadline => {}
            _ => break Ended::Killed,
        }
        // WNOWAIT: only looked at, so that `try_wait` still reaps it when it exits.
        let stopped = pid.is_some_and(|pid| {
            let flags = WaitPidFlag::WSTOPPED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
            matches!(waitid(Id::Pid(pid), flags), Ok(WaitStatus::Stopped(..)))
        });
        if stopped && terminal == Terminal::Withheld {
            break Ended::Stopped;
        }
        thread::sleep(Duration::from_millis(10));
    };
    // The whole group when it has its own: a CLI is often a wrapper script whose real
    // program would otherwise keep the pipes open. Never envguard's own group.
    if let Some(pid) = pid.filter(|_| terminal == Terminal::Withheld) {
        let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
    ended
}

/// The CLI's own first error line, escaped and bounded.
pub fn first_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no error message");
    let line: String = line.chars().take(300).collect();
    escape_text_for_display(&line)
}
