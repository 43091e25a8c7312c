//! The trust store: which `.env` files the user has allowed, and with which contents.
//!
//! A file loads only if its canonical path is recorded with the SHA-256 of its current bytes,
//! so any edit revokes trust until the next `envguard allow` (as `direnv allow`). The store
//! keeps digests, never contents, in one JSON file in the user's data directory
//! (`$XDG_DATA_HOME/envguard/trust.json`), rewritten atomically under a directory lock so two
//! `allow`s at once cannot lose one another. A store that cannot be read is treated as empty,
//! which only ever makes envguard refuse more; the unreadable copy is kept aside for the user.
//!
//! The store decides what loads, so only the user may have written it: a store file or
//! directory that is not the user's own and private (0600 / 0700) is refused, not read, and
//! the file is opened with `O_NOFOLLOW` and checked on the open descriptor, so a `trust.json`
//! symlinked to someone else's world-writable file is never honoured.
//!
//! Keys are canonical paths by their exact bytes: a UTF-8 absolute path is its own text (as
//! stores have always written it), any other path is `bytes:` and its bytes in hex, which no
//! absolute path can spell. An older store's lossy key for a non-UTF-8 path so matches
//! nothing any more: that file needs one new `allow`, and two such paths no longer collide.
//!
//! Beside the digests the store keeps a keyed fingerprint of every allowed value (by name),
//! so that `allow` of a changed file can say which names were added, removed or given a new
//! value without the store ever holding a value or a plain hash one could test guesses
//! against (the key lives in its own file: [`Fingerprinter::for_trust_store`]). They are kept
//! in a file of their own, `fingerprints.json`, read only when the store is changed: every
//! load reads `trust.json`, and a 10,000-name file's fingerprints took most of the time of
//! its load to parse there. Each entry carries the digest it was made for, so a crash between
//! writing the two files leaves fingerprints that are ignored, never wrong. Stores written
//! before the split kept them as an optional field of `trust.json`; the first change carries
//! them over. A store without fingerprints still decides every load the same way; only the
//! review then says it cannot tell what changed.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{self, OFlag};
use nix::sys::stat::Mode;
use nix::unistd::geteuid;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::atomic;
use crate::display::{escape_for_display, quote_for_display};
use crate::error::{Error, IoContext, Refusal, RefusalKind, Result};
use crate::load::loader::Checked;
use crate::scan::fingerprint::Fingerprinter;

const FILE_NAME: &str = "trust.json";
const FINGERPRINTS_FILE_NAME: &str = "fingerprints.json";
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

