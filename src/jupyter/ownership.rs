//! A kernel.json decides which program receives the project's secrets, so envguard writes
//! one only where no other user can swap it: whoever owns or can write the kernelspec
//! directory (or the directories above it, who can rename it away) could replace the
//! kernel.json after the install, keep envguard's marker, and run their own program with the
//! secrets the next time a notebook starts.
//!
//! root is not "another user": root can replace any file anyway.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::display::quote_for_display;
use crate::error::{Refusal, RefusalKind, Result};

/// Refuses `spec_dir` (which may not exist yet) when another user owns or can write it, its
/// kernel.json, or the two directories above it. `other_name` is the fix for a kernelspec
/// directory that is another user's: the install command with a name of its own.
pub fn refuse_shared(spec_dir: &Path, spec_file: &Path, other_name: &str) -> Result<()> {
    let me = nix::unistd::geteuid().as_raw();
    let kernels_dir = spec_dir.parent();
    let data_dir = kernels_dir.and_then(Path::parent);
    let checked = [Some(spec_file), Some(spec_dir), kernels_dir, data_dir];
    for (depth, path) in checked.into_iter().flatten().enumerate() {
        let is_kernelspec = depth < 2;
        // The entry itself decides the owner (a link planted by someone else is theirs); its
        // target decides who can write into it.
        let (Ok(entry), Ok(target)) = (fs::symlink_metadata(path), fs::metadata(path)) else {
            continue;
        };
        for owner in [entry.uid(), target.uid()] {
            if owner != me && owner != 0 {
                let fix = if is_kernelspec {
                    other_name.to_string()
                } else {
                    "install where only you can write: the default --user directory, with \
                     JUPYTER_DATA_DIR unset or naming a directory of yours"
                        .to_string()
                };
                return Err(Refusal::new(
                    path,
                    RefusalKind::Owner,
                    format!(
                        "belongs to uid {owner}, who could swap the kernel.json and receive \
                         the project's secrets"
                    ),
                    fix,
                )
                .into());
            }
        }
        let mode = target.mode();
        // In a sticky directory (like /tmp) others cannot rename what is yours; a kernelspec
        // directory itself must not take others' files at all.
        let sticky = mode & 0o1000 != 0 && !is_kernelspec;
        if mode & 0o022 != 0 && !sticky {
            return Err(Refusal::new(
                path,
                RefusalKind::Mode,
                format!(
                    "is writable by group or others (mode {:04o}), who could swap the \
                     kernel.json and receive the project's secrets",
                    mode & 0o7777
                ),
                format!("chmod go-w {}", quote_for_display(path)),
            )
            .into());
        }
    }
    Ok(())
}
