//! `envguard check`: every check the loader makes, one line each, with the fix for each
//! failure, so a user can repair a refused file in one pass rather than one refusal at a time.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::cli::CheckArgs;
use crate::display::{escape_for_display, quote_for_display};
use crate::error::{Error, IoContext, Refusal, RefusalKind, Result};
use crate::git;
use crate::load::guard::{self, Policy};
use crate::load::loader::{self, from_process_env};
use crate::load::names;
use crate::load::trust::TrustStore;
use crate::load::{discover, explain};

mod recipients;
mod references;

/// One reported line: passed, failed (refuses the file) or a warning (does not).
enum Mark {
    Pass,
    Fail,
    Warn,
}

struct Report {
    lines: Vec<(Mark, String, Option<String>)>,
}

impl Report {
    fn pass(&mut self, text: impl Into<String>) {
        self.lines.push((Mark::Pass, text.into(), None));
    }

    fn fail(&mut self, refusal: &Refusal) {
        let line = refusal
            .line
            .map(|line| format!("line {line}: "))
            .unwrap_or_default();
        self.lines.push((
            Mark::Fail,
            format!("{line}{}", refusal.reason),
            Some(refusal.fix.clone()),
        ));
    }

    fn warn(&mut self, text: impl Into<String>, fix: impl Into<String>) {
        self.lines.push((Mark::Warn, text.into(), Some(fix.into())));
    }

    fn refused(&self) -> bool {
        self.lines
            .iter()
            .any(|(mark, _, _)| matches!(mark, Mark::Fail))
    }

    fn print(&self, path: &Path, out: &mut impl Write) -> io::Result<()> {
        writeln!(out, "{}", escape_for_display(path))?;
        for (mark, text, fix) in &self.lines {
            let symbol = match mark {
                Mark::Pass => "✓",
                Mark::Fail => "✗",
                Mark::Warn => "!",
            };
            writeln!(out, "  {symbol} {text}")?;
            if let Some(fix) = fix {
                writeln!(out, "      fix: {fix}")?;
            }
        }
        let verdict = if self.refused() {
            "refused: nothing will load"
        } else {
            "would load"
        };
        writeln!(out, "{verdict}")
    }
}

pub fn run(args: &CheckArgs) -> Result<()> {
    let stdout = Path::new("standard output");
    let paths = match discover::named_or_project(args.file.as_deref(), args.path.as_deref()) {
        Err(Error::Refused(refusal)) if refusal.kind == RefusalKind::NotFound => {
            if !args.quiet {
                writeln!(
                    io::stdout().lock(),
                    "✗ {} (fix: {})",
                    refusal.reason,
                    refusal.fix
                )
                .context("write", stdout)?;
            }
            return Err(Error::Silent(1));
        }
        other => other?,
    };
    // A team's project is reported file by file, `.env.shared` first, as it loads; one
    // refused file refuses the project.
    let mut refused = false;
    for path in &paths {
        let report = inspect(path, args.resolve)?;
        if !args.quiet {
            report
                .print(path, &mut io::stdout().lock())
                .context("write", stdout)?;
        }
        refused |= report.refused();
    }
    if paths.len() > 1 && !args.quiet {
        let verdict = if refused {
            "project: refused: neither file will load (they load together)"
        } else {
            "project: would load, the personal .env winning over .env.shared"
        };
        writeln!(io::stdout().lock(), "{verdict}").context("write", stdout)?;
    }
    if refused {
        Err(Error::Silent(1))
    } else {
        Ok(())
    }
}

fn inspect(path: &Path, resolve: bool) -> Result<Report> {
    let mut report = Report { lines: Vec::new() };
    let opened = match guard::open(path) {
        Ok(opened) => opened,
        Err(failure) => {
            report.fail(&failure.into());
            return Ok(report);
        }
    };
    report.pass("found");
    let limit = guard::max_size();
    let mut readable = true;
    // A team's `.env.shared` is judged by the mode rule it loads under, not the private one.
    let policy = match path.file_name() {
        Some(name) if name == discover::SHARED_FILE_NAME => Policy::Shared,
        _ => Policy::Load,
    };
    for verdict in opened.verdicts_under(path, limit, policy) {
        match verdict.outcome {
            Ok(passed) => report.pass(explain::passed(passed)),
            Err(failure) => {
                readable &= !Policy::Inspect.blocks(verdict.check);
                report.fail(&failure.into());
            }
        }
    }
    warn_about_directory(path, &mut report);
    for (warning, fix) in crate::jupyter::launch::stray_launchers(path) {
        report.warn(warning, fix);
    }
    if !readable {
        return Ok(report);
    }
    warn_about_git(path, &mut report);
    let contents = opened
        .read_unguarded(path, limit)
        .map_err(Refusal::from)
        .and_then(|guarded| loader::from_contents(path, guarded, &from_process_env));
    match contents {
        Ok(checked) => {
            let names: Vec<&str> = checked.bindings.iter().map(|b| b.name.as_str()).collect();
            report.pass(format!(
                "parses: {} variables ({})",
                names.len(),
                names.join(", ")
            ));
            for (name, warning) in names::warnings(names.iter().copied()) {
                let fix = if names::refused_by_hook_only(name).is_some() {
                    format!(
                        "load it with `envguard exec -- COMMAND`, or `envguard unset {name}` for the shell hook"
                    )
                } else {
                    format!("keep it only if you meant to (`envguard unset {name}` removes it)")
                };
                report.warn(warning, fix);
            }
            let variables = checked
                .bindings
                .iter()
                .map(|b| (b.name.as_str(), b.value.as_str()));
            if let Some(line) = crate::mask::filter::unmasked_summary(variables) {
                report.pass(line);
            }
            let store = TrustStore::open()?;
            let untrusted =
                loader::trust_refusal(&checked, store.trust(&checked.canonical, &checked.digest));
            references::report(
                path,
                &checked.bindings,
                untrusted.as_ref(),
                resolve,
                &mut report,
            );
            for (warning, fix) in super::example::drift(path, &checked.bindings) {
                report.warn(warning, fix);
            }
            match untrusted {
                None => report.pass("allowed"),
                Some(refusal) => report.fail(&refusal),
            }
        }
        Err(refusal) => report.fail(&refusal),
    }
    recipients::report(path, &mut report);
    Ok(report)
}

/// Whoever can write the directory can replace the `.env` (rename over it) with a file of
/// their own, mode and all; the guard would then refuse it, but only after the fact.
fn warn_about_directory(path: &Path, report: &mut Report) {
    let Some(dir) = path.parent() else { return };
    let Ok(meta) = fs::metadata(dir) else { return };
    let mode = meta.permissions().mode();
    // In a sticky directory (like /tmp) others cannot rename or delete your files.
    if mode & 0o022 != 0 && mode & 0o1000 == 0 {
        report.warn(
            format!("its directory {} is writable by group or others (mode {:04o}), who could replace it", escape_for_display(dir), mode & 0o7777),
            format!("chmod go-w {}", quote_for_display(dir)),
        );
    }
}

/// A `.env` in git's index is in the repository's history; one that git does not ignore is
/// one `git add .` away from it.
fn warn_about_git(path: &Path, report: &mut Report) {
    if let Some((problem, fix)) = git::exposure(path) {
        report.warn(problem, fix);
    }
}
