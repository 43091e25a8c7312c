//! envguard's `.env` parser against the real python-dotenv, over a generated corpus.
//!
//! Hand-picked cases only cover the cases someone thought of; the point of owning the grammar
//! is agreeing with python-dotenv on the files people actually write, so a seeded generator
//! builds a few thousand realistic files from pieces (quote styles, escapes, comments, `#` in
//! values, odd whitespace, CRLF/CR, multi-line values, `${...}` references, broken lines) and
//! one python process reports what `dotenv_values()` makes of each
//! (`tests/support/dotenv_oracle.py`).
//!
//! Expected: where python parses cleanly, every name is a shell name and every `${...}` name
//! is one, we return the same values in the same order (python's `None` counted as absent), at
//! the lines where the statements start. Otherwise we refuse, at the line of the first
//! statement python skipped or whose name (or reference) is not a shell name.
//!
//! Two refusals are deliberate where python parses cleanly but silently loses a value: a `KEY`
//! line without `=` after `KEY` had a value (python drops the value; "cancel"), and a
//! `${KEY}` after such a line (python substitutes it as empty, whatever the environment
//! holds; "unassigned_ref"). The oracle marks both, and we must refuse at that line.
//!
//! Deliberate divergences left out of the corpus by construction: NUL bytes (we refuse them,
//! `dotenv_values()` returns them). Everything else envguard does differently is one of the
//! refusals above and is in the corpus.
//!
//! Python: `$ENVGUARD_TEST_PYTHON` (set by `scripts/test` to a venv with python-dotenv from
//! PyPI), else `python3`; python-dotenv 1.2.4 or newer is required. `ENVGUARD_DIFF_SEED` and
//! `ENVGUARD_DIFF_FILES` change the corpus, to explore beyond the default one.

mod common;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde_json::Value;

use common::{TestEnv, assert_not_leaked, stderr};

const DEFAULT_SEED: u64 = 0x5eed_d07e_4e11_0001;
const DEFAULT_FILES: usize = 3000;

/// The outer environment python runs with (and so `${...}` falls back to).
const OUTER: &[(&str, &str)] = &[
    ("OUTER", "outer value"),
    ("OUTER_EMPTY", ""),
    ("OUTER_UNI", "héllo wörld ✓"),
    ("SHADOWED", "the environment loses"),
    ("PYTHONIOENCODING", "utf-8"),
];

/// splitmix64: enough randomness for a corpus, no dependency, same files on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn percent(&mut self, p: usize) -> bool {
        self.below(100) < p
    }

    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }
}

const NAMES: &[&str] = &[
    "A",
    "B",
    "C",
    "DB_URL",
    "API_KEY",
    "_PRIVATE",
    "path",
    "x1",
    "SECRET_TOKEN",
    "Mixed_Case_9",
    "SHADOWED",
    "OUTER",
    "export",
];
const BAD_NAMES: &[&str] = &[
    "A.B",
    "my-key",
    "1ST",
    "ключ",
    "A$B",
    "A\"B",
    "A'B",
    "naïve",
    "A:B",
    "A\u{feff}",
    "A{B}",
];
const OUTER_NAMES: &[&str] = &["OUTER", "OUTER_EMPTY", "OUTER_UNI", "SHADOWED", "NOT_SET"];
const WORDS: &[&str] = &[
    "hello",
    "two words",
    "p@$$w0rd!",
    "#ff0000",
    "a#b",
    "100%",
    "C:\\Users\\me",
    "postgres://u:p@h:5432/db?x=1&y=2",
    "é",
    "日本語",
    "🔑",
    "$HOME",
    "$",
    "$$",
    "{",
    "}",
    ":",
    ":-",
    "=",
    "a=b",
    "`cmd`",
    "-----BEGIN KEY-----",
    "0",
    "true",
];
const SPACES: &[&str] = &[
    " ", " ", " ", "  ", "\t", "\u{a0}", "\u{3000}", "\x0b", "\x0c", "\x1f", "\u{2028}", "\u{85}",
];
const ESCAPES: &[&str] = &[
    "\\'", "\\\\", "\\\"", "\\n", "\\t", "\\r", "\\x41", "\\$", "\\u00e9", "\\a", "\\b", "\\f",
    "\\v", "\\q", "\\ ", "\\#", "\\0",
];
const COMMENTS: &[&str] = &[
    " # comment",
    "\t# comment",
    " #",
    "#comment",
    "  # it's \"quoted\" ${OUTER}",
    " # KEY=value",
    "\u{a0}# nbsp",
];

