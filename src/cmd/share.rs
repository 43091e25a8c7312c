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
use crate::cli::{ShareAddArgs, ShareCommand, ShareImportArgs, ShareInitArgs, ShareRemoveArgs};
use crate::display::{escape_for_display, quote_for_display};
use crate::envfile::{self, Committed, Reallow, Update};
use crate::error::{Error, IoContext, Refusal, RefusalKind, Result};
use crate::git;
use crate::load::discover::{self, FILE_NAME, RECIPIENTS_FILE_NAME, SHARED_FILE_NAME};
use crate::load::guard::{self, Policy};
use crate::load::identity;
use crate::load::loader::{self, from_process_env};
use crate::load::trust::{self, Trust, TrustStore};

/// Committed files hold no secret: readable by the team, writable by the user.
const COMMITTED_MODE: u32 = envfile::SHARED_MODE;

pub fn run(command: &ShareCommand) -> Result<()> {
    identity::ask_for_passphrases();
    match command {
        ShareCommand::Me => me(),
        ShareCommand::Init(args) => init(args),
        ShareCommand::Add(args) => add(args),
        ShareCommand::Remove(args) => remove(args),
        ShareCommand::Import(args) => import(args),
    }
}

/// `age1…` or `ssh-ed25519 …`, as `age -R` reads them.
pub(super) fn parse_recipient(line: &str) -> Option<Box<dyn age::Recipient + Send>> {
    if line.starts_with("age1") {
        Some(Box::new(age::x25519::Recipient::from_str(line).ok()?))
    } else {
        Some(Box::new(age::ssh::Recipient::from_str(line).ok()?))
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
    trust_listed(&recipients, listed.as_bytes())?;
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

/// Today's date (UTC) as YYYY-MM-DD.
pub(super) fn today() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    crate::display::utc_date(seconds)
}

/// The recipients of the project whose team file is `shared`, with the labels written above
/// them, for sealing a value to. The list decides who can read every value sealed to it, so
/// it passes the team file's guard (nobody but the user may have written it) and the trust
/// gate: a `git pull` that adds a stranger's key changes its bytes, and until the user has
/// looked and run `envguard allow`, nothing is encrypted to the new list. Loading needs no
/// recipients, so only the writers ask for them.
pub(super) fn recipients(shared: &Path) -> Result<Team> {
    let (team, read) = read_team(shared)?;
    let store = TrustStore::open()?;
    let why = match store.trust(&read.canonical, &trust::digest(&read.bytes)) {
        Trust::Allowed => return Ok(team),
        Trust::Changed => "changed since you last allowed it (a `git pull`?)",
        Trust::NeverAllowed => "was never allowed by you",
    };
    let quoted = quote_for_display(&team.path);
    Err(Refusal::new(
        &team.path,
        RefusalKind::Untrusted,
        format!(
            "{why}, so nothing is encrypted to it: whoever it now lists would read the value (it lists: {})",
            team.labels.join(", ")
        ),
        format!("review who was added (`git log -p {quoted}`), then `envguard allow` in the project"),
    )
    .into())
}

/// Trusts the `.env.recipients` beside `shared` as it is now, after saying who it lists: the
/// same review as the team file's. A list that is missing or does not pass is said, not
/// refused: loading does not need it.
///
/// This is where a `git pull` that added a stranger's key is noticed, so a changed list is
/// shown by its recipient lines (public keys, not the labels above them, which whoever wrote
/// the file chose): added and removed ones when envguard recorded the list it last allowed,
/// every one otherwise.
pub(super) fn allow_recipients(shared: &Path) -> Result<()> {
    if shared
        .file_name()
        .is_none_or(|name| name != SHARED_FILE_NAME)
        || fs::symlink_metadata(recipients_path(shared)).is_err()
    {
        return Ok(());
    }
    let (team, read) = match read_team(shared) {
        Ok(read) => read,
        Err(error) => {
            say!(
                "envguard: warning: not allowed, so `set --shared` and `share` refuse to encrypt to it: {error}"
            );
            return Ok(());
        }
    };
    review_listed(&team, &read)?;
    TrustStore::update(|store| {
        store.allow(
            &read.canonical,
            trust::digest(&read.bytes),
            Some(listed(&team)),
        )
    })?;
    say!(
        "envguard: allowed {} ({} recipients: {})",
        escape_for_display(&team.path),
        team.labels.len(),
        team.labels.join(", ")
    );
    Ok(())
}

/// One line per recipient added or removed since the list was last allowed (every one, when
/// that list was not recorded); nothing for a list allowed as it is.
fn review_listed(team: &Team, read: &guard::Guarded) -> Result<()> {
    let store = TrustStore::open()?;
    let trust = store.trust(&read.canonical, &trust::digest(&read.bytes));
    if trust == Trust::Allowed {
        return Ok(());
    }
    let before = store.fingerprints(&read.canonical);
    let added: Vec<(&String, &String)> = team
        .listed
        .iter()
        .zip(&team.labels)
        .filter(|(line, _)| before.is_none_or(|before| !before.contains_key(*line)))
        .collect();
    let removed = before
        .into_iter()
        .flat_map(|before| before.keys())
        .filter(|line| !team.listed.contains(line));
    let path = escape_for_display(&team.path);
    let what = match (trust, before) {
        (Trust::Changed, Some(_)) => "changed since it was last allowed; it now adds",
        _ => "lists",
    };
    let shown = crate::display::escape_text_for_display;
    for (line, label) in &added {
        // Labels are escaped as they are read.
        say!("envguard: {path} {what} {} ({label})", shown(line));
    }
    for line in removed {
        say!("envguard: {path} no longer lists {}", shown(line));
    }
    if trust == Trust::Changed && !added.is_empty() {
        say!(
            "envguard: whoever is listed can read every value encrypted from now on; if you do not know a key, stop and ask (`git log -p {}` shows who added it)",
            quote_for_display(&team.path)
        );
    }
    Ok(())
}

/// The list's recipient lines as the trust store records them, for the next review: the
/// lines are public keys, so they are the entries themselves, each with its label.
fn listed(team: &Team) -> trust::Fingerprints {
    team.listed
        .iter()
        .cloned()
        .zip(team.labels.iter().cloned())
        .collect()
}

/// Records the recipients file `recipients`, as `bytes` that a `share` command just wrote
/// there under the project's lock, as trusted: the bytes written, not a re-read that could
/// see a later change.
fn trust_listed(recipients: &Path, bytes: &[u8]) -> Result<()> {
    let text = std::str::from_utf8(bytes).map_err(|_| parse_refusal(recipients, 1))?;
    let team = parse_team(recipients, text)?;
    let canonical = fs::canonicalize(recipients).context("read", recipients)?;
    TrustStore::update(|store| store.allow(&canonical, trust::digest(bytes), Some(listed(&team))))
}

fn recipients_path(shared: &Path) -> PathBuf {
    atomic::parent(shared).join(RECIPIENTS_FILE_NAME)
}

/// The recipients file beside `shared`, through the guard, and its recipients.
pub(super) fn read_team(shared: &Path) -> Result<(Team, guard::Guarded)> {
    let path = recipients_path(shared);
    let read = match guard::open(&path) {
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
        }
    };
    let text = std::str::from_utf8(&read.bytes).map_err(|_| parse_refusal(&path, 1))?;
    Ok((parse_team(&path, text)?, read))
}

