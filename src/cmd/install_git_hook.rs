//! `envguard install-git-hook`: a pre-commit hook that runs `envguard scan --staged`.
//!
//! Repositories often already have a pre-commit hook (husky, a team script); replacing it
//! would silently switch someone's checks off. An existing hook is moved aside to
//! `pre-commit.envguard-chained` and run first by the new hook, so both guard every commit.
//! Installing again is a no-op. The hook calls this binary by absolute path, falling back to
//! `envguard` on PATH if it moved. Uninstalling removes only envguard's hook and moves the
//! chained one back into place, so the repository ends as it was before the install.

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
    if args.uninstall {
        return uninstall(&hooks);
    }
    fs::create_dir_all(&hooks).context("create", &hooks)?;
    let hook = hooks.join("pre-commit");
    let chained = hooks.join(CHAINED);
    let mut message = format!("installed {}", escape_for_display(&hook));
    match fs::read(&hook) {
        Ok(existing) if is_envguards(&existing) => {
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

fn uninstall(hooks: &Path) -> Result<()> {
    let hook = hooks.join("pre-commit");
    let chained = hooks.join(CHAINED);
    match fs::read(&hook) {
        Ok(existing) if is_envguards(&existing) => {}
        Ok(_) => {
            return Err(Error::Usage(format!(
                "{}: is not envguard's hook, so it was left alone (fix: nothing to uninstall here; if it runs envguard, remove that line yourself)",
                escape_for_display(&hook)
            )));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            say!(
                "envguard: no envguard hook in {}; nothing to do",
                escape_for_display(hooks)
            );
            return Ok(());
        }
        Err(e) => return Err(Error::io("read", &hook, e)),
    }
    let message = if fs::symlink_metadata(&chained).is_ok() {
        // One rename over envguard's hook: no moment without a hook, none with both.
        fs::rename(&chained, &hook).context("move back", &chained)?;
        format!(
            "removed envguard's hook; your previous hook is back in {}",
            escape_for_display(&hook)
        )
    } else {
        fs::remove_file(&hook).context("remove", &hook)?;
        format!("removed {}", escape_for_display(&hook))
    };
    say!("envguard: {message}");
    Ok(())
}

fn is_envguards(hook: &[u8]) -> bool {
    String::from_utf8_lossy(hook).contains(MARKER)
}

/// The pre-commit hook of a repository, as `envguard doctor` reports it.
pub enum HookState {
    /// No pre-commit hook at all.
    Missing,
    /// Someone else's hook; `framework_runs_envguard` when it is the pre-commit framework's
    /// and the repository's `.pre-commit-config.yaml` names envguard's hook.
    Other { framework_runs_envguard: bool },
    /// envguard's hook; `current` when it is exactly what this binary would install now.
    Envguard { chained: bool, current: bool },
}

/// The state of the pre-commit hook of the repository whose work tree is `top`, and the hook's path.
pub fn state(top: &Path) -> Result<(PathBuf, HookState)> {
    let hooks = hooks_dir(top)?;
    let hook = hooks.join("pre-commit");
    let state = match fs::read(&hook) {
        Ok(text) if is_envguards(&text) => HookState::Envguard {
            chained: fs::symlink_metadata(hooks.join(CHAINED)).is_ok(),
            current: script().is_ok_and(|script| script.as_bytes() == text),
        },
        Ok(text) => HookState::Other {
            framework_runs_envguard: String::from_utf8_lossy(&text).contains("pre-commit.com")
                && fs::read_to_string(top.join(".pre-commit-config.yaml"))
                    .is_ok_and(|config| config.contains("envguard-scan")),
        },
        Err(_) => HookState::Missing,
    };
    Ok((hook, state))
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
