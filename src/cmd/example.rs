//! `envguard example`: the `.env.example` a project commits to say which secrets it needs, and
//! the reading of it that `check` and `init` share.
//!
//! The example is public (it goes into git, and `scan` reports a committed template that holds
//! any value), so it is built from names only: every value is empty, also a placeholder the
//! user wrote, and a comment copied from a `.env` is left out when it holds one of that file's
//! values, a token shape, or a commented-out assignment (`# OLD_KEY=...`, often a previous
//! secret). Comments travel at all because they are what tells a teammate where to get each
//! key. Updating keeps the example's own lines, comments and order, and appends new names,
//! because a project's example is edited by hand too.

use std::collections::HashSet;
use std::fs;
use std::ops::Range;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::atomic;
use crate::cli::ExampleArgs;
use crate::display::{escape_for_display, quote_for_display};
use crate::envfile;
use crate::error::{Error, IoContext, Refusal, RefusalKind, Result};
use crate::git;
use crate::load::discover::{self, FILE_NAME};
use crate::load::dotenv::{self, Binding, Occurrence};
use crate::load::guard::{self, Policy, Problem};
use crate::load::loader::{self, from_process_env};
use crate::load::names;
use crate::scan::Detector;
use crate::scan::fingerprint::Fingerprinter;
use crate::scan::known::{KnownValues, Secret};

pub const EXAMPLE_NAME: &str = ".env.example";

/// A file the example is built from: its names in order and the raw text of their comments.
struct Source {
    path: PathBuf,
    bindings: Vec<Binding>,
    bytes: Vec<u8>,
}

pub fn run(args: &ExampleArgs) -> Result<()> {
    let sources = read_sources(args)?;
    let dir = atomic::parent(&sources[0].path).to_path_buf();
    let path = dir.join(EXAMPLE_NAME);
    let detector = detector_for(&sources);

    let _lock = envfile::lock_dir(&dir)?;
    if is_symlink(&path) {
        return Err(Error::Usage(format!(
            "{}: is a symlink, and envguard never writes a public file through a link, whatever it reaches; nothing was changed (fix: cp --remove-destination \"$(readlink -f {quoted})\" {quoted}, which replaces the link with a copy, then `envguard example`)",
            escape_for_display(&path),
            quoted = quote_for_display(&path)
        )));
    }
    let existing = read_example(&path)?;
    let old = existing.clone().unwrap_or_default();
    let statements = example_statements(&path, &old)?;
    let (mut contents, emptied) = empty_values(&old, &statements);
    let mut listed: HashSet<String> = statements.into_iter().map(|s| s.name).collect();

    let mut added = Vec::new();
    for source in &sources {
        let statements = dotenv::occurrences(&source.bytes)
            .map_err(|e| loader::parse_refusal(&source.path, &e))?;
        for binding in &source.bindings {
            if !listed.insert(binding.name.clone()) {
                continue;
            }
            let comments = comments_above(source, &statements, &binding.name, &detector);
            append(&mut contents, &comments, &binding.name);
            added.push(binding.name.clone());
        }
    }
    refuse_known_values(&path, &contents, &detector)?;

    if existing.as_ref() == Some(&contents) {
        say!(
            "envguard: {} is up to date ({} names)",
            escape_for_display(&path),
            listed.len()
        );
        warn_if_ignored(&path);
        return Ok(());
    }
    let mode = fs::symlink_metadata(&path).map_or(0o644, |meta| meta.permissions().mode() & 0o777);
    // `replace`: a link planted after the check above is replaced, not written through.
    atomic::replace(&path, &contents, mode).context("write", &path)?;
    let mut changes = Vec::new();
    if !added.is_empty() {
        changes.push(format!("added {}", added.join(", ")));
    }
    if !emptied.is_empty() {
        changes.push(format!(
            "emptied the value of {} (an example holds no values)",
            emptied.join(", ")
        ));
    }
    say!(
        "envguard: wrote {}: {} names, no values ({})",
        escape_for_display(&path),
        listed.len(),
        changes.join("; ")
    );
    say!(
        "envguard: next: commit it (git add {}); a teammate then runs `envguard init`",
        quote_for_display(&path)
    );
    warn_if_ignored(&path);
    Ok(())
}

/// Many `.gitignore` templates say `.env*`, which also hides the example from `git add`.
fn warn_if_ignored(path: &Path) {
    if git::is_ignored(path) == Some(true) {
        say!(
            "envguard: warning: git ignores {} (a `.env*` rule?), so `git add` skips it (fix: echo '!{EXAMPLE_NAME}' >> {})",
            escape_for_display(path),
            quote_for_display(&atomic::parent(path).join(".gitignore"))
        );
    }
}

