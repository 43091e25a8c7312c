//! The user's own schemes, from `$XDG_CONFIG_HOME/envguard/providers.toml`:
//!
//! ```toml
//! [schemes.bw]
//! argv = ["bw", "get", "password", "{ref}"]
//! ```
//!
//! A scheme runs a program, so only the user may define one: the file is read through the
//! guard (owned by the user, writable by nobody else, a symlink only if nobody else could have
//! chosen where it leads), and a project's files never add to it. `{ref}`, the text after
//! `NAME://`, is put into argv elements (whole or within one), never through a shell; it can
//! never choose the program, and when an element starts with it (`{ref}`, `{ref}/password`) a
//! reference starting with `-` is refused, since the program would read it as an option.
//!
//! The format is a small part of TOML, parsed here rather than with the `toml` crate (and its
//! parser's dependencies) because it is a table header and one key: `[schemes.NAME]` lines,
//! `argv = [...]` on one line in double-quoted (JSON-compatible) strings, comments and blank
//! lines. Anything else is refused with its line, so a file that means more than this parser
//! understands is never half-read.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::providers::{BUILT_IN, Fetch, Malformed, Output};
use crate::display::quote_for_display;
use crate::error::Refusal;
use crate::load::guard::{self, Policy};

const PLACEHOLDER: &str = "{ref}";

/// Each scheme's name and argv, in the file's order.
type Schemes = Vec<(String, Vec<String>)>;

/// The fetch for a value `scheme://rest` whose scheme is not built in: `None` when the user
/// defines no such scheme (the value is plain text), `Err` when the user's file cannot be read
/// (it might define it: a value that could be a reference is never loaded as text unchecked).
pub fn fetch_for(scheme: &str, rest: &str) -> Option<Result<Fetch, Malformed>> {
    if !is_scheme_name(scheme) {
        return None;
    }
    let schemes = match user_schemes() {
        Ok(schemes) => schemes,
        Err(malformed) => return Some(Err(malformed.clone())),
    };
    let (_, argv) = schemes.iter().find(|(name, _)| name == scheme)?;
    Some(fetch(argv, rest))
}

fn fetch(argv: &[String], rest: &str) -> Result<Fetch, Malformed> {
    let refused = |problem: &str| Malformed {
        problem: problem.to_owned(),
        fix: "fix the reference in the file".to_owned(),
    };
    if rest.is_empty() {
        return Err(refused("names nothing after `://`"));
    }
    if rest.starts_with('-') && argv.iter().any(|arg| arg.starts_with(PLACEHOLDER)) {
        return Err(refused(
            "starts with `-`, which its program would read as an option",
        ));
    }
    Ok(Fetch {
        program: argv[0].clone(),
        args: argv[1..]
            .iter()
            .map(|arg| arg.replace(PLACEHOLDER, rest))
            .collect(),
        output: Output::TrailingNewline,
        install: "install the program your providers.toml names for this scheme",
        sign_in: "check the reference, and that your providers.toml's program for this scheme is signed in",
        batch: None,
    })
}

/// The user's schemes, read once per process: a load consults them for every value with an
/// unknown scheme, and the file changes far less often than that.
fn user_schemes() -> &'static Result<Schemes, Malformed> {
    static SCHEMES: OnceLock<Result<Schemes, Malformed>> = OnceLock::new();
    SCHEMES.get_or_init(|| match path() {
        Some(path) if path.symlink_metadata().is_ok() => read(&path),
        _ => Ok(Vec::new()),
    })
}

/// `$XDG_CONFIG_HOME/envguard/providers.toml` (`~/.config/…` without it), as the user set
/// them: a loaded `.env` cannot point envguard at schemes of its own (see `user_dirs`).
fn path() -> Option<PathBuf> {
    crate::user_dirs::config_home().map(|dir| dir.join("envguard").join("providers.toml"))
}

fn read(path: &Path) -> Result<Schemes, Malformed> {
    // A config file holds no secret, so it may be readable by all, as a team's committed
    // file may: what matters is that nobody else can write it, which is that policy's rule.
    let guarded = guard::open(path)
        .and_then(|opened| opened.read(path, guard::max_size(), Policy::Shared))
        .map_err(|failure| {
            let refusal = Refusal::from(failure);
            Malformed {
                problem: format!("your providers.toml {}", refusal.reason),
                fix: refusal.fix,
            }
        })?;
    let shown = quote_for_display(path);
    let text = String::from_utf8(guarded.guarded.bytes).map_err(|_| Malformed {
        problem: format!("{shown} is not UTF-8 text"),
        fix: format!("rewrite {shown} as UTF-8"),
    })?;
    parse(&text).map_err(|(line, problem)| Malformed {
        problem: format!("{shown}:{line}: {problem}"),
        fix: format!("correct line {line} of {shown}"),
    })
}

