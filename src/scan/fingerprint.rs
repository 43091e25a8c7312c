//! Fingerprints: a keyed hash, so that a baseline, a CI log or the trust store is no oracle.
//!
//! A fingerprint must stay the same across runs (a baseline matches by it) yet must not let
//! anyone who reads it test guesses of the secret: a plain SHA-256 of a short or human-chosen
//! value is brute-forced in well under a second. So fingerprints are HMAC-SHA-256 under a
//! random key per repository, kept in envguard's data directory (0600 in a 0700 directory),
//! never in the repository. A baseline then matches on the machine that wrote it and means
//! nothing elsewhere. To use it on another machine (CI), give that machine the same key
//! through `ENVGUARD_FINGERPRINT_KEY` (kept as a CI secret, like any credential). A `.env`
//! cannot set that variable: every `ENVGUARD_` name is reserved.
//!
//! The trust store fingerprints each allowed value the same way, so that `allow` can say which
//! names changed without the store holding anything a guess can be tested against. Its key is
//! one of the same key files (`fingerprint-keys/trust`), never supplied from the environment:
//! it has no other machine to match.
//!
//! The key is read or created the first time a fingerprint is needed, not on every scan.

use std::fs::{self, DirBuilder, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::display::escape_for_display;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The variable that supplies the key on a machine other than the one that wrote a baseline.
pub const KEY_VARIABLE: &str = "ENVGUARD_FINGERPRINT_KEY";
const KEY_BYTES: usize = 32;
const KEYS_DIR: &str = "fingerprint-keys";
/// The trust store's key file; repository key files are 32 hex digits, so never this.
const TRUST_KEY_FILE: &str = "trust";

type Key = [u8; KEY_BYTES];

/// Whose key fingerprints are made under.
enum Scope {
    /// A repository's (or directory's) findings; `ENVGUARD_FINGERPRINT_KEY` may supply it.
    Repository(PathBuf),
    /// The values of allowed `.env` files; only ever the key file on this machine.
    TrustStore,
    /// A key that lives as long as the process (unless `ENVGUARD_FINGERPRINT_KEY` is set).
    Ephemeral,
}

pub struct Fingerprinter {
    scope: Scope,
    key: OnceLock<(Key, Option<String>)>,
}

impl Fingerprinter {
    /// Fingerprints keyed for the repository at `repository` (its top directory).
    pub fn for_repository(repository: &Path) -> Self {
        Fingerprinter {
            scope: Scope::Repository(repository.to_path_buf()),
            key: OnceLock::new(),
        }
    }

    /// Fingerprints of allowed values, for the trust store.
    pub fn for_trust_store() -> Self {
        Fingerprinter {
            scope: Scope::TrustStore,
            key: OnceLock::new(),
        }
    }

    /// A key that lives as long as the process: fingerprints only compare within one run.
    pub fn ephemeral() -> Self {
        Fingerprinter {
            scope: Scope::Ephemeral,
            key: OnceLock::new(),
        }
    }

    /// A finding's fingerprint: its rule, the file it is in and the secret.
    pub fn fingerprint(&self, rule_id: &str, path: &str, secret: &[u8]) -> String {
        self.mac(&[
            b"envguard-finding-v2",
            rule_id.as_bytes(),
            path.as_bytes(),
            secret,
        ])
    }

    /// An allowed value's fingerprint: the file (so one value in two files does not show as
    /// the same), the name and the value.
    pub fn fingerprint_value(&self, file: &Path, name: &str, value: &[u8]) -> String {
        self.mac(&[
            b"envguard-trust-value-v1",
            file.as_os_str().as_encoded_bytes(),
            name.as_bytes(),
            value,
        ])
    }

    /// HMAC-SHA-256 over the length-prefixed parts, as lowercase hex.
    fn mac(&self, parts: &[&[u8]]) -> String {
        let (key, _) = self.key.get_or_init(|| self.load_key());
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
        for part in parts {
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part);
        }
        hex(&mac.finalize().into_bytes())
    }

    /// Why fingerprints of this run match nothing recorded before (the key could not be read
    /// or kept), if a fingerprint was computed and that is so.
    pub fn problem(&self) -> Option<&str> {
        self.key.get().and_then(|(_, problem)| problem.as_deref())
    }

    /// The file holding this scope's key, for messages.
    pub fn key_file(&self) -> Option<PathBuf> {
        let name = self.key_file_name()?;
        Some(
            crate::load::trust::data_dir()
                .ok()?
                .join(KEYS_DIR)
                .join(name),
        )
    }

    fn key_file_name(&self) -> Option<String> {
        match &self.scope {
            Scope::Repository(repository) => Some(key_file_name(repository)),
            Scope::TrustStore => Some(TRUST_KEY_FILE.into()),
            Scope::Ephemeral => None,
        }
    }

    fn load_key(&self) -> (Key, Option<String>) {
        let supplied = match self.scope {
            Scope::TrustStore => None,
            Scope::Repository(_) | Scope::Ephemeral => std::env::var_os(KEY_VARIABLE),
        };
        if let Some(supplied) = supplied {
            return match parse_key(supplied.as_encoded_bytes()) {
                Some(key) => (key, None),
                None => (
                    random_key().unwrap_or([0; KEY_BYTES]),
                    Some(format!(
                        "{KEY_VARIABLE} is not {} hex digits; fingerprints of this run match no baseline (fix: set it to the contents of the key file)",
                        KEY_BYTES * 2
                    )),
                ),
            };
        }
        let Some(name) = self.key_file_name() else {
            return (random_key().unwrap_or([0; KEY_BYTES]), None);
        };
        match stored_key(&name) {
            Ok(key) => (key, None),
            Err(problem) => (random_key().unwrap_or([0; KEY_BYTES]), Some(problem)),
        }
    }
}

