//! The values of the project's `.env` files, as one Aho-Corasick automaton.
//!
//! This is what lets envguard find a leak exactly where pattern scanners can only guess: the
//! secrets themselves are the patterns. A value rarely leaks only as itself, so each one is
//! also searched in the forms it takes on the way out: escaped inside a JSON string (a
//! notebook output, a log line), percent-encoded in a URL, base64-encoded (HTTP basic auth,
//! Kubernetes secrets), HTML-escaped (a pandas DataFrame's `text/html` output, a notebook
//! exported to HTML: each escaping convention in use, since they differ on quotes), and for
//! a value with line breaks, as Python's `repr()` shows it (a notebook cell that echoes it);
//! the forms are built in [`crate::mask::forms`], shared with `exec --mask`. All forms of all
//! values go into one automaton, so the cost of a
//! scan barely grows with the number of values, and a gram sampler in front of it passes the
//! automaton only the few windows of text where a value may start.

use aho_corasick::{AhoCorasick, MatchKind};

use crate::mask::forms::{Encoding, encodings};

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
    /// `None` when no form is long enough to be sampled: then every byte goes through the
    /// automaton.
    sampler: Option<GramSampler>,
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
        // The crate's own choice (a contiguous NFA for many patterns): the sampler leaves it
        // a small part of the text, so a quick build beats the DFA's faster walk.
        let automaton = (!needles.is_empty()).then(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&needles)
                .ok()
        });
        KnownValues {
            secrets,
            patterns,
            automaton: automaton.flatten(),
            sampler: GramSampler::new(&needles),
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
        let Some(automaton) = &self.automaton else {
            return;
        };
        let mut search = |window: std::ops::Range<usize>| {
            for m in automaton.find_iter(&text[window.clone()]) {
                found(
                    window.start + m.start(),
                    window.start + m.end(),
                    m.pattern().as_usize(),
                );
            }
        };
        match &self.sampler {
            Some(sampler) => sampler.windows(text, search),
            None => search(0..text.len()),
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

/// Rules out most of a text at one table lookup per few bytes, so that the automaton (a walk
/// of every byte through a table too large for the fastest cache) runs only where a value may
/// be.
///
/// Every form is at least `shortest` bytes long, so an occurrence starting at `s` holds a
/// [`GRAM`]-byte gram starting at the first multiple of `stride = shortest - GRAM + 1` from
/// `s`, at an offset under `stride` into the form. A bitmap of the grams at those offsets of
/// every form is checked at every `stride`-th position; only a gram in it opens a window, wide
/// enough for the longest form, and windows that touch are merged. Each occurrence lies inside
/// one window and windows are disjoint, so searching the windows finds exactly what searching
/// the whole text would.
struct GramSampler {
    bitmap: Vec<u64>,
    stride: usize,
    longest: usize,
}

const GRAM: usize = 4;
/// 2^21 bits (256 KiB): thousands of values set a few percent of them, and the table stays in
/// the second-level cache.
const BITMAP_BITS: u32 = 21;

impl GramSampler {
    fn new(needles: &[Vec<u8>]) -> Option<Self> {
        let shortest = needles.iter().map(Vec::len).min()?;
        let longest = needles.iter().map(Vec::len).max()?;
        let stride = (shortest + 1).checked_sub(GRAM).filter(|&s| s > 0)?;
        let mut bitmap = vec![0u64; 1 << (BITMAP_BITS - 6)];
        for needle in needles {
            for offset in 0..stride {
                let slot = slot(&needle[offset..offset + GRAM]);
                bitmap[slot / 64] |= 1 << (slot % 64);
            }
        }
        Some(GramSampler {
            bitmap,
            stride,
            longest,
        })
    }

    /// Calls `search` on each window of `text`, in order, that may hold an occurrence.
    fn windows(&self, text: &[u8], mut search: impl FnMut(std::ops::Range<usize>)) {
        let mut pending: Option<std::ops::Range<usize>> = None;
        let mut at = 0;
        while at + GRAM <= text.len() {
            let slot = slot(&text[at..at + GRAM]);
            if self.bitmap[slot / 64] & (1 << (slot % 64)) != 0 {
                let start = at.saturating_sub(self.stride - 1);
                let end = (at + self.longest).min(text.len());
                pending = match pending {
                    Some(open) if start <= open.end => Some(open.start..end),
                    Some(open) => {
                        search(open);
                        Some(start..end)
                    }
                    None => Some(start..end),
                };
            }
            at += self.stride;
        }
        if let Some(open) = pending {
            search(open);
        }
    }
}

fn slot(gram: &[u8]) -> usize {
    let gram = u32::from_le_bytes([gram[0], gram[1], gram[2], gram[3]]);
    (gram.wrapping_mul(0x9E37_79B1) >> (32 - BITMAP_BITS)) as usize
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::forms::python_repr;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD_NO_PAD;

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
    fn html_escaped_and_python_repr_forms_are_found() {
        let k = known(&[
            ("PW", "Tr0ub&<dor>\"3'x"),
            ("KEY", "line-one-\"abc\"\nline-two's"),
        ]);
        for html in [
            "Tr0ub&amp;&lt;dor&gt;&quot;3&#x27;x",
            "Tr0ub&amp;&lt;dor&gt;&quot;3&#39;x",
            "Tr0ub&amp;&lt;dor&gt;&#34;3&#39;x",
            "<td>Tr0ub&amp;&lt;dor&gt;\"3'x</td>",
        ] {
            assert_eq!(labels(&k, html), ["PW (HTML-escaped)"], "{}", html.len());
        }
        assert_eq!(
            labels(&k, "Out[1]: 'line-one-\"abc\"\\nline-two\\'s'"),
            ["KEY (Python repr)"]
        );
        assert_eq!(python_repr("a'b\n"), "a'b\\n");
        assert_eq!(python_repr("a'b\"\n"), "a\\'b\"\\n");
    }

    #[test]
    fn sampling_finds_what_a_full_search_finds() {
        let values = [
            "Qm2Lp7Vt4R",
            "Qm2Lp7Vt4Rw8Ks1Nb6Hc3Zx9",
            "zz9-Qm2Lp7Vt",
            "a much longer value of forty-odd bytes here",
        ];
        let k = known(&values.map(|v| ("V", v)));
        let mut text = String::new();
        for (i, value) in values.iter().cycle().take(40).enumerate() {
            // Every alignment against the stride, at the very start and end of the text too.
            text.push_str(&"x".repeat(i % 7));
            text.push_str(value);
        }
        let sampled = |text: &str| {
            let mut spans = Vec::new();
            k.find(text.as_bytes(), |start, end, p| spans.push((start, end, p)));
            spans
        };
        let full = |text: &str| {
            let automaton = k.automaton.as_ref().expect("values to search");
            automaton
                .find_iter(text.as_bytes())
                .map(|m| (m.start(), m.end(), m.pattern().as_usize()))
                .collect::<Vec<_>>()
        };
        assert_eq!(sampled(&text).len(), 40);
        for cut in 0..text.len() {
            assert_eq!(sampled(&text[cut..]), full(&text[cut..]), "from {cut}");
        }
    }

    #[test]
    fn plain_urls_are_not_secrets_but_urls_with_credentials_are() {
        assert!(!worth_searching("https://api.example.com/v1"));
        assert!(worth_searching("postgres://app:hunter22@db/app"));
    }
}
