//! The trust store: which `.env` files the user has allowed, and with which contents.
//!
//! A file loads only if its canonical path is recorded with the SHA-256 of its current bytes,
//! so any edit revokes trust until the next `envguard allow` (as `direnv allow`). The store
//! keeps digests, never contents, in one JSON file in the user's data directory
//! (`$XDG_DATA_HOME/envguard/trust.json`), rewritten atomically under a directory lock so two
//! `allow`s at once cannot lose one another. A store that cannot be read is treated as empty,
//! which only ever makes envguard refuse more; the unreadable copy is kept aside for the user.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::atomic;
use crate::error::{Error, IoContext, Result};

const FILE_NAME: &str = "trust.json";
const FORMAT_VERSION: u32 = 1;

/// SHA-256 of a file's bytes, as lowercase hex.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for byte in hash {
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 0xf)]));
    }
    hex
}

/// Where envguard keeps its data (`$XDG_DATA_HOME/envguard`).
pub fn data_dir() -> Result<PathBuf> {
    directories::ProjectDirs::from("", "", "envguard")
        .map(|dirs| dirs.data_dir().to_path_buf())
        .ok_or_else(|| {
            Error::Failed(
                "cannot find your home directory to keep the trust store in (set HOME)".into(),
            )
        })
}

/// The trust store file; its identity changes whenever any file is allowed or denied, which is
/// what the shell hook watches instead of reading it.
pub fn store_path() -> Result<PathBuf> {
    Ok(data_dir()?.join(FILE_NAME))
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Contents {
    version: u32,
    /// Canonical path of the `.env` → digest of the contents that were allowed.
    allowed: BTreeMap<String, String>,
}

/// Whether a file is trusted, as `check` and the loader report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    Allowed,
    /// Allowed once, but the contents have changed since.
    Changed,
    NeverAllowed,
}

#[derive(Debug)]
pub struct TrustStore {
    path: PathBuf,
    contents: Contents,
    /// Set when the file existed but could not be understood.
    corrupt: bool,
}

impl TrustStore {
    /// Reads the store at its usual place. A missing store is empty; an unreadable one is
    /// empty and says so once on stderr.
    pub fn open() -> Result<Self> {
        Self::open_at(store_path()?)
    }

    pub fn open_at(path: PathBuf) -> Result<Self> {
        let text = match fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(TrustStore {
                    path,
                    contents: Contents::default(),
                    corrupt: false,
                });
            }
            Err(e) => return Err(Error::io("read the trust store", path, e)),
        };
        match serde_json::from_slice::<Contents>(&text) {
            Ok(contents) if contents.version == FORMAT_VERSION => Ok(TrustStore {
                path,
                contents,
                corrupt: false,
            }),
            _ => {
                say!(
                    "envguard: the trust store {} is unreadable; nothing is allowed until you run `envguard allow` again",
                    path.display()
                );
                Ok(TrustStore {
                    path,
                    contents: Contents::default(),
                    corrupt: true,
                })
            }
        }
    }

    pub fn trust(&self, canonical: &Path, digest: &str) -> Trust {
        match self.contents.allowed.get(key(canonical).as_ref()) {
            Some(recorded) if recorded == digest => Trust::Allowed,
            Some(_) => Trust::Changed,
            None => Trust::NeverAllowed,
        }
    }

    /// Reads, changes and writes the store while holding its lock, so that concurrent
    /// updates are serialised.
    pub fn update<T>(change: impl FnOnce(&mut TrustStore) -> T) -> Result<T> {
        let path = store_path()?;
        let dir = path
            .parent()
            .expect("store path has a parent")
            .to_path_buf();
        create_private_dir(&dir)?;
        let _lock = atomic::lock_dir(&dir).context("lock", &dir)?;
        let mut store = TrustStore::open_at(path)?;
        let result = change(&mut store);
        store.save()?;
        Ok(result)
    }

    pub fn allow(&mut self, canonical: &Path, digest: String) {
        self.contents
            .allowed
            .insert(key(canonical).into_owned(), digest);
    }

    /// Removes trust; false when the file was not trusted.
    pub fn deny(&mut self, canonical: &Path) -> bool {
        self.contents
            .allowed
            .remove(key(canonical).as_ref())
            .is_some()
    }

    fn save(&mut self) -> Result<()> {
        if self.corrupt {
            let aside = self.path.with_extension("json.corrupt");
            fs::rename(&self.path, &aside).context("move aside", &self.path)?;
            self.corrupt = false;
        }
        self.contents.version = FORMAT_VERSION;
        let mut text = serde_json::to_vec_pretty(&self.contents).expect("trust store serialises");
        text.push(b'\n');
        atomic::write(&self.path, &text, 0o600).context("write", &self.path)
    }
}

/// Store keys are paths as text. A path that is not UTF-8 gets a lossy key, which can only
/// collide with another non-UTF-8 path and at worst makes it need its own `allow`.
fn key(path: &Path) -> std::borrow::Cow<'_, str> {
    path.to_string_lossy()
}

fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .context("create", dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_sha256_hex() {
        assert_eq!(
            digest(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn an_edit_changes_trust_and_deny_removes_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = TrustStore::open_at(dir.path().join(FILE_NAME)).unwrap();
        let env = Path::new("/p/.env");
        assert_eq!(store.trust(env, &digest(b"A=1")), Trust::NeverAllowed);
        store.allow(env, digest(b"A=1"));
        assert_eq!(store.trust(env, &digest(b"A=1")), Trust::Allowed);
        assert_eq!(store.trust(env, &digest(b"A=2")), Trust::Changed);
        assert!(store.deny(env));
        assert_eq!(store.trust(env, &digest(b"A=1")), Trust::NeverAllowed);
    }

    #[test]
    fn corrupt_store_trusts_nothing_and_is_replaced_on_save() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        fs::write(&path, "{not json").unwrap();
        let mut store = TrustStore::open_at(path.clone()).unwrap();
        assert!(store.corrupt);
        store.allow(Path::new("/p/.env"), digest(b""));
        store.save().unwrap();
        assert!(
            TrustStore::open_at(path.clone())
                .unwrap()
                .trust(Path::new("/p/.env"), &digest(b""))
                == Trust::Allowed
        );
        assert!(dir.path().join("trust.json.corrupt").exists());
    }
}
