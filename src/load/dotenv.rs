//! Reading `.env` text exactly as python-dotenv (1.2.4, `dotenv_values()`) reads it.
//!
//! Why we own the grammar: users write their `.env` files for python-dotenv, and a notebook
//! that calls `load_dotenv()` next to envguard must see the same values. The usual Rust crate,
//! `dotenvy` 0.15.7, disagreed with python-dotenv on about a third of the realistic files we
//! measured: it rejects unquoted values with spaces, non-ASCII or backslashes, CRLF files and
//! a BOM; it expands unbraced `$VAR` (mangling passwords such as `p@$$w0rd!`); it lacks
//! `${VAR:-default}`; it takes `#ff0000` for a comment; it reads the process environment while
//! substituting; and its error type carries the raw line, secret included. python-dotenv's
//! grammar is small enough that owning it is cheaper than patching around all of that.
//!
//! Why some files are refused: where python-dotenv guesses (skips a line it cannot parse with
//! a warning, accepts names no shell can export, looks up `${A-b}` as a variable literally
//! named `A-b`), envguard refuses the whole file and names the line of the first bad
//! statement, so a typo cannot silently drop or empty a secret. The full list:
//!
//! - A statement python-dotenv cannot parse (unterminated quote, text after a closing quote,
//!   `KEY value` without `=`, `=value` without a name): python skips it with a warning, we
//!   refuse the file.
//! - Names must be shell names, `[A-Za-z_][A-Za-z0-9_]*`; python accepts any run of
//!   characters other than `=`, `#` and whitespace (`A.B`, `A-B`, `1A`, `ключ`) and any
//!   single-quoted text. This applies to `KEY` lines without `=` too.
//! - `${...}` whose inner name is not a shell name (`${A-b}`, `${A.B}`, `${}`, `${ A }`) is
//!   refused; python looks the odd name up, which almost always yields an empty string. These
//!   are usually shell syntax python-dotenv does not implement. Unclosed `${A` and forms
//!   python does not match at all (`${A:=x}`, `$A`) stay literal text, as in python.
//! - NUL bytes are refused (no environment variable can hold one); `dotenv_values()` returns
//!   them and `load_dotenv()` then fails.
//! - Invalid UTF-8 is refused with its line; python raises `UnicodeDecodeError`.
//! - `KEY` (or `export KEY`) without `=` is python's `None`: `load_dotenv()` sets nothing
//!   for it. Alone it yields no binding, as in python. After an assignment of `KEY`, python
//!   throws the assigned value away: a secret silently gone, where every shell, node's dotenv
//!   and Ruby's keep it. We refuse the file, naming both lines. A `${KEY}` after such a line
//!   is refused too: python substitutes it as empty even when the environment has `KEY`.
//! - Values may not grow past what a program can receive: substitution stops, and the file is
//!   refused, as soon as one value would pass [`Limits::variable`] or all of them
//!   [`Limits::total`], before the text is allocated. Doubling lines (`A1=${A0}${A0}`, ...)
//!   would otherwise reach gigabytes from a one-kilobyte file.
//! - Reported lines are where the statement's text starts; python's warning counts from the
//!   end of the previous statement, so it names the first of any blank lines before it.
//! - The outer environment is whatever the caller passes as `outer`; the process
//!   environment is never read here. With `outer` = the environment this is `dotenv_values()`
//!   and `load_dotenv(override=True)`: earlier values in the file win over the environment.
//!
//! python-dotenv 1.2.2 and older differ from 1.2.4 in three places we follow 1.2.4 on: a
//! backslash always escapes the next character when looking for the closing quote (so
//! `"a\\"` ends there), a leading BOM is dropped, and `KEY= # comment` is empty.
//!
//! Secrets: the values are the secrets, so nothing that can be printed ([`ParseError`],
//! [`Problem`], `Debug` of [`Binding`]) holds text from the file; errors are a line number and
//! a fixed reason.

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry as Slot;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;

use crate::load::names;

/// One variable the file defines, after quoting, escapes and `${...}` substitution.
#[derive(Clone, PartialEq, Eq)]
pub struct Binding {
    pub name: String,
    pub value: String,
    /// 1-based line where the statement's text starts. When a name is assigned more than
    /// once, the value and this line are the last assignment's, the position in the list
    /// the first's (a Python dict update).
    pub line: usize,
    /// Byte range in the file of the last assignment's value as written (quotes included;
    /// empty for `KEY=`), so that `envguard set` can replace one value and keep every other
    /// byte of the file.
    pub value_span: Range<usize>,
    /// Whether `${...}` substitution made the value (the last assignment's text held a
    /// `${NAME}` or `${NAME:-default}` that was replaced), so that it differs from what is
    /// written. Such a value is never taken as a secret-manager reference: the reference would
    /// hold another variable's value, a secret perhaps, and hand it to the provider's command
    /// line (see [`crate::load::resolve`]).
    pub substituted: bool,
}

/// Hand-written so that logging a binding cannot leak the secret: the value shows as its
/// length only.
impl fmt::Debug for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Binding")
            .field("name", &self.name)
            .field("value", &format_args!("<{} bytes>", self.value.len()))
            .field("line", &self.line)
            .finish()
    }
}

/// Why a file does not parse. Carries no text from the file: only a line and a fixed reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line where the offending statement's text starts (for invalid UTF-8 and NUL
    /// bytes, the line the byte is on).
    pub line: usize,
    pub problem: Problem,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

impl std::error::Error for ParseError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    InvalidUtf8,
    NulByte,
    /// A name python-dotenv would accept but a shell could not export.
    InvalidName,
    /// `=value`, `''=value` or a dangling `export `.
    MissingName,
    /// A `${...}` whose inner name is not a shell name.
    InvalidReference,
    UnterminatedSingleQuote,
    UnterminatedDoubleQuote,
    /// Text after a quoted value's closing quote that is not a ` # comment`.
    TrailingGarbage,
    /// A name followed by text other than `=` or a comment.
    MissingEquals,
    /// `KEY` without `=` after line `assigned_at` gave KEY a value, which python-dotenv then
    /// drops.
    CancelsAssignment {
        assigned_at: usize,
    },
    /// A `${KEY}` when line `listed_at` named KEY without `=`: python-dotenv substitutes it
    /// as empty, whatever the environment holds.
    ReferencesUnassigned {
        listed_at: usize,
    },
    /// Substitution makes the value pass [`Limits::variable`].
    VariableTooLong,
    /// The values so far pass [`Limits::total`].
    TotalTooLong,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match *self {
            Problem::CancelsAssignment { assigned_at } => {
                return write!(
                    f,
                    "this name without = cancels the value line {assigned_at} gives it \
                     (python-dotenv then loads nothing for it)"
                );
            }
            Problem::ReferencesUnassigned { listed_at } => {
                return write!(
                    f,
                    "${{...}} names a variable that line {listed_at} lists without = \
                     (python-dotenv substitutes it as empty, even when it is set in the \
                     environment)"
                );
            }
            Problem::VariableTooLong => {
                "with ${...} substituted, this value passes 128 KiB with its name, more than \
                 a program can receive"
            }
            Problem::TotalTooLong => {
                "the values up to here pass the room the environment has for them"
            }
            Problem::InvalidUtf8 => "not valid UTF-8 text",
            Problem::NulByte => "contains a NUL byte, which no environment variable can hold",
            Problem::InvalidName => {
                "invalid variable name (names are ASCII letters, digits and _, not starting \
                 with a digit)"
            }
            Problem::MissingName => "missing variable name",
            Problem::InvalidReference => {
                "invalid ${...} reference (only ${NAME} and ${NAME:-default} are supported, \
                 NAME being ASCII letters, digits and _, not starting with a digit)"
            }
            Problem::UnterminatedSingleQuote => "unterminated single quote",
            Problem::UnterminatedDoubleQuote => "unterminated double quote",
            Problem::TrailingGarbage => {
                "unexpected text after the closing quote (a comment needs a leading #)"
            }
            Problem::MissingEquals => "expected = after the variable name",
        })
    }
}

