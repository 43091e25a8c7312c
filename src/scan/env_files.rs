//! `.env` files in git: a committed `.env` is a leak whatever its values look like.
//!
//! Known-value matching never reports the `.env` a value came from (values belong there), and
//! a tracked `.env` in a fresh clone often has no ignored twin beside it, so without this rule
//! a plain `scan` of a repository whose `.env` is committed says nothing. Any `.env` or
//! `.env.*` that git holds (tracked, staged, or in history) and that has a value is a finding,
//! except the files made to be committed: templates (`.env.example` and its synonyms) whose
//! values are all empty, `.env.shared` whose values are all age ciphertext, and
//! `.env.recipients` (public keys). Values are judged as written: nothing is expanded.

use crate::load::dotenv;

/// The rule id of a `.env` file that git holds.
pub const ENV_FILE_TRACKED_ID: &str = "env-file-tracked";

/// Names of templates, meant to be committed with empty values.
const TEMPLATES: &[&str] = &[
    "example", "sample", "template", "dist", "defaults", "schema",
];

/// `.env`, `.env.local`, `config/.env.production`, templates included.
pub fn is_env_file(path: &str) -> bool {
    let name = file_name(path);
    name == ".env" || name.starts_with(".env.")
}

/// A template or other file meant to be committed, whose values are placeholders.
pub fn is_template(path: &str) -> bool {
    let name = file_name(path);
    name == ".env.recipients"
        || name
            .strip_prefix(".env.")
            .is_some_and(|suffix| TEMPLATES.contains(&suffix))
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Why a committed `path` with `contents` is a leak, or `None` if it is one of the files made
/// to be committed.
pub fn leak(path: &str, contents: &[u8]) -> Option<String> {
    let name = file_name(path);
    if name == ".env.recipients" {
        return None;
    }
    let Ok(statements) = dotenv::occurrences(contents) else {
        return (!contents.trim_ascii().is_empty())
            .then(|| "a .env file that does not parse".to_string());
    };
    let values: Vec<&[u8]> = statements
        .iter()
        .filter(|s| s.assigns)
        .map(|s| unquoted(&contents[s.value_span.clone()]))
        .filter(|value| !value.is_empty())
        .collect();
    let suffix = name.strip_prefix(".env.").unwrap_or_default();
    let offending = match suffix {
        "shared" => values.iter().filter(|v| !is_age_ciphertext(v)).count(),
        _ => values.len(),
    };
    if offending == 0 {
        return None;
    }
    let what = match suffix {
        "shared" => "value(s) that are not age ciphertext",
        _ if TEMPLATES.contains(&suffix) => "non-empty value(s) in a template",
        _ => "value(s)",
    };
    Some(format!("{offending} {what}"))
}

/// `NAME=age:<base64>`: a value only the recipients' keys can read.
fn is_age_ciphertext(value: &[u8]) -> bool {
    value.strip_prefix(b"age:").is_some_and(|body| {
        body.len() >= 16
            && body.iter().all(|&b| {
                b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_')
            })
    })
}

fn unquoted(raw: &[u8]) -> &[u8] {
    let raw = raw.trim_ascii();
    for quote in [b'"', b'\''] {
        if let Some(inner) = raw
            .strip_prefix(&[quote])
            .and_then(|r| r.strip_suffix(&[quote]))
        {
            return inner;
        }
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_files_with_values_leak_but_files_made_to_be_committed_do_not() {
        assert!(leak(".env", b"A=1\n").is_some());
        assert!(leak("app/.env.production", b"TOKEN='x'\n").is_some());
        assert!(leak(".env", b"# nothing\nA=\nB=''\n").is_none());
        assert!(leak(".env.example", b"API_KEY=\nDB=\"\"\n").is_none());
        assert!(leak(".env.example", b"API_KEY=sk-live\n").is_some());
        assert!(leak(".env.recipients", b"age1qqqq\n").is_none());
        let shared = b"A=age:YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBhYmM=\n";
        assert!(leak(".env.shared", shared).is_none());
        assert!(leak(".env.shared", b"A=age:YWdlLWVuY3J5cHRpb24=\nB=plain\n").is_some());
        assert!(is_env_file("x/.env.local") && !is_env_file("envs.py") && !is_env_file(".envrc"));
    }
}
