//! Quoting values for the shells envguard writes code for.
//!
//! Everything envguard prints for a shell to evaluate goes through here, and every value is
//! single-quoted, always: inside single quotes nothing expands, so no value can run code.
//! `shell_words::quote` is not used for values: it leaves `a{b,c}` bare (bash brace-expands
//! it) and its POSIX quoting is wrong for fish, where `\\` and `\'` are escapes even inside
//! single quotes.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

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

/// A path as it should appear in a command the user may paste into a POSIX shell: bare when
/// that is unambiguous, single-quoted otherwise, and ANSI-C quoted (`$'a\nb'`, understood by
/// bash and zsh) when it holds a byte that must not reach the terminal raw.
pub fn quote_for_display(path: &Path) -> String {
    let bytes = path.as_os_str().as_bytes();
    // A leading `=` would be zsh's `=cmd` (the path of `cmd`).
    let plain = bytes.first().is_some_and(|&b| b != b'=')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+,:@%=".contains(b));
    if plain {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let escaped = escape_for_display(path);
    // Only backslashes were doubled: single quotes show such a path as it is.
    if escaped.replace("\\\\", "\\").as_bytes() == bytes {
        return quote(ShellKind::Bash, &String::from_utf8_lossy(bytes));
    }
    format!("$'{}'", escaped.replace('\'', "\\'"))
}

/// A path as text that is safe to print on a terminal and shows every byte: a file name can
/// hold newlines, escape sequences and bytes that are not UTF-8, and printed raw it could fake,
/// hide or erase the lines around it. Control characters become `\n`, `\t`, `\r`, `\e` or
/// `\xNN`, bytes that are not UTF-8 `\xNN`, the C1 controls and the bidirectional overrides
/// (which reorder what the terminal shows) `\uNNNN`, and `\` itself `\\`, so the text reads
/// back unambiguously (it is also valid inside bash's `$'...'`). Everything else is shown as is.
pub fn escape_for_display(path: &Path) -> String {
    escape_bytes_for_display(path.as_os_str().as_bytes())
}

/// [`escape_for_display`] for text already decoded, such as the paths git reports to the
/// scanner.
pub fn escape_text_for_display(text: &str) -> String {
    escape_bytes_for_display(text.as_bytes())
}

fn escape_bytes_for_display(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                '\u{1b}' => out.push_str("\\e"),
                c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
                c if c.is_control() || is_bidi_control(c) => {
                    out.push_str(&format!("\\u{:04x}", u32::from(c)));
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

/// The formatting characters that change the order in which a terminal shows the text around
/// them (Unicode's bidirectional embeddings, overrides, isolates and marks).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
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

    #[test]
    fn display_paths_are_quoted_only_when_needed() {
        assert_eq!(
            quote_for_display(Path::new("/home/me/p/.env")),
            "/home/me/p/.env"
        );
        assert_eq!(
            quote_for_display(Path::new("/my dir/.env")),
            "'/my dir/.env'"
        );
    }

    #[test]
    fn display_escapes_what_a_terminal_would_act_on() {
        use std::ffi::OsStr;
        let path = |bytes: &[u8]| Path::new(OsStr::from_bytes(bytes)).to_path_buf();
        let hostile =
            path(b"/t/a\nenvguard: loaded\x1b[2K\x07\xff\\z\xe2\x80\xae\xc2\x9b\xc3\xa9/.env");
        assert_eq!(
            escape_for_display(&hostile),
            r"/t/a\nenvguard: loaded\e[2K\x07\xff\\z\u202e\u009bé/.env"
        );
        assert_eq!(
            escape_for_display(Path::new("/my dir/é/.env")),
            "/my dir/é/.env"
        );
        assert_eq!(
            quote_for_display(&path(b"/t/it's\n/.env")),
            r"$'/t/it\'s\n/.env'"
        );
        assert_eq!(quote_for_display(&path(b"/t/a\\b c")), r"'/t/a\b c'");
        assert_eq!(quote_for_display(Path::new("=ls")), "'=ls'");
    }
}