/// Parses `.env` bytes into bindings in first-occurrence order, the last value of a name
/// winning (a Python dict update). Any statement python-dotenv would skip, and any name a
/// shell could not export, refuses the whole file.
///
/// `${NAME}` and `${NAME:-default}` resolve against the file's earlier bindings first, then
/// through `outer` (the environment the values will be layered on). As in python-dotenv the
/// default applies only when NAME is absent, not when it is empty, and is taken literally;
/// `$NAME` is literal text; quoted values, single-quoted ones included, are substituted.
///
/// Values are held to [`Limits::KERNEL`]; [`parse_within`] takes other limits.
pub fn parse(
    bytes: &[u8],
    outer: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Binding>, ParseError> {
    parse_within(bytes, outer, Limits::KERNEL)
}

/// How large the values may grow while `${...}` is substituted. Sizes are those of the
/// `NAME=value` strings with their NUL, as the kernel counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest one variable may be.
    pub variable: usize,
    /// The largest all of them may be together (the last value of each name counting).
    pub total: usize,
}

impl Limits {
    /// What Linux passes to a program at most, whatever the stack limit: one string of
    /// 128 KiB (`MAX_ARG_STRLEN`), and 6 MiB of strings in all (three quarters of `_STK_LIM`,
    /// the cap `bprm_stack_limits` puts on a quarter of the stack limit).
    pub const KERNEL: Limits = Limits {
        variable: 128 * 1024,
        total: 6 * 1024 * 1024,
    };

    /// The size of `NAME=value` with its NUL.
    pub fn size_of(name: &str, value: &str) -> usize {
        name.len() + 1 + value.len() + 1
    }
}

/// [`parse`] with substitution held to `limits`: a value that would pass them is refused
/// before it is built, so memory stays within the limits whatever the file.
pub fn parse_within(
    bytes: &[u8],
    outer: &dyn Fn(&str) -> Option<String>,
    limits: Limits,
) -> Result<Vec<Binding>, ParseError> {
    let (text, offsets) = text_of(bytes)?;
    let estimate = statement_estimate(&text);
    let mut known = Known {
        entries: Vec::with_capacity(estimate),
        index: NameMap::with_capacity_and_hasher(estimate, Default::default()),
        limits,
        total: 0,
    };
    for_each_statement(&text, |name, raw, line, span| {
        let (value, substituted) = match raw {
            None => (None, false),
            Some(raw) => match known.interpolate(name, &raw, outer)? {
                Some(substituted) => (Some(substituted), true),
                None => (Some(raw.into_owned()), false),
            },
        };
        known.set(name, value, substituted, line, span)
    })?;
    Ok(known
        .entries
        .into_iter()
        .filter_map(|entry| {
            Some(Binding {
                name: entry.name.to_owned(),
                value: entry.value?,
                line: entry.line,
                value_span: offsets.raw(entry.span.start)..offsets.raw(entry.span.end),
                substituted: entry.substituted,
            })
        })
        .collect())
}

/// One statement of the file that names a variable, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    pub name: String,
    /// False for a `KEY` line without `=`, which python-dotenv reads as "no value": it cancels
    /// earlier assignments of the name.
    pub assigns: bool,
    /// Byte range in the file of the value as written (empty, just after the name, for a
    /// statement without `=`).
    pub value_span: Range<usize>,
}

/// Every statement that names a variable, in file order, duplicates and `KEY` lines without
/// `=` included. [`parse`] reports only the outcome; a rewrite of the file needs every
/// statement of a name, or an old value could survive it (or a later `KEY` cancel the new
/// one). Values are not substituted, so `${...}` references are not checked here.
pub fn occurrences(bytes: &[u8]) -> Result<Vec<Occurrence>, ParseError> {
    let (text, offsets) = text_of(bytes)?;
    let mut found = Vec::new();
    for_each_statement(&text, |name, raw, _, span| {
        found.push(Occurrence {
            name: name.to_owned(),
            assigns: raw.is_some(),
            value_span: offsets.raw(span.start)..offsets.raw(span.end),
        });
        Ok(())
    })?;
    Ok(found)
}

/// Scans `text` statement by statement, refusing the first one python-dotenv would skip or
/// whose name a shell could not export, and hands each to `each` with its line and the
/// span of its value in `text`.
fn for_each_statement<'t>(
    text: &'t str,
    mut each: impl FnMut(&'t str, Option<Cow<'t, str>>, usize, Range<usize>) -> Result<(), Problem>,
) -> Result<(), ParseError> {
    let mut scanner = Scanner {
        s: text,
        pos: 0,
        line: 1,
    };
    loop {
        scanner.skip_space(true);
        if scanner.pos >= text.len() {
            return Ok(());
        }
        let line = scanner.line;
        let fail = |problem| ParseError { line, problem };
        let Some((name, raw, span)) = scanner.statement().map_err(fail)? else {
            continue;
        };
        if !names::is_valid(name) {
            return Err(fail(Problem::InvalidName));
        }
        each(name, raw, line, span).map_err(fail)?;
    }
}

