//! The user's age identities: the private keys that open a team's `.env.shared`.
//!
//! They are gathered only when a file holds a ciphertext, never on the hook's no-change
//! path. Every identity file is a secret like a `.env`, so it passes the same guard (owned by
//! the user, mode 0600 or 0400): a key others can read is a key others hold. The sources, all
//! tried together:
//!
//! - `ENVGUARD_AGE_IDENTITY`: the key itself, for CI, where it comes from the secret store;
//! - `ENVGUARD_AGE_IDENTITY_FILE`: files (`:`-separated), each of which must exist;
//! - `$XDG_CONFIG_HOME/envguard/identity.txt`, envguard's own, created by `share me`;
//! - `~/.ssh/id_ed25519`.
//!
//! Identity files are age's own format (`age-keygen` output), that format protected by a
//! passphrase (`age-keygen | age -p`, armored or not), or an OpenSSH private key, protected or
//! not; a line that is none of these refuses without being shown.
//!
//! A passphrase can be asked for only by a command the user runs in a terminal that opted in
//! ([`ask_for_passphrases`]: `exec`, `get`, `edit --shared`, `share`), never by the prompt
//! hook, whose shell owns the terminal, nor by a kernel or anything else without one. There a
//! protected file is set aside ([`Identities::locked`]) rather than refused, so that another
//! identity may still open the values, and a value none opens says which file was locked and
//! where it can be unlocked. Asked once per file and process: the passphrase is kept in
//! memory for the process's other loads, never written anywhere.

