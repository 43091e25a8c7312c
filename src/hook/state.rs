//! What the shell hook remembers between two prompts, carried in one exported variable.
//!
//! `envguard export` is a fresh process at every prompt, so whatever it must remember lives in
//! the shell itself: the variable `__ENVGUARD_STATE`. It is exported, not a shell-local
//! variable, so that a subshell or a nested interactive shell inherits it along with the
//! variables it describes and can unload exactly what its parent loaded.
//!
//! Why this carrier is safe enough: unlike direnv's `DIRENV_DIFF` or mise's `__MISE_DIFF`, the
//! state never holds a value read from a `.env`. It holds the loaded file's path and
//! [`Identity`], the trust store's path and identity, the loaded *names*, and for each name the
//! value it had *before* loading (or that it was absent), which is what leaving needs to
//! restore exactly. Those earlier values were already in the shell's environment; the state
//! repeats them, it adds no secret. One exception is kept out: a shell may already hold the
//! file's own values before its hook loads them (it was started by `envguard exec`, or lost its
//! state), and such an earlier value is recorded as "the file's value", never written out.
//! Nothing of it is ever put on a command line: it travels in the environment (readable by the
//! user's own processes only, unlike argv in a process listing) and in the text the shell
//! evaluates from a pipe.
//!
//! Two things in it guard the fast path against what a loaded file does to the shell:
//! - the trust store's *path*, fixed when the state is first written: a file that sets `HOME`
//!   or `XDG_DATA_HOME` would otherwise make the next prompt consult a store of its choosing;
//! - the [`Inputs`]: the outer variables the values were computed from (`${VIRTUAL_ENV}`), with
//!   a fingerprint of their values, so that activating a virtualenv reloads a file that refers
//!   to it without reading any file at the prompts where nothing changed. An outer value may be
//!   a secret, so the fingerprint is an HMAC under a [`Key`] that is not in the state: the
//!   state alone (in a crash report's environment dump, say) is no offline oracle for it.
//!
//! The encoding is versioned, printable ASCII (every byte outside a small safe set is written
//! `%XX`), so it survives any value (any byte but NUL) and every shell's quoting, and the
//! per-prompt fast path compares the header in place, without touching the saved values.
//!
//! ```text
//! 2;L;<store path>;<store>;<path>;<identity>;<inputs>;<since>;NAME=<original>,NAME2,NAME3~
//! 2;R;<store path>;<store>;<path>;<identity>                  the nearest file was refused
//! ```
//! `<store>`/`<identity>` are `dev.ino.size.mtime_ns.ctime_ns.mode.uid` or `-` when there was
//! nothing to stat; `<path>` is the project's `.env` (which may not exist), and in a project
//! with a team file `<identity>` is `<.env's>+<.env.shared's>`, so that the stat-only fast path
//! watches both; `<inputs>` is `-` or `<fingerprint>,NAME,NAME2`; a saved name without `=`
//! was absent before loading, one ending in `~` had the file's value. Version 1 (the same
//! without the store path and the inputs) is still read, so upgrading envguard under open shells
//! loses nothing.

use std::ffi::OsString;
use std::io::{self, Read};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::load::guard::Identity;

/// The exported variable that carries the state.
pub const VAR: &str = "__ENVGUARD_STATE";

/// Where `envguard export` finds the [`Key`]: the hook passes it on each call from a variable
/// of its own that is not exported, so no other program the user runs ever receives it.
pub const KEY_VAR: &str = "__ENVGUARD_KEY";

/// The hook's shell variable that keeps the [`Key`] between prompts.
pub const KEY_SHELL_VAR: &str = "__envguard_key";

const VERSION: &str = "2";

