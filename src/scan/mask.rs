//! Masked hints for findings: enough for a human to tell which credential it is, never enough
//! to use it.
//!
//! Temporary and private to `scan`: a shared `src/mask.rs` is being written on another
//! branch; this one follows the same rule so the two can be unified without changing output.

/// `sk-…f3a9 (51 chars)`: at most the first 3 and last 4 characters, and none at all for
/// values under 12 characters, where 7 visible characters would be most of the secret.
pub fn hint(value: &str) -> String {
    let count = value.chars().count();
    if count < 12 {
        return format!("{count} chars");
    }
    let head: String = value.chars().take(3).collect();
    let tail: String = value.chars().skip(count - 4).collect();
    format!("{head}…{tail}, {count} chars")
}

#[cfg(test)]
mod tests {
    use super::hint;

    #[test]
    fn shows_at_most_three_and_four_characters() {
        assert_eq!(hint("sk-abcdefghijklmnopf3a9"), "sk-…f3a9, 23 chars");
        assert_eq!(hint("short-value"), "11 chars");
    }
}
