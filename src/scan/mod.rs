//! Leak scanning: finds the project's own secret values and credential-shaped tokens in
//! files, notebooks, staged changes and git history.
//!
//! The pieces are split by what they know: [`known`] (the `.env` values and their encodings),
//! [`rules`] (token shapes), [`walk`] (which files), [`notebook`] (cells and outputs), [`git`]
//! (the index and history), [`progress`] (the bar beside a long scan), [`env_files`] (`.env` files git holds), [`report`] (text, JSON,
//! SARIF), [`baseline`] (accepted findings, by keyed hash), [`fingerprint`] (that hash).
//! [`Detector`] ties the first two together for one buffer of text.

pub mod baseline;
pub mod env_files;
pub mod fingerprint;
pub mod git;
pub mod known;
pub mod notebook;
pub mod progress;
pub mod report;
pub mod rules;
pub mod walk;

use crate::mask;

use fingerprint::Fingerprinter;
use known::KnownValues;
use rules::{RULES, RuleMatch, Rules};

/// The comment that accepts a finding on its line.
const ALLOW_MARK: &[u8] = b"envguard:allow";

/// The rule id of a known value, whatever its encoding.
pub const KNOWN_VALUE_ID: &str = "known-value";

/// Everything that recognises a secret in a buffer; built once per scan, shared by threads.
pub struct Detector {
    pub known: KnownValues,
    rules: Rules,
    pub fingerprints: Fingerprinter,
}

#[derive(Clone, Copy)]
pub enum HitKind {
    Known { pattern: usize },
    Rule { rule: usize },
}

/// One secret in a buffer: the span to report and the credential inside it.
pub struct Hit {
    pub start: usize,
    pub end: usize,
    pub secret_start: usize,
    pub secret_end: usize,
    pub kind: HitKind,
}

impl Detector {
    pub fn new(known: KnownValues, fingerprints: Fingerprinter) -> Self {
        Detector {
            known,
            rules: Rules::new(),
            fingerprints,
        }
    }

    /// The hits in `text`, in order, without overlaps (a known value wins over a shape that
    /// covers it, since it names the variable), minus lines marked `envguard:allow`.
    pub fn find(&self, text: &[u8], hits: &mut Vec<Hit>) {
        hits.clear();
        self.known.find(text, |start, end, pattern| {
            hits.push(Hit {
                start,
                end,
                secret_start: start,
                secret_end: end,
                kind: HitKind::Known { pattern },
            });
        });
        let mut shapes: Vec<RuleMatch> = Vec::new();
        self.rules.find(text, &mut shapes);
        if !shapes.is_empty() {
            shapes.sort_by_key(|m| (m.start, m.rule));
            for m in shapes {
                let overlaps = hits.iter().any(|h| h.start < m.end && m.start < h.end);
                if !overlaps {
                    hits.push(Hit {
                        start: m.start,
                        end: m.end,
                        secret_start: m.secret_start,
                        secret_end: m.secret_end,
                        kind: HitKind::Rule { rule: m.rule },
                    });
                }
            }
            hits.sort_by_key(|h| h.start);
        }
        if !hits.is_empty() {
            hits.retain(|hit| {
                !line_of(text, hit.start)
                    .windows(ALLOW_MARK.len())
                    .any(|w| w == ALLOW_MARK)
            });
        }
    }

