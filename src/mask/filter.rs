//! The stream filter behind `exec --mask`: every loaded value, in every form it takes when
//! printed, replaced by `<masked:NAME>` in bytes on their way to a terminal, a log or a pipe.
//!
//! A program writes in pieces of any size, so a value may arrive split across two writes. The
//! filter holds back only the bytes at the end of what it has seen that could begin a value
//! (a proper prefix of some form), and passes the rest on at once: output that cannot be a
//! value is never delayed. What is held back is released by the caller's clock ([`Stream::
//! deadline`]): a tail under 8 bytes is likely a prompt ending in a common character, so it
//! waits only a short idle time; 8 bytes or more of a value almost never occur by chance, so
//! such a tail waits up to a second for the rest of the value. One leftmost-longest automaton
//! over all forms makes a value that contains another replaced whole.
//!
//! This is a safety net for accidents, not a boundary: a program can always transform a value
//! beyond recognition before printing it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aho_corasick::{AhoCorasick, MatchKind};

use super::forms::encodings;

/// Values shorter than this would match ordinary output everywhere.
pub const MIN_MASKED_LEN: usize = 6;

/// Values long enough but so common that masking them would garble ordinary output.
const COMMON_VALUES: &[&str] = &[
    "true",
    "false",
    "localhost",
    "127.0.0.1",
    "0.0.0.0",
    "production",
    "development",
    "staging",
    "testing",
    "enabled",
    "disabled",
    "default",
    "example",
    "changeme",
    "postgres",
    "password",
    "utf-8",
];

/// A held tail shorter than this is released after [`SHORT_IDLE`] without more output.
const SHORT_TAIL: usize = 8;
const SHORT_IDLE: Duration = Duration::from_millis(50);
/// The longest a tail that looks like the start of a value is held.
const LONG_HOLD: Duration = Duration::from_secs(1);

/// Why a loaded value is not masked, for `check` to tell.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Unmasked {
    TooShort,
    TooCommon,
}

/// Whether `value` is masked, and if not, why.
pub fn why_unmasked(value: &str) -> Option<Unmasked> {
    let trimmed = value.trim();
    if trimmed.chars().count() < MIN_MASKED_LEN {
        Some(Unmasked::TooShort)
    } else if COMMON_VALUES
        .iter()
        .any(|common| trimmed.eq_ignore_ascii_case(common))
        || trimmed.bytes().all(|b| b.is_ascii_digit())
    {
        Some(Unmasked::TooCommon)
    } else {
        None
    }
}

/// The lines of a multi-line value that are masked on their own (a program may print a
/// certificate line by line), with their index among `value.lines()`.
pub fn masked_lines(value: &str) -> impl Iterator<Item = (usize, &str)> {
    value
        .lines()
        .enumerate()
        .filter(move |(_, line)| line.len() != value.len() && why_unmasked(line).is_none())
}

/// The line `check` shows for the names whose values `exec --mask` leaves alone; `None` when
/// every value is masked.
pub fn unmasked_summary<'a>(
    variables: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<String> {
    let names: Vec<&str> = variables
        .into_iter()
        .filter(|(_, value)| why_unmasked(value).is_some())
        .map(|(name, _)| name)
        .collect();
    (!names.is_empty()).then(|| {
        format!(
            "exec --mask leaves {} unmasked (values under {MIN_MASKED_LEN} characters, numbers or too common to mean anything): {}",
            if names.len() == 1 { "1 variable".to_string() } else { format!("{} variables", names.len()) },
            names.join(", ")
        )
    })
}

/// The forms of every masked value, compiled once and shared by every stream.
pub struct Masker {
    automaton: Option<AhoCorasick>,
    /// `<masked:NAME>` for each pattern of the automaton.
    replacements: Vec<Vec<u8>>,
    /// Every form, sorted, to tell whether a tail is a proper prefix of one.
    sorted: Vec<Vec<u8>>,
    starts_form: [bool; 256],
    longest: usize,
}