fn key_file_name(repository: &Path) -> String {
    let digest = Sha256::digest(repository.as_os_str().as_encoded_bytes());
    hex(&digest[..16])
}

/// The key in the data directory's key file `name`, created there on first need.
fn stored_key(name: &str) -> Result<Key, String> {
    let data = crate::load::trust::data_dir().map_err(|e| e.to_string())?;
    let dir = data.join(KEYS_DIR);
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(|e| format!("cannot create {}: {e}", escape_for_display(&dir)))?;
    check_private(&dir, 0o700)?;
    let file = dir.join(name);
    match read_key(&file) {
        Ok(key) => return Ok(key),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(format!("cannot read {}: {e}", escape_for_display(&file)));
        }
    }
    let key = random_key().map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    // Written whole under a temporary name, then linked into place: two scans racing to
    // create the key agree on the first one linked, and nobody reads half a key.
    let mut temp = tempfile::Builder::new()
        .prefix(".key-")
        .tempfile_in(&dir)
        .map_err(|e| format!("cannot write in {}: {e}", escape_for_display(&dir)))?;
    temp.write_all(format!("{}\n", hex(&key)).as_bytes())
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| format!("cannot write in {}: {e}", escape_for_display(&dir)))?;
    match fs::hard_link(temp.path(), &file) {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            read_key(&file).map_err(|e| format!("cannot read {}: {e}", escape_for_display(&file)))
        }
        Err(e) => Err(format!("cannot create {}: {e}", escape_for_display(&file))),
    }
}

fn read_key(file: &Path) -> io::Result<Key> {
    let mut handle = File::open(file)?;
    let meta = handle.metadata()?;
    if meta.uid() != nix::unistd::geteuid().as_raw() || meta.permissions().mode() & 0o077 != 0 {
        return Err(io::Error::other(format!(
            "not yours alone (fix: rm {} to make a new key)",
            crate::display::quote_for_display(file)
        )));
    }
    let mut text = Vec::new();
    Read::by_ref(&mut handle).take(256).read_to_end(&mut text)?;
    parse_key(text.trim_ascii()).ok_or_else(|| {
        io::Error::other(format!(
            "not a key (fix: rm {} to make a new one)",
            crate::display::quote_for_display(file)
        ))
    })
}

fn check_private(dir: &Path, mode: u32) -> Result<(), String> {
    let meta =
        fs::symlink_metadata(dir).map_err(|e| format!("{}: {e}", escape_for_display(dir)))?;
    if !meta.is_dir()
        || meta.uid() != nix::unistd::geteuid().as_raw()
        || meta.permissions().mode() & 0o777 != mode
    {
        return Err(format!(
            "{} must be your own directory with mode {mode:04o} (fix: chmod {mode:o} {})",
            escape_for_display(dir),
            crate::display::quote_for_display(dir)
        ));
    }
    Ok(())
}

fn parse_key(text: &[u8]) -> Option<Key> {
    let text = text.trim_ascii();
    if text.len() != KEY_BYTES * 2 {
        return None;
    }
    let mut key = [0; KEY_BYTES];
    for (byte, pair) in key.iter_mut().zip(text.chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(key)
}

fn random_key() -> io::Result<Key> {
    let mut key = [0; KEY_BYTES];
    File::open("/dev/urandom")?.read_exact(&mut key)?;
    Ok(key)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_make_fingerprints_differ_and_stay_stable_under_one_key() {
        let a = Fingerprinter::ephemeral();
        let b = Fingerprinter::ephemeral();
        let fa = a.fingerprint("known-value", "x.py", b"abc");
        assert_eq!(fa, a.fingerprint("known-value", "x.py", b"abc"));
        assert_ne!(fa, b.fingerprint("known-value", "x.py", b"abc"));
        assert_ne!(fa, a.fingerprint("known-value", "y.py", b"abc"));
        assert_eq!(fa.len(), 64);
    }

    #[test]
    fn keys_parse_from_hex_only() {
        assert!(parse_key(&[b'a'; 64]).is_some());
        assert!(parse_key(&[b'g'; 64]).is_none());
        assert!(parse_key(b"abcd").is_none());
    }
}