/// The schemes `text` defines, or the line and what is wrong with it.
fn parse(text: &str) -> Result<Schemes, (usize, String)> {
    let mut schemes: Schemes = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let (number, line) = (number + 1, line.trim());
        let fail = |problem: String| Err((number, problem));
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let Some(name) = header
                .split_once(']')
                .filter(|(_, rest)| is_blank(rest))
                .and_then(|(name, _)| name.trim().strip_prefix("schemes."))
            else {
                return fail("expected a table header `[schemes.NAME]`".to_owned());
            };
            if !is_scheme_name(name) {
                return fail(format!(
                    "`{name}` is not a scheme name (letters, digits, `+`, `-`, `.`, starting with a letter)"
                ));
            }
            if BUILT_IN.contains(&name) {
                return fail(format!(
                    "`{name}` is a built-in scheme, which cannot be redefined: choose another name"
                ));
            }
            if schemes.iter().any(|(known, _)| known == name) {
                return fail(format!("`{name}` is defined twice"));
            }
            schemes.push((name.to_owned(), Vec::new()));
            continue;
        }
        let Some(("argv", value)) = line.split_once('=').map(|(k, v)| (k.trim(), v.trim())) else {
            return fail("expected `argv = [\"PROGRAM\", …, \"{ref}\"]`".to_owned());
        };
        let Some((_, argv)) = schemes.last_mut() else {
            return fail("`argv` comes before any `[schemes.NAME]` header".to_owned());
        };
        if !argv.is_empty() {
            return fail("`argv` is given twice".to_owned());
        }
        let mut stream = serde_json::Deserializer::from_str(value).into_iter::<Vec<String>>();
        let parsed = match stream.next() {
            Some(Ok(parsed)) if is_blank(&value[stream.byte_offset()..]) => parsed,
            _ => {
                return fail("`argv` must be one line: a list of double-quoted strings".to_owned());
            }
        };
        match parsed.first() {
            None => return fail("`argv` is empty: it needs a program".to_owned()),
            Some(program) if program.contains(PLACEHOLDER) => {
                return fail(
                    "the program (argv's first element) cannot contain `{ref}`".to_owned(),
                );
            }
            Some(_) if !parsed.iter().any(|arg| arg.contains(PLACEHOLDER)) => {
                return fail("`argv` never uses `{ref}`, the reference".to_owned());
            }
            Some(_) => *argv = parsed,
        }
    }
    match schemes.iter().find(|(_, argv)| argv.is_empty()) {
        Some((name, _)) => Err((
            text.lines().count(),
            format!("`[schemes.{name}]` has no `argv`"),
        )),
        None => Ok(schemes),
    }
}

fn is_blank(rest: &str) -> bool {
    let rest = rest.trim();
    rest.is_empty() || rest.starts_with('#')
}

/// An RFC 3986 scheme name.
fn is_scheme_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scheme_and_its_argv() {
        let text = "# mine\n[schemes.bw]  # Bitwarden\nargv = [\"bw\", \"get\", \"password\", \"{ref}\"] # one arg\n\n[schemes.gopass]\nargv=[\"gopass\",\"show\",\"-o\",\"--\",\"x/{ref}\"]\n";
        let schemes = parse(text).unwrap();
        assert_eq!(schemes[0].0, "bw");
        assert_eq!(schemes[0].1, ["bw", "get", "password", "{ref}"]);
        assert_eq!(schemes[1].1[4], "x/{ref}");
        let fetch = fetch(&schemes[1].1, "a b;c").unwrap();
        assert_eq!(fetch.program, "gopass");
        assert_eq!(fetch.args, ["show", "-o", "--", "x/a b;c"]);
    }

    #[test]
    fn what_is_refused_names_its_line() {
        for (text, line, words) in [
            ("[schemes.op]\nargv = [\"x\", \"{ref}\"]\n", 1, "built-in"),
            ("[schemes.x]\nargv = ['x', '{ref}']\n", 2, "double-quoted"),
            ("[schemes.x]\nargv = [\"{ref}\"]\n", 2, "program"),
            ("[schemes.x]\nargv = [\"x\"]\n", 2, "never uses"),
            ("[schemes.x]\nrun = \"x\"\n", 2, "expected `argv"),
            ("argv = [\"x\", \"{ref}\"]\n", 1, "before any"),
            ("[schemes.x]\n", 1, "has no `argv`"),
            (
                "[schemes.x]\nargv = [\"x\", \"{ref}\"] trailing\n",
                2,
                "one line",
            ),
        ] {
            let (at, problem) = parse(text).unwrap_err();
            assert_eq!(at, line, "{text}");
            assert!(problem.contains(words), "{text}: {problem}");
        }
    }

    #[test]
    fn a_reference_cannot_become_an_option() {
        let argv = ["bw".to_owned(), "get".to_owned(), "{ref}".to_owned()];
        assert!(fetch(&argv, "--session=x").is_err());
        let leading = ["x".to_owned(), "{ref}/password".to_owned()];
        assert!(fetch(&leading, "-x").is_err(), "it would start the element");
        let glued = ["x".to_owned(), "--id={ref}".to_owned()];
        assert_eq!(fetch(&glued, "-y").unwrap().args, ["--id=-y"]);
        let within = ["x".to_owned(), "item/{ref}".to_owned()];
        assert_eq!(fetch(&within, "-y").unwrap().args, ["item/-y"]);
    }
}
