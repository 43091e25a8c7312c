//! The values of the project's `.env` files, as one Aho-Corasick automaton.
//!
//! This is what lets envguard find a leak exactly where pattern scanners can only guess: the
//! secrets themselves are the patterns. A value rarely leaks only as itself, so each one is
//! also searched in the forms it takes on the way out: escaped inside a JSON string (a
//! notebook output, a log line), percent-encoded in a URL, and base64-encoded (HTTP basic
//! auth, Kubernetes secrets). All forms of all values go into one automaton, so the cost of a
//! scan does not grow with the number of values.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};

/// Values shorter than this match too much ordinary text to mean anything.
const MIN_VALUE_LEN: usize = 8;

/// Values long enough but so common that they would match everywhere.
const COMMON_VALUES: &[&str] = &[
    "localhost",
    "127.0.0.1",
    "0.0.0.0",
    "production",
    "development",
    "staging",
    "password",
    "changeme",
    "postgres",
    "example",
    "default",
    "disabled",
    "enabled",
    "utf-8",
    "UTF-8",
];

/// The form in which a value was found.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Plain,
    JsonEscaped,
    UrlEncoded,
    Base64,
}

impl Encoding {
    fn suffix(self) -> &'static str {
        match self {
            Encoding::Plain => "",
            Encoding::JsonEscaped => " (JSON-escaped)",
            Encoding::UrlEncoded => " (URL-encoded)",
            Encoding::Base64 => " (base64)",
        }
    }
}

/// A variable of a `.env` file. Deliberately not `Debug`: the value must never be printed.
pub struct Secret {
    pub name: String,
    pub value: String,
}

struct Pattern {
    secret: usize,
    encoding: Encoding,
}

pub struct KnownValues {
    secrets: Vec<Secret>,
    patterns: Vec<Pattern>,
    automaton: Option<AhoCorasick>,
}

impl KnownValues {
    /// Builds the automaton from `secrets`, dropping values too short or common to search.
    pub fn new(secrets: Vec<Secret>) -> Self {
        let secrets: Vec<Secret> = secrets
            .into_iter()
            .filter(|s| worth_searching(&s.value))
            .collect();
        let mut seen = std::collections::HashSet::new();
        let mut needles: Vec<Vec<u8>> = Vec::new();
        let mut patterns = Vec::new();
        for (index, secret) in secrets.iter().enumerate() {
            for (encoding, form) in encodings(&secret.value) {
                if seen.insert(form.clone()) {
                    needles.push(form);
                    patterns.push(Pattern {
                        secret: index,
                        encoding,
                    });
                }
            }
        }
        // A DFA: with thousands of patterns no literal prefilter applies, and the DFA is the
        // fastest automaton per byte; its build cost is paid once per scan.
        let automaton = (!needles.is_empty()).then(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .kind(Some(AhoCorasickKind::DFA))
                .build(&needles)
                .or_else(|_| {
                    AhoCorasick::builder()
                        .match_kind(MatchKind::LeftmostLongest)
                        .build(&needles)
                })
                .ok()
        });
        KnownValues {
            secrets,
            patterns,
            automaton: automaton.flatten(),
        }
    }

    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// Whether a value spans lines, and so may be split where text is stored line by line.
    pub fn has_multiline(&self) -> bool {
        self.secrets.iter().any(|s| s.value.contains('\n'))
    }

    /// Calls `found(start, end, pattern)` for each leftmost-longest occurrence in `text`.
    pub fn find(&self, text: &[u8], mut found: impl FnMut(usize, usize, usize)) {
        if let Some(automaton) = &self.automaton {
            for m in automaton.find_iter(text) {
                found(m.start(), m.end(), m.pattern().as_usize());
            }
        }
    }

    pub fn secret(&self, pattern: usize) -> &Secret {
        &self.secrets[self.patterns[pattern].secret]
    }

    /// `NAME`, or `NAME (base64)` when found in another form.
    pub fn label(&self, pattern: usize) -> String {
        let pattern_info = &self.patterns[pattern];
        format!(
            "{}{}",
            self.secrets[pattern_info.secret].name,
            pattern_info.encoding.suffix()
        )
    }
}

fn worth_searching(value: &str) -> bool {
    let trimmed = value.trim();
    trimmed.len() >= MIN_VALUE_LEN
        && !COMMON_VALUES
            .iter()
            .any(|common| trimmed.eq_ignore_ascii_case(common))
        && !trimmed
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        && !is_plain_url(trimmed)
        && !trimmed.starts_with('/')
}

/// A URL without credentials in it (`https://api.example.com`) is configuration, not a secret.
fn is_plain_url(value: &str) -> bool {
    value.split_once("://").is_some_and(|(scheme, rest)| {
        scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+')
            && !rest.contains('@')
            && !rest.contains('?')
    })
}

/// The value in every form worth searching, the plain one first.
fn encodings(value: &str) -> Vec<(Encoding, Vec<u8>)> {
    let mut forms = vec![(Encoding::Plain, value.as_bytes().to_vec())];
    let json = serde_json::to_string(value).unwrap_or_default();
    let json = json
        .get(1..json.len().saturating_sub(1))
        .unwrap_or_default();
    forms.push((Encoding::JsonEscaped, json.as_bytes().to_vec()));
    forms.push((Encoding::UrlEncoded, percent_encode(value).into_bytes()));
    // Without padding, so that the value is also found when more follows it in the encoding.
    forms.push((Encoding::Base64, STANDARD_NO_PAD.encode(value).into_bytes()));
    forms.push((Encoding::Base64, URL_SAFE_NO_PAD.encode(value).into_bytes()));
    forms
}

/// Percent-encoding as `encodeURIComponent` and `urllib.parse.quote(safe="")` do it.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(pairs: &[(&str, &str)]) -> KnownValues {
        KnownValues::new(
            pairs
                .iter()
                .map(|(n, v)| Secret {
                    name: n.to_string(),
                    value: v.to_string(),
                })
                .collect(),
        )
    }

    fn labels(known: &KnownValues, text: &str) -> Vec<String> {
        let mut labels = Vec::new();
        known.find(text.as_bytes(), |_, _, p| labels.push(known.label(p)));
        labels
    }

    #[test]
    fn finds_each_encoding_and_ignores_trivial_values() {
        let k = known(&[
            ("TOKEN", "s3cr3t/v@lue\"x"),
            ("DEBUG", "true"),
            ("PORT", "12345678"),
        ]);
        assert_eq!(k.len(), 1);
        assert_eq!(labels(&k, "a s3cr3t/v@lue\"x b"), ["TOKEN"]);
        assert_eq!(
            labels(&k, r#"{"out": "s3cr3t/v@lue\"x"}"#),
            ["TOKEN (JSON-escaped)"]
        );
        assert_eq!(
            labels(&k, "?t=s3cr3t%2Fv%40lue%22x"),
            ["TOKEN (URL-encoded)"]
        );
        let b64 = STANDARD_NO_PAD.encode("s3cr3t/v@lue\"x");
        assert_eq!(labels(&k, &format!("Basic {b64}==")), ["TOKEN (base64)"]);
        assert!(labels(&k, "true 12345678").is_empty());
    }

    #[test]
    fn plain_urls_are_not_secrets_but_urls_with_credentials_are() {
        assert!(!worth_searching("https://api.example.com/v1"));
        assert!(worth_searching("postgres://app:hunter22@db/app"));
    }
}
