//! One provider CLI run to its output, stopped at a deadline.
//!
//! Started directly (no shell), in a process group of its own so that a wrapper script's real
//! program dies with it, with standard input either closed or a template envguard wrote (never
//! a value: only references go in), and both outputs read to a bound so a CLI cannot exhaust
//! memory. What it printed stays here: callers get its standard output to parse and, when it
//! failed, words safe to show.

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
    CouldNotStart(String),
    /// It exited unsuccessfully; its standard error, kept to be matched, never shown whole.
    Exited(Vec<u8>),
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
            Failed::CouldNotStart(e) => {
                Failure::Refused(format!("`{program}` could not start: {e}"))
            }
            Failed::Exited(stderr) => {
                Failure::Refused(format!("`{program}` failed: {}", first_line(&stderr)))
            }
            Failed::TooLarge => Failure::Refused("the secret is too large".to_owned()),
        }
    }
}

/// Runs `program` with `args` (and `stdin` fed to it, if any) to its standard output, killing
/// its whole process group at `deadline`.
pub fn run(
    program: &str,
    args: &[String],
    stdin: Option<&[u8]>,
    deadline: Instant,
) -> Result<Vec<u8>, Failed> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| match e.kind() {
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
    let status = wait_until(&mut child, deadline);
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let Some(status) = status else {
        return Err(Failed::TimedOut);
    };
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

/// The child's exit status, or `None` (the child killed) when `deadline` passed first.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            _ => {
                // The whole group: a CLI is often a wrapper script whose real program would
                // otherwise keep the pipes open.
                if let Ok(pid) = i32::try_from(child.id()) {
                    let _ = nix::sys::signal::killpg(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
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
