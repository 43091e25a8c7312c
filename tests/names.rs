//! The name rules against the real shells: whatever the installed bash, zsh and fish call
//! their own must be classified in `src/load/names/lists.rs`, so a new shell release cannot add a
//! variable that a `.env` then sets unnoticed; and everything the hook scripts define must be
//! out of a `.env`'s reach. Failures print names only.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::Command;

use envguard::load::names::{self, Class, Destination};

/// The words of `output` that are shell names (the rest is noise such as zsh's `$` or `#`).
fn names_in(output: &str) -> BTreeSet<String> {
    output
        .split_whitespace()
        .filter(|word| names::is_valid(word))
        .map(str::to_owned)
        .collect()
}

/// Runs `program args` with an empty environment (plus `extra`) and returns its stdout.
fn ask(program: &str, args: &[&str], extra: &[(&str, &str)]) -> String {
    let out = Command::new(program)
        .args(args)
        .env_clear()
        .envs(extra.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (the test command installs it): {e}"));
    assert!(out.status.success(), "{program} {args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A gzipped manual page's text, when the system has it (minimal images strip manuals).
fn manual(page: &str) -> Option<String> {
    let gz = Path::new("/usr/share/man/man1").join(format!("{page}.1.gz"));
    let out = Command::new("gzip").arg("-dc").arg(&gz).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The names roff `.TP` items define from one heading of a manual page to another (or the end).
fn manual_items(text: &str, from: &str, to: Option<&str>) -> BTreeSet<String> {
    let Some(start) = text.find(from) else {
        return BTreeSet::new();
    };
    let section = &text[start..];
    let end = to
        .and_then(|to| section[from.len()..].find(to))
        .map_or(section.len(), |at| at + from.len());
    let section = &section[..end];
    let mut found = BTreeSet::new();
    // Items indented under an item (`.RS` ... `.RE`) are its values, not variables.
    let mut depth = 0usize;
    let mut lines = section.lines().peekable();
    while let Some(line) = lines.next() {
        if line.starts_with(".RS") {
            depth += 1;
        } else if line.starts_with(".RE") {
            depth = depth.saturating_sub(1);
        } else if depth == 0 && (line == ".TP" || line.starts_with(".PD")) {
            if let Some(item) = lines.peek() {
                let item = item
                    .trim_start_matches(".B ")
                    .replace("\\fB", "")
                    .replace("\\fP", "")
                    .replace("\\&", "");
                found.extend(item.split_whitespace().next().map(str::to_owned));
            }
        }
    }
    found.retain(|name| names::is_valid(name));
    found
}

fn bash_names() -> BTreeSet<String> {
    // What bash sets itself, interactive and not.
    let mut found = names_in(&ask(
        "bash",
        &["--norc", "--noprofile", "-ic", "compgen -v"],
        &[],
    ));
    found.extend(names_in(&ask(
        "bash",
        &["--norc", "--noprofile", "-c", "compgen -v"],
        &[],
    )));
    // The variables its own help describes: the first column of `help variables`.
    let described = ask(
        "bash",
        &["--norc", "--noprofile", "-c", "help variables"],
        &[],
    );
    found.extend(described.lines().filter_map(|line| {
        let name = line.strip_prefix("    ")?.split('\t').next()?;
        names::is_valid(name).then(|| name.to_owned())
    }));
    if let Some(page) = manual("bash") {
        found.extend(manual_items(
            &page,
            ".SS Shell Variables",
            Some(".SS Arrays"),
        ));
    }
    found
}

fn zsh_names() -> BTreeSet<String> {
    // Every module loaded first (except the demo one, which only prints), so the parameters
    // modules add are asked about too.
    const SPECIALS: &str = r#"
        for d in $module_path; do
            for f in $d/zsh/**/*.so(N); do
                m=${${f#$d/}%.so}
                [[ $m == zsh/example ]] || zmodload $m 2>/dev/null
            done
        done
        for k in ${(k)parameters}; do
            [[ ${parameters[$k]} == *special* ]] && print -r -- $k
        done
        true
    "#;
    let mut found = names_in(&ask(
        "zsh",
        &["-fc", SPECIALS],
        &[("LANG", "C"), ("LC_ALL", "C"), ("TERM", "dumb")],
    ));
    if let Some(page) = manual("zshparam") {
        found.extend(manual_items(
            &page,
            ".SH \"PARAMETERS SET BY THE SHELL\"",
            None,
        ));
    }
    found
}

fn fish_names() -> BTreeSet<String> {
    let home = tempfile::tempdir().unwrap();
    let home = home.path().to_str().unwrap();
    names_in(&ask(
        "fish",
        &["--no-config", "-c", "set -n"],
        &[("HOME", home)],
    ))
}

#[test]
fn every_special_name_of_the_installed_shells_is_classified() {
    let mut unclassified = BTreeSet::new();
    for (shell, found) in [
        ("bash", bash_names()),
        ("zsh", zsh_names()),
        ("fish", fish_names()),
    ] {
        assert!(found.len() > 20, "{shell} reported only {found:?}");
        for name in found {
            if names::classify(&name).is_none() {
                unclassified.insert(format!("{shell}: {name}"));
            }
        }
    }
    assert!(
        unclassified.is_empty(),
        "shell names neither refused nor classified in src/load/names/lists.rs (decide each, with the reason): {unclassified:?}"
    );
}

/// Variable and function names a hook script defines: `NAME=`, `typeset -g NAME=`,
/// `local -r NAME=` and `NAME() {` in bash and zsh; `set [-flags] NAME` and `function NAME` in
/// fish.
fn defined_in(script: &str) -> BTreeSet<String> {
    const DEFINERS: &[&str] = &[
        "set", "function", "local", "typeset", "declare", "export", "readonly",
    ];
    let mut found = BTreeSet::new();
    for line in script.lines().map(str::trim) {
        let mut words = line
            .split_whitespace()
            .map(|word| word.trim_start_matches('\\'))
            .filter(|word| *word != "builtin");
        let Some(first) = words.next() else { continue };
        let defined = if DEFINERS.contains(&first) {
            words.find(|word| !word.starts_with('-'))
        } else if first.contains('=') || first.ends_with("()") {
            Some(first)
        } else {
            None
        };
        if let Some(name) = defined.and_then(|word| word.split(['=', '(']).next()) {
            found.insert(name.to_owned());
        }
    }
    found.retain(|name| names::is_valid(name));
    found
}

#[test]
fn every_name_the_hook_scripts_define_is_refused_everywhere() {
    let shell_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shell");
    let mut checked = 0;
    let mut open = Vec::new();
    for script in ["envguard.bash", "envguard.zsh", "envguard.fish"] {
        let mut text = String::new();
        fs::File::open(shell_dir.join(script))
            .and_then(|mut file| file.read_to_string(&mut text))
            .unwrap();
        let defined = defined_in(&text);
        assert!(
            ["__envguard_hook", "__envguard_exe", "__envguard_status"]
                .iter()
                .all(|name| defined.contains(*name)),
            "{script}: found only {defined:?}"
        );
        for name in defined {
            checked += 1;
            // The hook's own names are refused in any letter case; a shell's own (the bash
            // script sets PROMPT_COMMAND) as the shell spells it.
            let variants = if names::classify(&name) == Some(Class::Envguard) {
                vec![name.to_uppercase(), name.to_lowercase(), name]
            } else {
                vec![name]
            };
            for variant in variants {
                if names::refusal(&variant, Destination::Program).is_none() {
                    open.push(format!("{script}: {variant}"));
                }
            }
        }
    }
    assert!(checked >= 6, "read only {checked} names");
    assert!(open.is_empty(), "hook names a .env could set: {open:?}");
}