/// Where envguard keeps its data (`$XDG_DATA_HOME/envguard`), as the user set it: a loaded
/// `.env` cannot choose the store that decides what loads (see `user_dirs`).
pub fn data_dir() -> Result<PathBuf> {
    crate::user_dirs::data_dir().ok_or_else(|| {
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

/// The fingerprints field of a `trust.json` written before they had a file of their own.
#[derive(Debug, Default, Deserialize)]
struct LegacyFingerprints {
    #[serde(default)]
    fingerprints: BTreeMap<String, Fingerprints>,
}

/// `fingerprints.json`: canonical path → the fingerprints recorded when it was allowed.
#[derive(Debug, Default, Serialize, Deserialize)]
struct FingerprintsFile {
    version: u32,
    files: BTreeMap<String, Recorded>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Recorded {
    /// The digest these fingerprints were made with; they describe no other contents.
    /// Absent only for an older `trust.json`'s fingerprints of a file no longer allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    digest: Option<String>,
    names: Fingerprints,
}

/// Name → keyed fingerprint of its value, for one file.
pub type Fingerprints = BTreeMap<String, String>;

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
    /// Read on first use: only `allow`'s review and changes to the store need them.
    fingerprints: std::cell::OnceCell<BTreeMap<String, Recorded>>,
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
        let text = match read_private(&path)? {
            Some(text) => text,
            None => {
                return Ok(TrustStore::with(path, Contents::default(), false));
            }
        };
        match serde_json::from_slice::<Contents>(&text) {
            Ok(contents) if contents.version == FORMAT_VERSION => {
                Ok(TrustStore::with(path, contents, false))
            }
            _ => {
                say!(
                    "envguard: the trust store {} is unreadable; nothing is allowed until you run `envguard allow` again",
                    escape_for_display(&path)
                );
                Ok(TrustStore::with(path, Contents::default(), true))
            }
        }
    }

    fn with(path: PathBuf, contents: Contents, corrupt: bool) -> Self {
        TrustStore {
            path,
            contents,
            fingerprints: std::cell::OnceCell::new(),
            corrupt,
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

    /// Trusts `digest` for `canonical`, with the fingerprints of its values when they could
    /// be made (without them, the next review of a change cannot say what changed).
    pub fn allow(&mut self, canonical: &Path, digest: String, fingerprints: Option<Fingerprints>) {
        let key = key(canonical).into_owned();
        let recorded = fingerprints.map(|names| Recorded {
            digest: Some(digest.clone()),
            names,
        });
        let all = self.fingerprints_mut();
        match recorded {
            Some(recorded) => all.insert(key.clone(), recorded),
            None => all.remove(&key),
        };
        self.contents.allowed.insert(key, digest);
    }

    /// Whether the store file existed but could not be understood (so it trusts nothing).
    pub fn is_unreadable(&self) -> bool {
        self.corrupt
    }

    /// Removes trust; false when the file was not trusted.
    pub fn deny(&mut self, canonical: &Path) -> bool {
        let key = key(canonical);
        self.fingerprints_mut().remove(key.as_ref());
        self.contents.allowed.remove(key.as_ref()).is_some()
    }

    /// Every allowed file (its canonical path) with the digest it was allowed with, in the
    /// order of their keys.
    pub fn entries(&self) -> impl Iterator<Item = (PathBuf, &str)> {
        self.contents
            .allowed
            .iter()
            .map(|(key, digest)| (path_of(key), digest.as_str()))
    }

    /// The fingerprints recorded when `canonical` was last allowed, if any were.
    pub fn fingerprints(&self, canonical: &Path) -> Option<&Fingerprints> {
        let key = key(canonical);
        let recorded = self.all_fingerprints().get(key.as_ref())?;
        let allowed = self.contents.allowed.get(key.as_ref())?;
        match &recorded.digest {
            Some(digest) if digest != allowed => None,
            _ => Some(&recorded.names),
        }
    }

    fn all_fingerprints(&self) -> &BTreeMap<String, Recorded> {
        self.fingerprints.get_or_init(|| self.read_fingerprints())
    }

    fn fingerprints_mut(&mut self) -> &mut BTreeMap<String, Recorded> {
        self.all_fingerprints();
        self.fingerprints
            .get_mut()
            .expect("fingerprints were just read")
    }

    /// Those of `fingerprints.json`, and any an older `trust.json` still holds. A missing or
    /// unreadable file reads as none: they only ever serve the review's wording.
    fn read_fingerprints(&self) -> BTreeMap<String, Recorded> {
        let readable = |path: &Path| read_private(path).ok().flatten();
        // Written in the same file as the digests, so they are of the digest allowed there;
        // recorded with it, they stay right if an older envguard later rewrites trust.json.
        let mut all: BTreeMap<String, Recorded> = readable(&self.path)
            .and_then(|text| serde_json::from_slice::<LegacyFingerprints>(&text).ok())
            .unwrap_or_default()
            .fingerprints
            .into_iter()
            .map(|(key, names)| {
                let digest = self.contents.allowed.get(&key).cloned();
                (key, Recorded { digest, names })
            })
            .collect();
        if let Some(file) = readable(&self.fingerprints_path())
            .and_then(|text| serde_json::from_slice::<FingerprintsFile>(&text).ok())
            .filter(|file| file.version == FORMAT_VERSION)
        {
            for (key, recorded) in file.files {
                let current = recorded.digest.is_some()
                    && recorded.digest.as_ref() == self.contents.allowed.get(&key);
                if current || !all.contains_key(&key) {
                    all.insert(key, recorded);
                }
            }
        }
        all
    }

    fn fingerprints_path(&self) -> PathBuf {
        self.path.with_file_name(FINGERPRINTS_FILE_NAME)
    }

    fn save(&mut self) -> Result<()> {
        if self.corrupt {
            let aside = self.path.with_extension("json.corrupt");
            fs::rename(&self.path, &aside).context("move aside", &self.path)?;
            self.corrupt = false;
        }
        // Fingerprints first: a crash between the two writes leaves fingerprints for a digest
        // not yet trusted, which [`Self::fingerprints`] ignores.
        let fingerprints = FingerprintsFile {
            version: FORMAT_VERSION,
            files: std::mem::take(self.fingerprints_mut()),
        };
        let written = write_json(&self.fingerprints_path(), &fingerprints);
        *self.fingerprints_mut() = fingerprints.files;
        written?;
        self.contents.version = FORMAT_VERSION;
        write_json(&self.path, &self.contents)
    }
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let mut text = serde_json::to_vec_pretty(value).expect("trust store serialises");
    text.push(b'\n');
    atomic::write(path, &text, 0o600).context("write", path)
}

/// The store's key for a canonical path: exact, whatever bytes the path holds.
fn key(path: &Path) -> std::borrow::Cow<'_, str> {
    match path.to_str() {
        Some(text) if text.starts_with('/') => text.into(),
        _ => {
            let mut key = String::from(BYTES_KEY_PREFIX);
            for byte in path.as_os_str().as_bytes() {
                key.push_str(&format!("{byte:02x}"));
            }
            key.into()
        }
    }
}

/// Starts the key of a path that is not absolute UTF-8 text.
const BYTES_KEY_PREFIX: &str = "bytes:";

/// The path a key was made from (an older store's lossy key gives the lossy text, which names
/// no file, so it shows as missing).
fn path_of(key: &str) -> PathBuf {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    let decoded = key.strip_prefix(BYTES_KEY_PREFIX).and_then(|hex| {
        (hex.len() % 2 == 0)
            .then(|| {
                (0..hex.len())
                    .step_by(2)
                    .map(|at| u8::from_str_radix(hex.get(at..at + 2)?, 16).ok())
                    .collect::<Option<Vec<u8>>>()
            })
            .flatten()
    });
    match decoded {
        Some(bytes) => PathBuf::from(OsString::from_vec(bytes)),
        None => PathBuf::from(key),
    }
}

/// The fingerprints of `checked`'s values, or why they cannot be made (the key could not be
/// read or kept).
pub fn fingerprints_of(checked: &Checked) -> std::result::Result<Fingerprints, String> {
    let fingerprinter = Fingerprinter::for_trust_store();
    let fingerprints = checked
        .bindings
        .iter()
        .map(|binding| {
            let fingerprint = fingerprinter.fingerprint_value(
                &checked.canonical,
                &binding.name,
                binding.value.as_bytes(),
            );
            (binding.name.clone(), fingerprint)
        })
        .collect();
    match fingerprinter.problem() {
        Some(problem) => Err(problem.to_string()),
        None => Ok(fingerprints),
    }
}

/// Trusts `checked` as it is, recording the fingerprints of its values.
pub fn allow(checked: &Checked) -> Result<()> {
    let fingerprints = fingerprints_of(checked);
    allow_with(checked, fingerprints)
}

/// [`allow`] with fingerprints already made; says once when they could not be.
pub fn allow_with(
    checked: &Checked,
    fingerprints: std::result::Result<Fingerprints, String>,
) -> Result<()> {
    let fingerprints = fingerprints
        .map_err(|problem| {
            say!(
                "envguard: warning: {} is allowed without fingerprints of its values, so a later `envguard allow` cannot say what changed: {problem}",
                escape_for_display(&checked.path)
            );
        })
        .ok();
    TrustStore::update(|store| {
        store.allow(&checked.canonical, checked.digest.clone(), fingerprints)
    })
}

/// What changed between two sets of fingerprints of one file, by name.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

impl Changes {
    pub fn between(before: &Fingerprints, now: &Fingerprints) -> Self {
        let mut changes = Changes::default();
        for (name, fingerprint) in now {
            match before.get(name) {
                None => changes.added.push(name.clone()),
                Some(earlier) if earlier != fingerprint => changes.changed.push(name.clone()),
                Some(_) => {}
            }
        }
        changes.removed = before
            .keys()
            .filter(|name| !now.contains_key(*name))
            .cloned()
            .collect();
        changes
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }
}

/// `+NEW ~API_KEY -OLD`: names only (escaped, as a store could hold any text), never values.
impl std::fmt::Display for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let marked = [
            ('+', &self.added),
            ('~', &self.changed),
            ('-', &self.removed),
        ];
        let mut first = true;
        for (mark, names) in marked {
            for name in names {
                if !first {
                    f.write_str(" ")?;
                }
                first = false;
                write!(f, "{mark}{}", crate::display::escape_text_for_display(name))?;
            }
        }
        Ok(())
    }
}

/// The store's bytes, `None` when there is no store yet; refused unless the store and its
/// directory are the user's own and private.
fn read_private(path: &Path) -> Result<Option<Vec<u8>>> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    match fs::metadata(dir) {
        Ok(meta) => check_private(path, dir, &meta, 0o700, "directory")?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read the trust store", dir, e)),
    }
    let flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK;
    let fd: OwnedFd = match fcntl::open(path, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::ENOENT) => return Ok(None),
        Err(Errno::ELOOP) => {
            return Err(Refusal::new(
                path,
                RefusalKind::Owner,
                "the trust store is a symlink; envguard trusts only a store file of your own",
                format!(
                    "rm {}, then `envguard allow` your files again",
                    quote_for_display(path)
                ),
            )
            .into());
        }
        Err(errno) => {
            return Err(Error::io(
                "read the trust store",
                path,
                io::Error::from(errno),
            ));
        }
    };
    let mut file = File::from(fd);
    let meta = file.metadata().context("read the trust store", path)?;
    if !meta.is_file() {
        return Err(Refusal::new(
            path,
            RefusalKind::NotRegular,
            "the trust store is not a regular file",
            format!(
                "remove it (rm -r {}), then `envguard allow` your files again",
                quote_for_display(path)
            ),
        )
        .into());
    }
    check_private(path, path, &meta, 0o600, "file")?;
    let mut text = Vec::new();
    file.read_to_end(&mut text)
        .context("read the trust store", path)?;
    Ok(Some(text))
}

