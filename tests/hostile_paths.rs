//! A project directory whose name is built to fake output: a newline followed by a line that
//! looks like envguard's own, and an escape sequence that erases the terminal line. Every
//! command that names the project's files must show that name escaped, so that nothing it
//! prints can be forged by the name (the hook and `status` have their own test in
//! hostile_hook.rs). The name is one path component, so that the kernel's display name (made
//! from the last one) holds all of it, and UTF-8, because a kernelspec can hold only UTF-8 paths.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;

/// What a raw newline in the name would print at the start of a line of its own.
const FAKE_LINE: &str = "envguard: loaded ~fake";

fn hostile_dir(env: &TestEnv) -> PathBuf {
    let dir = env
        .work()
        .join(format!("evil\n{FAKE_LINE}\u{1b}[2K\u{202e}x"));
    fs::create_dir(&dir).unwrap();
    dir
}

/// The name, as `escape_for_display` shows it.
const ESCAPED: &str = r"evil\nenvguard: loaded ~fake\e[2K\u202ex";

/// Asserts that `out` succeeded and printed the name only escaped.
fn assert_escaped(what: &str, out: &Output) {
    let text = format!("{}{}", stdout(out), stderr(out));
    assert!(out.status.success(), "{what} failed: {text:?}");
    assert_text_escaped(what, &text);
}

/// Asserts that `text` shows the name escaped at least once and holds no control character
/// but the newlines ending its lines, so that no line of it comes from the name.
fn assert_text_escaped(what: &str, text: &str) {
    let raw = text
        .chars()
        .find(|&c| (c.is_control() && c != '\n') || c == '\u{202e}');
    assert_eq!(raw, None, "{what}: a raw control character in {text:?}");
    assert!(
        !text.lines().any(|line| line.starts_with(FAKE_LINE)),
        "{what}: the name made a line of its own: {text:?}"
    );
    assert!(
        text.contains(ESCAPED),
        "{what}: the name is not shown escaped: {text:?}"
    );
}

fn run_with(env: &TestEnv, dir: &Path, args: &[&str], input: &str) -> Output {
    env.run_with_input(dir, args, input.as_bytes())
}

#[test]
fn commands_that_write_or_show_a_env_escape_its_path() {
    let env = TestEnv::new();
    let dir = hostile_dir(&env);

    // A new file, unallowed, then one that `init --force` empties and allows.
    assert_escaped(
        "set (created)",
        &run_with(&env, &dir, &["set", "EG_A"], "a\n"),
    );
    assert_escaped("init", &env.run(&dir, ["init", "--force"]));
    assert_escaped("set", &run_with(&env, &dir, &["set", "EG_B"], "b\n"));
    // A name that makes other programs run code gets a warning line naming the file.
    assert_escaped(
        "set (warning)",
        &run_with(&env, &dir, &["set", "GIT_PAGER"], "less\n"),
    );
    assert_escaped("unset", &env.run(&dir, ["unset", "EG_B", "EG_NEVER_SET"]));
    assert_escaped("allow", &env.run(&dir, ["allow"]));
    assert_escaped("list", &env.run(&dir, ["list"]));
    let editor = env.root.path().join("editor");
    write_mode(&editor, "#!/bin/sh\necho EG_EDITED=1 >> \"$1\"\n", 0o755);
    assert_escaped("edit", &env.edit(&dir, &editor).output().unwrap());

    let missing = dir.join("no-such-program");
    let out = env.run(&dir, ["exec".as_ref(), "--".as_ref(), missing.as_os_str()]);
    assert_eq!(out.status.code(), Some(127), "{:?}", stderr(&out));
    assert_text_escaped("exec (not found)", &stderr(&out));

    let python = std::env::var("ENVGUARD_TEST_PYTHON").expect(
        "ENVGUARD_TEST_PYTHON must name a Python with ipykernel installed (run ./scripts/test)",
    );
    let jupyter_data = env.root.path().join("jupyter-data");
    let kernel = |args: &[&str]| {
        env.cmd(&dir, ["kernel"].iter().chain(args))
            .env("JUPYTER_DATA_DIR", &jupyter_data)
            .output()
            .unwrap()
    };
    assert_escaped("kernel install", &kernel(&["install", "--python", &python]));
    let listed = kernel(&["list"]);
    assert_escaped("kernel list", &listed);
    assert_eq!(stdout(&listed).lines().count(), 1, "{:?}", stdout(&listed));
}