/// The statements of an example, or why it does not parse, with a fix for the example itself
/// (the loader's fixes are about a `.env`: `envguard edit`, `envguard allow`).
fn example_statements(path: &Path, bytes: &[u8]) -> Result<Vec<Occurrence>> {
    dotenv::occurrences(bytes).map_err(|error| {
        let line = error.line;
        Refusal::new(
            path,
            RefusalKind::Parse,
            error.problem.to_string(),
            format!(
                "correct line {line} in an editor: \"${{EDITOR:-vi}}\" {}",
                quote_for_display(path)
            ),
        )
        .at_line(line)
        .into()
    })
}

/// The files named with `-f`, else the nearest `.env`; each guarded and parsed like a load,
/// all or nothing. Trust is not needed: nothing of a value leaves.
fn read_sources(args: &ExampleArgs) -> Result<Vec<Source>> {
    let paths = if args.files.is_empty() {
        let dir = match &args.dir {
            Some(dir) => discover::absolute(dir)?,
            None => discover::working_dir()?,
        };
        vec![discover::nearest(&dir).ok_or_else(|| discover::not_found(&dir))?]
    } else {
        args.files
            .iter()
            .map(|file| discover::absolute(file))
            .collect::<Result<_>>()?
    };
    let mut sources = Vec::with_capacity(paths.len());
    for path in paths {
        if path.file_name().is_some_and(|name| name == EXAMPLE_NAME) {
            return Err(Error::Usage(format!(
                "{}: is the example itself; name the .env files it is built from (fix: `envguard example -f .env`)",
                escape_for_display(&path)
            )));
        }
        let guarded = guard::open(&path)?
            .read(&path, guard::max_size(), Policy::Load)?
            .guarded;
        let bytes = guarded.bytes.clone();
        let checked = loader::from_contents(&path, guarded, &from_process_env)?;
        sources.push(Source {
            path,
            bindings: checked.bindings,
            bytes,
        });
    }
    Ok(sources)
}

/// What recognises a secret in a comment: the sources' own values and the token shapes.
fn detector_for(sources: &[Source]) -> Detector {
    let secrets = sources
        .iter()
        .flat_map(|source| &source.bindings)
        .map(|binding| Secret {
            name: binding.name.clone(),
            value: binding.value.clone(),
        })
        .collect();
    Detector::new(KnownValues::new(secrets), Fingerprinter::ephemeral())
}

/// The bytes of the `.env.example` at `path`, `None` if there is none. Its mode is not
/// checked (a committed example is 0644), its type, owner, link and size are.
fn read_example(path: &Path) -> Result<Option<Vec<u8>>> {
    let opened = match guard::open(path) {
        Ok(opened) => opened,
        Err(failure) if failure.problem == Problem::Missing => return Ok(None),
        Err(failure) => return Err(failure.into()),
    };
    let read = opened.read(path, guard::max_size(), Policy::Template)?;
    Ok(Some(read.guarded.bytes))
}

fn is_symlink(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_symlink())
}

/// `bytes` with every assigned value made empty (`KEY=`, a trailing comment kept), and the
/// names whose value that emptied.
fn empty_values(bytes: &[u8], statements: &[Occurrence]) -> (Vec<u8>, Vec<String>) {
    let mut out = bytes.to_vec();
    let mut emptied = Vec::new();
    for statement in statements.iter().rev() {
        if statement.assigns && !statement.value_span.is_empty() {
            out.drain(statement.value_span.clone());
            emptied.push(statement.name.clone());
        }
    }
    emptied.reverse();
    emptied.dedup();
    (out, emptied)
}

/// Appends `NAME=` with its comment lines; a commented entry is set off by a blank line.
fn append(contents: &mut Vec<u8>, comments: &[&str], name: &str) {
    if !contents.is_empty() && !contents.ends_with(b"\n") {
        contents.push(b'\n');
    }
    if !comments.is_empty() && !contents.is_empty() && !contents.ends_with(b"\n\n") {
        contents.push(b'\n');
    }
    for comment in comments {
        contents.extend_from_slice(comment.as_bytes());
        contents.push(b'\n');
    }
    contents.extend_from_slice(name.as_bytes());
    contents.extend_from_slice(b"=\n");
}

