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
//! - `~/.ssh/id_ed25519` when it is not passphrase-protected (a protected one would need a
//!   prompt, which a hook cannot show).
//!
//! Identity files are age's own format (`age-keygen` output) or an OpenSSH private key; a line
//! that is neither refuses without being shown.

use std::io;
use std::path::{Path, PathBuf};

use crate::display::quote_for_display;
use crate::error::{Refusal, RefusalKind};
use crate::load::guard::{self, Policy};

/// Where envguard keeps the user's own identity.
pub fn own_identity_path() -> Option<PathBuf> {
    config_dir().map(|dir| dir.join("envguard").join("identity.txt"))
}

fn config_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .or_else(|| home().map(|home| home.join(".config")))
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .filter(|home| home.is_absolute())
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
            .chain(home().map(|home| home.join(".ssh/id_ed25519")))
            .filter(|file| std::fs::symlink_metadata(file).is_ok())
            .map(Source::Usual),
    );
    sources
}

/// Every identity the user has, or the refusal for a source that is set but unusable.
pub fn all() -> Result<Vec<Box<dyn age::Identity>>, Refusal> {
    let mut identities: Vec<Box<dyn age::Identity>> = Vec::new();
    for source in sources() {
        match source {
            Source::Variable(key) => identities.extend(parse_age(key.as_bytes()).map_err(|()| {
                Refusal::new(
                    Path::new("ENVGUARD_AGE_IDENTITY"),
                    RefusalKind::Parse,
                    "does not hold an age identity (a line starting AGE-SECRET-KEY-1)",
                    "set it to the contents of an identity file made by `age-keygen` or `envguard share me`",
                )
            })?),
            Source::Named(file) | Source::Usual(file) => identities.extend(from_file(&file)?),
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

/// The identities in `path`, read through the guard.
fn from_file(path: &Path) -> Result<Vec<Box<dyn age::Identity>>, Refusal> {
    let bytes = guard::open(path)?
        .read(path, guard::max_size(), Policy::Load)?
        .guarded
        .bytes;
    if bytes.starts_with(b"-----BEGIN OPENSSH PRIVATE KEY-----") {
        return from_ssh(path, &bytes);
    }
    parse_age(&bytes).map_err(|()| {
        Refusal::new(
            path,
            RefusalKind::Parse,
            "is not an age identity file (lines starting AGE-SECRET-KEY-1) nor an OpenSSH private key",
            format!(
                "point ENVGUARD_AGE_IDENTITY_FILE elsewhere, or replace {} with `age-keygen` output",
                quote_for_display(path)
            ),
        )
    })
}

/// An unencrypted OpenSSH key as an identity; a passphrase-protected one is skipped, since
/// asking for the passphrase is not possible everywhere envguard loads.
fn from_ssh(path: &Path, bytes: &[u8]) -> Result<Vec<Box<dyn age::Identity>>, Refusal> {
    let filename = Some(path.to_string_lossy().into_owned());
    match age::ssh::Identity::from_buffer(io::Cursor::new(bytes), filename) {
        Ok(identity @ age::ssh::Identity::Unencrypted(_)) => Ok(vec![Box::new(identity)]),
        Ok(_) => Ok(Vec::new()),
        Err(_) => Err(Refusal::new(
            path,
            RefusalKind::Parse,
            "is not an OpenSSH private key age can use",
            "point ENVGUARD_AGE_IDENTITY_FILE at an age identity instead (`envguard share me` makes one)",
        )),
    }
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
