//! `envguard share`: a team's secrets in git, each value encrypted to every teammate's own
//! age key (issue 13). `share me` prints the user's public recipient, making the identity on
//! first use; `share init` starts a project's `.env.recipients` and `.env.shared`.
//!
//! Also the one place that seals a value for the team (`set --shared`): the recipients are
//! those `.env.recipients` lists, in the format `age -R` reads, so that the `age` CLI and
//! envguard encrypt to the same people. Encryption is age's; nothing here is a cipher.

use std::fs;
use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::Engine;

use crate::atomic;
use crate::cli::{ShareCommand, ShareInitArgs};
use crate::display::{escape_for_display, quote_for_display};
use crate::envfile;
use crate::error::{Error, IoContext, Refusal, RefusalKind, Result};
use crate::git;
use crate::load::discover::{self, FILE_NAME, SHARED_FILE_NAME};
use crate::load::guard::{self, Policy};
use crate::load::identity;
use crate::load::loader::{self, from_process_env};

/// The committed list of who can read a project's `.env.shared`.
pub const RECIPIENTS_FILE_NAME: &str = ".env.recipients";

/// Committed files hold no secret: readable by the team, writable by the user.
const COMMITTED_MODE: u32 = 0o644;

pub fn run(command: &ShareCommand) -> Result<()> {
    match command {
        ShareCommand::Me => me(),
        ShareCommand::Init(args) => init(args),
    }
}

fn me() -> Result<()> {
    let recipient = own_recipient()?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{recipient}").context("write", Path::new("standard output"))
}

/// The public half of the user's own identity, which is created (mode 0600, in a 0700
/// directory) when there is none yet.
fn own_recipient() -> Result<String> {
    let path = identity::own_identity_path().ok_or_else(|| {
        Error::Failed("cannot find your config directory: set HOME or XDG_CONFIG_HOME".into())
    })?;
    if fs::symlink_metadata(&path).is_err() {
        create_identity(&path)?;
    }
    let bytes = guard::open(&path)?
        .read(&path, guard::max_size(), Policy::Load)?
        .guarded
        .bytes;
    let text = String::from_utf8_lossy(&bytes);
    text.lines()
        .find_map(|line| age::x25519::Identity::from_str(line.trim()).ok())
        .map(|identity| identity.to_public().to_string())
        .ok_or_else(|| {
            Refusal::new(
                &path,
                RefusalKind::Parse,
                "holds no age X25519 identity (a line starting AGE-SECRET-KEY-1)",
                format!(
                    "move it away (mv {0} {0}.old), then run `envguard share me` again",
                    quote_for_display(&path)
                ),
            )
            .into()
        })
}

fn create_identity(path: &Path) -> Result<()> {
    let dir = atomic::parent(path);
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .context("create", dir)?;
    let identity = age::x25519::Identity::generate();
    let contents = format!(
        "# created by envguard: {}\n# public key: {}\n{}\n",
        today(),
        identity.to_public(),
        age::secrecy::ExposeSecret::expose_secret(&identity.to_string())
    );
    atomic::write(path, contents.as_bytes(), 0o600).context("write", path)?;
    say!(
        "envguard: created your age identity {} (mode 0600; keep it, it is the only key to your team's values)",
        escape_for_display(path)
    );
    Ok(())
}

fn init(args: &ShareInitArgs) -> Result<()> {
    let dir = match &args.dir {
        Some(dir) => discover::absolute(dir)?,
        None => discover::working_dir()?,
    };
    let recipients = dir.join(RECIPIENTS_FILE_NAME);
    let shared = dir.join(SHARED_FILE_NAME);
    for path in [&recipients, &shared] {
        if fs::symlink_metadata(path).is_ok() {
            return Err(Error::Usage(format!(
                "{} already exists: this project is shared already (fix: `envguard set --shared NAME` adds a value)",
                escape_for_display(path)
            )));
        }
    }
    let me = own_recipient()?;
    let label = user_label();
    let listed = format!(
        "# Who can read .env.shared: one age recipient per line (`age -R` reads this file).\n# {label} (added {})\n{me}\n",
        today()
    );
    let _lock = envfile::lock_dir(&dir)?;
    atomic::write(&recipients, listed.as_bytes(), COMMITTED_MODE).context("write", &recipients)?;
    atomic::write(&shared, b"", COMMITTED_MODE).context("write", &shared)?;
    envfile::allow(&loader::check(&shared, &from_process_env)?)?;
    say!(
        "envguard: created {} (you, {label}) and an empty {}, allowed; commit both, then `envguard set --shared NAME`",
        escape_for_display(&recipients),
        escape_for_display(&shared)
    );
    for path in [&recipients, &shared] {
        if git::is_ignored(path) == Some(true) {
            say!(
                "envguard: warning: git ignores {}, which the team needs committed (fix: add `!{}` to .gitignore)",
                escape_for_display(path),
                path.file_name()
                    .map_or("", |n| n.to_str().unwrap_or_default())
            );
        }
    }
    let (_, warning) = git::ensure_ignored(&dir.join(FILE_NAME))?.describe(&dir.join(FILE_NAME));
    if let Some(warning) = warning {
        say!("envguard: warning: {warning}");
    }
    Ok(())
}