/// The recipients listed in `text`, the contents of the recipients file at `path`.
fn parse_team(path: &Path, text: &str) -> Result<Team> {
    let path = path.to_path_buf();
    let mut team = Team {
        path: path.clone(),
        recipients: Vec::new(),
        listed: Vec::new(),
        labels: Vec::new(),
    };
    let mut label = None;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(comment) = line.strip_prefix('#') {
            let comment = comment.split(" (added ").next().unwrap_or_default();
            // Any teammate writes these comments, and every message that names who reads
            // shows them: escaped once here, so none can move the cursor or fake a line.
            label = Some(crate::display::escape_text_for_display(comment.trim()));
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let recipient = parse_recipient(line).ok_or_else(|| parse_refusal(&path, index + 1))?;
        team.recipients.push(recipient);
        team.listed.push(line.to_owned());
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
    /// Each recipient as its line says.
    pub listed: Vec<String>,
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

/// `share add`: the new recipients are appended to `.env.recipients`, each under its label,
/// and every value is sealed again to the whole new set. Only someone who can open every
/// value can do that, so the old values are decrypted first.
fn add(args: &ShareAddArgs) -> Result<()> {
    let shared = super::set::shared_file(args.dir.as_deref())?;
    let mut wanted = Vec::new();
    for arg in &args.recipients {
        wanted.extend(recipients_named_by(arg)?);
    }
    let label = match &args.label {
        Some(label) => {
            let label: String = label.chars().filter(|c| !c.is_control()).collect();
            Some(label.trim().to_owned())
        }
        None => None,
    };
    let mut update = Update::begin(&shared)?;
    let team = recipients(&shared)?;
    let mut text = read_recipients_text(&team.path)?;
    let mut added = Vec::new();
    for recipient in wanted {
        if team.listed.contains(&recipient) || added.contains(&recipient) {
            say!("envguard: {recipient} is already a recipient");
            continue;
        }
        let label = label.clone().unwrap_or_else(|| default_label(&recipient));
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&format!("# {label} (added {})\n{recipient}\n", today()));
        added.push(recipient);
    }
    if added.is_empty() {
        // Someone listed already: the one thing to do is what `check` suggests for values
        // sealed to another set than the list (it was edited by hand): seal them to it.
        if !sealed_to_another_set(&update, team.listed.len()) {
            return Ok(());
        }
        say!(
            "envguard: some values of {} were encrypted to another set of recipients than the {} listed; encrypting every value again to the list",
            escape_for_display(&shared),
            team.listed.len()
        );
    }
    let new_team = parse_team(&team.path, &text)?;
    let names = reseal(&mut update, &team, &new_team)?;
    let committed = commit_both(update, &team.path, &text)?;
    say!(
        "envguard: added {} to {}; {} values re-encrypted to its {} recipients: {}",
        added.len(),
        escape_for_display(&team.path),
        names.len(),
        new_team.labels.len(),
        new_team.labels.join(", ")
    );
    super::unset::report(&shared, "re-encrypted every value", &[], committed)?;
    say!("envguard: commit and push .env.recipients and .env.shared; they then `envguard allow`");
    Ok(())
}

/// Whether a value of `update`'s file is sealed to other than `listed` recipients, by its
/// age header.
fn sealed_to_another_set(update: &Update, listed: usize) -> bool {
    crate::load::dotenv::parse(update.contents(), &|_| None).is_ok_and(|bindings| {
        bindings.iter().any(|binding| {
            crate::load::decrypt::recipient_count(&binding.value).is_some_and(|n| n != listed)
        })
    })
}

/// `share remove`: the recipient (and the label comment above it) leaves `.env.recipients`
/// and every value is sealed again without them. Re-encrypting cannot take back what they
/// have already read, so the message lists every name to rotate.
fn remove(args: &ShareRemoveArgs) -> Result<()> {
    let shared = super::set::shared_file(args.dir.as_deref())?;
    let mut update = Update::begin(&shared)?;
    let team = recipients(&shared)?;
    let who = args.who.trim();
    let matches: Vec<usize> = (0..team.listed.len())
        .filter(|&index| team.listed[index] == who || team.labels[index] == who)
        .collect();
    let index = match matches[..] {
        [index] => index,
        [] => {
            return Err(Error::Usage(format!(
                "{} is neither a recipient nor a label in {}; its recipients are: {}",
                quote_for_display(Path::new(who)),
                escape_for_display(&team.path),
                team.labels.join(", ")
            )));
        }
        _ => {
            return Err(Error::Usage(format!(
                "{} labels {} recipients in {} (fix: name the recipient itself, as listed)",
                quote_for_display(Path::new(who)),
                matches.len(),
                escape_for_display(&team.path)
            )));
        }
    };
    if team.listed.len() == 1 {
        return Err(Error::Usage(format!(
            "{} is the last recipient of {}: nobody could read the values (fix: `envguard share add` someone else first)",
            team.labels[index],
            escape_for_display(&team.path)
        )));
    }
    let text = without_recipient(&read_recipients_text(&team.path)?, &team.listed[index]);
    let new_team = parse_team(&team.path, &text)?;
    let locked_out = !can_open(&new_team)?;
    if locked_out && !args.force {
        return Err(Error::Usage(format!(
            "after removing {} none of your age identities could decrypt .env.shared; nothing was changed (fix: add yourself first: `envguard share add \"$(envguard share me)\"`, or `--force`)",
            team.labels[index]
        )));
    }
    let names = reseal(&mut update, &team, &new_team)?;
    let committed = commit_both(update, &team.path, &text)?;
    say!(
        "envguard: removed {} from {}; {} values re-encrypted to the {} remaining: {}",
        team.labels[index],
        escape_for_display(&team.path),
        names.len(),
        new_team.labels.len(),
        new_team.labels.join(", ")
    );
    match committed {
        // Forced: the user chose to be unable to load it; that is no failure.
        Committed::Refused(_) if locked_out => say!(
            "envguard: re-encrypted every value in {} without you (--force): you can no longer decrypt it",
            escape_for_display(&shared)
        ),
        committed => {
            super::unset::report(&shared, "re-encrypted every value", &[], committed)?;
        }
    }
    if !names.is_empty() {
        say!(
            "envguard: {} has already seen every value (and git history keeps the old ciphertexts), so rotate each: {} (then `envguard set --shared NAME` with the new value)",
            team.labels[index],
            names.join(", ")
        );
    }
    Ok(())
}

/// `share import`: every value of a plaintext `.env`, sealed into `.env.shared` (a name
/// already there takes the imported value). The source is read through the loader's guard
/// (a file others could write is not imported) and left as it is: deleting a user's file is
/// not this command's call, and whatever it held in git history stays readable whatever
/// happens here, which is why the message says to rotate.
fn import(args: &ShareImportArgs) -> Result<()> {
    let source = discover::absolute(&args.file)?;
    let bytes = guard::open(&source)?
        .read(&source, guard::max_size(), Policy::Load)?
        .guarded
        .bytes;
    let bindings = crate::load::dotenv::parse(&bytes, &|_| None)
        .map_err(|e| loader::parse_refusal(&source, &e))?;
    if let Some(binding) = bindings
        .iter()
        .find(|binding| binding.value.starts_with("encrypted:"))
    {
        return Err(Error::Usage(format!(
            "{}: {} is dotenvx-encrypted, which envguard does not open (fix: `dotenvx decrypt -f {}`, then import again)",
            escape_for_display(&source),
            binding.name,
            quote_for_display(&source)
        )));
    }
    if bindings.is_empty() {
        return Err(Error::Usage(format!(
            "{} sets no variable; nothing to import",
            escape_for_display(&source)
        )));
    }
    let shared = super::set::shared_file(args.dir.as_deref())?;
    let mut update = Update::begin(&shared)?;
    let team = recipients(&shared)?;
    for binding in &bindings {
        envfile::check_name(&binding.name)?;
        let sealed = team.seal(&binding.name, &binding.value)?;
        if crate::load::dotenv::Limits::size_of(&binding.name, &sealed) > loader::MAX_VARIABLE_BYTES
        {
            return Err(Error::Usage(format!(
                "{}'s ciphertext would be over the 128 KiB a program can receive; nothing was imported (fix: keep large data in a file of its own and import its path)",
                binding.name
            )));
        }
        update.set_unquoted(&binding.name, &sealed)?;
    }
    let committed = update.commit(Reallow::IfAllowedBefore)?;
    let names: Vec<&str> = bindings
        .iter()
        .map(|binding| binding.name.as_str())
        .collect();
    say!(
        "envguard: encrypted to the {} recipients of {}: {}",
        team.labels.len(),
        escape_for_display(&team.path),
        team.labels.join(", ")
    );
    super::unset::report(
        &shared,
        &format!("imported {}", names.join(", ")),
        &names,
        committed,
    )?;
    say!(
        "envguard: {} is left as it was: delete it once you have checked the import; if it was ever committed or sent in plaintext, rotate each value: {}",
        escape_for_display(&source),
        names.join(", ")
    );
    Ok(())
}

/// Writes the new recipients list, then the re-sealed `.env.shared`, both under `update`'s
/// lock (they share a directory), so that no `set --shared` seals to a list in between, then
/// trusts the new list. If the second write fails the old list is put back: the two files
/// never disagree on who reads.
fn commit_both(update: Update, recipients: &Path, text: &str) -> Result<Committed> {
    let old = fs::read(recipients).context("read", recipients)?;
    // A checkout's mode and group (0644, or 0664 under a private group) stay as git made them.
    let keeps = envfile::Keeps::of(recipients);
    keeps
        .write(recipients, text.as_bytes())
        .context("write", recipients)?;
    let committed = update.commit(Reallow::IfAllowedBefore).inspect_err(|_| {
        let _ = keeps.write(recipients, &old);
    })?;
    // The list was allowed before (sealing to it needed that) and is now what the user
    // asked for.
    trust_listed(recipients, text.as_bytes())?;
    Ok(committed)
}

/// Seals every value of `update`'s `.env.shared` to `new_team` in place (each line keeps its
/// place, every other byte is kept), after decrypting all of them: one that cannot be opened
/// changes nothing. Returns the names.
fn reseal(update: &mut Update, team: &Team, new_team: &Team) -> Result<Vec<String>> {
    let shared = update.path.clone();
    let bindings = crate::load::dotenv::parse(update.contents(), &|_| None)
        .map_err(|e| loader::parse_refusal(&shared, &e))?;
    let opened = crate::load::decrypt::decrypt(&shared, bindings).map_err(|refusal| {
        Error::Failed(format!(
            "{refusal}; only someone who can decrypt every value can change who reads them, and {} lists: {}",
            escape_for_display(&team.path),
            team.labels.join(", ")
        ))
    })?;
    let mut names = Vec::with_capacity(opened.len());
    for binding in opened {
        let sealed = new_team.seal(&binding.name, &binding.value)?;
        update.set_unquoted(&binding.name, &sealed)?;
        names.push(binding.name);
    }
    Ok(names)
}

/// Whether the user's own identities open a value sealed to `team`.
fn can_open(team: &Team) -> Result<bool> {
    let identities = identity::all()?;
    let sealed = team.seal("ENVGUARD_PROBE", "")?;
    let encoded = sealed
        .strip_prefix(crate::load::decrypt::PREFIX)
        .unwrap_or_default();
    let ciphertext = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| Error::Failed("cannot check your access".into()))?;
    let decryptor = age::Decryptor::new_buffered(&ciphertext[..])
        .map_err(|_| Error::Failed("cannot check your access".into()))?;
    Ok(decryptor
        .decrypt(identities.keys.iter().map(|identity| identity.as_ref()))
        .is_ok())
}