/// An outer variable's value as the fast path sees it: the shell's current one.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<OsString>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// The trust store the hook consults while this state lasts, whatever a loaded file did to
    /// `HOME` or `XDG_DATA_HOME`; `None` only in a state written by version 1.
    pub store_path: Option<PathBuf>,
    /// The trust store's identity when the decision below was taken: `allow`/`deny` change it,
    /// which is how the hook notices them without reading the store.
    pub store: Option<Identity>,
    pub current: Current,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Current {
    Loaded(Loaded),
    /// The nearest file was refused and its warning printed; remembered so that the warning
    /// is not repeated at every prompt while the file and the store stay as they are.
    Refused {
        path: PathBuf,
        identity: Files,
    },
}

/// The identities of a project's two files, the personal `.env` and the team's `.env.shared`
/// beside it (`None` where there is no such file): the hook's "nothing changed" test covers
/// both, so an edit, chmod, creation or removal of either reloads the project.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Files {
    pub personal: Option<Identity>,
    pub shared: Option<Identity>,
}

impl Files {
    /// The personal file alone, as every project was before `.env.shared`.
    pub fn personal(identity: Identity) -> Self {
        Files {
            personal: Some(identity),
            shared: None,
        }
    }

    fn is_none(&self) -> bool {
        self.personal.is_none() && self.shared.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub path: PathBuf,
    pub identity: Files,
    /// When it was loaded, in seconds since the Unix epoch (for `status`).
    pub since: u64,
    pub inputs: Inputs,
    /// The saved names, still encoded: the fast path never needs them.
    saved: String,
}

/// A loaded name and what it had before loading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub name: String,
    pub original: Original,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Original {
    Unset,
    Value(OsString),
    /// The value the file sets: the shell had it already, from this file. Not written into
    /// the state (it is a secret), and nothing to put back on leaving.
    FileValue,
}

/// The outer variables a file's values were computed from, and a keyed fingerprint of the
/// values they had. Only names the file does not set itself belong here: a `${NAME}` of a name
/// the file sets resolves against that name's saved original, which is in the state and cannot
/// change while the state stays as it is (if the user assigns the loaded variable itself, that
/// assignment wins until the file is reloaded, as for any loaded name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs {
    /// `-`, or `<fingerprint>,NAME,NAME2` (sorted, each once).
    encoded: String,
}

impl Inputs {
    /// `names` (any order, repeats allowed) with their values now, under `key`.
    pub fn new(mut names: Vec<String>, key: &Key, lookup: Lookup) -> Self {
        names.sort_unstable();
        names.dedup();
        if names.is_empty() {
            return Inputs::default();
        }
        let mut encoded = fingerprint(key, names.iter().map(String::as_str), lookup);
        for name in &names {
            encoded.push(',');
            encoded.push_str(name);
        }
        Inputs { encoded }
    }

    pub fn is_empty(&self) -> bool {
        self.encoded.is_empty()
    }

    /// The outer variables' names, for the shell's own check (`record`), which compares
    /// their values in place of the fingerprint.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.encoded.split(',').skip(1)
    }

    fn field(&self) -> &str {
        if self.encoded.is_empty() {
            "-"
        } else {
            &self.encoded
        }
    }

    fn from_field(field: &[u8]) -> Option<Self> {
        if field == b"-" {
            return Some(Inputs::default());
        }
        let text = std::str::from_utf8(field).ok()?;
        let mut parts = text.split(',');
        let fingerprint = parts.next()?;
        let valid = fingerprint.len() == FINGERPRINT_HEX
            && fingerprint.bytes().all(|b| b.is_ascii_hexdigit())
            && parts.all(crate::load::names::is_valid)
            && text.contains(',');
        valid.then(|| Inputs {
            encoded: text.to_owned(),
        })
    }

    /// Whether the named outer variables still have the values the fingerprint was taken of;
    /// without the key that took it, nothing can be told, and the answer is no.
    fn unchanged(field: &[u8], key: Option<&Key>, lookup: Lookup) -> bool {
        if field == b"-" {
            return true;
        }
        let Some(key) = key else {
            return false;
        };
        let Ok(text) = std::str::from_utf8(field) else {
            return false;
        };
        let Some((recorded, names)) = text.split_once(',') else {
            return false;
        };
        fingerprint(key, names.split(','), lookup) == recorded
    }
}

