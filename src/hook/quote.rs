//! Quoting values for the shells envguard writes code for.
//!
//! Everything envguard prints for a shell to evaluate goes through here, and every value is
//! single-quoted, always: inside single quotes nothing expands, so no value can run code.
//! `shell_words::quote` is not used for values: it leaves `a{b,c}` bare (bash brace-expands
//! it) and its POSIX quoting is wrong for fish, where `\\` and `\'` are escapes even inside
//! single quotes.

use crate::cli::ShellKind;

/// `value` as one single-quoted word of `shell`, read back byte for byte.
pub fn quote(shell: ShellKind, value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    push_quoted(&mut out, shell, value);
    out
}

/// Appends `value` quoted for `shell` to `out`.
pub fn push_quoted(out: &mut String, shell: ShellKind, value: &str) {
    let mut bytes = std::mem::take(out).into_bytes();
    push_quoted_bytes(&mut bytes, shell, value.as_bytes());
    *out = String::from_utf8(bytes).expect("quoting adds only ASCII around whole UTF-8 text");
}

/// [`push_quoted`] for bytes that need not be UTF-8: the values a shell hook restores come from
/// the environment, where any byte but NUL may appear. The escaped bytes are ASCII, which never
/// occurs inside a multi-byte UTF-8 sequence, so UTF-8 text passes through whole.
pub fn push_quoted_bytes(out: &mut Vec<u8>, shell: ShellKind, value: &[u8]) {
    out.push(b'\'');
    match shell {
        // POSIX: a single quote cannot appear inside single quotes; close, escape, reopen.
        ShellKind::Bash | ShellKind::Zsh => {
            for (i, part) in value.split(|&b| b == b'\'').enumerate() {
                if i > 0 {
                    out.extend_from_slice(b"'\\''");
                }
                out.extend_from_slice(part);
            }
        }
        // fish: inside single quotes `\'` and `\\` are the only escapes.
        ShellKind::Fish => {
            for &b in value {
                if b == b'\'' || b == b'\\' {
                    out.push(b'\\');
                }
                out.push(b);
            }
        }
    }
    out.push(b'\'');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posix_quotes_close_and_reopen_around_single_quotes() {
        assert_eq!(quote(ShellKind::Bash, "it's"), r"'it'\''s'");
        assert_eq!(quote(ShellKind::Zsh, "a{b,c} $(x) \\"), r"'a{b,c} $(x) \'");
        assert_eq!(quote(ShellKind::Bash, ""), "''");
    }

    #[test]
    fn fish_escapes_backslash_and_quote_only() {
        assert_eq!(quote(ShellKind::Fish, r"a\b'c$d"), r"'a\\b\'c$d'");
    }
}