/// The comment lines right above `name`'s last assignment in `source` (up to a blank line or
/// another statement), minus the ones that could hold a secret, each reported by line.
fn comments_above<'s>(
    source: &'s Source,
    statements: &[Occurrence],
    name: &str,
    detector: &Detector,
) -> Vec<&'s str> {
    let Some(statement) = statements
        .iter()
        .rev()
        .find(|statement| statement.name == name && statement.assigns)
    else {
        return Vec::new();
    };
    let text = std::str::from_utf8(&source.bytes).unwrap_or_default();
    // A `#` line inside a multi-line quoted value is part of that value, not a comment.
    let inside_values: Vec<Range<usize>> = statements
        .iter()
        .map(|s| line_start(text, s.value_span.start)..s.value_span.end)
        .collect();
    let mut lines = Vec::new();
    let mut end = line_start(text, statement.value_span.start);
    while end > 0 {
        let start = line_start(text, end - 1);
        // The first line may begin with a UTF-8 byte order mark, which the parser skips too.
        let line = text[start..end - 1]
            .trim_end_matches('\r')
            .trim_start_matches('\u{feff}');
        let in_value = inside_values.iter().any(|v| v.start < end && start < v.end);
        if in_value || !line.trim_start().starts_with('#') {
            break;
        }
        lines.push((start, line));
        end = start;
    }
    lines.reverse();
    let mut hits = Vec::new();
    lines
        .into_iter()
        .filter(|(start, line)| {
            detector.find(line.as_bytes(), &mut hits);
            let safe = hits.is_empty() && !is_commented_assignment(line);
            if !safe {
                say!(
                    "envguard: left out the comment on {}:{}: it may hold a secret (a value, a token or an old assignment)",
                    escape_for_display(&source.path),
                    text[..*start].matches('\n').count() + 1
                );
            }
            safe
        })
        .map(|(_, line)| line)
        .collect()
}

/// `# KEY=something` (or `#export KEY=...`): a disabled binding with a value.
fn is_commented_assignment(line: &str) -> bool {
    let body = line.trim_start().trim_start_matches('#').trim_start();
    let body = body.strip_prefix("export ").unwrap_or(body).trim_start();
    body.split_once('=')
        .is_some_and(|(name, value)| names::is_valid(name.trim_end()) && !value.trim().is_empty())
}

fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |i| i + 1)
}

/// The last safety net before a public file is written: none of the sources' values may be
/// in it, wherever it came from (a comment the user wrote in the example itself).
fn refuse_known_values(path: &Path, contents: &[u8], detector: &Detector) -> Result<()> {
    let mut hits = Vec::new();
    detector.find(contents, &mut hits);
    let Some(hit) = hits
        .iter()
        .find(|hit| matches!(hit.kind, crate::scan::HitKind::Known { .. }))
    else {
        return Ok(());
    };
    let line = contents[..hit.start]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1;
    Err(Refusal::new(
        path,
        RefusalKind::Parse,
        format!(
            "holds the value of {}, and an example is public; nothing was written",
            detector.label(hit)
        ),
        format!(
            "delete it from line {line} (`$EDITOR {}`), then `envguard example`",
            quote_for_display(path)
        ),
    )
    .at_line(line)
    .into())
}

/// The names `.env.example` in `dir` lists, in its order, without repeats; empty when there
/// is no example.
pub(super) fn listed_names(dir: &Path) -> Result<Vec<String>> {
    let path = dir.join(EXAMPLE_NAME);
    let Some(bytes) = read_example(&path)? else {
        return Ok(Vec::new());
    };
    let statements = example_statements(&path, &bytes)?;
    let mut seen = HashSet::new();
    Ok(statements
        .into_iter()
        .map(|statement| statement.name)
        .filter(|name| seen.insert(name.clone()))
        .collect())
}

/// For `check`: the warnings (text, fix) about how the `.env` at `env_path`, which sets
/// `set`, differs from the `.env.example` beside it. Only a file named `.env` is compared:
/// `.env.production` may rightly lack a development-only name.
pub(super) fn drift(env_path: &Path, set: &[Binding]) -> Vec<(String, String)> {
    if env_path.file_name().is_none_or(|name| name != FILE_NAME) {
        return Vec::new();
    }
    let dir = atomic::parent(env_path);
    let listed = match listed_names(dir) {
        Ok(listed) => listed,
        Err(error) => {
            return vec![(
                format!("cannot compare with {EXAMPLE_NAME}: {error}"),
                format!("fix {EXAMPLE_NAME}, or recreate it: `envguard example`"),
            )];
        }
    };
    if listed.is_empty() {
        return Vec::new();
    }
    let here = discover::working_dir().ok();
    let dir_arg = if here.as_deref() == Some(dir) {
        String::new()
    } else {
        format!(" -C {}", quote_for_display(dir))
    };
    let set_names: HashSet<&str> = set.iter().map(|b| b.name.as_str()).collect();
    let mut warnings: Vec<(String, String)> = listed
        .iter()
        .filter(|name| !set_names.contains(name.as_str()))
        .map(|name| {
            (
                format!("missing: {name} (listed in {EXAMPLE_NAME}, not set)"),
                format!("envguard set{dir_arg} {name}"),
            )
        })
        .collect();
    let listed: HashSet<&str> = listed.iter().map(String::as_str).collect();
    let unlisted: Vec<&str> = set
        .iter()
        .map(|b| b.name.as_str())
        .filter(|name| !listed.contains(name))
        .collect();
    if !unlisted.is_empty() {
        warnings.push((
            format!("not listed in {EXAMPLE_NAME}: {}", unlisted.join(", ")),
            format!("envguard example{dir_arg} (adds the names, never a value)"),
        ));
    }
    warnings
}