/// Who the user is, for the comment above their recipient: their user name.
fn user_label() -> String {
    let user = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .ok()
        .flatten()
        .map_or_else(|| "me".to_owned(), |user| user.name);
    user.chars().filter(|c| !c.is_control()).collect()
}

/// Today's date (UTC) as YYYY-MM-DD, from the days since 1970 (Howard Hinnant's algorithm).
fn today() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let days = (seconds / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The recipients of the project whose team file is `shared`, with the labels written above
/// them. The list decides who can read every value sealed to it, so it passes the team file's
/// guard: nobody but the user may have written it.
pub(super) fn recipients(shared: &Path) -> Result<Team> {
    let path = atomic::parent(shared).join(RECIPIENTS_FILE_NAME);
    let bytes = match guard::open(&path) {
        Err(failure) if failure.problem == guard::Problem::Missing => {
            return Err(Refusal::new(
                &path,
                RefusalKind::NotFound,
                "is missing, so there is nobody to encrypt for",
                "run `envguard share init` in the project",
            )
            .into());
        }
        opened => {
            opened?
                .read(&path, guard::max_size(), Policy::Shared)?
                .guarded
                .bytes
        }
    };
    let text = String::from_utf8(bytes).map_err(|_| parse_refusal(&path, 1))?;
    let mut team = Team {
        path: path.clone(),
        recipients: Vec::new(),
        labels: Vec::new(),
    };
    let mut label = None;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(comment) = line.strip_prefix('#') {
            let comment = comment.split(" (added ").next().unwrap_or_default();
            label = Some(comment.trim().to_owned());
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let recipient: Box<dyn age::Recipient + Send> = if line.starts_with("age1") {
            Box::new(
                age::x25519::Recipient::from_str(line)
                    .map_err(|_| parse_refusal(&path, index + 1))?,
            )
        } else {
            Box::new(
                age::ssh::Recipient::from_str(line).map_err(|_| parse_refusal(&path, index + 1))?,
            )
        };
        team.recipients.push(recipient);
        team.labels.push(
            label
                .take()
                .unwrap_or_else(|| line.chars().take(16).collect()),
        );
    }
    if team.recipients.is_empty() {
        return Err(Refusal::new(
            &path,
            RefusalKind::Parse,
            "lists no recipient",
            "add yours: envguard share me >> .env.recipients",
        )
        .into());
    }
    Ok(team)
}

fn parse_refusal(path: &Path, line: usize) -> Error {
    Refusal::new(
        path,
        RefusalKind::Parse,
        "is not an age recipient (age1… or ssh-ed25519 …)",
        format!("correct or delete line {line}"),
    )
    .at_line(line)
    .into()
}

/// Who a project's values are sealed to.
pub(super) struct Team {
    pub path: PathBuf,
    recipients: Vec<Box<dyn age::Recipient + Send>>,
    /// What the comment above each recipient says (its start, where there is none).
    pub labels: Vec<String>,
}

impl Team {
    /// `age:<base64>` of an age file of `NAME=value`, for every recipient: the value of a
    /// `.env.shared` line, which the loader opens only under `name`.
    pub fn seal(&self, name: &str, value: &str) -> Result<String> {
        let recipients = self
            .recipients
            .iter()
            .map(|r| r.as_ref() as &dyn age::Recipient);
        let encryptor = age::Encryptor::with_recipients(recipients)
            .map_err(|e| Error::Failed(format!("cannot encrypt {name}: {e}")))?;
        let mut sealed = Vec::new();
        let failed = |_| Error::Failed(format!("cannot encrypt {name}"));
        let mut writer = encryptor.wrap_output(&mut sealed).map_err(failed)?;
        writer
            .write_all(format!("{name}={value}").as_bytes())
            .map_err(failed)?;
        writer.finish().map_err(failed)?;
        Ok(format!(
            "{}{}",
            crate::load::decrypt::PREFIX,
            base64::engine::general_purpose::STANDARD.encode(sealed)
        ))
    }
}
