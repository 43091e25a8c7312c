//! Token shapes: the credentials people leak most, recognised by their form.
//!
//! Known values catch the secrets of this project; these rules catch the ones that never were
//! in a `.env` (a key pasted into a notebook, a token copied from a colleague). Running dozens
//! of regexes over every byte would dominate the scan, so each rule names the literals that
//! any match must contain (`AKIA`, `ghp_`, `s://`). A vectorised literal search (Teddy, the
//! searcher behind ripgrep) finds the lines holding any of them; only on those lines are the
//! anchors told apart and the matching rules' regexes run.
//!
//! Keywords count in any letter case (`sEcReT`), but a case-insensitive literal search is not
//! vectorised. So there are two passes: one over the text as it is, for prefixes whose case
//! is part of their format (`AKIA`, `AIza`); one over a lowercased copy (same offsets), for
//! the keywords and for lowercase prefixes, split so that each pass keeps to Teddy's fastest
//! form (see `Rule::anchors`). Each rule's regex then runs on the original line. The few
//! prefixes too short for the line search are run as whole-text regexes.

mod github;
mod pem;
mod table;

use std::cell::RefCell;

use aho_corasick::{AhoCorasick, MatchKind, packed};
use regex::bytes::{Captures, Regex, RegexBuilder};

pub use table::{Check, RULES, Rule};

/// A rule match: the whole span and the credential inside it.
pub struct RuleMatch {
    pub rule: usize,
    pub start: usize,
    pub end: usize,
    pub secret_start: usize,
    pub secret_end: usize,
}

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

/// One literal search and the rules its anchors stand for.
struct Pass {
    /// How many literals the line search holds (see `Rule::anchors`).
    #[cfg_attr(not(test), allow(dead_code))]
    searched: usize,
    /// Finds the lines holding any anchor.
    lines: LineSearch,
    /// Within one such line, every anchor, overlapping (`sk-ant-` must not hide `sk-`).
    anchors: AhoCorasick,
    /// For each anchor literal, the rules (a bit each) it belongs to.
    anchor_rules: Vec<u64>,
}

impl Pass {
    fn new(folded: bool) -> Self {
        let mut literals: Vec<&str> = Vec::new();
        let mut anchor_rules: Vec<u64> = Vec::new();
        for (index, rule) in RULES.iter().enumerate() {
            if rule.folded != folded {
                continue;
            }
            for anchor in rule.anchors {
                match literals.iter().position(|l| l == anchor) {
                    Some(known) => anchor_rules[known] |= 1 << index,
                    None => {
                        literals.push(anchor);
                        anchor_rules.push(1 << index);
                    }
                }
            }
        }
        // A line holding `sk-ant-` holds `sk-`: the line search needs only the literals that
        // hold no other, and the fewer it has, the fewer false candidates its SIMD filter lets
        // through.
        let covering: Vec<&str> = literals
            .iter()
            .filter(|literal| {
                !literals
                    .iter()
                    .any(|other| other != *literal && literal.contains(other))
            })
            .copied()
            .collect();
        let lines = LineSearch::new(&covering);
        let anchors = AhoCorasick::new(&literals).expect("the anchor literals are fixed and valid");
        Pass {
            searched: covering.len(),
            lines,
            anchors,
            anchor_rules,
        }
    }
}

/// Teddy itself where the CPU has it. Used as an automaton's prefilter it would be switched
/// off whenever it looks ineffective, and text dense in near misses (base64 images, minified
/// code) makes it look so: the automaton then steps through every byte.
enum LineSearch {
    Teddy(packed::Searcher),
    Automaton(AhoCorasick),
}

impl LineSearch {
    fn new(literals: &[&str]) -> Self {
        let teddy = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostFirst)
            .builder()
            .extend(literals)
            .build();
        match teddy {
            Some(teddy) => LineSearch::Teddy(teddy),
            // The literals are fixed: a failure to build is a bug, not input.
            None => LineSearch::Automaton(
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(literals)
                    .expect("the anchor literals are fixed and valid"),
            ),
        }
    }

    /// The start and end of each match, leftmost-first, non-overlapping.
    fn find_iter<'a>(&'a self, text: &'a [u8]) -> Box<dyn Iterator<Item = (usize, usize)> + 'a> {
        match self {
            LineSearch::Teddy(teddy) => {
                Box::new(teddy.find_iter(text).map(|m| (m.start(), m.end())))
            }
            LineSearch::Automaton(automaton) => {
                Box::new(automaton.find_iter(text).map(|m| (m.start(), m.end())))
            }
        }
    }
}

