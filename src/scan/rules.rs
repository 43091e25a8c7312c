//! Token shapes: the credentials people leak most, recognised by their form.
//!
//! Known values catch the secrets of this project; these rules catch the ones that never were
//! in a `.env` (a key pasted into a notebook, a token copied from a colleague). Running a
//! dozen regexes over every byte would dominate the scan, so each rule names the literals
//! that any match must contain (`AKIA`, `ghp_`, `://`). One vectorised literal search (Teddy,
//! the searcher behind ripgrep) finds the lines holding any of them; only on those lines are
//! the anchors told apart and the matching rules' regexes run.

use aho_corasick::{AhoCorasick, MatchKind};
use regex::bytes::Regex;

pub struct Rule {
    pub id: &'static str,
    pub name: &'static str,
    /// Case-sensitive, so that the line search stays vectorised: a rule that ignores case
    /// lists the forms identifiers are written in.
    anchors: &'static [&'static str],
    /// The whole match is what `envguard:allow` and positions refer to; the `secret` group, if
    /// any, is the credential itself (what is masked, hashed and redacted).
    pattern: &'static str,
    /// Generic assignments have no fixed shape, so their value must also look random.
    needs_entropy: bool,
}

pub const RULES: &[Rule] = &[
    Rule {
        id: "private-key",
        name: "private key block",
        anchors: &["PRIVATE KEY-----"],
        pattern: r"-----BEGIN[A-Z0-9 ]{0,30} PRIVATE KEY(?: BLOCK)?-----(?:\s|\\[nr])*(?P<secret>[A-Za-z0-9+/=]{40,})",
        needs_entropy: false,
    },
    Rule {
        id: "aws-access-key-id",
        name: "AWS access key id",
        anchors: &["AKIA", "ASIA", "ABIA", "ACCA"],
        pattern: r"\b(?P<secret>(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b",
        needs_entropy: false,
    },
    Rule {
        id: "github-token",
        name: "GitHub token",
        anchors: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        pattern: r"\b(?P<secret>gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b",
        needs_entropy: false,
    },
    Rule {
        id: "anthropic-api-key",
        name: "Anthropic API key",
        anchors: &["sk-ant-"],
        pattern: r"\b(?P<secret>sk-ant-[A-Za-z0-9_\-]{32,200})",
        needs_entropy: false,
    },
    Rule {
        id: "openai-api-key",
        name: "OpenAI API key",
        anchors: &["sk-"],
        pattern: r"\b(?P<secret>sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_\-]{32,200})",
        needs_entropy: true,
    },
    Rule {
        id: "slack-token",
        name: "Slack token",
        anchors: &[
            "xoxb-",
            "xoxp-",
            "xoxa-",
            "xoxr-",
            "xoxs-",
            "hooks.slack.com/",
        ],
        pattern: r"\b(?P<secret>xox[bpars]-[0-9A-Za-z\-]{10,100}|hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{20,})",
        needs_entropy: false,
    },
    Rule {
        id: "stripe-key",
        name: "Stripe secret key",
        anchors: &["sk_live_", "rk_live_", "sk_test_", "rk_test_"],
        pattern: r"\b(?P<secret>[rs]k_(?:live|test)_[A-Za-z0-9]{16,200})\b",
        needs_entropy: false,
    },
    Rule {
        id: "google-api-key",
        name: "Google API key",
        anchors: &["AIza"],
        pattern: r"\b(?P<secret>AIza[0-9A-Za-z_\-]{35})(?:[^0-9A-Za-z_\-]|$)",
        needs_entropy: false,
    },
    Rule {
        id: "jwt",
        name: "JSON Web Token",
        anchors: &["eyJ"],
        pattern: r"\b(?P<secret>eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{16,})",
        needs_entropy: false,
    },
    Rule {
        id: "database-url-password",
        name: "database URL with a password",
        anchors: &["://"],
        pattern: r"(?i)\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver)://[^\s:@/'\x22]{1,100}:(?P<secret>[^\s:@/'\x22]{3,200})@",
        needs_entropy: false,
    },
    Rule {
        id: "generic-api-key",
        name: "API key or secret assignment",
        // Each keyword below holds one of these in lower, Title or UPPER case (`apiKey`,
        // `client_secret`, `ACCESS_TOKEN`, `passWord`); `sEcReT` is not worth a byte-wise scan.
        anchors: &[
            "key", "Key", "KEY", "secret", "Secret", "SECRET", "token", "Token", "TOKEN", "passw",
            "passW", "Passw", "PassW", "PASSW",
        ],
        pattern: r#"(?i)(?:api[_-]?key|secret|token|passw(?:or)?d|access[_-]?key|private[_-]?key)[a-z0-9_\-]{0,20}\\?["']?\s{0,4}(?::=|=>|=|:)\s{0,4}\\?["'](?P<secret>[A-Za-z0-9+/=_\-.~]{16,200})\\?["']"#,
        needs_entropy: true,
    },
];

