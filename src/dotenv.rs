//! Parsing `.env` text the way python-dotenv does. (Stub: being written.)

/// One `NAME=value` line of a `.env` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub name: String,
    pub value: String,
    /// 1-based line where the binding starts.
    pub line: usize,
    /// Byte range of the value as written (quotes included; empty after a bare `NAME=`), so
    /// that `envguard set` can rewrite one value and keep every other byte of the file.
    pub value_span: std::ops::Range<usize>,
}

/// Why a file does not parse. Carries no text from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line where the offending statement starts.
    pub line: usize,
    pub problem: Problem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    InvalidUtf8,
    InvalidName,
    UnterminatedSingleQuote,
    UnterminatedDoubleQuote,
    TrailingGarbage,
    MissingEquals,
}

/// Parses `.env` bytes into bindings in file order, later duplicates replacing earlier ones.
///
/// `${NAME}` references resolve first against earlier bindings of the same file, then through
/// `outer` (the environment the values will be layered on).
pub fn parse(
    _bytes: &[u8],
    _outer: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Binding>, ParseError> {
    todo!()
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}
