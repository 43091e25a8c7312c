//! `envguard status`: what the shell hook has loaded in this shell, and why the project (its
//! `.env.shared` and `.env`) that applies here is refused if it is.
//!
//! It reads the hook's state from its own environment (inherited from the shell), so it
//! reports on the shell it was typed in. It shows paths, times and names, never a value, and
//! fetches no secret-manager reference: it says what the hook would fetch.

use std::env;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::error::{IoContext, Result};
use crate::hook::diff::Base;
use crate::hook::project::{self, Project};
use crate::hook::state::{self, Current, Loaded, State};
use crate::load::trust::TrustStore;
use crate::load::{discover, resolve};

pub fn run() -> Result<()> {
    let raw = env::var_os(state::VAR);
    let state = raw
        .as_deref()
        .map(OsStrExt::as_bytes)
        .and_then(State::decode);
    let loaded = match state.as_ref().map(|state| &state.current) {
        Some(Current::Loaded(loaded)) => Some(loaded),
        _ => None,
    };
    let mut report = String::new();
    match loaded {
        Some(loaded) => describe_loaded(&mut report, loaded),
        None => report.push_str("loaded: nothing in this shell\n"),
    }
    let here = discover::working_dir()?;
    match discover::nearest_project(&here) {
        None => report.push_str("here: no .env or .env.shared in this directory or any parent\n"),
        Some(nearest) if loaded.is_some_and(|loaded| loaded.path == nearest) => {}
        Some(nearest) => describe_nearest(&mut report, &nearest, state.as_ref())?,
    }
    io::stdout()
        .lock()
        .write_all(report.as_bytes())
        .context("write", Path::new("standard output"))
}

fn describe_loaded(report: &mut String, loaded: &Loaded) {
    let names = loaded.saved().unwrap_or_default();
    report.push_str(&format!(
        "loaded: {} (since {})\nnames: {}\n",
        project::shown(&loaded.path, loaded.identity),
        utc_time(loaded.since),
        names
            .iter()
            .map(|saved| saved.name.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    ));
}

/// Why the nearest file is not the loaded one: refused (and the fix), or not loaded yet.
fn describe_nearest(report: &mut String, nearest: &Path, state: Option<&State>) -> Result<()> {
    let loaded = match state.map(|state| &state.current) {
        Some(Current::Loaded(loaded)) => Some(loaded),
        _ => None,
    };
    let hooked = state.is_some();
    let previous = loaded.and_then(Loaded::saved).unwrap_or_default();
    let base = Base::new(&previous);
    let outer = |name: &str| base.get(name).and_then(|value| value.into_string().ok());
    let shown = project::shown(nearest, project::stats(nearest));
    // The store the hook consults in this shell, which a loaded file cannot have moved.
    let store = match state.and_then(|state| state.store_path.clone()) {
        Some(recorded) => TrustStore::open_at(recorded)?,
        None => TrustStore::open()?,
    };
    // Every check the hook makes but the fetches: `status` must not start a provider CLI
    // (a login prompt, a round trip) each time it is typed.
    match Project::load(nearest, &outer, &store, resolve::Mode::CheckOnly) {
        Err(refusal) => {
            report.push_str(&format!("refused: {refusal}\n"));
        }
        Ok(project) if hooked => report.push_str(&format!(
            "pending: {shown} loads at the next prompt{}\n",
            unfetched(&project)
        )),
        Ok(project) => report.push_str(&format!(
            "not loaded: {shown} would load{}, but the shell hook is not active in this shell \
             (add `eval \"$(envguard hook bash)\"` to ~/.bashrc, or see `envguard hook --help`)\n",
            unfetched(&project)
        )),
    }
    Ok(())
}

/// What the project's references leave open, since `status` does not fetch them.
fn unfetched(project: &Project) -> String {
    let count = project
        .bindings
        .iter()
        .filter(|binding| resolve::is_reference(binding))
        .count();
    let what = match count {
        0 => return String::new(),
        1 => "its reference resolves".to_owned(),
        n => format!("its {n} references resolve"),
    };
    format!(" if {what} (not fetched by status; `envguard check --resolve` tries them)")
}

/// `2026-11-23 09:12:26 UTC`.
fn utc_time(seconds: u64) -> String {
    let rest = seconds % 86_400;
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        crate::display::utc_date(seconds),
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_time_is_a_civil_date() {
        assert_eq!(utc_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_time(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc_time(1_795_424_546), "2026-11-23 09:02:26 UTC");
    }
}