/// The file as python reads it (`open(encoding="utf-8")`, universal newlines): afterwards
/// every line ends in a lone `\n`, which keeps the scanner and its line count simple. Borrows
/// unless the file has a `\r`.
fn text_of(bytes: &[u8]) -> Result<(Cow<'_, str>, RawOffsets), ParseError> {
    let mut offsets = RawOffsets {
        bom: 0,
        collapsed: Vec::new(),
    };
    let without_bom = bytes.strip_prefix(b"\xEF\xBB\xBF");
    if without_bom.is_some() {
        offsets.bom = 3;
    }
    let bytes = without_bom.unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| ParseError {
        line: physical_line(&bytes[..e.valid_up_to()]),
        problem: Problem::InvalidUtf8,
    })?;
    if let Some(at) = find(text, b'\0') {
        return Err(ParseError {
            line: physical_line(&bytes[..at]),
            problem: Problem::NulByte,
        });
    }
    if find(text, b'\r').is_none() {
        return Ok((Cow::Borrowed(text), offsets));
    }
    let mut normalized = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\r') {
        normalized.push_str(&rest[..at]);
        normalized.push('\n');
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('\n') {
            offsets.collapsed.push(normalized.len() - 1);
            rest = after;
        }
    }
    normalized.push_str(rest);
    Ok((Cow::Owned(normalized), offsets))
}

/// Maps offsets in the normalized text back to the file's bytes: the BOM that was dropped,
/// and one byte for every `\r\n` that became `\n`.
struct RawOffsets {
    bom: usize,
    /// Normalized offsets of the `\n`s that were `\r\n`, ascending.
    collapsed: Vec<usize>,
}

impl RawOffsets {
    fn raw(&self, normalized: usize) -> usize {
        self.bom + normalized + self.collapsed.partition_point(|&at| at < normalized)
    }
}

/// Room to reserve for bindings: growing the table and list while parsing was half the time
/// on large files. A binding with a value has an `=` and a line of its own; the cap keeps a
/// file of nothing but `=` from reserving much more than the file.
fn statement_estimate(text: &str) -> usize {
    let (mut equals, mut lines) = (0, 1);
    for byte in text.bytes() {
        equals += usize::from(byte == b'=');
        lines += usize::from(byte == b'\n');
    }
    equals.min(lines).min(1 << 16)
}

/// The 1-based line that follows `prefix` of the raw bytes, counting `\n`, `\r\n` and a lone
/// `\r` as one line end each.
fn physical_line(prefix: &[u8]) -> usize {
    let mut line = 1;
    for (i, &byte) in prefix.iter().enumerate() {
        if byte == b'\r' || (byte == b'\n' && (i == 0 || prefix[i - 1] != b'\r')) {
            line += 1;
        }
    }
    line
}

/// The first `needle` (ASCII) in `haystack`: `str::find` with a `char` runs core's word-at-a-time
/// memchr, several times faster than a byte loop on large files.
fn find(haystack: &str, needle: u8) -> Option<usize> {
    haystack.find(char::from(needle))
}

/// Python's `\s` (and `str.isspace`), which python-dotenv's grammar is written in: wider than
/// ASCII whitespace (NBSP, U+3000, ...) and than Rust's `char::is_whitespace` (U+001C-1F).
fn is_py_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n'
            | '\x0b'
            | '\x0c'
            | '\r'
            | '\x1c'..='\x1f'
            | ' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// A cursor over normalized text (no `\r`) that keeps the line count as it moves.
struct Scanner<'a> {
    s: &'a str,
    pos: usize,
    line: usize,
}

/// A statement's name, its value before substitution unless it had no `=`, and where that
/// value is written in the normalized text.
type Statement<'a> = (&'a str, Option<Cow<'a, str>>, Range<usize>);

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    /// Moves forward to `to`, counting the line ends passed.
    fn advance(&mut self, to: usize) {
        self.line += self.s.as_bytes()[self.pos..to]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.pos = to;
    }

    /// The end of the run of python whitespace starting at `from`; the run includes `\n`
    /// only if `newlines`.
    fn space_end(&self, from: usize, newlines: bool) -> usize {
        let bytes = self.s.as_bytes();
        let mut at = from;
        while let Some(&byte) = bytes.get(at) {
            let (c, len) = if byte.is_ascii() {
                (char::from(byte), 1)
            } else {
                let c = self.s[at..].chars().next().unwrap_or('\0');
                (c, c.len_utf8())
            };
            if !is_py_space(c) || (c == '\n' && !newlines) {
                break;
            }
            at += len;
        }
        at
    }

    fn skip_space(&mut self, newlines: bool) {
        let end = self.space_end(self.pos, newlines);
        self.advance(end);
    }

    fn line_end(&self, from: usize) -> usize {
        find(&self.s[from..], b'\n').map_or(self.s.len(), |n| from + n)
    }

    /// One statement, leading whitespace already skipped: `None` for a comment line (or a
    /// bare `export ` before a comment), else the name and raw value. Consumes the line end.
    fn statement(&mut self) -> Result<Option<Statement<'a>>, Problem> {
        // `export` is a prefix only when whitespace follows; alone it is a name.
        if self.s[self.pos..].starts_with("export") {
            let after = self.pos + "export".len();
            let end = self.space_end(after, false);
            if end > after {
                self.pos = end;
            }
        }
        let name = match self.peek() {
            Some(b'#') => {
                let end = self.line_end(self.pos);
                self.pos = end;
                self.end_of_statement(Problem::MissingEquals)?;
                return Ok(None);
            }
            Some(b'\'') => {
                let start = self.pos + 1;
                match find(&self.s[start..], b'\'') {
                    None => return Err(Problem::UnterminatedSingleQuote),
                    Some(0) => return Err(Problem::MissingName),
                    Some(len) => {
                        self.advance(start + len + 1);
                        &self.s[start..start + len]
                    }
                }
            }
            _ => {
                let start = self.pos;
                let end = self.name_end(start);
                if end == start {
                    return Err(Problem::MissingName);
                }
                self.pos = end;
                &self.s[start..end]
            }
        };
        self.skip_space(false);
        if self.peek() != Some(b'=') {
            let at = self.pos;
            self.end_of_statement(Problem::MissingEquals)?;
            return Ok(Some((name, None, at..at)));
        }
        let after_equals = self.pos + 1;
        self.pos = self.space_end(after_equals, false);
        let value_start = self.pos;
        let value = match self.peek() {
            // python-dotenv 1.2.4: `KEY= # comment` is empty, `KEY=#x` is `#x`.
            Some(b'#') if self.pos > after_equals => Cow::Borrowed(""),
            Some(quote @ (b'\'' | b'"')) => {
                let content = self.quoted(quote)?;
                unescape(content, quote)
            }
            None | Some(b'\n') => Cow::Borrowed(""),
            Some(_) => Cow::Borrowed(self.unquoted()),
        };
        let value_end = match self.s.as_bytes().get(value_start) {
            Some(b'\'' | b'"') => self.pos,
            // Unquoted (or empty): as long as the text it returned, which starts there.
            _ if value.is_empty() => value_start,
            _ => value_start + value.len(),
        };
        self.end_of_statement(Problem::TrailingGarbage)?;
        Ok(Some((name, Some(value), value_start..value_end)))
    }

    /// End of an unquoted name: python's `[^=#\s]+`.
    fn name_end(&self, from: usize) -> usize {
        let bytes = self.s.as_bytes();
        let mut at = from;
        while let Some(&byte) = bytes.get(at) {
            if byte.is_ascii() {
                if byte == b'=' || byte == b'#' || is_py_space(char::from(byte)) {
                    break;
                }
                at += 1;
            } else {
                let c = self.s[at..].chars().next().unwrap_or('\0');
                if is_py_space(c) {
                    break;
                }
                at += c.len_utf8();
            }
        }
        at
    }

    /// The raw text between a quote at the cursor and its closing quote, which may be lines
    /// later; a backslash always takes the next character with it (python-dotenv 1.2.4's
    /// `(?:\\.|[^q\\])*`), so `"a\\"` closes after the second backslash.
    fn quoted(&mut self, quote: u8) -> Result<&'a str, Problem> {
        let unterminated = if quote == b'"' {
            Problem::UnterminatedDoubleQuote
        } else {
            Problem::UnterminatedSingleQuote
        };
        let bytes = self.s.as_bytes();
        let start = self.pos + 1;
        let mut at = start;
        loop {
            match bytes.get(at) {
                None => return Err(unterminated),
                Some(&b) if b == quote => break,
                // Skipping one byte of a multi-byte character is fine: its continuation
                // bytes are neither a quote nor a backslash.
                Some(b'\\') if at + 1 < bytes.len() => at += 2,
                Some(b'\\') => return Err(unterminated),
                Some(_) => at += 1,
            }
        }
        self.advance(at + 1);
        Ok(&self.s[start..at])
    }

    /// An unquoted value: the rest of the line, cut at the first `#` that follows
    /// whitespace (so `#ff0000` and `a#b` stay), trailing whitespace dropped.
    fn unquoted(&mut self) -> &'a str {
        let start = self.pos;
        let end = self.line_end(start);
        self.pos = end;
        let part = &self.s[start..end];
        let mut cut = part.len();
        let mut from = 0;
        while let Some(n) = find(&part[from..], b'#') {
            let hash = from + n;
            if part[..hash].chars().next_back().is_some_and(is_py_space) {
                cut = hash;
                break;
            }
            from = hash + 1;
        }
        part[..cut].trim_end_matches(is_py_space)
    }

    /// After a value or a bare name: optional whitespace and `# comment`, then the line end.
    fn end_of_statement(&mut self, otherwise: Problem) -> Result<(), Problem> {
        self.skip_space(false);
        if self.peek() == Some(b'#') {
            self.pos = self.line_end(self.pos);
        }
        match self.peek() {
            None => Ok(()),
            Some(b'\n') => {
                self.advance(self.pos + 1);
                Ok(())
            }
            Some(_) => Err(otherwise),
        }
    }
}

