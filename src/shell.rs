//! Quoting values for the shells envguard writes code for.
//!
//! Everything envguard prints for a shell to evaluate goes through here, and every value is
//! single-quoted, always: inside single quotes nothing expands, so no value can run code.
//! `shell_words::quote` is not used for values: it leaves `a{b,c}` bare (bash brace-expands
//! it) and its POSIX quoting is wrong for fish, where `\\` and `\'` are escapes even inside
//! single quotes.

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
    out.push('\'');
    match shell {
        // POSIX: a single quote cannot appear inside single quotes; close, escape, reopen.
        ShellKind::Bash | ShellKind::Zsh => {
            for (i, part) in value.split('\'').enumerate() {
                if i > 0 {
                    out.push_str("'\\''");
                }
                out.push_str(part);
            }
        }
        // fish: inside single quotes `\'` and `\\` are the only escapes.
        ShellKind::Fish => {
            for c in value.chars() {
                if c == '\'' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
        }
    }
    out.push('\'');
}

/// A path as it should appear in a command the user may paste into a POSIX shell: bare when
/// that is unambiguous, single-quoted otherwise.
pub fn quote_for_display(path: &Path) -> String {
    let text = path.to_string_lossy();
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+,:@%=".contains(&b));
    if plain {
        text.into_owned()
    } else {
        quote(ShellKind::Bash, &text)
    }
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
}
