//! `envguard check`: every check the loader makes, one line each, with the fix for each
//! failure, so a user can repair a refused file in one pass rather than one refusal at a time.

use std::io::{self, Write};
use std::path::Path;

use crate::cli::CheckArgs;
use crate::discover;
use crate::error::{Error, IoContext, Refusal, RefusalKind, Result};
use crate::guard;
use crate::loader::{self, from_process_env};
use crate::names;
use crate::trust::TrustStore;

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
        writeln!(out, "{}", path.display())?;
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
    let path = match discover::resolve_target(args.path.as_deref()) {
        Err(Error::Refused(refusal)) if refusal.kind == RefusalKind::NotFound => {
            if !args.quiet {
                println!("✗ {} (fix: {})", refusal.reason, refusal.fix);
            }
            return Err(Error::Silent(1));
        }
        other => other?,
    };
    let report = inspect(&path)?;
    if !args.quiet {
        report
            .print(&path, &mut io::stdout().lock())
            .context("write", Path::new("standard output"))?;
    }
    if report.refused() {
        Err(Error::Silent(1))
    } else {
        Ok(())
    }
}

fn inspect(path: &Path) -> Result<Report> {
    let mut report = Report { lines: Vec::new() };
    let opened = match guard::open(path) {
        Ok(opened) => opened,
        Err(refusal) => {
            report.fail(&refusal);
            return Ok(report);
        }
    };
    report.pass("found");
    let limit = guard::max_size();
    let mut readable = true;
    for verdict in opened.verdicts(path, limit) {
        match verdict.outcome {
            Ok(text) => report.pass(text),
            Err(refusal) => {
                readable &= !matches!(verdict.kind, RefusalKind::NotRegular | RefusalKind::Size);
                report.fail(&refusal);
            }
        }
    }
    if !readable {
        return Ok(report);
    }
    let contents = opened
        .read_unguarded(path, limit)
        .and_then(|guarded| loader::from_contents(path, guarded, &from_process_env));
    match contents {
        Ok(checked) => {
            let names: Vec<&str> = checked.bindings.iter().map(|b| b.name.as_str()).collect();
            report.pass(format!(
                "parses: {} variables ({})",
                names.len(),
                names.join(", ")
            ));
            for name in names.iter().filter(|name| names::runs_code(name)) {
                report.warn(
                    format!("sets {name}, which makes other programs load or run code"),
                    format!("keep it only if you meant to (`envguard unset {name}` removes it)"),
                );
            }
            let store = TrustStore::open()?;
            match loader::trust_refusal(&checked, store.trust(&checked.canonical, &checked.digest))
            {
                None => report.pass("allowed"),
                Some(refusal) => report.fail(&refusal),
            }
        }
        Err(refusal) => report.fail(&refusal),
    }
    Ok(report)
}