/// python-dotenv's escape decoding: in single quotes only `\\` and `\'`; in double quotes
/// also `\"` and `\a \b \f \n \r \t \v`. Any other backslash stays, with what follows it
/// (`"\x41"` is four characters, `"\$"` two).
fn unescape(content: &str, quote: u8) -> Cow<'_, str> {
    if find(content, b'\\').is_none() {
        return Cow::Borrowed(content);
    }
    let mut out = String::with_capacity(content.len());
    let mut rest = content;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let decoded = match (quote, rest.as_bytes().get(at + 1)) {
            (_, Some(b'\\')) => Some('\\'),
            (_, Some(b'\'')) => Some('\''),
            (b'"', Some(b'"')) => Some('"'),
            (b'"', Some(b'a')) => Some('\x07'),
            (b'"', Some(b'b')) => Some('\x08'),
            (b'"', Some(b'f')) => Some('\x0c'),
            (b'"', Some(b'n')) => Some('\n'),
            (b'"', Some(b'r')) => Some('\r'),
            (b'"', Some(b't')) => Some('\t'),
            (b'"', Some(b'v')) => Some('\x0b'),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[at + 2..];
            }
            None => {
                out.push('\\');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The names assigned so far, in first-occurrence order. A `None` value is a `KEY` line
/// without `=`: python keeps it in its dict, so it still shadows the outer environment.
struct Known<'t> {
    entries: Vec<Entry<'t>>,
    index: NameMap<'t>,
    limits: Limits,
    /// Sum of [`Limits::size_of`] over the current values.
    total: usize,
}

type NameMap<'t> = HashMap<&'t str, usize, BuildHasherDefault<NameHasher>>;

/// FxHash over the name's bytes. SipHash's flood resistance buys nothing for names from the
/// user's own file and was a fifth of the time on large files.
#[derive(Default)]
struct NameHasher(u64);

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(byte)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

struct Entry<'t> {
    name: &'t str,
    value: Option<String>,
    /// Whether `${...}` substitution made `value`.
    substituted: bool,
    line: usize,
    span: Range<usize>,
}

impl<'t> Known<'t> {
    /// Records `name`'s new value (`None`: a line without `=`), refusing one that would pass
    /// the total or throw away an assigned value.
    fn set(
        &mut self,
        name: &'t str,
        value: Option<String>,
        substituted: bool,
        line: usize,
        span: Range<usize>,
    ) -> Result<(), Problem> {
        let size =
            |value: &Option<String>| value.as_deref().map_or(0, |v| Limits::size_of(name, v));
        let slot = self.index.entry(name);
        let previous = match &slot {
            Slot::Occupied(slot) => Some(&self.entries[*slot.get()]),
            Slot::Vacant(_) => None,
        };
        if let Some(previous) = previous
            && previous.value.is_some()
            && value.is_none()
        {
            return Err(Problem::CancelsAssignment {
                assigned_at: previous.line,
            });
        }
        let total = self.total - previous.map_or(0, |entry| size(&entry.value)) + size(&value);
        if total > self.limits.total {
            return Err(Problem::TotalTooLong);
        }
        self.total = total;
        match slot {
            Slot::Occupied(slot) => {
                let entry = &mut self.entries[*slot.get()];
                entry.value = value;
                entry.substituted = substituted;
                entry.line = line;
                entry.span = span;
            }
            Slot::Vacant(slot) => {
                slot.insert(self.entries.len());
                self.entries.push(Entry {
                    name,
                    value,
                    substituted,
                    line,
                    span,
                });
            }
        }
        Ok(())
    }