/// Substrings that mark a documented example rather than a credential.
const PLACEHOLDER_MARKS: &[&str] = &[
    "xxxx",
    "your",
    "example",
    "placeholder",
    "changeme",
    "change_me",
    "dummy",
    "redacted",
    "sample",
    "fake",
    "insert",
    "replace",
    "<",
    ">",
    "{",
    "}",
    "****",
    "...",
    "…",
];

pub struct Rules {
    /// Finds the lines holding any anchor. Leftmost-first, non-overlapping: that is what lets
    /// the automaton hand the search to its vectorised literal prefilter.
    lines: AhoCorasick,
    /// Within one such line, every anchor, overlapping (`sk-ant-` must not hide `sk-`).
    anchors: AhoCorasick,
    /// For each anchor pattern, the rule it belongs to.
    anchor_rule: Vec<usize>,
    regexes: Vec<Regex>,
}

/// A rule match: the whole span and the credential inside it.
pub struct RuleMatch {
    pub rule: usize,
    pub start: usize,
    pub end: usize,
    pub secret_start: usize,
    pub secret_end: usize,
}

impl Rules {
    pub fn new() -> Self {
        let mut literals = Vec::new();
        let mut anchor_rule = Vec::new();
        for (index, rule) in RULES.iter().enumerate() {
            for anchor in rule.anchors {
                literals.push(*anchor);
                anchor_rule.push(index);
            }
        }
        // The literals are fixed: a failure to build is a bug, not input.
        let lines = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&literals)
            .expect("the anchor literals are fixed and valid");
        let anchors = AhoCorasick::new(&literals).expect("the anchor literals are fixed and valid");
        let regexes = RULES
            .iter()
            .map(|rule| Regex::new(rule.pattern).expect("rule patterns are fixed and valid"))
            .collect();
        Rules {
            lines,
            anchors,
            anchor_rule,
            regexes,
        }
    }

    /// Appends the matches in `text`, in rule order per line; overlaps are resolved by the caller.
    pub fn find(&self, text: &[u8], out: &mut Vec<RuleMatch>) {
        // Anchors never span a newline, so every line holding one holds a reported match.
        let mut examined_to = 0;
        for candidate in self.lines.find_iter(text) {
            if candidate.start() < examined_to {
                continue;
            }
            let (line_start, line_end) = line_window(text, candidate.start());
            let whole_line = line_end == text.len() || text[line_end] == b'\n';
            // A window cut out of a huge (minified) line covers only its own anchor's
            // surroundings: the next anchor gets a window of its own.
            examined_to = if whole_line {
                line_end
            } else {
                candidate.end()
            };
            self.find_in_line(text, line_start, line_end, out);
        }
    }

    fn find_in_line(
        &self,
        text: &[u8],
        line_start: usize,
        line_end: usize,
        out: &mut Vec<RuleMatch>,
    ) {
        let line = &text[line_start..line_end];
        let mut rules = [false; RULES.len()];
        for anchor in self.anchors.find_overlapping_iter(line) {
            rules[self.anchor_rule[anchor.pattern().as_usize()]] = true;
        }
        for rule in (0..RULES.len()).filter(|&rule| rules[rule]) {
            for caps in self.regexes[rule].captures_iter(line) {
                let whole = caps.get(0).expect("group 0 always exists");
                let secret = caps.name("secret").unwrap_or(whole);
                let value = &line[secret.range()];
                if is_placeholder(value) || (RULES[rule].needs_entropy && !looks_random(value)) {
                    continue;
                }
                out.push(RuleMatch {
                    rule,
                    start: line_start + whole.start(),
                    end: line_start + whole.end(),
                    secret_start: line_start + secret.start(),
                    secret_end: line_start + secret.end(),
                });
            }
        }
    }
}

impl Default for Rules {
    fn default() -> Self {
        Self::new()
    }
}

