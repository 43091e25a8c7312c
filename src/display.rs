//! Paths (and the lists of names and dates around them) as envguard shows them to a person:
//! on a terminal, and inside fix commands meant to be pasted back into a shell.
//!
//! A file name is chosen by whoever created the file (a cloned repository, another user), and
//! it may hold newlines, escape sequences, bidirectional overrides and bytes that are not UTF-8.
//! Printed raw, such a name could fake, hide or erase the lines around it, so every path
//! envguard prints goes through here. Values never do: they are never printed at all.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::cli::ShellKind;
use crate::hook::quote::quote;

/// At most this many names are listed in a message; a 10,000-variable file gets a count.
pub const LISTED_NAMES: usize = 40;

/// `A, B, C`, or the first [`LISTED_NAMES`] of them and how many more, so that a message
/// about a 10,000-variable file stays one line a person can read.
pub fn name_list(names: &[&str]) -> String {
    let mut list = names[..names.len().min(LISTED_NAMES)].join(", ");
    if names.len() > LISTED_NAMES {
        list.push_str(&format!(" (and {} more)", names.len() - LISTED_NAMES));
    }
    list
}

/// `YYYY-MM-DD` (UTC) of `seconds` since the epoch, without a date crate for one line: days
/// since the epoch to a civil date by Howard Hinnant's `civil_from_days`.
pub fn utc_date(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64 + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
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

    #[test]
    fn a_long_name_list_is_cut_with_a_count() {
        assert_eq!(name_list(&["A", "B"]), "A, B");
        let many: Vec<String> = (0..45).map(|i| format!("N{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let listed = name_list(&many);
        assert!(listed.starts_with("N0, N1, ") && listed.ends_with("N39 (and 5 more)"));
    }
}