/// The secret under which [`Inputs`] fingerprints are taken: 32 random bytes, one per shell
/// (a nested shell that lacks its parent's reloads once and makes its own).
pub struct Key([u8; 32]);

impl Key {
    /// The key the hook passed in [`KEY_VAR`], if it is one.
    pub fn from_env() -> Option<Key> {
        let hex = std::env::var_os(KEY_VAR)?;
        let hex = hex.as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let mut key = [0u8; 32];
        for (byte, pair) in key.iter_mut().zip(hex.chunks(2)) {
            let text = std::str::from_utf8(pair).ok()?;
            *byte = u8::from_str_radix(text, 16).ok()?;
        }
        Some(Key(key))
    }

    pub fn generate() -> io::Result<Key> {
        let mut key = [0u8; 32];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut key)?;
        Ok(Key(key))
    }

    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
}

/// Hex digits kept of the HMAC: 128 bits.
const FINGERPRINT_HEX: usize = 32;

/// HMAC-SHA-256 (RFC 2104) under `key` of each name with its value or its absence, each part
/// length-prefixed so that no two environments give the same message.
fn fingerprint<'n>(key: &Key, names: impl Iterator<Item = &'n str>, lookup: Lookup) -> String {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(&key.0);
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    for name in names {
        inner.update((name.len() as u64).to_le_bytes());
        inner.update(name.as_bytes());
        match lookup(name) {
            None => inner.update([0]),
            Some(value) => {
                inner.update([1]);
                inner.update((value.len() as u64).to_le_bytes());
                inner.update(value.as_bytes());
            }
        }
    }
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    let mut text = hex(&outer.finalize());
    text.truncate(FINGERPRINT_HEX);
    text
}

fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    text
}

impl Loaded {
    pub fn new(
        path: PathBuf,
        identity: Files,
        since: u64,
        inputs: Inputs,
        saved: &[Saved],
    ) -> Self {
        let mut encoded = String::new();
        for (i, entry) in saved.iter().enumerate() {
            if i > 0 {
                encoded.push(',');
            }
            encoded.push_str(&entry.name);
            match &entry.original {
                Original::Unset => {}
                Original::Value(original) => {
                    encoded.push('=');
                    push_escaped(&mut encoded, original.as_bytes());
                }
                Original::FileValue => encoded.push('~'),
            }
        }
        Loaded {
            path,
            identity,
            since,
            inputs,
            saved: encoded,
        }
    }

    /// The loaded names with their earlier values; `None` if the state was tampered with.
    pub fn saved(&self) -> Option<Vec<Saved>> {
        if self.saved.is_empty() {
            return Some(Vec::new());
        }
        self.saved
            .split(',')
            .map(|entry| {
                let (name, original) = match entry.split_once('=') {
                    Some((name, original)) => (
                        name,
                        Original::Value(OsString::from_vec(unescape(original.as_bytes())?)),
                    ),
                    None => match entry.strip_suffix('~') {
                        Some(name) => (name, Original::FileValue),
                        None => (entry, Original::Unset),
                    },
                };
                crate::load::names::is_valid(name).then(|| Saved {
                    name: name.to_owned(),
                    original,
                })
            })
            .collect()
    }
}

/// The fields every state starts with, borrowed from the raw value: all the per-prompt test
/// needs, read without looking at the saved values or allocating.
pub struct Header<'a> {
    loaded: bool,
    /// Still escaped; `None` in a version 1 state.
    store_path: Option<&'a [u8]>,
    store: Option<Identity>,
    /// Still escaped: compared in that form, decoded only on the full path.
    path: &'a [u8],
    identity: Files,
    /// `-` for none (and in a version 1 state).
    inputs: &'a [u8],
    /// `<since>;<saved>` of a loaded file, absent for a refused one.
    rest: Option<&'a [u8]>,
}

fn split_field(raw: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = raw.iter().position(|&byte| byte == b';')?;
    Some((&raw[..at], &raw[at + 1..]))
}