use std::io::{self, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use age::secrecy::SecretString;
use base64::Engine;

use crate::display::quote_for_display;
use crate::error::{Refusal, RefusalKind};
use crate::load::guard::{self, Policy};

/// Where envguard keeps the user's own identity.
pub fn own_identity_path() -> Option<PathBuf> {
    // As the user set it: a loaded `.env` cannot choose the identity (see `user_dirs`).
    crate::user_dirs::config_home().map(|dir| dir.join("envguard").join("identity.txt"))
}

/// Where an identity may come from, in the order they are tried.
enum Source {
    /// `ENVGUARD_AGE_IDENTITY`: the key itself.
    Variable(String),
    /// A file named by `ENVGUARD_AGE_IDENTITY_FILE`, which must exist.
    Named(PathBuf),
    /// envguard's own, or `~/.ssh/id_ed25519`: used when present.
    Usual(PathBuf),
}

fn sources() -> Vec<Source> {
    let mut sources = Vec::new();
    if let Some(key) = std::env::var_os("ENVGUARD_AGE_IDENTITY") {
        sources.push(Source::Variable(key.into_string().unwrap_or_default()));
    }
    if let Some(files) = std::env::var_os("ENVGUARD_AGE_IDENTITY_FILE") {
        sources.extend(
            std::env::split_paths(&files)
                .filter(|f| !f.as_os_str().is_empty())
                .map(Source::Named),
        );
    }
    sources.extend(
        own_identity_path()
            .into_iter()
            .chain(crate::user_dirs::home().map(|home| home.join(".ssh/id_ed25519")))
            .filter(|file| std::fs::symlink_metadata(file).is_ok())
            .map(Source::Usual),
    );
    sources
}

/// The user's identities, and the protected ones that could not be unlocked here.
pub struct Identities {
    pub keys: Vec<Box<dyn age::Identity>>,
    /// Passphrase-protected files set aside because nobody can be asked for the passphrase.
    pub locked: Vec<PathBuf>,
}

static MAY_ASK: AtomicBool = AtomicBool::new(false);

/// Passphrases typed in this process, by file, so that each is asked for once.
static TYPED: Mutex<Vec<(PathBuf, SecretString)>> = Mutex::new(Vec::new());

/// Lets this process ask for a protected identity's passphrase on its terminal, if it has
/// one: for the commands a user runs by hand, not the hook.
pub fn ask_for_passphrases() {
    MAY_ASK.store(true, Ordering::Relaxed);
}

fn can_ask() -> bool {
    MAY_ASK.load(Ordering::Relaxed) && io::stdin().is_terminal() && io::stderr().is_terminal()
}

/// Every identity the user has, or the refusal for a source that is set but unusable.
pub fn all() -> Result<Identities, Refusal> {
    let mut identities = Identities {
        keys: Vec::new(),
        locked: Vec::new(),
    };
    for source in sources() {
        match source {
            Source::Variable(key) => identities.keys.extend(parse_age(key.as_bytes()).map_err(|()| {
                Refusal::new(
                    Path::new("ENVGUARD_AGE_IDENTITY"),
                    RefusalKind::Parse,
                    "does not hold an age identity (a line starting AGE-SECRET-KEY-1)",
                    "set it to the contents of an identity file made by `age-keygen` or `envguard share me`",
                )
            })?),
            Source::Named(file) | Source::Usual(file) => from_file(&file, &mut identities)?,
        }
    }
    Ok(identities)
}

/// The public recipient of each identity the user has, with where that identity is kept
/// (`ENVGUARD_AGE_IDENTITY` or a file), so that `check` can say which listed recipient is
/// the user. Best effort: an unusable source is the loader's to report, and an SSH key's
/// recipient is known only from the `.pub` file beside it.
pub fn own_recipients() -> Vec<(String, String)> {
    let mut found = Vec::new();
    for source in sources() {
        let (place, text) = match source {
            Source::Variable(key) => ("ENVGUARD_AGE_IDENTITY".to_owned(), key),
            Source::Named(file) | Source::Usual(file) => {
                let place = crate::display::escape_for_display(&file);
                let mut public = file.clone().into_os_string();
                public.push(".pub");
                if let Ok(line) = std::fs::read_to_string(&public)
                    && line.starts_with("ssh-")
                {
                    found.push((place, line.trim().to_owned()));
                    continue;
                }
                let Ok(read) = guard::open(&file)
                    .map_err(Refusal::from)
                    .and_then(|opened| Ok(opened.read(&file, guard::max_size(), Policy::Load)?))
                else {
                    continue;
                };
                (
                    place,
                    String::from_utf8_lossy(&read.guarded.bytes).into_owned(),
                )
            }
        };
        for line in text.lines().map(str::trim) {
            if let Ok(identity) = line.parse::<age::x25519::Identity>() {
                found.push((place.clone(), identity.to_public().to_string()));
            }
        }
    }
    found
}

/// Adds the identities in `path`, read through the guard, to `identities`.
fn from_file(path: &Path, identities: &mut Identities) -> Result<(), Refusal> {
    let bytes = guard::open(path)?
        .read(path, guard::max_size(), Policy::Load)?
        .guarded
        .bytes;
    if bytes.starts_with(b"-----BEGIN OPENSSH PRIVATE KEY-----") {
        return from_ssh(path, &bytes, identities);
    }
    if let Some(sealed) = passphrase_protected(&bytes) {
        if !can_ask() {
            identities.locked.push(path.to_path_buf());
            return Ok(());
        }
        let passphrase = passphrase_for(path)?;
        let opened = open_protected(&sealed, passphrase).ok_or_else(|| wrong_passphrase(path))?;
        identities
            .keys
            .extend(parse_age(&opened).map_err(|()| not_an_identity(path))?);
        return Ok(());
    }
    identities
        .keys
        .extend(parse_age(&bytes).map_err(|()| not_an_identity(path))?);
    Ok(())
}

fn not_an_identity(path: &Path) -> Refusal {
    Refusal::new(
        path,
        RefusalKind::Parse,
        "is not an age identity file (lines starting AGE-SECRET-KEY-1) nor an OpenSSH private key",
        format!(
            "point ENVGUARD_AGE_IDENTITY_FILE elsewhere, or replace {} with `age-keygen` output",
            quote_for_display(path)
        ),
    )
}

fn wrong_passphrase(path: &Path) -> Refusal {
    Refusal::new(
        path,
        RefusalKind::Unreadable,
        "did not open with the passphrase typed",
        "run it again and type that file's passphrase",
    )
}

/// The age file inside `bytes` when they are an age file (binary, or armored as `age -a`
/// writes it) rather than an identity: `age-keygen | age -p` output.
fn passphrase_protected(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.starts_with(b"age-encryption.org/v1\n") {
        return Some(bytes.to_vec());
    }
    let text = std::str::from_utf8(bytes).ok()?.trim();
    let body = text
        .strip_prefix("-----BEGIN AGE ENCRYPTED FILE-----")?
        .strip_suffix("-----END AGE ENCRYPTED FILE-----")?;
    let joined: String = body.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(joined)
        .ok()
}

/// The largest scrypt work factor (log2 N) accepted for a protected identity file: `age -p`
/// writes 18; 22 is a minute at most, never hours.
const MAX_WORK_FACTOR: u8 = 22;

/// The plaintext of the age file `sealed` under `passphrase`; `None` when it does not open.
fn open_protected(sealed: &[u8], passphrase: SecretString) -> Option<Vec<u8>> {
    let mut identity = age::scrypt::Identity::new(passphrase);
    // The crate bounds the work by this machine's speed, against files from strangers; this
    // is the user's own file (the guard saw to that), made by `age -p` with its fixed work
    // factor (2^18), which a slow or busy machine would otherwise refuse.
    identity.set_max_work_factor(MAX_WORK_FACTOR);
    let decryptor = age::Decryptor::new_buffered(sealed).ok()?;
    let mut plaintext = Vec::new();
    decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .ok()?
        .read_to_end(&mut plaintext)
        .ok()?;
    Some(plaintext)
}

/// The passphrase of `path`: the one typed earlier in this process, or asked for now on the
/// terminal (hidden).
fn passphrase_for(path: &Path) -> Result<SecretString, Refusal> {
    let mut typed = TYPED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, passphrase)) = typed.iter().find(|(file, _)| file == path) {
        return Ok(passphrase.clone());
    }
    let prompt = format!(
        "envguard: passphrase for {} (hidden): ",
        crate::display::escape_for_display(path)
    );
    let passphrase = SecretString::from(rpassword::prompt_password(prompt).map_err(|_| {
        Refusal::new(
            path,
            RefusalKind::Unreadable,
            "is protected by a passphrase, which could not be read from the terminal",
            "run it again in a terminal and type the passphrase",
        )
    })?);
    typed.push((path.to_path_buf(), passphrase.clone()));
    Ok(passphrase)
}

