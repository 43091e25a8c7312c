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
//! References are fetched by the provider's own CLI, started directly (no shell), each part
//! of a reference one argument ([`providers`]); several references of one provider share one
//! process where its CLI can serve them together ([`batch`]: one
//! `batch-get-secret-value` per region, one `op inject`), because a CLI's start-up, not the
//! network, is most of the cost. Up to [`MAX_CONCURRENT`] processes run at once on threads,
//! each killed at its deadline (`ENVGUARD_RESOLVE_TIMEOUT` seconds, default 30) so a hung CLI
//! or an unreachable service refuses the load instead of hanging the shell ([`run`]). A user
//! may add schemes of their own in a config file only they can write ([`config`]); a value
//! `literal:SCHEME://…` is the text after the prefix, never fetched. Values live only in the
//! returned bindings: nothing here writes them anywhere.
//!
//! A reference is decided on the value as written. A value that `${...}` substitution made
//! ([`Binding::substituted`]) and that is a reference is refused as malformed, by the load,
//! `list`, `check` and `status` alike ([`reference`]): `aws-sm://${TOKEN}` would put another
//! variable's value, a secret perhaps, into the reference, and from there into the provider's
//! argv (readable by every local user), `list` and `check` lines and refusals. Its refusal
//! names the variable and its line, never the substituted text.

mod batch;
mod config;
mod providers;
mod run;

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use crate::display::escape_text_for_display;
use crate::error::{Refusal, RefusalKind};
use crate::load::dotenv::Binding;
use providers::{Fetch, Malformed, fetch_for, literal};
use run::{Failure, Terminal};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How many CLIs run at once: enough for a file's references to cost one round trip, bounded
/// so that a file of thousands of references cannot exhaust processes or memory.
const MAX_CONCURRENT: usize = 32;

/// What [`resolve`] does with the well-formed references it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Fetches them: every load that puts variables somewhere.
    Fetch,
    /// Leaves them as written: for `status`, which reports whether the hook would load a
    /// project without starting a provider CLI (a login prompt, a network round trip) every
    /// time it is typed. Such bindings must go nowhere but into that report.
    CheckOnly,
}

/// Whether `binding` is a reference (well formed or not): what `status` counts as not fetched.
pub fn is_reference(binding: &Binding) -> bool {
    reference(binding).is_some()
}

/// Why a value that is a reference cannot be fetched.
enum Unusable {
    Malformed(Malformed),
    /// `${...}` substitution made it ([`Binding::substituted`]).
    Substituted,
}

/// What `binding` is as a reference: `None` when it is none, else its fetch or why it cannot
/// be fetched. Every caller here asks this, not [`fetch_for`], so that a reference built by
/// `${...}` substitution is refused wherever references are looked at, before its text (which
/// holds what was substituted) reaches an argv or a message.
fn reference(binding: &Binding) -> Option<Result<Fetch, Unusable>> {
    let parsed = fetch_for(&binding.value)?;
    if binding.substituted {
        return Some(Err(Unusable::Substituted));
    }
    Some(parsed.map_err(Unusable::Malformed))
}

/// The bindings of the file at `path` with every reference resolved and every `literal:`
/// escape removed, or the refusal for the first reference (in file order) that could not be.
pub fn resolve(
    path: &Path,
    mut bindings: Vec<Binding>,
    mode: Mode,
) -> Result<Vec<Binding>, Refusal> {
    let mut fetches = Vec::new();
    for (index, binding) in bindings.iter_mut().enumerate() {
        if let Some(text) = literal(&binding.value) {
            // Left as written when checking, so that a report does not count it as a reference.
            if mode == Mode::Fetch {
                binding.value = text.to_owned();
            }
            continue;
        }
        match reference(binding) {
            None => {}
            Some(Ok(fetch)) => fetches.push((index, fetch)),
            Some(Err(unusable)) => return Err(unusable_refusal(path, binding, unusable)),
        }
    }
    if fetches.is_empty() || mode == Mode::CheckOnly {
        return Ok(bindings);
    }
    let mut values = Vec::with_capacity(fetches.len());
    let offered = terminal_for_login();
    for (index, fetch, outcome) in fetch_all(&fetches) {
        let outcome = match outcome {
            Err(Failure::Refused(_)) if offered => again_with_terminal(fetch),
            outcome => outcome,
        };
        match outcome {
            Ok(value) => values.push((index, value)),
            Err(failure) => {
                let (problem, fix) = explain(failure, fetch);
                return Err(refusal(path, &bindings[index], problem, fix));
            }
        }
    }
    for (index, value) in values {
        bindings[index].value = value;
    }
    Ok(bindings)
}

