//! `envguard hook SHELL`: prints the integration script the user evaluates from their rc file.
//!
//! The scripts are ordinary files in `shell/` (so they can be read, linted and commented
//! freely) embedded at build time. Each has one placeholder, replaced by the absolute path of
//! the running binary quoted for that shell: the hook then runs the same envguard the user
//! installed, whatever `PATH` says at prompt time, and never searches `PATH` per prompt.

use std::env;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::cli::{ShellArgs, ShellKind};
use crate::error::{Error, IoContext, Result};
use crate::hook::quote::push_quoted_bytes;

const BASH: &str = include_str!("../../shell/envguard.bash");
const ZSH: &str = include_str!("../../shell/envguard.zsh");
const FISH: &str = include_str!("../../shell/envguard.fish");

const EXE_PLACEHOLDER: &str = "@ENVGUARD_EXE@";

pub fn run(args: &ShellArgs) -> Result<()> {
    let exe = env::current_exe().map_err(|e| Error::io("find", "the envguard executable", e))?;
    let script = script(args.shell, &exe);
    io::stdout()
        .lock()
        .write_all(&script)
        .context("write", Path::new("standard output"))
}

/// The integration script for `shell`, calling the envguard at `exe`.
pub fn script(shell: ShellKind, exe: &Path) -> Vec<u8> {
    let template = match shell {
        ShellKind::Bash => BASH,
        ShellKind::Zsh => ZSH,
        ShellKind::Fish => FISH,
    };
    let (before, after) = template
        .split_once(EXE_PLACEHOLDER)
        .expect("every script has the placeholder");
    let mut out = Vec::with_capacity(template.len() + exe.as_os_str().len() + 8);
    out.extend_from_slice(before.as_bytes());
    push_quoted_bytes(&mut out, shell, exe.as_os_str().as_bytes());
    out.extend_from_slice(after.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placeholder_is_replaced_by_the_quoted_path_once() {
        for shell in [ShellKind::Bash, ShellKind::Zsh, ShellKind::Fish] {
            let text =
                String::from_utf8(script(shell, Path::new("/opt/my tools/envguard"))).unwrap();
            assert!(text.contains("'/opt/my tools/envguard'"), "{shell:?}");
            assert!(!text.contains(EXE_PLACEHOLDER), "{shell:?}");
        }
    }
}
