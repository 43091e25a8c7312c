//! The loader's resolution stage: bindings in, bindings with every reference replaced by the
//! secret it points to.
//!
//! What plugs in here is issue 15: a value `SCHEME://…` (`op://`, `aws-sm://`, `vault://`, …)
//! names a secret kept in a secret manager, fetched through that provider's own CLI. It is a
//! stage of its own, after decryption and before the name and size rules, because:
//!
//! - a reference may sit in a team file, where it is a plaintext value among ciphertexts, so it
//!   can only be recognised once values are decrypted;
//! - it sees all the bindings of a load at once, which is what lets the references be fetched
//!   concurrently (N references cost about one round trip) and all or nothing: one failed
//!   fetch refuses the load, naming the variable, its line and the reference, never a value;
//! - the rules that follow must judge the fetched values, which are what would be loaded;
//! - it runs after the guard and the parser and only when a file is loaded, so the hook's
//!   no-change prompt never starts a CLI; trust, decided on the bytes as read, covers the
//!   references, never what a provider returned.
//!
//! The trust gate runs before this stage ([`crate::load::loader`]): trust is decided on the bytes
//! as read, so an unallowed file never starts a provider CLI, and a refused name is still
//! reported before "not allowed yet" because the name rules also run before the gate.
//!
//! Each reference is one child process, started directly (no shell) with the reference as one
//! argument ([`providers`]), up to [`MAX_CONCURRENT`] at once on threads, each killed at its
//! deadline (`ENVGUARD_RESOLVE_TIMEOUT` seconds, default 30) so a hung CLI or an unreachable
//! service refuses the load instead of hanging the shell. Values live only in the returned bindings:
//! nothing here writes them anywhere.

mod providers;

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::display::escape_text_for_display;
use crate::error::{Refusal, RefusalKind};
use crate::load::dotenv::Binding;
use providers::{Fetch, fetch_for, value_of};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How many CLIs run at once: enough for a file's references to cost one round trip, bounded
/// so that a file of thousands of references cannot exhaust processes or memory.
const MAX_CONCURRENT: usize = 32;

/// The most a CLI may print for one value; the size rules that follow are stricter, this only
/// bounds memory while reading.
const MAX_OUTPUT: u64 = 4 << 20;

/// The bindings of the file at `path` with every reference resolved, or the refusal for the
/// first one (in file order) that could not be.
pub fn resolve(path: &Path, mut bindings: Vec<Binding>) -> Result<Vec<Binding>, Refusal> {
    let mut fetches = Vec::new();
    for (index, binding) in bindings.iter().enumerate() {
        match fetch_for(&binding.value) {
            None => {}
            Some(Ok(fetch)) => fetches.push((index, fetch)),
            Some(Err(problem)) => {
                return Err(refusal(
                    path,
                    binding,
                    problem,
                    "fix the reference in the file",
                ));
            }
        }
    }
    if fetches.is_empty() {
        return Ok(bindings);
    }
    let mut values = Vec::with_capacity(fetches.len());
    for (index, fetch, outcome) in fetch_all(&fetches) {
        match outcome {
            Ok(value) => values.push((index, value)),
            Err(failure) => {
                let (problem, fix) = failure.explain(fetch);
                return Err(refusal(path, &bindings[index], problem, fix));
            }
        }
    }
    for (index, value) in values {
        bindings[index].value = value;
    }
    Ok(bindings)
}

/// How `list` shows a value that is a reference: the reference itself (it holds no secret) and
/// the provider, never a fetched value (`list` fetches nothing).
pub fn list_hint(value: &str) -> Option<String> {
    let fetch = fetch_for(value)?.ok()?;
    Some(format!(
        "{} → **** (fetched with `{}` on load)",
        escape_text_for_display(value),
        fetch.program
    ))
}

/// One line of `check` about a reference.
pub enum Finding {
    Ready(String),
    /// What is wrong, and its fix.
    Warning(String, String),
    /// A fetch that failed: the load would be refused with exactly this.
    Refused(Refusal),
}