/// Adds an OpenSSH key as an identity; a passphrase-protected one is unlocked once asked
/// for, or set aside where nobody can be asked.
fn from_ssh(path: &Path, bytes: &[u8], identities: &mut Identities) -> Result<(), Refusal> {
    let filename = Some(path.to_string_lossy().into_owned());
    match age::ssh::Identity::from_buffer(io::Cursor::new(bytes), filename) {
        Ok(identity @ age::ssh::Identity::Unencrypted(_)) => {
            identities.keys.push(Box::new(identity))
        }
        Ok(age::ssh::Identity::Encrypted(key)) if can_ask() => {
            let unlocked = key
                .decrypt(passphrase_for(path)?)
                .map_err(|_| wrong_passphrase(path))?;
            identities
                .keys
                .push(Box::new(age::ssh::Identity::Unencrypted(unlocked)));
        }
        Ok(age::ssh::Identity::Encrypted(_)) => identities.locked.push(path.to_path_buf()),
        Ok(age::ssh::Identity::Unsupported(_)) | Err(_) => {
            return Err(Refusal::new(
                path,
                RefusalKind::Parse,
                "is not an OpenSSH private key age can use",
                "point ENVGUARD_AGE_IDENTITY_FILE at an age identity instead (`envguard share me` makes one)",
            ));
        }
    }
    Ok(())
}

/// The X25519 identities in an age identity file's text; `Err` for any other line (never
/// shown: it may be a key).
fn parse_age(text: &[u8]) -> Result<Vec<Box<dyn age::Identity>>, ()> {
    let file = age::IdentityFile::from_buffer(text).map_err(|_| ())?;
    let identities = file.into_identities().map_err(|_| ())?;
    if identities.is_empty() {
        return Err(());
    }
    Ok(identities)
}