impl<'a> Header<'a> {
    pub fn parse(raw: &'a [u8]) -> Option<Self> {
        let (version, raw) = split_field(raw)?;
        let current = match version {
            b"1" => false,
            _ if version == VERSION.as_bytes() => true,
            _ => return None,
        };
        let mut fields = raw.splitn(if current { 6 } else { 5 }, |&byte| byte == b';');
        let loaded = match fields.next()? {
            b"L" => true,
            b"R" => false,
            _ => return None,
        };
        let store_path = if current { Some(fields.next()?) } else { None };
        let store = decode_identity(fields.next()?)?;
        let path = fields.next()?;
        let identity = decode_files(fields.next()?)?;
        if loaded && identity.is_none() {
            return None;
        }
        let (inputs, rest) = match (current, loaded, fields.next()) {
            (true, true, Some(rest)) => {
                let (inputs, rest) = split_field(rest)?;
                (inputs, Some(rest))
            }
            (_, _, rest) => (&b"-"[..], rest),
        };
        Some(Header {
            loaded,
            store_path,
            store,
            path,
            identity,
            inputs,
            rest,
        })
    }

    /// The trust store this state was decided against, if it says.
    pub fn store_path(&self) -> Option<PathBuf> {
        let escaped = self.store_path.filter(|path| !path.is_empty())?;
        Some(PathBuf::from(OsString::from_vec(unescape(escaped)?)))
    }

    /// Whether the state still describes `nearest` as it is now: same file, same identity,
    /// same trust store, and the outer variables its values were computed from unchanged. The
    /// whole per-prompt test, from stats, the state's header and the environment alone: the
    /// saved values that follow it are not even looked at (damage there is found on the next
    /// full path, which reads them).
    pub fn is_current(
        &self,
        nearest: &Path,
        identity: Files,
        store: Option<Identity>,
        key: Option<&Key>,
        lookup: Lookup,
    ) -> bool {
        self.store == store
            && self.identity == identity
            && is_escaped_form(self.path, nearest.as_os_str().as_bytes())
            && Inputs::unchanged(self.inputs, key, lookup)
    }
}

impl State {
    /// Reads the state; `None` for a missing, foreign-version or damaged value.
    pub fn decode(raw: &[u8]) -> Option<State> {
        let header = Header::parse(raw)?;
        let path = PathBuf::from(OsString::from_vec(unescape(header.path)?));
        let store_path = match header.store_path {
            Some(escaped) if !escaped.is_empty() => {
                Some(PathBuf::from(OsString::from_vec(unescape(escaped)?)))
            }
            _ => None,
        };
        let current = match (header.loaded, header.rest, header.identity) {
            (true, Some(rest), identity) if !identity.is_none() => {
                let rest = std::str::from_utf8(rest).ok()?;
                let (since, saved) = rest.split_once(';')?;
                Current::Loaded(Loaded {
                    path,
                    identity,
                    since: since.parse().ok()?,
                    inputs: Inputs::from_field(header.inputs)?,
                    saved: saved.to_owned(),
                })
            }
            (false, None, identity) => Current::Refused { path, identity },
            _ => return None,
        };
        Some(State {
            store_path,
            store: header.store,
            current,
        })
    }

    pub fn encode(&self) -> String {
        let mut out = format!("{VERSION};");
        let (kind, path, identity) = match &self.current {
            Current::Loaded(loaded) => ("L", &loaded.path, loaded.identity),
            Current::Refused { path, identity } => ("R", path, *identity),
        };
        out.push_str(kind);
        out.push(';');
        if let Some(store_path) = &self.store_path {
            push_escaped(&mut out, store_path.as_os_str().as_bytes());
        }
        out.push(';');
        push_identity(&mut out, self.store);
        out.push(';');
        push_escaped(&mut out, path.as_os_str().as_bytes());
        out.push(';');
        push_files(&mut out, identity);
        if let Current::Loaded(loaded) = &self.current {
            out.push_str(&format!(
                ";{};{};{}",
                loaded.inputs.field(),
                loaded.since,
                loaded.saved
            ));
        }
        out
    }
}