    /// `value` (of `name`) with its `${...}` references resolved, or `None` if it has none.
    /// Matches what python-dotenv's `\$\{([^}:]*)(?::-([^}]*))?\}` matches, scanning left to
    /// right. Each piece is measured against the limits before it is appended.
    fn interpolate(
        &self,
        name: &str,
        value: &str,
        outer: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<String>, Problem> {
        let bytes = value.as_bytes();
        // A value replaced by this one no longer counts towards the total.
        let replaced = self
            .index
            .get(name)
            .and_then(|&i| self.entries[i].value.as_deref())
            .map_or(0, |old| Limits::size_of(name, old));
        let others = self.total - replaced;
        let room = Room {
            variable: self.limits.variable.saturating_sub(name.len() + 2),
            total: self.limits.total.saturating_sub(others + name.len() + 2),
        };
        let mut out: Option<Bounded> = None;
        let mut copied = 0;
        let mut search = 0;
        while let Some(n) = find(&value[search..], b'$') {
            let dollar = search + n;
            if bytes.get(dollar + 1) != Some(&b'{') {
                search = dollar + 1;
                continue;
            }
            let name_start = dollar + 2;
            let Some(len) = bytes[name_start..]
                .iter()
                .position(|&b| b == b'}' || b == b':')
            else {
                // No `}` or `:` left: no later `${` can match either.
                break;
            };
            let name_end = name_start + len;
            let (default, end) = if bytes[name_end] == b'}' {
                (None, name_end + 1)
            } else if bytes.get(name_end + 1) == Some(&b'-') {
                let default_start = name_end + 2;
                let Some(len) = find(&value[default_start..], b'}') else {
                    break;
                };
                (
                    Some(&value[default_start..default_start + len]),
                    default_start + len + 1,
                )
            } else {
                // `${A:x`: every `${` before this `:` stops at it too.
                search = name_end + 1;
                continue;
            };
            let referenced = &value[name_start..name_end];
            if !names::is_valid(referenced) {
                return Err(Problem::InvalidReference);
            }
            let out = out.get_or_insert_with(|| Bounded::new(room, value.len()));
            out.push(&value[copied..dollar])?;
            match self.index.get(referenced).map(|&i| &self.entries[i]) {
                Some(entry) => match &entry.value {
                    Some(known) => out.push(known)?,
                    None => {
                        return Err(Problem::ReferencesUnassigned {
                            listed_at: entry.line,
                        });
                    }
                },
                None => match outer(referenced) {
                    Some(found) => out.push(&found)?,
                    None => out.push(default.unwrap_or(""))?,
                },
            }
            copied = end;
            search = end;
        }
        match out {
            Some(mut out) => {
                out.push(&value[copied..])?;
                Ok(Some(out.text))
            }
            None => Ok(None),
        }
    }
}

/// What one value may still take, in bytes, under each limit.
#[derive(Clone, Copy)]
struct Room {
    variable: usize,
    total: usize,
}

/// A value being substituted, refusing any piece that would take it past its room, before
/// the piece is copied.
struct Bounded {
    text: String,
    room: Room,
}

impl Bounded {
    fn new(room: Room, written: usize) -> Self {
        let capacity = written.min(room.variable).min(room.total);
        Bounded {
            text: String::with_capacity(capacity),
            room,
        }
    }