    pub fn rule_id(&self, hit: &Hit) -> &'static str {
        match hit.kind {
            HitKind::Known { .. } => KNOWN_VALUE_ID,
            HitKind::Rule { rule } => RULES[rule].id,
        }
    }

    /// The variable's name for a known value, the rule's name for a shape.
    pub fn label(&self, hit: &Hit) -> String {
        match hit.kind {
            HitKind::Known { pattern } => self.known.label(pattern),
            HitKind::Rule { rule } => RULES[rule].name.to_string(),
        }
    }

    /// What replaces the secret in a redacted notebook: `<redacted:NAME>` or `<redacted:rule-id>`.
    pub fn redaction(&self, hit: &Hit) -> String {
        match hit.kind {
            HitKind::Known { pattern } => format!("<redacted:{}>", self.known.secret(pattern).name),
            HitKind::Rule { rule } => format!("<redacted:{}>", RULES[rule].id),
        }
    }

    /// The credential itself: the `.env` value for a known value (whatever form it was found
    /// in), the matched token for a shape.
    fn secret<'a>(&'a self, hit: &Hit, text: &'a [u8]) -> &'a [u8] {
        match hit.kind {
            HitKind::Known { pattern } => self.known.secret(pattern).value.as_bytes(),
            HitKind::Rule { .. } => &text[hit.secret_start..hit.secret_end],
        }
    }

    /// The findings for `hits` (in order, as [`Detector::find`] leaves them) in `text`,
    /// located within `path` and, for notebooks, `place`.
    pub fn findings<'a>(
        &'a self,
        path: &'a str,
        place: Option<&'a str>,
        text: &'a [u8],
        hits: &'a [Hit],
    ) -> impl Iterator<Item = Finding> + 'a {
        let mut lines = LineCursor::default();
        hits.iter().map(move |hit| {
            let (line, column) = lines.locate(text, hit.start);
            let secret = self.secret(hit, text);
            let rule_id = self.rule_id(hit);
            Finding {
                path: path.to_string(),
                place: place.map(str::to_string),
                line,
                column,
                rule_id,
                label: self.label(hit),
                hint: mask::inline_hint(&String::from_utf8_lossy(secret)),
                fingerprint: self.fingerprints.fingerprint(rule_id, path, secret),
                commit: None,
            }
        })
    }
}

/// A reportable finding. Holds no secret: only where, which rule, a masked hint and a hash.
#[derive(Debug, Clone)]
pub struct Finding {
    pub path: String,
    /// Within a notebook: `cell 3 source`, `cell 4 output 1`.
    pub place: Option<String>,
    pub line: usize,
    pub column: usize,
    pub rule_id: &'static str,
    pub label: String,
    pub hint: String,
    pub fingerprint: String,
    /// For history scans: the commit that introduced the leak.
    pub commit: Option<String>,
}

fn line_of(text: &[u8], at: usize) -> &[u8] {
    let start = text[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let end = text[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(text.len(), |i| at + i);
    &text[start..end]
}

/// Turns byte offsets into 1-based lines and columns, counting each newline once per buffer
/// however many hits it has, and only up to the last hit: most of a file is never counted.
#[derive(Default)]
struct LineCursor {
    /// Bytes before this have been counted.
    counted_to: usize,
    /// The line `counted_to` is on.
    line: usize,
}

impl LineCursor {
    fn locate(&mut self, text: &[u8], at: usize) -> (usize, usize) {
        if at < self.counted_to {
            *self = LineCursor::default();
        }
        self.line += text[self.counted_to..at]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.counted_to = at;
        let line_start = text[..at]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&text[line_start..at])
            .chars()
            .count()
            + 1;
        (self.line + 1, column)
    }
}

#[cfg(test)]
mod tests {
    use super::known::Secret;
    use super::*;

    #[test]
    fn known_value_wins_over_shape_and_allow_comment_silences() {
        let value = "sk-proj-Qm2Lp7Vt4Rw8Ks1Nb6Hc3Zx9Qm2Lp7Vt4Rw8";
        let detector = Detector::new(
            KnownValues::new(vec![Secret {
                name: "OPENAI_API_KEY".into(),
                value: value.into(),
            }]),
            Fingerprinter::ephemeral(),
        );
        let text = format!("a\nkey = \"{value}\"\nb = \"{value}\"  # envguard:allow\n");
        let mut hits = Vec::new();
        detector.find(text.as_bytes(), &mut hits);
        assert_eq!(hits.len(), 1);
        let finding = detector
            .findings("f.py", None, text.as_bytes(), &hits)
            .next()
            .expect("one hit");
        assert_eq!(
            (finding.line, finding.column, finding.rule_id),
            (2, 8, KNOWN_VALUE_ID)
        );
        assert_eq!(finding.label, "OPENAI_API_KEY");
        assert!(!finding.hint.contains(&value[3..value.len() - 4]));
    }
}