/// Refuses `what` (the store `file` or its `directory`) unless it is the user's and no one
/// else can read or write it.
fn check_private(
    store: &Path,
    what: &Path,
    meta: &fs::Metadata,
    mode: u32,
    kind: &str,
) -> Result<()> {
    let me = geteuid();
    if meta.uid() != me.as_raw() {
        return Err(Refusal::new(
            store,
            RefusalKind::Owner,
            format!(
                "the trust store {kind} {} is owned by {}, not by you; envguard trusts only a store of your own",
                escape_for_display(what),
                crate::load::guard::user_name(nix::unistd::Uid::from_raw(meta.uid()))
            ),
            format!(
                "move it aside (mv {quoted} {quoted}.foreign), then `envguard allow` your files again",
                quoted = quote_for_display(what)
            ),
        )
        .into());
    }
    let actual = meta.mode() & 0o7777;
    if actual & 0o7077 != 0 {
        return Err(Refusal::new(
            store,
            RefusalKind::Mode,
            format!(
                "the trust store {kind} {} has mode {actual:04o}; others could change what envguard trusts ({mode:04o} required)",
                escape_for_display(what)
            ),
            if kind == "file" && actual & 0o022 != 0 {
                // Others could have written it: its contents are not evidence of anything.
                format!(
                    "rm {}, then `envguard allow` your files again",
                    quote_for_display(what)
                )
            } else {
                format!("chmod {mode:o} {}", quote_for_display(what))
            },
        )
        .into());
    }
    Ok(())
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
    use std::os::unix::fs::PermissionsExt;

    /// A store directory as envguard makes it: 0700.
    fn private_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        dir
    }

    #[test]
    fn digest_is_sha256_hex() {
        assert_eq!(
            digest(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn an_edit_changes_trust_and_deny_removes_it() {
        let dir = private_dir();
        let mut store = TrustStore::open_at(dir.path().join(FILE_NAME)).unwrap();
        let env = Path::new("/p/.env");
        assert_eq!(store.trust(env, &digest(b"A=1")), Trust::NeverAllowed);
        store.allow(env, digest(b"A=1"), None);
        assert_eq!(store.trust(env, &digest(b"A=1")), Trust::Allowed);
        assert_eq!(store.trust(env, &digest(b"A=2")), Trust::Changed);
        assert!(store.deny(env));
        assert_eq!(store.trust(env, &digest(b"A=1")), Trust::NeverAllowed);
    }

    #[test]
    fn corrupt_store_trusts_nothing_and_is_replaced_on_save() {
        let dir = private_dir();
        let path = dir.path().join(FILE_NAME);
        fs::write(&path, "{not json").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let mut store = TrustStore::open_at(path.clone()).unwrap();
        assert!(store.corrupt);
        store.allow(Path::new("/p/.env"), digest(b""), None);
        store.save().unwrap();
        assert!(
            TrustStore::open_at(path.clone())
                .unwrap()
                .trust(Path::new("/p/.env"), &digest(b""))
                == Trust::Allowed
        );
        assert!(dir.path().join("trust.json.corrupt").exists());
    }

    #[test]
    fn keys_are_exact_bytes_and_utf8_keys_are_unchanged() {
        use std::ffi::OsStr;
        let ff = Path::new(OsStr::from_bytes(b"/p/x\xff/.env"));
        let fe = Path::new(OsStr::from_bytes(b"/p/x\xfe/.env"));
        assert_ne!(key(ff), key(fe));
        assert_eq!(key(ff), "bytes:2f702f78ff2f2e656e76");
        assert_eq!(key(Path::new("/p/é/.env")), "/p/é/.env");
        // The lossy key an older store wrote for either path matches neither.
        let mut store = TrustStore::open_at(private_dir().path().join(FILE_NAME)).unwrap();
        store
            .contents
            .allowed
            .insert(ff.to_string_lossy().into_owned(), digest(b""));
        assert_eq!(store.trust(fe, &digest(b"")), Trust::NeverAllowed);
        store.allow(ff, digest(b""), None);
        assert_eq!(store.trust(ff, &digest(b"")), Trust::Allowed);
        assert_eq!(store.trust(fe, &digest(b"")), Trust::NeverAllowed);
    }

    #[test]
    fn a_store_others_can_write_is_refused() {
        let dir = private_dir();
        let path = dir.path().join(FILE_NAME);
        fs::write(&path, "{\"version\":1,\"allowed\":{}}").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o666)).unwrap();
        assert!(TrustStore::open_at(path.clone()).is_err());
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(TrustStore::open_at(path.clone()).is_ok());
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        assert!(TrustStore::open_at(path).is_err());
    }

    #[test]
    fn keys_read_back_as_the_paths_they_were_made_from() {
        use std::ffi::OsStr;
        for path in [
            Path::new("/p/.env"),
            Path::new(OsStr::from_bytes(b"/p/x\xff/.env")),
        ] {
            assert_eq!(path_of(&key(path)), path);
        }
        assert_eq!(path_of("bytes:zz"), Path::new("bytes:zz"));
    }

    #[test]
    fn fingerprints_live_beside_the_digests_and_loads_never_read_them() {
        let dir = private_dir();
        let path = dir.path().join(FILE_NAME);
        let mut store = TrustStore::open_at(path.clone()).unwrap();
        let recorded = Fingerprints::from([("A".to_string(), "f".to_string())]);
        store.allow(Path::new("/p/.env"), "e".into(), Some(recorded.clone()));
        store.save().unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"version\": 1") && !text.contains("fingerprints"));
        let store = TrustStore::open_at(path).unwrap();
        assert_eq!(store.trust(Path::new("/p/.env"), "e"), Trust::Allowed);
        assert!(
            store.fingerprints.get().is_none(),
            "a load read the fingerprints"
        );
        assert_eq!(store.fingerprints(Path::new("/p/.env")), Some(&recorded));
    }

    #[test]
    fn fingerprints_an_older_store_kept_inside_trust_json_are_carried_over() {
        let dir = private_dir();
        let path = dir.path().join(FILE_NAME);
        let older =
            r#"{"version":1,"allowed":{"/p/.env":"d"},"fingerprints":{"/p/.env":{"A":"f"}}}"#;
        fs::write(&path, older).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let recorded = Fingerprints::from([("A".to_string(), "f".to_string())]);
        let mut store = TrustStore::open_at(path.clone()).unwrap();
        assert_eq!(store.trust(Path::new("/p/.env"), "d"), Trust::Allowed);
        assert_eq!(store.fingerprints(Path::new("/p/.env")), Some(&recorded));
        store.allow(Path::new("/q/.env"), "x".into(), None);
        store.save().unwrap();
        assert!(!fs::read_to_string(&path).unwrap().contains("fingerprints"));
        let store = TrustStore::open_at(path).unwrap();
        assert_eq!(store.fingerprints(Path::new("/p/.env")), Some(&recorded));
    }

    #[test]
    fn fingerprints_made_for_other_contents_are_ignored() {
        // As a crash between writing fingerprints.json and trust.json leaves them.
        let dir = private_dir();
        let path = dir.path().join(FILE_NAME);
        let mut store = TrustStore::open_at(path.clone()).unwrap();
        store.allow(Path::new("/p/.env"), "d".into(), Some(Fingerprints::new()));
        store.save().unwrap();
        let mut text = fs::read_to_string(&path).unwrap();
        text = text.replace("\"d\"", "\"older\"");
        fs::write(&path, text).unwrap();
        let store = TrustStore::open_at(path).unwrap();
        assert!(store.fingerprints(Path::new("/p/.env")).is_none());
    }

    #[test]
    fn allowing_without_fingerprints_or_denying_forgets_the_old_ones() {
        let mut store = TrustStore::open_at(private_dir().path().join(FILE_NAME)).unwrap();
        let env = Path::new("/p/.env");
        store.allow(env, "d".into(), Some(Fingerprints::new()));
        store.allow(env, "e".into(), None);
        assert!(store.fingerprints(env).is_none());
        store.allow(env, "d".into(), Some(Fingerprints::new()));
        store.deny(env);
        assert!(store.fingerprints(env).is_none());
    }

    #[test]
    fn changes_name_what_was_added_changed_and_removed() {
        let map = |pairs: &[(&str, &str)]| -> Fingerprints {
            pairs
                .iter()
                .map(|(n, f)| (n.to_string(), f.to_string()))
                .collect()
        };
        let before = map(&[("API_KEY", "1"), ("OLD", "2"), ("SAME", "3")]);
        let now = map(&[("API_KEY", "9"), ("NEW", "4"), ("SAME", "3")]);
        let changes = Changes::between(&before, &now);
        assert_eq!(changes.to_string(), "+NEW ~API_KEY -OLD");
        assert!(Changes::between(&now, &now).is_empty());
    }
}
