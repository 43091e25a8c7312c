//! `envguard edit`: change the `.env` in an editor without leaving traces, then check and
//! allow it in the same step.
//!
//! The editor works on a copy in a private temporary directory, so its swap and backup files
//! (`.env.swp`, `.env~`, which hold the secrets) are never created in the project, where git
//! could pick them up. The result goes back through an [`Update`] (locked, atomic, 0600). A
//! result that does not load is still saved, so no work is lost, but it stays unallowed.
//!
//! The copy is plaintext secrets, so its directory is 0700, and a copy that outlives its
//! `edit` (SIGKILL, a crash, a closed terminal) is removed by the user's next `edit`: an edit
//! directory holds its creator's pid in its name and an `flock` on itself while in use, so one
//! whose process is gone and whose lock is free is abandoned ([`remove_abandoned_copies`]).
//!
//! Saving re-allows the file only if it was allowed as it was before the edit (as `set` and
//! `unset` do): a file someone else changed, or nobody ever allowed, holds lines the user did
//! not write and `check` has warnings about, and an editor session is no review of those.
//!
//! `edit --shared` ([`shared`]) works the same way on a decrypted copy of the team's file.

use std::fs::{self, File};
use std::io::{self, BufRead, IsTerminal, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

use crate::cli::EditArgs;
use crate::display::{escape_for_display, quote_for_display};
use crate::envfile::{Committed, Reallow, Update};
use crate::error::{Error, IoContext, Refusal, Result};
use crate::load::discover;
use crate::load::guard::{Guarded, Identity};
use crate::load::loader::{self, from_process_env};

/// Names an edit directory in the temp directory; the creator's pid follows.
const SCRATCH_PREFIX: &str = "envguard-edit-";
/// Names an edit directory kept on purpose (the user's work after a conflict), never removed.
const KEPT_PREFIX: &str = "envguard-kept-edit-";

mod shared;

pub fn run(args: &EditArgs) -> Result<()> {
    remove_abandoned_copies();
    if args.shared {
        return shared::run(args.dir.as_deref());
    }
    let path = discover::named_or_target(args.file.as_deref(), args.dir.as_deref())?;
    let original = Update::begin_unparsed(&path)?.contents().to_vec();
    let scratch = Scratch::new()?;
    let copy = scratch.path().join(discover::FILE_NAME);
    crate::atomic::write(&copy, &original, crate::envfile::MODE).context("write", &copy)?;

    let edited = loop {
        run_editor(&copy)?;
        let edited = fs::read(&copy).context("read", &copy)?;
        let problem = loader::from_contents(
            &path,
            Guarded {
                bytes: edited.clone(),
                identity: Identity::default(),
                canonical: path.clone(),
            },
            &from_process_env,
        )
        .err();
        match problem {
            Some(refusal) if offer_reopen(&refusal)? => continue,
            _ => break edited,
        }
    };

    let mut update = Update::begin_unparsed(&path)?;
    if update.contents() != original {
        // The user's work is kept (0600, in a private directory) rather than lost.
        let kept = scratch.keep().join(discover::FILE_NAME);
        return Err(Error::Failed(format!(
            "{}: changed while you were editing (another `envguard set`?); your edit was not saved but kept in {} (fix: run `envguard edit` again and copy your changes over)",
            escape_for_display(&path),
            escape_for_display(&kept)
        )));
    }
    update.replace(edited);
    super::allow::warn_about_git(&path);
    match update.commit(Reallow::IfAllowedBefore)? {
        Committed::Allowed(checked) => {
            say!(
                "envguard: saved and allowed {} ({} variables)",
                escape_for_display(&path),
                checked.bindings.len()
            );
            super::allow::warn_about_names(&path, checked.bindings.iter().map(|b| b.name.as_str()));
            Ok(())
        }
        Committed::Refused(refusal) => {
            say!("envguard: saved, but not allowed: {refusal}");
            Err(Error::Silent(1))
        }
        Committed::LeftUnallowed => {
            say!(
                "envguard: saved {}, but did not allow it: it had changed since it was last allowed (or was never allowed), so it holds lines nobody reviewed (fix: read `envguard check {quoted}`, then `envguard allow {quoted}`)",
                escape_for_display(&path),
                quoted = quote_for_display(&path)
            );
            Ok(())
        }
        Committed::Unchanged => match loader::check(&path, &from_process_env) {
            Ok(_) => {
                say!("envguard: no changes to {}", escape_for_display(&path));
                Ok(())
            }
            Err(refusal) => {
                say!("envguard: no changes, and it will not load: {refusal}");
                Err(Error::Silent(1))
            }
        },
    }
}

/// The private directory an editor works in, removed (copy and all) when dropped, whichever
/// way the edit ends short of a kill; its name and lock let a later run remove it after one.
struct Scratch {
    dir: tempfile::TempDir,
    /// Held while the edit runs; the kernel drops it however envguard ends.
    _in_use: Flock<File>,
}

impl Scratch {
    fn new() -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{SCRATCH_PREFIX}{}-", std::process::id()))
            .permissions(fs::Permissions::from_mode(0o700))
            .tempdir()
            .context("create", Path::new("a temporary directory"))?;
        // Whatever the umask or the temp-file crate did, no one else may even list it.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700))
            .context("protect", dir.path())?;
        let in_use = Flock::lock(
            File::open(dir.path()).context("open", dir.path())?,
            FlockArg::LockExclusive,
        )
        .map_err(|(_, errno)| Error::io("lock", dir.path(), errno.into()))?;
        Ok(Scratch {
            dir,
            _in_use: in_use,
        })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Keeps the directory, renamed so that no later run takes it for an abandoned one.
    fn keep(self) -> PathBuf {
        let dir = self.dir.keep();
        let renamed = dir.file_name().and_then(|name| {
            let name = name.to_str()?.strip_prefix(SCRATCH_PREFIX)?;
            Some(dir.with_file_name(format!("{KEPT_PREFIX}{name}")))
        });
        match renamed {
            Some(renamed) if fs::rename(&dir, &renamed).is_ok() => renamed,
            _ => dir,
        }
    }
}

/// Removes the edit directories of the user's own whose `edit` is gone, saying so, since each
/// may hold a plaintext copy of a `.env`. Best effort: one that cannot be removed is named.
fn remove_abandoned_copies() {
    let temp = std::env::temp_dir();
    let Ok(entries) = fs::read_dir(&temp) else {
        return;
    };
    let me = nix::unistd::geteuid().as_raw();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix(SCRATCH_PREFIX))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<i32>().ok())
        else {
            continue;
        };
        let dir = entry.path();
        // `lstat`: a symlink someone planted under the name is never followed.
        let ours = fs::symlink_metadata(&dir).is_ok_and(|meta| meta.is_dir() && meta.uid() == me);
        if !ours || is_running(pid) {
            continue;
        }
        let Ok(file) = File::open(&dir) else { continue };
        // A free lock with no process means no edit uses it (the lock also covers a pid that
        // is alive only in another pid namespace sharing this temp directory).
        let Ok(_lock) = Flock::lock(file, FlockArg::LockExclusiveNonblock) else {
            continue;
        };
        match fs::remove_dir_all(&dir) {
            Ok(()) => say!(
                "envguard: removed {}, a copy of a .env that an interrupted `envguard edit` left behind",
                escape_for_display(&dir)
            ),
            Err(error) => say!(
                "envguard: warning: {} holds a copy of a .env that an interrupted `envguard edit` left behind, and cannot be removed ({error}) (fix: rm -r {})",
                escape_for_display(&dir),
                quote_for_display(&dir)
            ),
        }
    }
}