fn push_identity(out: &mut String, identity: Option<Identity>) {
    match identity {
        None => out.push('-'),
        Some(id) => out.push_str(&format!(
            "{}.{}.{}.{}.{}.{}.{}",
            id.dev, id.ino, id.size, id.mtime_ns, id.ctime_ns, id.mode, id.uid
        )),
    }
}

/// `<personal>` as version 2 always wrote it, then `+<shared>` when the project has a team file.
fn push_files(out: &mut String, files: Files) {
    push_identity(out, files.personal);
    if files.shared.is_some() {
        out.push('+');
        push_identity(out, files.shared);
    }
}

/// `None` for a damaged field.
fn decode_files(field: &[u8]) -> Option<Files> {
    let (personal, shared) = match field.iter().position(|&byte| byte == b'+') {
        Some(at) => (&field[..at], Some(&field[at + 1..])),
        None => (field, None),
    };
    let shared = match shared {
        Some(shared) => decode_identity(shared)?,
        None => None,
    };
    Some(Files {
        personal: decode_identity(personal)?,
        shared,
    })
}

/// `Some(None)` for `-`, `None` for a damaged field.
fn decode_identity(field: &[u8]) -> Option<Option<Identity>> {
    if field == b"-" {
        return Some(None);
    }
    let mut parts = std::str::from_utf8(field).ok()?.split('.');
    let mut next = || parts.next();
    let identity = Identity {
        dev: next()?.parse().ok()?,
        ino: next()?.parse().ok()?,
        size: next()?.parse().ok()?,
        mtime_ns: next()?.parse().ok()?,
        ctime_ns: next()?.parse().ok()?,
        mode: next()?.parse().ok()?,
        uid: next()?.parse().ok()?,
    };
    next().is_none().then_some(Some(identity))
}

