//! What the shell hook remembers between two prompts, carried in one exported variable.
//!
//! `envguard export` is a fresh process at every prompt, so whatever it must remember lives in
//! the shell itself: the variable `__ENVGUARD_STATE`. It is exported, not a shell-local
//! variable, so that a subshell or a nested interactive shell inherits it along with the
//! variables it describes and can unload exactly what its parent loaded.
//!
//! Why this carrier is safe enough: unlike direnv's `DIRENV_DIFF` or mise's `__MISE_DIFF`, the
//! state never holds a value read from a `.env`. It holds the loaded file's path and
//! [`Identity`], the trust store's identity, the loaded *names*, and for each name the value it
//! had *before* loading (or that it was absent), which is what leaving needs to restore
//! exactly. Those earlier values were already in the shell's environment; the state repeats
//! them, it adds no secret. One exception is kept out: a shell may already hold the file's own
//! values before its hook loads them (it was started by `envguard exec`, or lost its state),
//! and such an earlier value is recorded as "the file's value", never written out. Nothing of it is ever put on a command line: it travels in the
//! environment (readable by the user's own processes only, unlike argv in a process listing)
//! and in the text the shell evaluates from a pipe.
//!
//! The encoding is versioned, printable ASCII (every byte outside a small safe set is written
//! `%XX`), so it survives any value (any byte but NUL) and every shell's quoting, and the
//! per-prompt fast path compares the header in place, without touching the saved values.
//!
//! ```text
//! 1;L;<store>;<path>;<identity>;<since>;NAME=<original>,NAME2,NAME3~  a file is loaded
//! 1;R;<store>;<path>;<identity>                                     the nearest file was refused
//! ```
//! `<store>`/`<identity>` are `dev.ino.size.mtime_ns.ctime_ns.mode.uid` or `-` when there was
//! nothing to stat; a saved name without `=` was absent before loading, one ending in `~` had
//! the file's value.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use crate::guard::Identity;

/// The exported variable that carries the state.
pub const VAR: &str = "__ENVGUARD_STATE";

const VERSION: &str = "1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
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
        identity: Option<Identity>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub path: PathBuf,
    pub identity: Identity,
    /// When it was loaded, in seconds since the Unix epoch (for `status`).
    pub since: u64,
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

impl Loaded {
    pub fn new(path: PathBuf, identity: Identity, since: u64, saved: &[Saved]) -> Self {
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
                crate::names::is_valid(name).then(|| Saved {
                    name: name.to_owned(),
                    original,
                })
            })
            .collect()
    }
}

/// The fields every state starts with, borrowed from the raw value: all the per-prompt test
/// needs, read without looking at the saved values or allocating.
struct Header<'a> {
    loaded: bool,
    store: Option<Identity>,
    /// Still escaped: compared in that form, decoded only on the full path.
    path: &'a [u8],
    identity: Option<Identity>,
    /// `<since>;<saved>` of a loaded file, absent for a refused one.
    rest: Option<&'a [u8]>,
}

impl<'a> Header<'a> {
    fn parse(raw: &'a [u8]) -> Option<Self> {
        let mut fields = raw.splitn(6, |&byte| byte == b';');
        if fields.next()? != VERSION.as_bytes() {
            return None;
        }
        let loaded = match fields.next()? {
            b"L" => true,
            b"R" => false,
            _ => return None,
        };
        let store = decode_identity(fields.next()?)?;
        let path = fields.next()?;
        let identity = decode_identity(fields.next()?)?;
        if loaded && identity.is_none() {
            return None;
        }
        Some(Header {
            loaded,
            store,
            path,
            identity,
            rest: fields.next(),
        })
    }
}

/// Whether the state `raw` still describes `nearest` as it is now: same file, same identity,
/// same trust store. The whole per-prompt test, from stats and the state's header alone: the
/// saved values that follow it are not even looked at (damage there is found on the next full
/// path, which reads them).
pub fn is_current(
    raw: &[u8],
    nearest: &Path,
    identity: Option<Identity>,
    store: Option<Identity>,
) -> bool {
    Header::parse(raw).is_some_and(|header| {
        header.store == store
            && header.identity == identity
            && is_escaped_form(header.path, nearest.as_os_str().as_bytes())
    })
}

