//! `envguard install-git-hook`: a pre-commit hook that runs `envguard scan --staged`.
//!
//! Repositories often already have a pre-commit hook (husky, a team script); replacing it
//! would silently switch someone's checks off. An existing hook is moved aside to
//! `pre-commit.envguard-chained` and run first by the new hook, so both guard every commit.
//! Installing again is a no-op. The hook calls this binary by absolute path, falling back to
//! `envguard` on PATH if it moved.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::atomic;
use crate::cli::{InstallGitHookArgs, ShellKind};
use crate::display::escape_for_display;
use crate::error::{Error, IoContext, Result};
use crate::hook::quote::quote;
use crate::load::discover;
use crate::scan::git;

/// Marks a hook as envguard's, so reinstalling neither chains it to itself nor duplicates it.
const MARKER: &str = "# envguard pre-commit hook";
const CHAINED: &str = "pre-commit.envguard-chained";

pub fn run(args: &InstallGitHookArgs) -> Result<()> {
    let dir = match &args.dir {
        Some(dir) => discover::absolute(dir)?,
        None => discover::working_dir()?,
    };
    let hooks = hooks_dir(&dir)?;
    fs::create_dir_all(&hooks).context("create", &hooks)?;
    let hook = hooks.join("pre-commit");
    let chained = hooks.join(CHAINED);
    let mut message = format!("installed {}", escape_for_display(&hook));
    match fs::read(&hook) {
        Ok(existing) if String::from_utf8_lossy(&existing).contains(MARKER) => {
            message = format!(
                "{} already runs envguard; updated it",
                escape_for_display(&hook)
            );
        }
        Ok(_) => {
            if chained.exists() {
                return Err(Error::Usage(format!(
                    "{} exists already, so {} cannot be moved aside (fix: merge or remove one of them, then rerun)",
                    escape_for_display(&chained),
                    escape_for_display(&hook)
                )));
            }
            fs::rename(&hook, &chained).context("move aside", &hook)?;
            message = format!(
                "installed {}; your previous hook now runs first from {CHAINED}",
                escape_for_display(&hook)
            );
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("read", &hook, e)),
    }
    atomic::write(&hook, script()?.as_bytes(), 0o755).context("write", &hook)?;
    let _ = writeln!(io::stderr().lock(), "envguard: {message}");
    Ok(())
}

/// Where git looks for hooks, honouring `core.hooksPath` and worktrees.
fn hooks_dir(dir: &Path) -> Result<PathBuf> {
    let out = git::run(
        dir,
        &["rev-parse", "--path-format=absolute", "--git-path", "hooks"],
    )?;
    Ok(PathBuf::from(
        String::from_utf8_lossy(&out).trim_end_matches('\n'),
    ))
}

fn script() -> Result<String> {
    let exe = std::env::current_exe().map_err(|e| Error::io("locate", "the envguard binary", e))?;
    let exe = quote(ShellKind::Bash, &exe.to_string_lossy());
    Ok(format!(
        r#"#!/bin/sh
{MARKER} (installed by `envguard install-git-hook`).
# Stops a commit that stages a .env file, a value from it, or a credential-shaped token.
# Accept a line with an `envguard:allow` comment; bypass once with `git commit --no-verify`.
chained="$(dirname "$0")/{CHAINED}"
if [ -x "$chained" ]; then
    "$chained" "$@" || exit $?
fi
envguard={exe}
[ -x "$envguard" ] || envguard=envguard
exec "$envguard" scan --staged
"#
    ))
}