struct FileGen<'r> {
    rng: &'r mut Rng,
    eol_mode: usize,
    defined: Vec<&'static str>,
    text: String,
}

impl FileGen<'_> {
    fn eol(&mut self) -> &'static str {
        match self.eol_mode {
            0..=6 => "\n",
            7 => "\r\n",
            8 => "\r",
            _ => self.rng.pick(&["\n", "\r\n", "\r"]),
        }
    }

    fn space(&mut self) -> &'static str {
        if self.rng.percent(85) {
            self.rng.pick(&[" ", "\t", "  "])
        } else {
            self.rng.pick(SPACES)
        }
    }

    fn name(&mut self) -> &'static str {
        if !self.defined.is_empty() && self.rng.percent(12) {
            let i = self.rng.below(self.defined.len());
            return self.defined[i];
        }
        self.rng.pick(NAMES)
    }

    fn reference(&mut self) -> String {
        let target: &str = if !self.defined.is_empty() && self.rng.percent(50) {
            self.defined[self.rng.below(self.defined.len())]
        } else {
            self.rng.pick(OUTER_NAMES)
        };
        match self.rng.below(20) {
            0..=5 => format!("${{{target}}}"),
            6..=8 => format!("${{{target}:-default}}"),
            9 => format!("${{{target}:-}}"),
            10 => format!("${{{target}:-a b:c}}"),
            11 => format!("${target}"),
            12 => format!("$${{{target}}}"),
            13 => format!("${{{target}:-${{OUTER}}}}"),
            14 => format!("${{{target}"),
            15 => format!("${{{target}:x}}"),
            16 => "${".to_owned(),
            // Names python matches but no shell could export.
            17 => format!("${{{target}-x}}"),
            18 => (*self
                .rng
                .pick(&["${}", "${:-d}", "${A.B}", "${ A }", "${1X}"]))
            .to_owned(),
            _ => format!("${{{target}}}${{{target}}}"),
        }
    }

    /// Value text between quotes (or unquoted): words, spaces, references, escapes, and for
    /// quoted values line ends and the other quote.
    fn content(&mut self, quote: Option<char>) -> String {
        let mut out = String::new();
        for _ in 0..self.rng.below(6) {
            match self.rng.below(20) {
                0..=7 => out.push_str(self.rng.pick(WORDS)),
                8..=10 => out.push_str(self.space()),
                11..=12 => out.push_str(&self.reference()),
                13..=14 => out.push_str(self.rng.pick(ESCAPES)),
                15 if quote.is_some() => out.push_str(self.eol()),
                16 => out.push_str(self.rng.pick(&["'", "\"", "\\"])),
                17 => out.push_str(self.rng.pick(&[" #", " # x", "#"])),
                _ => out.push_str(self.rng.pick(WORDS)),
            }
        }
        if let Some(q) = quote {
            // A stray closing quote mostly makes trailing garbage; keep it rare.
            if !self.rng.percent(10) {
                out = out.replace(q, "");
            }
        }
        out
    }

    fn assignment(&mut self) {
        if self.rng.percent(10) {
            let indent = self.space();
            self.text.push_str(indent);
        }
        if self.rng.percent(12) {
            self.text.push_str("export");
            let space = self.space();
            self.text.push_str(space);
        }
        let name = if self.rng.percent(3) {
            self.rng.pick(BAD_NAMES)
        } else {
            self.name()
        };
        if self.rng.percent(6) {
            let _ = write!(self.text, "'{name}'");
        } else {
            self.text.push_str(name);
        }
        if self.rng.percent(15) {
            let space = self.space();
            self.text.push_str(space);
        }
        if self.rng.percent(4) {
            // A name without `=`: python's None.
            if self.rng.percent(40) {
                let comment = self.rng.pick(COMMENTS);
                self.text.push_str(comment);
            }
            self.defined.push(name);
            return;
        }
        self.text.push('=');
        if self.rng.percent(20) {
            let space = self.space();
            self.text.push_str(space);
        }
        match self.rng.below(10) {
            0 => {}
            1..=4 => {
                let value = self.content(None);
                self.text.push_str(&value);
            }
            5..=6 => {
                let value = self.content(Some('\''));
                let _ = write!(self.text, "'{value}'");
            }
            _ => {
                let value = self.content(Some('"'));
                let _ = write!(self.text, "\"{value}\"");
            }
        }
        match self.rng.below(10) {
            0..=5 => {}
            6 => {
                let space = self.space();
                self.text.push_str(space);
            }
            _ => {
                let comment = self.rng.pick(COMMENTS);
                self.text.push_str(comment);
            }
        }
        self.defined.push(name);
    }

    fn broken(&mut self) {
        let piece = match self.rng.below(10) {
            0 => "A=\"unterminated".to_owned(),
            1 => "A='unterminated".to_owned(),
            2 => "A=\"closed\"garbage".to_owned(),
            3 => "A='closed' 'twice'".to_owned(),
            4 => "NAME value".to_owned(),
            5 => "=value".to_owned(),
            6 => "export ".to_owned(),
            7 => "''=x".to_owned(),
            8 => "A=\"ends in backslash\\".to_owned(),
            _ => "'unterminated key=1".to_owned(),
        };
        self.text.push_str(&piece);
    }

    fn file(rng: &mut Rng) -> Vec<u8> {
        let eol_mode = rng.below(10);
        let mut g = FileGen {
            rng,
            eol_mode,
            defined: Vec::new(),
            text: String::new(),
        };
        for _ in 0..1 + g.rng.below(8) {
            match g.rng.below(100) {
                0..=7 => {
                    if g.rng.percent(30) {
                        let space = g.space();
                        g.text.push_str(space);
                    }
                }
                8..=14 => {
                    if g.rng.percent(20) {
                        let space = g.space();
                        g.text.push_str(space);
                    }
                    let comment = g.rng.pick(&["# comment", "#", "#A=1", "# 'quote", "#\"x"]);
                    g.text.push_str(comment);
                }
                15..=17 => g.broken(),
                _ => g.assignment(),
            }
            if g.rng.percent(93) {
                let eol = g.eol();
                g.text.push_str(eol);
            }
        }
        let mut bytes = g.text.into_bytes();
        if rng.percent(2) {
            bytes.splice(0..0, *b"\xEF\xBB\xBF");
        }
        if rng.percent(1) {
            let at = rng.below(bytes.len() + 1);
            let bad: &[u8] = rng.pick(&[&b"\xff"[..], b"\xc3", b"\xed\xa0\x80", b"\xe2\x82"]);
            bytes.splice(at..at, bad.iter().copied());
        }
        bytes
    }
}

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let text = text.trim();
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// The interpreter to run with a cleared environment (a pyenv shim would not survive that),
/// after checking it has a python-dotenv we follow.
fn python_executable() -> String {
    let python = std::env::var("ENVGUARD_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let how = "run scripts/test, which prepares a venv with python-dotenv from PyPI and points \
               ENVGUARD_TEST_PYTHON at it";
    let probe = "import sys\nfrom dotenv.version import __version__\nprint(sys.executable)\n\
                 print(__version__)";
    let output = Command::new(&python)
        .args(["-c", probe])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}; {how}"));
    assert!(
        output.status.success(),
        "python-dotenv cannot be imported by {python}; {how}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let executable = lines.next().unwrap_or_default().to_owned();
    let version = lines.next().unwrap_or_default().to_owned();
    let numbers: Vec<u32> = version
        .split('.')
        .map(|part| {
            part.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .map(|digits| digits.parse().unwrap_or(0))
        .collect();
    assert!(
        numbers.as_slice() >= [1, 2, 4].as_slice(),
        "{python} has python-dotenv {version}; envguard follows 1.2.4 (older releases scan \
         quoted values differently, keep a leading BOM and read `KEY= # c` as `# c`); {how}"
    );
    executable
}

fn shown(bytes: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(bytes))
}

#[test]
fn dotenv_matches_python_dotenv_on_generated_corpus() {
    let seed = env_number("ENVGUARD_DIFF_SEED").unwrap_or(DEFAULT_SEED);
    let count = env_number("ENVGUARD_DIFF_FILES").map_or(DEFAULT_FILES, |n| n as usize);
    let python = python_executable();
    let started = Instant::now();

    let mut rng = Rng(seed);
    let corpus: Vec<Vec<u8>> = (0..count).map(|_| FileGen::file(&mut rng)).collect();
    let dir = tempfile::tempdir().expect("temp dir");
    for (i, bytes) in corpus.iter().enumerate() {
        std::fs::write(dir.path().join(format!("{i}.env")), bytes).expect("write corpus file");
    }

    let oracle = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/dotenv_oracle.py");
    let output = Command::new(&python)
        .arg(&oracle)
        .arg(dir.path())
        .arg(count.to_string())
        .env_clear()
        .envs(OUTER.iter().copied())
        .output()
        .expect("run the python-dotenv oracle");
    assert!(
        output.status.success(),
        "the python-dotenv oracle failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("oracle prints ASCII JSON");
    let mut reports = stdout.lines().map(|line| -> Value {
        serde_json::from_str(line).unwrap_or_else(|e| panic!("oracle line {line:?}: {e}"))
    });
    let header = reports.next().expect("oracle header");
    let version = header["version"].as_str().unwrap_or("?").to_owned();
    // What python's os.environ really held (it may add LC_CTYPE): that is the outer scope.
    let environ: HashMap<String, String> =
        serde_json::from_value(header["environ"].clone()).expect("environ");
    for (name, value) in OUTER {
        assert_eq!(
            environ.get(*name).map(String::as_str),
            Some(*value),
            "python's {name}"
        );
    }
    let outer = |name: &str| environ.get(name).cloned();

    let mut clean = 0;
    let mut refused: HashMap<String, usize> = HashMap::new();
    let mut failures = Vec::new();
    let mut files = 0;
    for (i, report) in reports.enumerate() {
        files += 1;
        let bytes = &corpus[i];
        let ours = envguard::load::dotenv::parse(bytes, &outer);
        let ours_shown = match &ours {
            Ok(bindings) => format!(
                "{:?}",
                bindings
                    .iter()
                    .map(|b| (&b.name, &b.value, b.line))
                    .collect::<Vec<_>>()
            ),
            Err(e) => format!("Err(line {}: {:?})", e.line, e.problem),
        };
        let mut fail = |why: &str| {
            failures.push(format!(
                "file {i}: {why}\n  text:   {}\n  python: {report}\n  ours:   {ours_shown}",
                shown(bytes)
            ))
        };
        let warned = report["warnings"].as_array().is_some_and(|w| !w.is_empty());
        match report["bad"].as_str() {
            Some(kind) => {
                let line = report["bad_line"].as_u64().expect("bad_line") as usize;
                if kind == "utf8" && report["raised"] != Value::Bool(true) {
                    fail("python read invalid UTF-8 without raising");
                    continue;
                }
                match &ours {
                    Err(e) if e.line == line => {
                        use envguard::load::dotenv::Problem;
                        let (expected, right) = match kind {
                            "utf8" => ("InvalidUtf8", e.problem == Problem::InvalidUtf8),
                            "cancel" => (
                                "CancelsAssignment",
                                matches!(e.problem, Problem::CancelsAssignment { .. }),
                            ),
                            "unassigned_ref" => (
                                "ReferencesUnassigned",
                                matches!(e.problem, Problem::ReferencesUnassigned { .. }),
                            ),
                            _ => ("", true),
                        };
                        if right {
                            *refused.entry(kind.to_owned()).or_default() += 1;
                        } else {
                            fail(&format!("expected {expected}"));
                        }
                    }
                    Err(_) => fail(&format!("refused, but python's first bad line is {line}")),
                    Ok(_) => fail(&format!("accepted, but python finds a {kind} problem")),
                }
            }
            None if warned => fail("python warned but the oracle found no bad statement"),
            None => {
                let lines = &report["lines"];
                let expected: Vec<(String, String, usize)> = report["values"]
                    .as_array()
                    .expect("values")
                    .iter()
                    .filter_map(|pair| {
                        let name = pair[0].as_str()?.to_owned();
                        let value = pair[1].as_str()?.to_owned();
                        let line = lines[&name].as_u64()? as usize;
                        Some((name, value, line))
                    })
                    .collect();
                match &ours {
                    Ok(bindings) => {
                        let got: Vec<(String, String, usize)> = bindings
                            .iter()
                            .map(|b| (b.name.clone(), b.value.clone(), b.line))
                            .collect();
                        if got == expected {
                            clean += 1;
                        } else {
                            fail(&format!("different bindings; expected {expected:?}"));
                        }
                    }
                    Err(_) => fail("refused a file python parses cleanly"),
                }
            }
        }
    }
    assert_eq!(files, count, "the oracle reported on every file");

    let mut kinds: Vec<_> = refused.iter().collect();
    kinds.sort();
    let total_refused: usize = refused.values().sum();
    println!(
        "dotenv_differential: python-dotenv {version}, seed {seed:#x}: {count} files, {} agree \
         ({clean} parsed identically, {total_refused} refused at python's first bad statement: \
         {kinds:?}), {} disagree, in {:?}",
        clean + total_refused,
        failures.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {count} files disagree with python-dotenv {version} (seed {seed:#x}); first \
         ones:\n\n{}",
        failures.len(),
        failures
            .iter()
            .take(15)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    // A generator that drifted into producing only broken (or only clean) files would prove
    // little: keep both sides of the comparison well populated.
    if count >= 1000 {
        assert!(
            clean * 2 > count,
            "only {clean} of {count} files parse cleanly"
        );
        for kind in ["parse", "name", "ref", "utf8", "cancel", "unassigned_ref"] {
            assert!(
                refused.get(kind).copied().unwrap_or(0) > 0,
                "no {kind} refusals in corpus"
            );
        }
    }
}

/// Whether python-dotenv's `load_dotenv(override=True)` on `file` leaves `name` set (to any
/// value), with `outer` in the environment. Prints no value.
fn python_loads(file: &Path, name: &str, outer: &[(&str, &str)]) -> bool {
    let probe = "import os, sys\nfrom dotenv import load_dotenv\n\
                 load_dotenv(sys.argv[1], override=True)\n\
                 print(os.environ.get(sys.argv[2], '') not in ('',))";
    let output = Command::new(python_executable())
        .args(["-c", probe])
        .arg(file)
        .arg(name)
        .env_clear()
        .envs(outer.iter().copied())
        .output()
        .expect("run python-dotenv");
    assert!(output.status.success(), "python-dotenv failed");
    String::from_utf8_lossy(&output.stdout).trim() == "True"
}

/// The two files python-dotenv reads without a warning but with a value silently gone:
/// envguard refuses them in one line naming both statements, and never shows the value.
#[test]
fn values_python_dotenv_silently_drops_are_refused_naming_both_lines() {
    let env = TestEnv::new();
    let secret = "s3cr3t-dropped-by-python";
    for (contents, bare, other, present) in [
        (format!("KEY={secret}\n\nexport KEY\n"), 3, 1, &[][..]),
        (
            format!("KEY={secret}\nOTHER=1\nKEY # later\n"),
            3,
            1,
            &[][..],
        ),
        (
            format!("B\nKEY=${{B}}\nSHOWN={secret}\n"),
            1,
            2,
            &[("B", secret)][..],
        ),
    ] {
        let dir = env.project("dropped", &contents, 0o600);
        let file = dir.join(".env");
        assert!(
            !python_loads(&file, "KEY", present),
            "python-dotenv now keeps KEY of {contents:?}: revisit the refusal"
        );
        let mut cmd = env.cmd(&dir, ["exec", "--", "true"]);
        let out = cmd.envs(present.iter().copied()).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "exec of {contents:?}");
        assert_not_leaked(&out, secret);
        let message = stderr(&out);
        assert_eq!(message.lines().count(), 1, "{message}");
        let (at, named) = if present.is_empty() {
            (bare, other)
        } else {
            (other, bare)
        };
        assert!(
            message.contains(&format!(".env:{at}: ")) && message.contains(&format!("line {named}")),
            "{message}"
        );
        assert!(
            message.contains("(fix: ") && message.contains("envguard edit"),
            "{message}"
        );
    }
}