impl Masker {
    /// The masker for `(name, value)` pairs; values too short or common are left out.
    pub fn new<'a>(variables: impl IntoIterator<Item = (&'a str, &'a str)>) -> Masker {
        let mut seen = std::collections::HashSet::new();
        let mut needles: Vec<Vec<u8>> = Vec::new();
        let mut replacements = Vec::new();
        for (name, value) in variables {
            if why_unmasked(value).is_some() {
                continue;
            }
            let replacement = format!("<masked:{name}>").into_bytes();
            let lines = masked_lines(value).map(|(_, line)| line.as_bytes().to_vec());
            let forms = encodings(value).into_iter().map(|(_, form)| form);
            for form in forms.chain(lines) {
                if !form.is_empty() && seen.insert(form.clone()) {
                    needles.push(form);
                    replacements.push(replacement.clone());
                }
            }
        }
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&needles)
            .ok()
            .filter(|_| !needles.is_empty());
        let mut starts_form = [false; 256];
        for needle in &needles {
            starts_form[usize::from(needle[0])] = true;
        }
        let longest = needles.iter().map(Vec::len).max().unwrap_or(0);
        let mut sorted = needles;
        sorted.sort();
        Masker {
            automaton,
            replacements,
            sorted,
            starts_form,
            longest,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.automaton.is_none()
    }

    /// A stream through this masker, for one output. Shared, so that a stream can outlive the
    /// code that built the masker (a relay thread) and switch to another ([`Stream::switch`]).
    pub fn stream(self: &Arc<Self>) -> Stream {
        Stream {
            masker: Arc::clone(self),
            pending: Vec::new(),
            last_input: Instant::now(),
            held_since: None,
        }
    }

    /// Masks `buf` into `out` up to the first byte that could begin a value still being
    /// written; returns how much of `buf` is done. With `whole`, all of it is done.
    fn mask(&self, buf: &[u8], whole: bool, out: &mut Vec<u8>) -> usize {
        let Some(automaton) = &self.automaton else {
            out.extend_from_slice(buf);
            return buf.len();
        };
        let mut pos = 0;
        'from_pos: loop {
            let hold = if whole {
                buf.len()
            } else {
                self.hold_start(buf, pos)
            };
            // A match starting before `hold` is final: were more text able to lengthen it,
            // its start would begin a proper prefix of a form, and `hold` would be there.
            let base = pos;
            for found in automaton.find_iter(&buf[base..]) {
                let (start, end) = (base + found.start(), base + found.end());
                if start >= hold {
                    break;
                }
                out.extend_from_slice(&buf[pos..start]);
                out.extend_from_slice(&self.replacements[found.pattern().as_usize()]);
                pos = end;
                if pos > hold {
                    continue 'from_pos;
                }
            }
            out.extend_from_slice(&buf[pos..hold]);
            return hold;
        }
    }

    /// The first position at or after `from` where the rest of `buf` is a proper prefix of a
    /// form; `buf.len()` when there is none.
    fn hold_start(&self, buf: &[u8], from: usize) -> usize {
        let earliest = from.max(buf.len().saturating_sub(self.longest.saturating_sub(1)));
        (earliest..buf.len())
            .find(|&at| self.starts_form[usize::from(buf[at])] && self.begins_form(&buf[at..]))
            .unwrap_or(buf.len())
    }

    fn begins_form(&self, tail: &[u8]) -> bool {
        let first = self.sorted.partition_point(|form| form.as_slice() < tail);
        // The forms that start with `tail` follow one another from `first`; only the first
        // of them can be `tail` itself.
        self.sorted[first..]
            .iter()
            .take(2)
            .any(|form| form.len() > tail.len() && form.starts_with(tail))
    }
}

/// One output (stdout, stderr or a terminal) through a [`Masker`].
pub struct Stream {
    masker: Arc<Masker>,
    pending: Vec<u8>,
    last_input: Instant,
    held_since: Option<Instant>,
}