    fn push(&mut self, piece: &str) -> Result<(), Problem> {
        let len = self.text.len() + piece.len();
        if len > self.room.variable {
            return Err(Problem::VariableTooLong);
        }
        if len > self.room.total {
            return Err(Problem::TotalTooLong);
        }
        self.text.push_str(piece);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_spans_are_byte_ranges_of_the_file_as_written() {
        let file = "\u{feff}A=plain # c\r\nexport B = 'x\r\ny'\r\nC=\nD=\"q\" \nA=last";
        let bindings = parse(file.as_bytes(), &|_| None).unwrap();
        let span_of = |name: &str| {
            let binding = bindings.iter().find(|b| b.name == name).unwrap();
            &file[binding.value_span.clone()]
        };
        assert_eq!(span_of("A"), "last");
        assert_eq!(span_of("B"), "'x\r\ny'");
        assert_eq!(span_of("C"), "");
        assert_eq!(span_of("D"), "\"q\"");
    }

    #[test]
    fn substituted_marks_values_that_substitution_made() {
        let file = "A=${OUTER}\nB='x${MISSING:-d}'\nC=\"${A}\"\nD=$OUTER ${OUTER\nE=plain\n\
                    F=${OUTER}\nF=written\nG=written\nG=${EMPTY}\n";
        let bindings = parse(file.as_bytes(), &outer).unwrap();
        let substituted: Vec<(&str, bool)> = bindings
            .iter()
            .map(|b| (b.name.as_str(), b.substituted))
            .collect();
        assert_eq!(
            substituted,
            [
                ("A", true),
                ("B", true),
                ("C", true),
                ("D", false),
                ("E", false),
                ("F", false),
                ("G", true),
            ],
            "only a matched ${{...}} of the last assignment counts"
        );
    }

    fn outer(name: &str) -> Option<String> {
        match name {
            "OUTER" => Some("from-outer".to_owned()),
            "EMPTY" => Some(String::new()),
            "SHADOWED" => Some("outer-loses".to_owned()),
            _ => None,
        }
    }

    fn ok(text: &str) -> Vec<(String, String)> {
        ok_bytes(text.as_bytes())
    }

    fn ok_bytes(bytes: &[u8]) -> Vec<(String, String)> {
        match parse(bytes, &outer) {
            Ok(bindings) => bindings.into_iter().map(|b| (b.name, b.value)).collect(),
            Err(e) => panic!("{:?} did not parse: {e}", String::from_utf8_lossy(bytes)),
        }
    }

    fn one(text: &str) -> String {
        let mut bindings = ok(text);
        assert_eq!(bindings.len(), 1, "{text:?} gave {bindings:?}");
        bindings.pop().unwrap().1
    }

    fn err(text: &str) -> (usize, Problem) {
        err_bytes(text.as_bytes())
    }

    fn err_bytes(bytes: &[u8]) -> (usize, Problem) {
        match parse(bytes, &outer) {
            Ok(bindings) => panic!("{:?} parsed: {bindings:?}", String::from_utf8_lossy(bytes)),
            Err(e) => (e.line, e.problem),
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn lines(text: &str) -> Vec<(String, usize)> {
        parse(text.as_bytes(), &outer)
            .unwrap()
            .into_iter()
            .map(|b| (b.name, b.line))
            .collect()
    }

    #[test]
    fn dotenv_basic_forms() {
        assert_eq!(one("A=b"), "b");
        assert_eq!(one("export A=b"), "b");
        assert_eq!(one("export\t  A=b"), "b");
        assert_eq!(one("export=b"), "b");
        assert_eq!(ok("export=b"), pairs(&[("export", "b")]));
        assert_eq!(one("'A'=b"), "b");
        assert_eq!(one("A = b"), "b");
        assert_eq!(one("  A=b  "), "b");
        assert_eq!(one("A="), "");
        assert_eq!(one("A=\n"), "");
        assert_eq!(one("A=   \t"), "");
        assert_eq!(one("A=''"), "");
        assert_eq!(one("A=\"\""), "");
    }

    #[test]
    fn dotenv_blank_and_comment_lines() {
        let text = "\n# comment\n   \n\t# indented comment\n#A=1\nB=2\n\n";
        assert_eq!(ok(text), pairs(&[("B", "2")]));
        assert_eq!(ok(""), pairs(&[]));
        assert_eq!(ok("\n\n \t\n"), pairs(&[]));
        // A bare `export ` before a comment is nothing, as in python.
        assert_eq!(ok("export # nothing\nB=2"), pairs(&[("B", "2")]));
    }

    #[test]
    fn dotenv_unquoted_values_keep_what_dotenvy_rejects() {
        assert_eq!(one("A=hello world"), "hello world");
        assert_eq!(one("A=héllo wörld 日本 🔑"), "héllo wörld 日本 🔑");
        assert_eq!(one(r"A=C:\Users\me\new"), r"C:\Users\me\new");
        assert_eq!(one("A=p@$$w0rd!"), "p@$$w0rd!");
        assert_eq!(one("A=$HOME/x"), "$HOME/x");
    }

    #[test]
    fn dotenv_quoted_then_garbage_is_refused() {
        assert_eq!(err("A=\"x\"y"), (1, Problem::TrailingGarbage));
        assert_eq!(err("A='x' 'y'"), (1, Problem::TrailingGarbage));
    }

    #[test]
    fn dotenv_inline_comments() {
        assert_eq!(one("A=a b # c"), "a b");
        assert_eq!(one("A=a b\t# c"), "a b");
        assert_eq!(one("A=a b\u{a0}# c"), "a b", "python's \\s includes NBSP");
        assert_eq!(one("A=#ff0000"), "#ff0000");
        assert_eq!(one("A=a#b"), "a#b");
        assert_eq!(one("A=a#b #c"), "a#b");
        assert_eq!(one("A= # c"), "");
        assert_eq!(one("A=\t#c"), "");
        assert_eq!(one("A=\"x\" # c"), "x");
        assert_eq!(one("A=\"x\"# c"), "x");
        assert_eq!(one("A='x'#c"), "x");
        assert_eq!(one("A=\"a # b\""), "a # b");
        assert_eq!(ok("A # just a name\nB=1"), pairs(&[("B", "1")]));
        assert_eq!(
            ok("A#B=1\nC=2"),
            pairs(&[("C", "2")]),
            "`A` without =, then a comment"
        );
    }

    #[test]
    fn dotenv_trailing_whitespace() {
        assert_eq!(one("A=b \t "), "b");
        assert_eq!(one("A=b\u{3000}"), "b");
        assert_eq!(one("A=b\x1f"), "b", "U+001F is whitespace to python");
        assert_eq!(one("A='b'  \t"), "b");
        assert_eq!(one("A=' b '"), " b ");
    }

    #[test]
    fn dotenv_single_quote_escapes() {
        assert_eq!(one(r"A='it\'s'"), "it's");
        assert_eq!(one(r"A='a\\b'"), r"a\b");
        assert_eq!(one(r#"A='a\nb\"c'"#), r#"a\nb\"c"#);
        assert_eq!(
            one(r"A='a\\'"),
            r"a\",
            "an escaped backslash does not escape the quote"
        );
        assert_eq!(one("A='say \"hi\"'"), "say \"hi\"");
    }

    #[test]
    fn dotenv_double_quote_escapes() {
        assert_eq!(
            one(r#"A="\\ \' \" \a \b \f \n \r \t \v""#),
            "\\ ' \" \x07 \x08 \x0c \n \r \t \x0b"
        );
        assert_eq!(
            one(r#"A="\x41\$\u00e9\q\0""#),
            r"\x41\$\u00e9\q\0",
            "other escapes stay"
        );
        assert_eq!(one(r#"A="\\n""#), r"\n");
        assert_eq!(one(r#"A="a\\""#), r"a\");
        assert_eq!(one(r#"A="it's""#), "it's");
        assert_eq!(one(r#"A="é\né""#), "é\né");
    }

    #[test]
    fn dotenv_multiline_quoted_values() {
        assert_eq!(one("A=\"line1\nline2\""), "line1\nline2");
        assert_eq!(one("A='line1\nline2'"), "line1\nline2");
        assert_eq!(
            one("A=\"line1\r\nline2\""),
            "line1\nline2",
            "python reads CRLF as \\n"
        );
        assert_eq!(one("A=\"line1\rline2\""), "line1\nline2");
        assert_eq!(
            one("A=\"a\\\nb\""),
            "a\\\nb",
            "a backslash before a line end stays"
        );
        let text = "A=\"-----BEGIN KEY-----\nabc\n-----END KEY-----\"\nB=1\n";
        assert_eq!(ok(text)[1], ("B".into(), "1".into()));
        assert_eq!(lines(text), vec![("A".into(), 1), ("B".into(), 4)]);
    }

    #[test]
    fn dotenv_line_endings() {
        let expected = pairs(&[("A", "1"), ("B", "two words"), ("C", "3")]);
        assert_eq!(ok("A=1\nB=two words\nC=3\n"), expected);
        assert_eq!(ok("A=1\r\nB=two words\r\nC=3\r\n"), expected);
        assert_eq!(ok("A=1\rB=two words\rC=3\r"), expected);
        assert_eq!(ok("A=1\r\nB=two words\rC=3"), expected);
        let lined = vec![("A".into(), 1), ("B".into(), 3), ("C".into(), 5)];
        assert_eq!(lines("A=1\r\n\r\nB=2\r\rC=3"), lined);
        assert_eq!(lines("A=1\n\nB=2\r\n\nC=3"), lined);
    }

    #[test]
    fn dotenv_bom_is_stripped() {
        assert_eq!(
            ok_bytes(b"\xEF\xBB\xBFA=1\nB=2"),
            pairs(&[("A", "1"), ("B", "2")])
        );
        assert_eq!(ok_bytes(b"\xEF\xBB\xBF# c\nB=2"), pairs(&[("B", "2")]));
        assert_eq!(
            err_bytes(b"\xEF\xBB\xBF\xEF\xBB\xBFA=1"),
            (1, Problem::InvalidName)
        );
    }

    #[test]
    fn dotenv_name_without_equals_binds_nothing() {
        assert_eq!(ok("A\nB=1"), pairs(&[("B", "1")]));
        assert_eq!(ok("'A'\nB=1"), pairs(&[("B", "1")]));
        // A later assignment still wins, as in python.
        assert_eq!(ok("A\nB=1\nA=2"), pairs(&[("A", "2"), ("B", "1")]));
        assert_eq!(err("A value"), (1, Problem::MissingEquals));
        assert_eq!(err("'A' value"), (1, Problem::MissingEquals));
    }

    #[test]
    fn dotenv_name_without_equals_after_a_value_is_refused_naming_both_lines() {
        // python-dotenv drops the value of line 1 here: refused, at the bare line.
        let cancels = |at| Problem::CancelsAssignment { assigned_at: at };
        assert_eq!(err("A=secret\nexport A"), (2, cancels(1)));
        assert_eq!(err("A=secret\n\nB=1\nA # later"), (4, cancels(1)));
        assert_eq!(err("A=1\nA=2\nA"), (3, cancels(2)));
        assert_eq!(err("A=\nA"), (2, cancels(1)), "an empty value counts too");
        let shown = ParseError {
            line: 4,
            problem: cancels(1),
        }
        .to_string();
        assert!(
            shown.starts_with("line 4: ") && shown.contains("line 1"),
            "{shown}"
        );
    }

    #[test]
    fn dotenv_reference_to_a_name_without_equals_is_refused() {
        let listed = |at| Problem::ReferencesUnassigned { listed_at: at };
        // python makes both empty, although OUTER is set in the environment.
        assert_eq!(err("OUTER\nB=${OUTER}"), (2, listed(1)));
        assert_eq!(err("OUTER\nB=${OUTER:-d}"), (2, listed(1)));
        assert_eq!(err("A\n\nB='x ${A}'"), (3, listed(1)));
        assert_eq!(err("A\nA=${A}"), (2, listed(1)));
        // Assigned again before the reference: fine.
        assert_eq!(ok("A\nA=1\nB=${A}"), pairs(&[("A", "1"), ("B", "1")]));
    }

    fn small(variable: usize, total: usize) -> Limits {
        Limits { variable, total }
    }

    fn err_within(text: &str, limits: Limits) -> (usize, Problem) {
        let e = parse_within(text.as_bytes(), &outer, limits).unwrap_err();
        (e.line, e.problem)
    }

    #[test]
    fn dotenv_substitution_stops_at_the_variable_limit() {
        // `B=` + 16 bytes + NUL is 19 bytes.
        let text = "A=xxxxxxxx\nB=${A}${A}\n";
        assert!(parse_within(text.as_bytes(), &outer, small(19, 100)).is_ok());
        assert_eq!(
            err_within(text, small(18, 100)),
            (2, Problem::VariableTooLong)
        );
        // The name counts: `BB=` + 16 + NUL is 20.
        let text = "A=xxxxxxxx\nBB=${A}${A}\n";
        assert_eq!(
            err_within(text, small(19, 100)),
            (2, Problem::VariableTooLong)
        );
        assert!(parse_within(text.as_bytes(), &outer, small(20, 100)).is_ok());
        // Outer values count as well.
        assert_eq!(
            err_within("A=${OUTER}", small(12, 100)),
            (1, Problem::VariableTooLong)
        );
    }

    #[test]
    fn dotenv_substitution_stops_at_the_total_limit() {
        // 11 + 11 + 11 bytes: A, B, C.
        let text = "A=xxxxxxxx\nB=${A}\nC=${A}\n";
        assert!(parse_within(text.as_bytes(), &outer, small(100, 33)).is_ok());
        assert_eq!(err_within(text, small(100, 32)), (3, Problem::TotalTooLong));
        // Literal values count towards the total.
        assert_eq!(
            err_within("A=xxxxxxxx\nB=yyyyyyyy", small(100, 21)),
            (2, Problem::TotalTooLong)
        );
        // A reassigned name counts once, with its last value.
        let text = "A=xxxxxxxx\nA=${A}\nA=${A}\nB=1";
        assert!(parse_within(text.as_bytes(), &outer, small(100, 15)).is_ok());
    }

    #[test]
    fn dotenv_doubling_file_is_refused_at_the_kernel_limit() {
        let mut text = format!("A0={}\n", "x".repeat(16));
        for i in 1..70 {
            text.push_str(&format!("A{i}=${{A{}}}${{A{}}}\n", i - 1, i - 1));
        }
        // A13 would be 16 * 2^13 = 128 KiB of value alone.
        assert_eq!(err(&text), (14, Problem::VariableTooLong));
        // Values that stay under 128 KiB each still meet the total.
        let mut text = format!("A0={}\n", "x".repeat(16));
        for i in 1..13 {
            text.push_str(&format!("A{i}=${{A{}}}${{A{}}}\n", i - 1, i - 1));
        }
        for i in 0..200 {
            text.push_str(&format!("B{i}=${{A12}}${{A11}}\n"));
        }
        // The A lines take 131,111 bytes, each B 98,308 or 98,309: B62 (line 76) passes 6 MiB.
        assert_eq!(err(&text), (76, Problem::TotalTooLong));
    }

    #[test]
    fn dotenv_duplicates_keep_first_position_last_value() {
        let text = "A=1\nB=2\nA=3\n";
        assert_eq!(ok(text), pairs(&[("A", "3"), ("B", "2")]));
        assert_eq!(lines(text), vec![("A".into(), 3), ("B".into(), 2)]);
        assert_eq!(ok("A\nB=2\nA=3"), pairs(&[("A", "3"), ("B", "2")]));
    }

    #[test]
    fn dotenv_interpolation() {
        assert_eq!(one("A=${OUTER}"), "from-outer");
        assert_eq!(one("A=${MISSING}"), "");
        assert_eq!(one("A=${MISSING:-fallback}"), "fallback");
        assert_eq!(one("A=${MISSING:-}"), "");
        assert_eq!(one("A=${OUTER:-fallback}"), "from-outer");
        assert_eq!(
            one("A=${EMPTY:-fallback}"),
            "",
            "the default is for absent, not empty"
        );
        assert_eq!(one("A=${MISSING:-a:b c}"), "a:b c");
        assert_eq!(
            one("A=${MISSING:-${OUTER}}"),
            "${OUTER}",
            "the default is literal"
        );
        assert_eq!(one("A=$OUTER $$ p@$$w0rd"), "$OUTER $$ p@$$w0rd");
        assert_eq!(one("A=$${OUTER}"), "$from-outer");
        assert_eq!(one("A=${OUTER"), "${OUTER");
        assert_eq!(
            one("A=${OUTER:=x}"),
            "${OUTER:=x}",
            "python does not match it"
        );
        assert_eq!(one("A=${OUTER:x${OUTER}"), "${OUTER:xfrom-outer");
        assert_eq!(
            one("A='${OUTER}'"),
            "from-outer",
            "single quotes are substituted too"
        );
        assert_eq!(one(r#"A="\${OUTER}""#), r"\from-outer");
        assert_eq!(
            one("A=${OUTER}${OUTER}/${MISSING:-x}"),
            "from-outerfrom-outer/x"
        );
    }

    #[test]
    fn dotenv_interpolation_prefers_earlier_bindings() {
        let text = "SHADOWED=file\nA=${SHADOWED}\nB=${A}-${B:-self}\nB=${B}+\n";
        assert_eq!(
            ok(text),
            pairs(&[("SHADOWED", "file"), ("A", "file"), ("B", "file-self+")])
        );
        assert_eq!(one("A=${SHADOWED}"), "outer-loses");
        // A later binding does not reach back.
        assert_eq!(ok("A=${B}\nB=1"), pairs(&[("A", ""), ("B", "1")]));
        // Substituted text is not substituted again.
        assert_eq!(ok("A=$${X}\nB=${A}"), pairs(&[("A", "$"), ("B", "$")]));
    }

    #[test]
    fn dotenv_outer_is_only_asked_for_missing_names() {
        let asked = std::cell::RefCell::new(Vec::new());
        let spy = |name: &str| {
            asked.borrow_mut().push(name.to_owned());
            None
        };
        parse(b"A=1\nB=${A}${C}${C:-x}\n", &spy).unwrap();
        assert_eq!(*asked.borrow(), ["C", "C"]);
    }

    #[test]
    fn dotenv_invalid_references_are_refused() {
        for text in [
            "A=${A-b}",
            "A=${A.B}",
            "A=${}",
            "A=${:-x}",
            "A=${ A }",
            "A=${1A}",
            "A=${${B}}",
        ] {
            assert_eq!(err(text), (1, Problem::InvalidReference), "{text}");
        }
        assert_eq!(err("A=1\n\nB='x\n${A B}'"), (3, Problem::InvalidReference));
    }

    #[test]
    fn dotenv_invalid_names_are_refused() {
        for text in [
            "A.B=1",
            "A-B=1",
            "1A=1",
            "ключ=1",
            "'A B'=1",
            "A\"B=1",
            "A.B",
            "'A\nB'=1",
        ] {
            assert_eq!(err(text), (1, Problem::InvalidName), "{text:?}");
        }
        assert_eq!(err("A=1\nB=2\nC-D=3\n"), (3, Problem::InvalidName));
        assert!(names::is_valid("_"));
        assert!(names::is_valid("a_1"));
        assert!(!names::is_valid(""));
    }

    #[test]
    fn dotenv_unparseable_statements_are_refused() {
        assert_eq!(err("=value"), (1, Problem::MissingName));
        assert_eq!(err("''=value"), (1, Problem::MissingName));
        assert_eq!(err("export "), (1, Problem::MissingName));
        assert_eq!(err("export \nA=1"), (1, Problem::MissingName));
        assert_eq!(err("export =1"), (1, Problem::MissingName));
        assert_eq!(err("'A=1"), (1, Problem::UnterminatedSingleQuote));
        assert_eq!(err("A='x"), (1, Problem::UnterminatedSingleQuote));
        assert_eq!(err("A=\"x"), (1, Problem::UnterminatedDoubleQuote));
        assert_eq!(err("A=\"x\\"), (1, Problem::UnterminatedDoubleQuote));
        assert_eq!(err("A=\"x\\\""), (1, Problem::UnterminatedDoubleQuote));
        assert_eq!(err("A='x\\'"), (1, Problem::UnterminatedSingleQuote));
    }

    #[test]
    fn dotenv_error_lines_are_where_the_statement_starts() {
        assert_eq!(
            err("A=1\n\n\n  B=\"open\nC=2\nD=3"),
            (4, Problem::UnterminatedDoubleQuote)
        );
        assert_eq!(
            err("A=\"multi\nline\"\nB='x'y"),
            (3, Problem::TrailingGarbage)
        );
        assert_eq!(
            err("A=\"multi\r\nline\"\r\n\r\nB='x'y"),
            (4, Problem::TrailingGarbage)
        );
        assert_eq!(err("A=1\rB=2\r\rC D\r"), (4, Problem::MissingEquals));
        assert_eq!(
            err("A='multi\nline\n'junk\nB=1"),
            (1, Problem::TrailingGarbage)
        );
        assert_eq!(err("# c\n  \t\n\texport X.Y=1"), (3, Problem::InvalidName));
    }

    #[test]
    fn dotenv_bytes_python_cannot_read_are_refused() {
        assert_eq!(err_bytes(b"A=1\nB=\xff\n"), (2, Problem::InvalidUtf8));
        assert_eq!(
            err_bytes(b"A=1\r\nB=2\rC=\"\xe2\x82\""),
            (3, Problem::InvalidUtf8)
        );
        assert_eq!(err_bytes(b"A=1\n\nB=a\0b"), (3, Problem::NulByte));
    }

    #[test]
    fn dotenv_unusual_whitespace_follows_python() {
        assert_eq!(one("A\u{a0}=\u{a0}b"), "b");
        assert_eq!(ok("\u{3000}\u{2028}A=1\x0c\x0b"), pairs(&[("A", "1")]));
        // U+2028 is whitespace but not a line end to python.
        assert_eq!(one("A=x\u{2028}y"), "x\u{2028}y");
        assert_eq!(lines("\u{2028}\nA=1"), vec![("A".into(), 2)]);
    }

    #[test]
    fn dotenv_errors_and_debug_never_show_file_text() {
        let secret = "hunter2-SECRET";
        for text in [
            format!("A=\"{secret}"),
            format!("A='{secret}' x"),
            format!("{secret}.X=1"),
            format!("A=${{{secret}-x}}"),
            format!("A {secret}"),
        ] {
            let e = parse(text.as_bytes(), &outer).unwrap_err();
            for (index, shown) in [format!("{e}"), format!("{e:?}"), e.problem.to_string()]
                .iter()
                .enumerate()
            {
                assert!(
                    !shown.contains("hunter2"),
                    "rendering {index} shows the secret"
                );
            }
        }
        let bindings = parse(format!("API_KEY={secret}").as_bytes(), &outer).unwrap();
        let shown = format!("{:?} {:#?}", bindings[0], bindings);
        assert!(
            !shown.contains("hunter2"),
            "Debug of a binding shows the secret"
        );
        assert_eq!(
            format!("{:?}", bindings[0]),
            "Binding { name: \"API_KEY\", value: <14 bytes>, line: 1 }"
        );
    }

    #[test]
    fn dotenv_problem_messages_are_human() {
        let e = ParseError {
            line: 7,
            problem: Problem::UnterminatedDoubleQuote,
        };
        assert_eq!(e.to_string(), "line 7: unterminated double quote");
        assert!(
            Problem::InvalidName
                .to_string()
                .starts_with("invalid variable name")
        );
    }

    #[test]
    fn dotenv_large_file_with_chained_references() {
        let mut text = String::new();
        for i in 0..10_000 {
            text.push_str(&format!(
                "export VAR_{i}=\"value {i} ${{VAR_{}}}\" # c\n",
                i / 2
            ));
        }
        let bindings = parse(text.as_bytes(), &outer).unwrap();
        assert_eq!(bindings.len(), 10_000);
        assert_eq!(bindings[3].value, "value 3 value 1 value 0 ");
    }
}