/// The recipients a `share add` argument names: itself when it is one, else each one listed
/// in the file it names.
fn recipients_named_by(arg: &str) -> Result<Vec<String>> {
    let arg = arg.trim();
    if arg.starts_with("age1") || arg.starts_with("ssh-") {
        if parse_recipient(arg).is_none() {
            return Err(Error::Usage(format!(
                "{} is not an age recipient (age1… or ssh-ed25519 …; fix: paste the whole line `envguard share me` printed)",
                escape_for_display(Path::new(arg))
            )));
        }
        return Ok(vec![arg.to_owned()]);
    }
    let path = discover::absolute(Path::new(arg))?;
    if fs::symlink_metadata(&path).is_err() {
        return Err(Error::Usage(format!(
            "{} is neither an age recipient (age1… or ssh-ed25519 …) nor a file of them",
            escape_for_display(Path::new(arg))
        )));
    }
    let bytes = guard::open(&path)?
        .read(&path, guard::max_size(), Policy::Shared)?
        .guarded
        .bytes;
    let text = String::from_utf8(bytes).map_err(|_| parse_refusal(&path, 1))?;
    Ok(parse_team(&path, &text)?.listed)
}

fn read_recipients_text(path: &Path) -> Result<String> {
    let bytes = fs::read(path).context("read", path)?;
    String::from_utf8(bytes).map_err(|_| parse_refusal(path, 1))
}

/// `text` without the line `recipient` and the `# LABEL (added …)` comment right above it;
/// every other byte kept.
fn without_recipient(text: &str, recipient: &str) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut kept: Vec<&str> = Vec::with_capacity(lines.len());
    for line in lines {
        if line.trim() == recipient {
            if kept.last().is_some_and(|above| {
                above.trim_start().starts_with('#') && above.contains(" (added ")
            }) {
                kept.pop();
            }
            continue;
        }
        kept.push(line);
    }
    kept.concat()
}

/// An SSH key's comment (usually user@host), else the recipient's start.
fn default_label(recipient: &str) -> String {
    let comment = recipient.split_whitespace().nth(2);
    comment
        .map_or_else(|| recipient.chars().take(16).collect(), str::to_owned)
        .chars()
        .filter(|c| !c.is_control())
        .collect()
}