pub struct Rules {
    exact: Pass,
    folded: Pass,
    /// `None` for the rules matched by hand (private keys) or never run.
    regexes: Vec<Option<Regex>>,
}

const _: () = assert!(RULES.len() <= 64, "rule sets are u64 bit masks");

thread_local! {
    /// The lowercased copy of the text being scanned, reused across calls on one thread.
    static FOLDED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl Rules {
    pub fn new() -> Self {
        let regexes = RULES
            .iter()
            .map(|rule| {
                // Formats are ASCII: without Unicode, `\b`, `\s` and `(?i)` stay small enough
                // for the lazy DFA, which gives up on a Unicode word boundary at the first
                // non-ASCII byte and hands the line to a far slower engine.
                (!rule.pattern.is_empty()).then(|| {
                    RegexBuilder::new(rule.pattern)
                        .unicode(false)
                        .build()
                        .expect("rule patterns are fixed and valid")
                })
            })
            .collect();
        Rules {
            exact: Pass::new(false),
            folded: Pass::new(true),
            regexes,
        }
    }

    /// Appends the matches in `text`, in rule order per line; overlaps are resolved by the caller.
    pub fn find(&self, text: &[u8], out: &mut Vec<RuleMatch>) {
        self.run(&self.exact, text, text, out);
        FOLDED.with(|folded| {
            let mut folded = folded.borrow_mut();
            folded.clear();
            folded.extend(text.iter().map(u8::to_ascii_lowercase));
            self.run(&self.folded, text, &folded, out);
        });
        for (rule, regex) in self.unanchored() {
            for caps in regex.captures_iter(text) {
                let whole = caps.get(0).expect("group 0 always exists");
                let secret = caps.name("secret").unwrap_or(whole);
                if judge(rule, &text[secret.range()], false, text, whole.start()).is_some() {
                    out.push(RuleMatch {
                        rule,
                        start: whole.start(),
                        end: whole.end(),
                        secret_start: secret.start(),
                        secret_end: secret.end(),
                    });
                }
            }
        }
        drop_generic_overlaps(out);
    }

    fn unanchored(&self) -> impl Iterator<Item = (usize, &Regex)> {
        RULES
            .iter()
            .zip(&self.regexes)
            .enumerate()
            .filter(|(_, (rule, _))| rule.anchors.is_empty())
            .filter_map(|(index, (_, regex))| Some((index, regex.as_ref()?)))
    }

    /// One pass: `searched` is `text` itself or its lowercased copy (same length and lines).
    fn run(&self, pass: &Pass, text: &[u8], searched: &[u8], out: &mut Vec<RuleMatch>) {
        // Anchors never span a newline, so every line holding one is tried.
        let mut examined_to = 0;
        for (candidate_start, candidate_end) in pass.lines.find_iter(searched) {
            if candidate_start < examined_to {
                continue;
            }
            let (line_start, line_end) = line_window(text, candidate_start);
            let whole_line = line_end == text.len() || text[line_end] == b'\n';
            // A window cut out of a huge (minified) line covers every match of the anchors in
            // all but its last `MATCH_REACH` bytes: the next window starts from there, so a
            // line dense with anchors is still examined a bounded number of times per byte.
            examined_to = if whole_line {
                line_end
            } else {
                line_end.saturating_sub(MATCH_REACH).max(candidate_end)
            };
            let mut rules = 0u64;
            for anchor in pass
                .anchors
                .find_overlapping_iter(&searched[line_start..line_end])
            {
                rules |= pass.anchor_rules[anchor.pattern().as_usize()];
            }
            self.find_in_line(text, line_start, line_end, rules, out);
        }
    }

    fn find_in_line(
        &self,
        text: &[u8],
        line_start: usize,
        line_end: usize,
        rules: u64,
        out: &mut Vec<RuleMatch>,
    ) {
        let line = &text[line_start..line_end];
        for rule in (0..RULES.len()).filter(|&rule| rules & (1 << rule) != 0) {
            if RULES[rule].check == Check::PrivateKey {
                let mut blocks = Vec::new();
                pem::find(text, line_start, line_end, &mut blocks);
                out.extend(blocks.into_iter().map(|block| RuleMatch {
                    rule,
                    start: block.start,
                    end: block.end,
                    secret_start: block.secret_start,
                    secret_end: block.secret_end,
                }));
                continue;
            }
            let Some(regex) = &self.regexes[rule] else {
                continue;
            };
            for caps in regex.captures_iter(line) {
                let whole = caps.get(0).expect("group 0 always exists");
                let (secret, bare) = secret_group(&caps);
                let secret = secret.unwrap_or(whole);
                let value = &line[secret.range()];
                let Some(reported) = judge(rule, value, bare, text, line_start + whole.start())
                else {
                    continue;
                };
                out.push(RuleMatch {
                    rule: reported,
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

/// A generic assignment that covers a named shape (`aws_access_key_id = AKIA…`) is that shape:
/// the caller keeps the earliest of overlapping matches, which would be the generic one.
fn drop_generic_overlaps(out: &mut Vec<RuleMatch>) {
    let generic = rule_index("generic-api-key");
    if !out.iter().any(|m| m.rule == generic) {
        return;
    }
    let mut named: Vec<(usize, usize)> = out
        .iter()
        .filter(|m| m.rule != generic)
        .map(|m| (m.start, m.end))
        .collect();
    named.sort_unstable();
    // The latest end among spans starting before each point: a sweep, not a pairwise test,
    // so a file of thousands of assignments stays linear.
    let mut reach = Vec::with_capacity(named.len());
    let mut furthest = 0;
    for &(_, end) in &named {
        furthest = furthest.max(end);
        reach.push(furthest);
    }
    out.retain(|m| {
        if m.rule != generic {
            return true;
        }
        let before_end = named.partition_point(|&(start, _)| start < m.end);
        before_end == 0 || reach[before_end - 1] <= m.start
    });
}

/// The credential's group, and whether it was written unquoted (`bare`, `env`).
fn secret_group<'h>(caps: &Captures<'h>) -> (Option<regex::bytes::Match<'h>>, bool) {
    if let Some(quoted) = caps.name("secret").or_else(|| caps.name("sas")) {
        return (Some(quoted), false);
    }
    match caps.name("bare").or_else(|| caps.name("env")) {
        Some(bare) => (Some(bare), true),
        None => (None, false),
    }
}

/// The rule a candidate is reported under, or `None` if it is not a credential.
fn judge(rule: usize, value: &[u8], bare: bool, text: &[u8], at: usize) -> Option<usize> {
    let placeholder = is_placeholder(value);
    let keep = match RULES[rule].check {
        Check::Prefix => !placeholder,
        Check::Keyword => !placeholder && shannon_entropy(value) >= 3.0,
        Check::Random => {
            value.len() <= MAX_RANDOM_LEN
                && !placeholder
                && looks_random(value)
                && (!bare || looks_unquoted_secret(value))
        }
        Check::OpenAi => !placeholder && (contains(value, b"T3BlbkFJ") || looks_random(value)),
        Check::Kaggle => {
            let by_name = text.get(at) != Some(&b'"') && text.get(at) != Some(&b'\\');
            !placeholder && (by_name || near(text, at, b"username"))
        }
        Check::GitHub => {
            return match github::verify(value) {
                github::Verdict::Valid => Some(rule),
                github::Verdict::Invalid if !placeholder && looks_random(value) => {
                    Some(rule_index("github-token-bad-checksum"))
                }
                github::Verdict::Invalid => None,
                github::Verdict::NotChecksummed => (!placeholder).then_some(rule),
            };
        }
        Check::PrivateKey | Check::Derived => false,
    };
    keep.then_some(rule)
}

fn rule_index(id: &str) -> usize {
    RULES
        .iter()
        .position(|rule| rule.id == id)
        .expect("the rule table names this rule")
}

/// Longer random-looking values are data (an embedded blob), not a credential.
const MAX_RANDOM_LEN: usize = 200;

/// How far a match reaches from its anchor, either way (a PyPI token is the longest).
const MATCH_REACH: usize = 1100;

/// The line around `at`, bounded so that a minified file's one huge line stays cheap.
fn line_window(text: &[u8], at: usize) -> (usize, usize) {
    const REACH: usize = 4096;
    const _: () = assert!(MATCH_REACH < REACH);
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

/// Whether `word` occurs within a few lines of `at` (Kaggle's `kaggle.json` is one object).
fn near(text: &[u8], at: usize, word: &[u8]) -> bool {
    const REACH: usize = 512;
    let from = at.saturating_sub(REACH);
    let to = (at + REACH).min(text.len());
    contains(&text[from..to].to_ascii_lowercase(), word)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn is_placeholder(value: &[u8]) -> bool {
    let lower = value.to_ascii_lowercase();
    PLACEHOLDER_MARKS
        .iter()
        .any(|mark| contains(&lower, mark.as_bytes()))
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

/// An unquoted value is also what a program's identifiers look like (`token = tokenizer_v2`):
/// a `snake_case` or `kebab-case` name is not taken for a credential.
fn looks_unquoted_secret(value: &[u8]) -> bool {
    let has_upper = value.iter().any(u8::is_ascii_uppercase);
    let separated = value.iter().any(|&b| b == b'_' || b == b'-');
    has_upper || !separated
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

/// For tests and benchmarks that need a format-valid GitHub token: the checksum for `random`.
pub fn github_checksum(random: &[u8]) -> [u8; github::CHECKSUM_LEN] {
    github::base62(github::crc32(random))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<&'static str> {
        let mut out = Vec::new();
        Rules::new().find(text.as_bytes(), &mut out);
        out.iter().map(|m| RULES[m.rule].id).collect()
    }

    fn github_token(random: &str) -> String {
        let checksum = github_checksum(random.as_bytes());
        format!("ghp_{random}{}", String::from_utf8_lossy(&checksum))
    }

    #[test]
    fn every_anchor_on_a_line_counts_and_long_lines_are_windowed() {
        // `sk-ant-` is found first, yet the line is also tried for `sk-`, and a second token
        // later on the same line is not skipped.
        let line = "a = 'sk-ant-api03-Qm2Lp7Vt4Rw8Ks1Nb6Hc3Zx9Qm2Lp7Vt4Rw8Ks1Nb6Hc3' b = 'AKIAQYLPMN5HFIQR7X2B'";
        let found = ids(line);
        assert!(found.contains(&"anthropic-api-key") && found.contains(&"aws-access-key-id"));
        let minified = format!(
            "{}AKIAQYLPMN5HFIQR7X2B;{}{}",
            "x;".repeat(5000),
            "y;".repeat(5000),
            github_token("aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1")
        );
        assert_eq!(ids(&minified), ["aws-access-key-id", "github-token"]);
    }

    #[test]
    fn the_github_checksum_decides_between_a_token_and_a_placeholder_or_typo() {
        // Spells "fake" and "sample": a placeholder filter alone would hide it.
        let valid = github_token("fakeSampleQm2Lp7Vt4Rw8Ks1Nb6Hc");
        assert_eq!(ids(&valid), ["github-token"]);
        let mut typo = github_token("Qm2Lp7Vt4Rw8Ks1Nb6Hc3Zx9Tb5Wq1").into_bytes();
        let last = typo.len() - 1;
        typo[last] = if typo[last] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(typo).expect("ASCII");
        assert_eq!(ids(&typo), ["github-token-bad-checksum"]);
        assert!(ids("ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx").is_empty());
    }

    #[test]
    fn each_pass_stays_within_slim_teddy_with_four_byte_literals() {
        for rule in RULES {
            assert!(rule.anchors.iter().all(|a| a.len() >= 4), "{}", rule.id);
            assert!(!rule.folded || rule.anchors.iter().all(|a| *a == a.to_lowercase()));
        }
        let rules = Rules::new();
        assert!(rules.exact.searched <= 32, "{}", rules.exact.searched);
        assert!(rules.folded.searched <= 32, "{}", rules.folded.searched);
    }

    #[test]
    fn a_private_key_block_is_bounded_and_linear() {
        // Thousands of BEGIN lines with no END must not make each one walk to the end.
        let text = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n".repeat(5000);
        assert!(ids(&text).is_empty());
    }
}