/// Whether a CLI that said no may be asked again with the terminal, to let it ask for a
/// login: only when envguard's standard input, output and error are all a terminal, as for
/// `exec` typed at a prompt. The shell hook's output is a pipe (its command substitution) and
/// a kernel has no terminal, so there a CLI never prompts and the refusal names the command
/// to run instead.
fn terminal_for_login() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal()
        && std::io::stderr().is_terminal()
}

/// `fetch` run once more, on its own, with the user's terminal; one at a time, in file order,
/// since prompts of several CLIs at once could not be told apart.
fn again_with_terminal(fetch: &Fetch) -> Result<String, Failure> {
    let deadline = Instant::now() + timeout();
    let stdout = run::run(
        &fetch.program,
        &fetch.args,
        None,
        deadline,
        Terminal::Shared,
    )
    .map_err(|failed| Failure::of(&fetch.program, failed))?;
    providers::value_of(&fetch.output, stdout).map_err(Failure::Refused)
}

/// How `list` shows a value that is a reference: the reference itself (it holds no secret) and
/// the provider, never a fetched value (`list` fetches nothing). One built by `${...}`
/// substitution is not shown at all, not even masked: it may end in another variable's value.
pub fn list_hint(binding: &Binding) -> Option<String> {
    match reference(binding)? {
        Ok(fetch) => Some(format!(
            "{} → **** (fetched with `{}` on load)",
            escape_text_for_display(&binding.value),
            fetch.program
        )),
        Err(Unusable::Substituted) => Some(
            "(not shown) a reference built with ${...}, which a load refuses: write it out in full"
                .to_owned(),
        ),
        Err(Unusable::Malformed(_)) => None,
    }
}

/// One line of `check` about a reference.
pub enum Finding {
    Ready(String),
    /// What is wrong, and its fix.
    Warning(String, String),
    /// The load would be refused with exactly this.
    Refused(Refusal),
}

/// What `check` says about each reference of the file at `path`: its provider CLI and whether
/// it is installed, or with `fetch` (`check --resolve`) whether each reference resolves, fetched
/// as a load would fetch them (batched, concurrently, each with its timeout). A fetched value is
/// dropped as soon as it is known to exist: only the outcome is reported. A malformed
/// reference is refused here exactly as the load refuses it.
pub fn survey(path: &Path, bindings: &[Binding], fetch: bool) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut fetches = Vec::new();
    for (index, binding) in bindings.iter().enumerate() {
        if literal(&binding.value).is_some() {
            continue;
        }
        let parsed = match reference(binding) {
            None => continue,
            Some(Err(unusable)) => {
                let refused = Finding::Refused(unusable_refusal(path, binding, unusable));
                findings.push((index, refused));
                continue;
            }
            Some(Ok(parsed)) => parsed,
        };
        if fetch {
            fetches.push((index, parsed));
            continue;
        }
        let shown = escape_text_for_display(&binding.value);
        let name = &binding.name;
        let finding = if installed(&parsed.program) {
            Finding::Ready(format!(
                "{name}: reference `{shown}`, fetched with `{}` (installed)",
                parsed.program
            ))
        } else {
            Finding::Warning(
                format!(
                    "{name}: reference `{shown}` needs `{}`, which is not installed",
                    parsed.program
                ),
                parsed.install.to_owned(),
            )
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
                let (problem, fix) = explain(failure, parsed);
                Finding::Refused(refusal(path, binding, problem, fix))
            }
        };
        findings.push((index, finding));
    }
    findings.sort_by_key(|(index, _)| *index);
    findings.into_iter().map(|(_, finding)| finding).collect()
}

/// Whether one provider CLI answered its "who am I".
pub struct Probe {
    pub program: String,
    /// `Err` holds what went wrong and its fix.
    pub answered: Result<(), (String, String)>,
}

/// Whether each provider CLI the references of `bindings` need answers its documented
/// "who am I" (`aws sts get-caller-identity`, `op whoami`, …), in file order. Nothing it
/// prints is kept but a first error line.
pub fn probe(bindings: &[Binding]) -> Vec<Probe> {
    let mut programs: Vec<(String, &'static [&'static str], &'static str)> = Vec::new();
    for binding in bindings {
        let Some(Ok(fetch)) = reference(binding) else {
            continue;
        };
        // One not installed is already reported so, by `survey`.
        if programs.iter().any(|(known, _, _)| *known == fetch.program)
            || !installed(&fetch.program)
        {
            continue;
        }
        if let Some(args) = providers::whoami(&fetch.program) {
            programs.push((fetch.program, args, fetch.sign_in));
        }
    }
    let deadline = Instant::now() + timeout();
    thread::scope(|scope| {
        let running: Vec<_> = programs
            .iter()
            .map(|(program, args, _)| {
                let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
                scope.spawn(move || run::run(program, &args, None, deadline, Terminal::Withheld))
            })
            .collect();
        programs
            .iter()
            .zip(running)
            .map(|((program, args, sign_in), handle)| {
                let answered = match handle.join() {
                    Ok(Ok(_ignored_output)) => Ok(()),
                    Ok(Err(failed)) => {
                        let failure = Failure::of(program, failed);
                        let (problem, fix) = explain_program(failure, program, "", sign_in);
                        let command = format!("`{program} {}`", args.join(" "));
                        Err((format!("{command}: {problem}"), fix.to_owned()))
                    }
                    Err(_) => Err(("the probe failed".to_owned(), (*sign_in).to_owned())),
                };
                Probe {
                    program: program.clone(),
                    answered,
                }
            })
            .collect()
    })
}

