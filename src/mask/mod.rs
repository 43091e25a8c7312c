//! Masked hints of secret values, for every place envguard shows that a value exists.
//!
//! A hint has to let a user tell two keys apart (`sk-…f3a9` vs `sk-…09c1`) without giving an
//! onlooker, a screen recording or a pasted terminal log anything usable. Every character shown
//! shrinks the search space of a guess, so a hint shows at most a quarter of a value and never
//! more than 4 characters (2 from each end), and nothing of a value under 16 characters: a
//! short or human-chosen value is exactly the one an onlooker could finish.

pub mod filter;
pub mod forms;

/// Values shorter than this get no characters in their hint.
const MIN_LEN_FOR_CHARS: usize = 16;
/// The most characters a hint shows, split between the two ends.
const MAX_SHOWN: usize = 4;

/// A masked hint of `value`, e.g. `sk-…f3a9 (51 chars)`; `(5 chars)` for short values.
pub fn hint(value: &str) -> String {
    let count = value.chars().count();
    let length = match count {
        0 => return "(empty)".into(),
        1 => "(1 char)".to_string(),
        _ => format!("({count} chars)"),
    };
    match visible_ends(value, count) {
        Some(ends) => format!("{ends} {length}"),
        None => length,
    }
}

/// The same hint for a place that already brackets it, as a scan finding does:
/// `sk-…f3a9, 51 chars`; `5 chars` for short values.
pub fn inline_hint(value: &str) -> String {
    let count = value.chars().count();
    match visible_ends(value, count) {
        Some(ends) => format!("{ends}, {count} chars"),
        None => format!("{count} chars"),
    }
}

/// `sk…a9` for values long enough to show their ends; `None` otherwise.
fn visible_ends(value: &str, count: usize) -> Option<String> {
    if count < MIN_LEN_FOR_CHARS {
        return None;
    }
    let shown = MAX_SHOWN.min(count / 4);
    let head = shown / 2;
    let tail = shown - head;
    let mut out = String::new();
    value
        .chars()
        .take(head)
        .for_each(|c| push_visible(&mut out, c));
    out.push('…');
    value
        .chars()
        .skip(count - tail)
        .for_each(|c| push_visible(&mut out, c));
    Some(out)
}

/// Control characters (the newline of a PEM key, an escape) would garble a terminal line, so
/// they are shown escaped.
fn push_visible(out: &mut String, c: char) {
    if c.is_control() {
        out.extend(c.escape_debug());
    } else {
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_show_two_characters_of_each_end() {
        let key = format!("sk-{}f3a9", "x".repeat(44));
        assert_eq!(hint(&key), "sk…a9 (51 chars)");
    }

    #[test]
    fn short_values_show_length_only() {
        assert_eq!(hint(""), "(empty)");
        assert_eq!(hint("a"), "(1 char)");
        assert_eq!(hint("hunter2hunter2h"), "(15 chars)");
        assert_eq!(hint("hunter2hunter2hu"), "hu…hu (16 chars)");
    }

    #[test]
    fn never_more_than_a_quarter_nor_four_characters() {
        for len in 0..200 {
            let value: String = "abcdefghij".chars().cycle().take(len).collect();
            let shown = hint(&value)
                .split(' ')
                .next()
                .filter(|ends| ends.contains('…'))
                .map_or(0, |ends| ends.chars().count() - 1);
            assert!(shown <= 4 && shown * 4 <= len, "{len}: {shown}");
        }
    }

    #[test]
    fn counts_characters_not_bytes_and_escapes_control_characters() {
        assert_eq!(hint("ééé-middle-part-üüüü"), "éé…üü (20 chars)");
        assert_eq!(hint("-----BEGIN KEY-----\nabc\n"), "--…c\\n (24 chars)");
    }

    #[test]
    fn inline_hints_need_no_brackets_of_their_own() {
        assert_eq!(inline_hint("sk-abcdefghijklmnopf3a9"), "sk…a9, 23 chars");
        assert_eq!(inline_hint("short-value"), "11 chars");
    }
}