impl State {
    /// Reads the state; `None` for a missing, foreign-version or damaged value.
    pub fn decode(raw: &[u8]) -> Option<State> {
        let header = Header::parse(raw)?;
        let path = PathBuf::from(OsString::from_vec(unescape(header.path)?));
        let current = match (header.loaded, header.rest, header.identity) {
            (true, Some(rest), Some(identity)) => {
                let rest = std::str::from_utf8(rest).ok()?;
                let (since, saved) = rest.split_once(';')?;
                Current::Loaded(Loaded {
                    path,
                    identity,
                    since: since.parse().ok()?,
                    saved: saved.to_owned(),
                })
            }
            (false, None, identity) => Current::Refused { path, identity },
            _ => return None,
        };
        Some(State {
            store: header.store,
            current,
        })
    }

    pub fn encode(&self) -> String {
        let mut out = format!("{VERSION};");
        let (kind, path, identity) = match &self.current {
            Current::Loaded(loaded) => ("L", &loaded.path, Some(loaded.identity)),
            Current::Refused { path, identity } => ("R", path, *identity),
        };
        out.push_str(kind);
        out.push(';');
        push_identity(&mut out, self.store);
        out.push(';');
        push_escaped(&mut out, path.as_os_str().as_bytes());
        out.push(';');
        push_identity(&mut out, identity);
        if let Current::Loaded(loaded) = &self.current {
            out.push_str(&format!(";{};{}", loaded.since, loaded.saved));
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
        let state = State {
            store: Some(identity(7)),
            current: Current::Loaded(Loaded::new(
                "/my dir;1/.env".into(),
                identity(1),
                42,
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
            store: None,
            current: Current::Refused {
                path: "/p/.env".into(),
                identity: None,
            },
        };
        assert_eq!(State::decode(state.encode().as_bytes()), Some(state));
        for damaged in [
            "",
            "2;R;-;/p;-",
            "1;R;-;/p",
            "1;X;-;/p;-",
            "1;L;-;/p;1.2;0;A",
            "1;R;-;a b;-",
        ] {
            assert_eq!(State::decode(damaged.as_bytes()), None, "{damaged}");
        }
        let bad_name = State::decode(b"1;L;-;/p;1.2.3.4.5.6.7;0;A-B").unwrap();
        let Current::Loaded(loaded) = bad_name.current else {
            panic!("not loaded")
        };
        assert_eq!(loaded.saved(), None);
    }

    #[test]
    fn is_current_compares_path_identity_and_store_from_the_header() {
        let saved = [Saved {
            name: "A".into(),
            original: Original::Value("x".into()),
        }];
        let path = Path::new("/my dir;é/.env");
        let state = State {
            store: Some(identity(7)),
            current: Current::Loaded(Loaded::new(path.into(), identity(1), 0, &saved)),
        };
        let raw = state.encode();
        let current = |raw: &str, path: &str, id, store| {
            is_current(raw.as_bytes(), Path::new(path), id, store)
        };
        let (id, store) = (Some(identity(1)), Some(identity(7)));
        assert!(current(&raw, "/my dir;é/.env", id, store));
        assert!(!current(&raw, "/my dir;é/.en", id, store));
        assert!(!current(&raw, "/my dir;é/.envx", id, store));
        assert!(!current(&raw, "/my dir;e/.env", id, store));
        assert!(!current(&raw, "/my dir;é/.env", Some(identity(2)), store));
        assert!(!current(&raw, "/my dir;é/.env", id, None));
        // The saved values are not read: a damaged tail does not change the answer (the full
        // path finds it when it reads them).
        let damaged_tail = format!("{raw}%%%");
        assert!(current(&damaged_tail, "/my dir;é/.env", id, store));

        let refused = State {
            store: None,
            current: Current::Refused {
                path: path.into(),
                identity: None,
            },
        }
        .encode();
        assert!(current(&refused, "/my dir;é/.env", None, None));
        assert!(!current(&refused, "/my dir;é/.env", id, None));
    }
}