/// Runs every fetch, batched where the provider allows, up to [`MAX_CONCURRENT`] processes at
/// once, each round under one deadline; the outcomes come back in the order of `fetches`.
fn fetch_all(fetches: &[(usize, Fetch)]) -> Vec<(usize, &Fetch, Result<String, Failure>)> {
    let only: Vec<&Fetch> = fetches.iter().map(|(_, fetch)| fetch).collect();
    let mut outcomes: Vec<Option<Result<String, Failure>>> = vec![None; fetches.len()];
    let everyone: Vec<usize> = (0..fetches.len()).collect();
    let retry = run_jobs(&only, batch::plan(&only, &everyone), &mut outcomes);
    // What a batch could not account for, fetched one by one; a single fetch always answers.
    run_jobs(&only, batch::singles(&only, &retry), &mut outcomes);
    fetches
        .iter()
        .zip(outcomes)
        .map(|((index, fetch), outcome)| {
            let outcome =
                outcome.unwrap_or_else(|| Err(Failure::Refused("the fetch failed".to_owned())));
            (*index, fetch, outcome)
        })
        .collect()
}

/// Runs `jobs`, recording each member's outcome; returns the members to fetch on their own.
fn run_jobs(
    fetches: &[&Fetch],
    jobs: Vec<batch::Job>,
    outcomes: &mut [Option<Result<String, Failure>>],
) -> Vec<usize> {
    let mut retry = Vec::new();
    for round in jobs.chunks(MAX_CONCURRENT) {
        let deadline = Instant::now() + timeout();
        thread::scope(|scope| {
            let running: Vec<_> = round
                .iter()
                .map(|job| {
                    let handle = scope.spawn(move || {
                        let stdin = job.stdin.as_deref();
                        run::run(&job.program, &job.args, stdin, deadline, Terminal::Withheld)
                    });
                    (job, handle)
                })
                .collect();
            for (job, handle) in running {
                let ran = handle.join().unwrap_or(Err(run::Failed::CouldNotStart(
                    "its thread failed".to_owned(),
                )));
                for (member, outcome) in batch::split(job, fetches, ran) {
                    match outcome {
                        Some(outcome) => outcomes[member] = Some(outcome),
                        None => retry.push(member),
                    }
                }
            }
        });
    }
    retry.sort_unstable();
    retry
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

/// A failed fetch's problem in words, and its fix.
fn explain(failure: Failure, fetch: &Fetch) -> (String, &'static str) {
    explain_program(failure, &fetch.program, fetch.install, fetch.sign_in)
}

fn explain_program(
    failure: Failure,
    program: &str,
    install: &'static str,
    sign_in: &'static str,
) -> (String, &'static str) {
    match failure {
        Failure::NotInstalled => (format!("`{program}` is not installed"), install),
        Failure::TimedOut => (
            format!("`{program}` did not answer in time"),
            "check that the service is reachable, or raise ENVGUARD_RESOLVE_TIMEOUT (seconds)",
        ),
        Failure::Refused(problem) => (problem, sign_in),
    }
}

fn unusable_refusal(path: &Path, binding: &Binding, unusable: Unusable) -> Refusal {
    match unusable {
        Unusable::Malformed(malformed) => refusal(path, binding, malformed.problem, &malformed.fix),
        Unusable::Substituted => substituted_refusal(path, binding),
    }
}

/// The refusal of a reference `${...}` substitution made: the variable and its line, never its
/// text, which holds what was substituted.
fn substituted_refusal(path: &Path, binding: &Binding) -> Refusal {
    let reason = format!(
        "{} is a reference built with ${{...}}, which would put another variable's value into \
         the reference and the provider's command line",
        binding.name
    );
    let fix = "write the reference out in full, or escape the text with literal: if it is not a \
               reference";
    Refusal::new(path, RefusalKind::Reference, reason, fix).at_line(binding.line)
}

/// A refusal naming a reference by its text: only ever for one [`reference`] accepted, so the
/// text is the reference as written.
fn refusal(path: &Path, binding: &Binding, problem: String, fix: &str) -> Refusal {
    debug_assert!(
        !binding.substituted,
        "a substituted reference's text is shown"
    );
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