impl Stream {
    /// Masks `input` into `out`, holding back a tail that could begin a value.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        self.last_input = Instant::now();
        if self.pending.is_empty() {
            let done = self.masker.mask(input, false, out);
            self.pending.extend_from_slice(&input[done..]);
        } else {
            self.pending.extend_from_slice(input);
            let done = self.masker.mask(&self.pending, false, out);
            self.pending.drain(..done);
        }
        self.held_since = match (self.pending.is_empty(), self.held_since) {
            (true, _) => None,
            (false, None) => Some(self.last_input),
            (false, since) => since,
        };
    }

    /// Masks what comes next with `masker` instead. What is held stays held: it is masked by
    /// the new masker with what follows, so a value split across the switch is still whole.
    pub fn switch(&mut self, masker: Arc<Masker>) {
        self.masker = masker;
    }

    /// Releases whatever is held, masked as far as it goes.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.masker.mask(&self.pending, true, out);
        self.pending.clear();
        self.held_since = None;
    }

    /// When the held tail is to be released if nothing more arrives; `None` when none is held.
    pub fn deadline(&self) -> Option<Instant> {
        let since = self.held_since?;
        Some(if self.pending.len() < SHORT_TAIL {
            self.last_input + SHORT_IDLE
        } else {
            since + LONG_HOLD
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    const KEY: &str = "sk-test-Qm2Lp7Vt4Rw8Ks1N";

    fn masked_in_pieces(masker: &Arc<Masker>, pieces: &[&[u8]]) -> Vec<u8> {
        let mut stream = masker.stream();
        let mut out = Vec::new();
        for piece in pieces {
            stream.push(piece, &mut out);
        }
        stream.finish(&mut out);
        out
    }

    fn masker() -> Arc<Masker> {
        Arc::new(Masker::new([
            ("API_KEY", KEY),
            ("LONGER", "sk-test-Qm2Lp7Vt4Rw8Ks1N-and-more"),
            ("DEBUG", "true"),
            ("PEM", "-----BEGIN-----\nQUJDREVGR0hJSktM\n-----END-----"),
        ]))
    }

    #[test]
    fn every_split_of_a_value_is_masked() {
        let masker = masker();
        let text = format!("before {KEY} after");
        for cut in 0..=text.len() {
            let (a, b) = text.as_bytes().split_at(cut);
            let out = masked_in_pieces(&masker, &[a, b]);
            assert!(out == b"before <masked:API_KEY> after", "cut at {cut}");
        }
    }

    #[test]
    fn a_value_that_contains_another_is_masked_whole() {
        let masker = masker();
        let text = b"x sk-test-Qm2Lp7Vt4Rw8Ks1N-and-more y";
        for cut in 0..=text.len() {
            let (a, b) = text.split_at(cut);
            assert!(
                masked_in_pieces(&masker, &[a, b]) == b"x <masked:LONGER> y",
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn forms_and_lines_are_masked_and_short_values_are_not() {
        let masker = masker();
        let b64 = STANDARD.encode(KEY);
        let text = format!("{b64} sk-test-Qm2Lp7Vt4Rw8Ks1N%21 QUJDREVGR0hJSktM true");
        let out = String::from_utf8(masked_in_pieces(&masker, &[text.as_bytes()])).unwrap();
        // Compared as a boolean: a failure must not print what got through.
        assert!(out == "<masked:API_KEY> <masked:API_KEY>%21 <masked:PEM> true");
    }

    #[test]
    fn only_a_possible_start_is_held_back() {
        let masker = masker();
        let mut stream = masker.stream();
        let mut out = Vec::new();
        stream.push(b"progress 50% sk-te", &mut out);
        assert_eq!(out, b"progress 50% ");
        assert!(stream.deadline().is_some());
        stream.push(b"rminal", &mut out);
        assert_eq!(out, b"progress 50% sk-terminal");
        assert!(stream.deadline().is_none());
    }

    #[test]
    fn binary_output_passes_unchanged() {
        let masker = masker();
        let bytes: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        assert_eq!(masked_in_pieces(&masker, &[&bytes]), bytes);
    }

    /// The filter's own rate, without the pipes around it, on the input of benches/mask.sh
    /// (100-byte lines, the benchmark project's 20 values), which runs it in a release build:
    /// `cargo test --release --lib throughput -- --ignored --nocapture`. Also on lines that
    /// each begin like a value and diverge from it 16 bytes in, where every line is a
    /// candidate the filter must look at, and on lines that each hold a value, replaced.
    #[test]
    #[ignore = "a benchmark, run by benches/mask.sh"]
    fn throughput() {
        let values: Vec<(String, String)> = (1..=20)
            .map(|i| {
                (
                    format!("VAR_{i:02}"),
                    format!("value-number-{i:02}-abcdefghijklmnopqrstuvwxyz"),
                )
            })
            .collect();
        let masker = Arc::new(Masker::new(
            values.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        ));
        let total: usize = std::env::var("ENVGUARD_BENCH_BYTES")
            .ok()
            .and_then(|bytes| bytes.parse().ok())
            .unwrap_or(1 << 30);
        let plain = format!("{}\n", "x".repeat(100));
        let near_misses = format!("value-number-07-{}\n", "y".repeat(84));
        let hits = format!("{} {}\n", values[6].1, "z".repeat(58));
        let replaced = |line: &str| line.replace(&values[6].1, "<masked:VAR_07>");
        for (name, line, expected) in [
            ("in-process", plain.clone(), plain),
            ("near misses", near_misses.clone(), near_misses),
            ("hits", hits.clone(), replaced(&hits)),
        ] {
            let chunk = line.repeat(64 * 1024 / line.len()).into_bytes();
            let mut stream = masker.stream();
            let mut out = Vec::with_capacity(chunk.len() * 2);
            let (mut passed, mut written) = (0, 0);
            let start = Instant::now();
            while passed < total {
                out.clear();
                stream.push(&chunk, &mut out);
                passed += chunk.len();
                written += out.len();
            }
            out.clear();
            stream.finish(&mut out);
            let seconds = start.elapsed().as_secs_f64();
            assert_eq!(written + out.len(), passed / line.len() * expected.len());
            println!(
                "filter {name}: {passed} bytes in {seconds:.4}s = {:.0} MB/s",
                passed as f64 / seconds / 1e6
            );
        }
    }

    #[test]
    fn unmasked_values_are_told_why() {
        assert!(why_unmasked("abc") == Some(Unmasked::TooShort));
        assert!(why_unmasked("localhost") == Some(Unmasked::TooCommon));
        assert!(why_unmasked("12345678") == Some(Unmasked::TooCommon));
        assert!(why_unmasked(KEY).is_none());
    }
}