fn is_plain(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"/._-+@:".contains(&byte)
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn push_escaped(out: &mut String, bytes: &[u8]) {
    for &byte in bytes {
        if is_plain(byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
    }
}

/// Whether `escaped` is exactly what [`push_escaped`] makes of `bytes`; compares the two
/// without building either.
fn is_escaped_form(escaped: &[u8], bytes: &[u8]) -> bool {
    let mut escaped = escaped.iter().copied();
    bytes.iter().all(|&byte| {
        if is_plain(byte) {
            escaped.next() == Some(byte)
        } else {
            escaped.next() == Some(b'%')
                && escaped.next() == Some(HEX[usize::from(byte >> 4)])
                && escaped.next() == Some(HEX[usize::from(byte & 0xf)])
        }
    }) && escaped.next().is_none()
}

fn unescape(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.iter().copied();
    while let Some(byte) = bytes.next() {
        match byte {
            b'%' => {
                let high = char::from(bytes.next()?).to_digit(16)?;
                let low = char::from(bytes.next()?).to_digit(16)?;
                out.push((high * 16 + low) as u8);
            }
            byte if is_plain(byte) => out.push(byte),
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(n: u64) -> Identity {
        Identity {
            dev: n,
            ino: n + 1,
            size: 3,
            mtime_ns: -5,
            ctime_ns: 1_700_000_000_123_456_789,
            mode: 0o100600,
            uid: 1000,
        }
    }

    fn key(n: u8) -> Key {
        Key([n; 32])
    }

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn loaded_state_round_trips_any_bytes() {
        let saved = vec![
            Saved {
                name: "A".into(),
                original: Original::Unset,
            },
            Saved {
                name: "B".into(),
                original: Original::Value(OsString::new()),
            },
            Saved {
                name: "D".into(),
                original: Original::FileValue,
            },
            Saved {
                name: "C".into(),
                original: Original::Value(OsString::from_vec(
                    b"x;,=%\n'\"\\\xff\x01 \xc3\xa9".to_vec(),
                )),
            },
        ];
        let env = env_of(&[("VIRTUAL_ENV", "/v")]);
        let inputs = Inputs::new(vec!["VIRTUAL_ENV".into(), "UNSET".into()], &key(1), &env);
        let state = State {
            store_path: Some("/home/me;x/.local/share/envguard/trust.json".into()),
            store: Some(identity(7)),
            current: Current::Loaded(Loaded::new(
                "/my dir;1/.env".into(),
                Files::personal(identity(1)),
                42,
                inputs,
                &saved,
            )),
        };
        let encoded = state.encode();
        assert!(encoded.bytes().all(|b| b.is_ascii_graphic()), "{encoded}");
        let decoded = State::decode(encoded.as_bytes()).unwrap();
        assert_eq!(decoded, state);
        let Current::Loaded(loaded) = decoded.current else {
            panic!("not loaded")
        };
        assert_eq!(loaded.saved().unwrap(), saved);
    }

    #[test]
    fn refused_state_round_trips_and_damage_is_rejected() {
        let state = State {
            store_path: Some("/s/trust.json".into()),
            store: None,
            current: Current::Refused {
                path: "/p/.env".into(),
                identity: Files::default(),
            },
        };
        assert_eq!(State::decode(state.encode().as_bytes()), Some(state));
        for damaged in [
            "",
            "3;R;/s;-;/p;-",
            "2;R;/s;-;/p",
            "2;X;/s;-;/p;-",
            "2;L;/s;-;/p;1.2;-;0;A",
            "2;R;/s;-;a b;-",
            "2;L;/s;-;/p;1.2.3.4.5.6.7;0;A",
            "2;L;/s;-;/p;1.2.3.4.5.6.7;abc,A;0;A",
        ] {
            assert_eq!(State::decode(damaged.as_bytes()), None, "{damaged}");
        }
        let bad_name = State::decode(b"2;L;/s;-;/p;1.2.3.4.5.6.7;-;0;A-B").unwrap();
        let Current::Loaded(loaded) = bad_name.current else {
            panic!("not loaded")
        };
        assert_eq!(loaded.saved(), None);
    }

    #[test]
    fn a_team_files_identity_is_kept_beside_the_personal_ones() {
        for files in [
            Files {
                personal: None,
                shared: Some(identity(2)),
            },
            Files {
                personal: Some(identity(1)),
                shared: Some(identity(2)),
            },
        ] {
            let state = State {
                store_path: Some("/s/trust.json".into()),
                store: None,
                current: Current::Loaded(Loaded::new(
                    "/p/.env".into(),
                    files,
                    0,
                    Inputs::default(),
                    &[],
                )),
            };
            let encoded = state.encode();
            assert_eq!(State::decode(encoded.as_bytes()), Some(state));
            let header = Header::parse(encoded.as_bytes()).unwrap();
            let p = Path::new("/p/.env");
            assert!(header.is_current(p, files, None, None, &|_| None));
            let without_team = Files {
                shared: None,
                ..files
            };
            assert!(!header.is_current(p, without_team, None, None, &|_| None));
        }
        assert_eq!(State::decode(b"2;L;/s;-;/p;-+-;-;0;A"), None);
    }

    #[test]
    fn a_version_1_state_is_still_read() {
        let loaded = State::decode(b"1;L;-;/p/.env;1.2.3.4.5.6.7;9;A=x,B").unwrap();
        assert_eq!(loaded.store_path, None);
        let Current::Loaded(loaded) = loaded.current else {
            panic!("not loaded")
        };
        assert!(loaded.inputs.is_empty());
        assert_eq!(loaded.saved().unwrap().len(), 2);
        let refused = State::decode(b"1;R;-;/p/.env;-").unwrap();
        assert!(matches!(refused.current, Current::Refused { .. }));
        let header = Header::parse(b"1;R;-;/p/.env;-").unwrap();
        assert_eq!(header.store_path(), None);
        assert!(
            header.is_current(Path::new("/p/.env"), Files::default(), None, None, &|_| {
                None
            })
        );
    }

    #[test]
    fn is_current_compares_path_identity_and_store_from_the_header() {
        let saved = [Saved {
            name: "A".into(),
            original: Original::Value("x".into()),
        }];
        let path = Path::new("/my dir;é/.env");
        let state = State {
            store_path: Some("/s/trust.json".into()),
            store: Some(identity(7)),
            current: Current::Loaded(Loaded::new(
                path.into(),
                Files::personal(identity(1)),
                0,
                Inputs::default(),
                &saved,
            )),
        };
        let raw = state.encode();
        let current = |raw: &str, path: &str, id, store| {
            Header::parse(raw.as_bytes()).is_some_and(|header| {
                header.is_current(Path::new(path), id, store, None, &|_| None)
            })
        };
        let (id, store) = (Files::personal(identity(1)), Some(identity(7)));
        assert!(current(&raw, "/my dir;é/.env", id, store));
        assert!(!current(&raw, "/my dir;é/.en", id, store));
        assert!(!current(&raw, "/my dir;é/.envx", id, store));
        assert!(!current(&raw, "/my dir;e/.env", id, store));
        assert!(!current(
            &raw,
            "/my dir;é/.env",
            Files::personal(identity(2)),
            store
        ));
        assert!(!current(&raw, "/my dir;é/.env", id, None));
        // The saved values are not read: a damaged tail does not change the answer (the full
        // path finds it when it reads them).
        let damaged_tail = format!("{raw}%%%");
        assert!(current(&damaged_tail, "/my dir;é/.env", id, store));
        assert_eq!(
            Header::parse(raw.as_bytes()).unwrap().store_path(),
            Some("/s/trust.json".into())
        );

        let refused = State {
            store_path: Some("/s/trust.json".into()),
            store: None,
            current: Current::Refused {
                path: path.into(),
                identity: Files::default(),
            },
        }
        .encode();
        assert!(current(&refused, "/my dir;é/.env", Files::default(), None));
        assert!(!current(&refused, "/my dir;é/.env", id, None));
    }

    #[test]
    fn a_changed_outer_value_makes_the_state_stale() {
        let before = env_of(&[("VIRTUAL_ENV", "/a"), ("OTHER", "o")]);
        let inputs = Inputs::new(
            vec!["VIRTUAL_ENV".into(), "NOT_SET".into(), "VIRTUAL_ENV".into()],
            &key(3),
            &before,
        );
        let raw = State {
            store_path: Some("/s".into()),
            store: None,
            current: Current::Loaded(Loaded::new(
                "/p/.env".into(),
                Files::personal(identity(1)),
                0,
                inputs,
                &[],
            )),
        }
        .encode();
        let header = Header::parse(raw.as_bytes()).unwrap();
        let is_current = |key: Option<&Key>, env: Lookup| {
            header.is_current(
                Path::new("/p/.env"),
                Files::personal(identity(1)),
                None,
                key,
                env,
            )
        };
        assert!(is_current(Some(&key(3)), &before));
        // A variable the file does not refer to changes nothing.
        assert!(is_current(
            Some(&key(3)),
            &env_of(&[("VIRTUAL_ENV", "/a"), ("OTHER", "changed")])
        ));
        assert!(!is_current(
            Some(&key(3)),
            &env_of(&[("VIRTUAL_ENV", "/b")])
        ));
        assert!(!is_current(Some(&key(3)), &env_of(&[])));
        assert!(!is_current(
            Some(&key(3)),
            &env_of(&[("VIRTUAL_ENV", "/a"), ("NOT_SET", "")])
        ));
        // Without the key (a nested shell that lacks it), or with another one: reload.
        assert!(!is_current(None, &before));
        assert!(!is_current(Some(&key(4)), &before));
        // The state names the inputs, never their values.
        assert!(raw.contains("NOT_SET,VIRTUAL_ENV") && !raw.contains("/a"));
    }
}