/// The line around `at`, bounded so that a minified file's one huge line stays cheap.
fn line_window(text: &[u8], at: usize) -> (usize, usize) {
    const REACH: usize = 4096;
    let floor = at.saturating_sub(REACH);
    let start = text[floor..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(floor, |i| floor + i + 1);
    let ceiling = (at + REACH).min(text.len());
    let end = text[at..ceiling]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(ceiling, |i| at + i);
    (start, end)
}

fn is_placeholder(value: &[u8]) -> bool {
    let lower = value.to_ascii_lowercase();
    let contains = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
    PLACEHOLDER_MARKS
        .iter()
        .any(|mark| contains(mark.as_bytes()))
        || lower.windows(6).any(|w| w.iter().all(|&b| b == w[0]))
}

/// Random-looking: letters and digits mixed, and high Shannon entropy; UUIDs and hex digests
/// (lock files, commit ids) are identifiers, not credentials.
fn looks_random(value: &[u8]) -> bool {
    let has_digit = value.iter().any(u8::is_ascii_digit);
    let has_alpha = value.iter().any(u8::is_ascii_alphabetic);
    let is_hex_or_uuid = value.iter().all(|b| b.is_ascii_hexdigit() || *b == b'-');
    has_digit && has_alpha && !is_hex_or_uuid && shannon_entropy(value) >= 3.5
}

fn shannon_entropy(value: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    for &b in value {
        counts[b as usize] += 1;
    }
    let len = value.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / len;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<&'static str> {
        let mut out = Vec::new();
        Rules::new().find(text.as_bytes(), &mut out);
        out.iter().map(|m| RULES[m.rule].id).collect()
    }

    #[test]
    fn recognises_each_shape() {
        assert_eq!(ids("key = AKIAQYLPMN5HFIQR7X2B"), ["aws-access-key-id"]);
        assert_eq!(
            ids("ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"),
            ["github-token"]
        );
        assert_eq!(ids("xoxb-1234567890-abcdefghijkl"), ["slack-token"]);
        assert_eq!(ids("sk_live_4eC39HqLyjWDarjtT1zdp7dc"), ["stripe-key"]);
        assert_eq!(
            ids("AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"),
            ["google-api-key"]
        );
        assert_eq!(
            ids("postgres://app:Hunter2Pw@db:5432/app"),
            ["database-url-password"]
        );
        assert_eq!(
            ids(r#"api_key = "Zx9Qm2Lp7Vt4Rw8Ks1Nb6Hc3""#),
            ["generic-api-key"]
        );
        for camel in [
            r#"apiKey: "Zx9Qm2Lp7Vt4Rw8Ks1Nb6Hc3""#,
            r#"clientSecret = 'Zx9Qm2Lp7Vt4Rw8Ks1Nb6Hc3'"#,
            r#"DB_PASSWORD="Zx9Qm2Lp7Vt4Rw8Ks1Nb6Hc3""#,
            r#"passWord => "Zx9Qm2Lp7Vt4Rw8Ks1Nb6Hc3""#,
        ] {
            assert_eq!(ids(camel), ["generic-api-key"], "{camel}");
        }
        assert!(
            ids("sk-ant-api03-Qm2Lp7Vt4Rw8Ks1Nb6Hc3Zx9Qm2Lp7Vt4Rw8Ks1Nb6Hc3")
                .contains(&"anthropic-api-key")
        );
    }

    #[test]
    fn every_anchor_on_a_line_counts_and_long_lines_are_windowed() {
        // `sk-ant-` is found first, yet the line is also tried for `sk-`, and a second token
        // later on the same line is not skipped.
        let line = "a = 'sk-ant-api03-Qm2Lp7Vt4Rw8Ks1Nb6Hc3Zx9Qm2Lp7Vt4Rw8Ks1Nb6Hc3' b = 'AKIAQYLPMN5HFIQR7X2B'";
        let found = ids(line);
        assert!(found.contains(&"anthropic-api-key") && found.contains(&"aws-access-key-id"));
        let minified = format!(
            "{}AKIAQYLPMN5HFIQR7X2B;{}ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5",
            "x;".repeat(5000),
            "y;".repeat(5000)
        );
        assert_eq!(ids(&minified), ["aws-access-key-id", "github-token"]);
    }

    #[test]
    fn placeholders_and_identifiers_stay_silent() {
        for bait in [
            "OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            r#"api_key = "YOUR_API_KEY_GOES_HERE_12345""#,
            r#"token: "<token-from-the-dashboard>""#,
            r#"request_id = "550e8400-e29b-41d4-a716-446655440000""#,
            r#"token = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855""#,
            "postgres://user:changeme@localhost/db",
            "AKIAIOSFODNN7EXAMPLE",
            "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----",
        ] {
            assert!(ids(bait).is_empty(), "bait matched: {bait}");
        }
    }
}