fn is_running(pid: i32) -> bool {
    use nix::errno::Errno;
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(errno) => errno != Errno::ESRCH,
    }
}

/// Runs `$VISUAL`, `$EDITOR` or `vi` on `file`, waiting for it to exit.
fn run_editor(file: &Path) -> Result<()> {
    let setting = ["VISUAL", "EDITOR"]
        .iter()
        .find_map(|var| {
            std::env::var(var)
                .ok()
                .filter(|value| !value.trim().is_empty())
        })
        .unwrap_or_else(|| "vi".into());
    let words = shell_words::split(&setting).map_err(|_| {
        Error::Usage(format!(
            "cannot split the editor command {setting:?} (unbalanced quotes?)"
        ))
    })?;
    let (program, arguments) = words
        .split_first()
        .ok_or_else(|| Error::Usage("the editor command ($VISUAL / $EDITOR) is empty".into()))?;
    let status = {
        let _survive = SurviveInterrupts::install();
        Command::new(program).args(arguments).arg(file).status()
    }
    .map_err(|e| Error::Failed(format!("cannot start the editor {program:?}: {e}")))?;
    if !status.success() {
        return Err(Error::Failed(format!(
            "the editor {program:?} failed ({status}); the .env was not changed"
        )));
    }
    Ok(())
}

/// While the editor runs, a Ctrl-C or Ctrl-\\ in the terminal reaches envguard too: by
/// default it would die on the spot, before dropping the [`Scratch`] that holds the plaintext
/// copy. A handler that does nothing keeps it alive to clean up once the editor ends; unlike
/// an ignored signal, a handled one is reset by `exec`, so the editor still gets its usual
/// Ctrl-C.
struct SurviveInterrupts {
    previous: Vec<(Signal, SigAction)>,
}

extern "C" fn do_nothing(_: nix::libc::c_int) {}

impl SurviveInterrupts {
    fn install() -> Self {
        let handler = SigAction::new(
            SigHandler::Handler(do_nothing),
            SaFlags::SA_RESTART,
            SigSet::empty(),
        );
        let previous = [Signal::SIGINT, Signal::SIGQUIT]
            .into_iter()
            // SAFETY: the handler touches nothing, so it is async-signal-safe.
            .filter_map(|signal| Some((signal, unsafe { sigaction(signal, &handler) }.ok()?)))
            .collect();
        SurviveInterrupts { previous }
    }
}

impl Drop for SurviveInterrupts {
    fn drop(&mut self) {
        for (signal, previous) in &self.previous {
            // SAFETY: puts back the disposition that was there before.
            let _ = unsafe { sigaction(*signal, previous) };
        }
    }
}

/// Reports `refusal`; on a terminal, asks whether to reopen the editor. Not on a terminal
/// (a script), there is no one to ask: the answer is no.
fn offer_reopen(refusal: &Refusal) -> Result<bool> {
    say!("envguard: {refusal}");
    if !io::stdin().is_terminal() || !io::stderr().is_terminal() {
        return Ok(false);
    }
    eprint!("envguard: reopen the editor to fix it? [Y/n] ");
    io::stderr()
        .flush()
        .context("write", Path::new("standard error"))?;
    let mut answer = String::new();
    io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("read", Path::new("standard input"))?;
    Ok(!answer.trim().eq_ignore_ascii_case("n") && !answer.trim().eq_ignore_ascii_case("no"))
}