/// What `check` says about each reference of the file at `path`: its provider CLI and whether
/// it is installed, or with `fetch` (`check --resolve`) whether each reference resolves, fetched
/// as a load would fetch them (concurrently, each with its timeout). A fetched value is dropped
/// as soon as it is known to exist: only the outcome is reported.
pub fn survey(path: &Path, bindings: &[Binding], fetch: bool) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut fetches = Vec::new();
    for (index, binding) in bindings.iter().enumerate() {
        let Some(parsed) = fetch_for(&binding.value) else {
            continue;
        };
        let reference = escape_text_for_display(&binding.value);
        let name = &binding.name;
        let finding = match parsed {
            Err(problem) => Finding::Warning(
                format!("{name}: reference `{reference}` {problem}"),
                "fix the reference in the file".to_owned(),
            ),
            Ok(parsed) if fetch => {
                fetches.push((index, parsed));
                continue;
            }
            Ok(parsed) if installed(parsed.program) => Finding::Ready(format!(
                "{name}: reference `{reference}`, fetched with `{}` (installed)",
                parsed.program
            )),
            Ok(parsed) => Finding::Warning(
                format!(
                    "{name}: reference `{reference}` needs `{}`, which is not installed",
                    parsed.program
                ),
                parsed.install.to_owned(),
            ),
        };
        findings.push((index, finding));
    }
    for (index, parsed, outcome) in fetch_all(&fetches) {
        let binding = &bindings[index];
        let finding = match outcome {
            Ok(_value) => Finding::Ready(format!(
                "{}: reference `{}` resolves (fetched with `{}`)",
                binding.name,
                escape_text_for_display(&binding.value),
                parsed.program
            )),
            Err(failure) => {
                let (problem, fix) = failure.explain(parsed);
                Finding::Refused(refusal(path, binding, problem, fix))
            }
        };
        findings.push((index, finding));
    }
    findings.sort_by_key(|(index, _)| *index);
    findings.into_iter().map(|(_, finding)| finding).collect()
}

/// Runs every fetch, up to [`MAX_CONCURRENT`] at once, each batch under one deadline; the
/// outcomes come back in the order of `fetches`.
fn fetch_all(fetches: &[(usize, Fetch)]) -> Vec<(usize, &Fetch, Result<String, Failure>)> {
    let mut results = Vec::with_capacity(fetches.len());
    for batch in fetches.chunks(MAX_CONCURRENT) {
        let deadline = Instant::now() + timeout();
        thread::scope(|scope| {
            let running: Vec<_> = batch
                .iter()
                .map(|(index, fetch)| (*index, fetch, scope.spawn(move || run(fetch, deadline))))
                .collect();
            for (index, fetch, handle) in running {
                let outcome = handle
                    .join()
                    .unwrap_or_else(|_| Err(Failure::Refused("the fetch failed".to_owned())));
                results.push((index, fetch, outcome));
            }
        });
    }
    results
}

/// Whether `program` is an executable file in a `PATH` directory, as spawning would find it.
fn installed(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(program))
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
    })
}

/// Why one fetch gave no value, in words safe to show (never the CLI's output).
enum Failure {
    NotInstalled,
    TimedOut,
    Refused(String),
}

impl Failure {
    /// The problem in words, and its fix.
    fn explain(self, fetch: &Fetch) -> (String, &'static str) {
        match self {
            Failure::NotInstalled => (
                format!("`{}` is not installed", fetch.program),
                fetch.install,
            ),
            Failure::TimedOut => (
                format!("`{}` did not answer in time", fetch.program),
                "check that the service is reachable, or raise ENVGUARD_RESOLVE_TIMEOUT (seconds)",
            ),
            Failure::Refused(problem) => (problem, fetch.sign_in),
        }
    }
}

fn refusal(path: &Path, binding: &Binding, problem: String, fix: &str) -> Refusal {
    let reason = format!(
        "{} = `{}` could not be resolved: {problem}",
        binding.name,
        escape_text_for_display(&binding.value)
    );
    Refusal::new(path, RefusalKind::Reference, reason, fix).at_line(binding.line)
}

fn timeout() -> Duration {
    std::env::var("ENVGUARD_RESOLVE_TIMEOUT")
        .ok()
        .and_then(|seconds| seconds.trim().parse::<f64>().ok())
        .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
        .map_or(DEFAULT_TIMEOUT, |seconds| {
            Duration::from_secs_f64(seconds.min(86_400.0))
        })
}

/// Runs one fetch to its value, killing the CLI at `deadline`.
fn run(fetch: &Fetch, deadline: Instant) -> Result<String, Failure> {
    let mut child = Command::new(fetch.program)
        .args(&fetch.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Failure::NotInstalled,
            _ => Failure::Refused(format!("`{}` could not start: {e}", fetch.program)),
        })?;
    let stdout = reader(child.stdout.take());
    let stderr = reader(child.stderr.take());
    let status = wait_until(&mut child, deadline);
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let Some(status) = status else {
        return Err(Failure::TimedOut);
    };
    if !status.success() {
        return Err(Failure::Refused(format!(
            "`{}` failed: {}",
            fetch.program,
            first_line(&stderr)
        )));
    }
    if stdout.len() as u64 > MAX_OUTPUT {
        return Err(Failure::Refused("the secret is too large".to_owned()));
    }
    value_of(&fetch.output, stdout).map_err(Failure::Refused)
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
fn wait_until(child: &mut Child, deadline: Instant) -> Option<std::process::ExitStatus> {
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
fn first_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no error message");
    let line: String = line.chars().take(300).collect();
    escape_text_for_display(&line)
}
