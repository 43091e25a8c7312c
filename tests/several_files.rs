//! Several and named files through the real binary: `exec -f a -f b` layers files (later wins,
//! each guarded and allowed, all or nothing), and `set`, `unset`, `list`, `edit`, `check`,
//! `allow` work on `-f FILE` instead of the nearest `.env`.
//!
//! Values are compared inside the test; a failure names a variable or a length, never a value.

mod common;

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{TestEnv, assert_not_leaked, parse_env0, stderr, stdout, write_mode};

const SECRET: &str = "sk-live-3c2b1a09f8e7d6c5b4a3";

fn exec_env(env: &TestEnv, dir: &Path, files: &[&str]) -> HashMap<String, Vec<u8>> {
    let mut args = vec!["exec"];
    for file in files {
        args.extend(["-f", file]);
    }
    args.extend(["--", "env", "-0"]);
    let out = env.run(dir, &args);
    assert!(out.status.success(), "exec failed: {}", stderr(&out));
    parse_env0(&out.stdout)
}

fn allow(env: &TestEnv, dir: &Path, file: &str) {
    let out = env.run(dir, ["allow", "-f", file]);
    assert!(out.status.success(), "allow -f {file}: {}", stderr(&out));
}

#[test]
fn exec_layers_files_the_later_wins_and_sees_the_earlier() {
    let env = TestEnv::new();
    let dir = env.work().join("p");
    fs::create_dir_all(&dir).unwrap();
    write_mode(&dir.join("a.env"), "SHARED=a\nONLY_A=1\nHOST=db\n", 0o600);
    write_mode(
        &dir.join("b.env"),
        "SHARED=b\nONLY_B=2\nURL=postgres://${HOST}/x\n",
        0o600,
    );
    allow(&env, &dir, "a.env");
    allow(&env, &dir, "b.env");
    let seen = exec_env(&env, &dir, &["a.env", "b.env"]);
    let value = |name: &str| {
        seen.get(name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    assert_eq!(value("SHARED").as_deref(), Some("b"));
    assert_eq!(value("ONLY_A").as_deref(), Some("1"));
    assert_eq!(value("ONLY_B").as_deref(), Some("2"));
    assert_eq!(value("URL").as_deref(), Some("postgres://db/x"));
    let reversed = exec_env(&env, &dir, &["b.env", "a.env"]);
    assert_eq!(reversed.get("SHARED").map(Vec::as_slice), Some(&b"a"[..]));
}

#[test]
fn exec_loads_nothing_when_any_file_is_refused() {
    let env = TestEnv::new();
    let dir = env.work().join("p");
    fs::create_dir_all(&dir).unwrap();
    write_mode(&dir.join("a.env"), &format!("API_KEY={SECRET}\n"), 0o600);
    write_mode(&dir.join("b.env"), "B=1\n", 0o600);
    allow(&env, &dir, "a.env");

    // b.env was never allowed.
    let out = env.run(&dir, ["exec", "-f", "a.env", "-f", "b.env", "--", "env"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("b.env: is not allowed yet"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("envguard allow"), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "the program ran");
    assert_not_leaked(&out, SECRET);

    // Allowed, but open to others: the guard refuses it all the same.
    allow(&env, &dir, "b.env");
    fs::set_permissions(dir.join("b.env"), fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.run(&dir, ["exec", "-f", "a.env", "-f", "b.env", "--", "env"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("has mode 0644 and is open to group or others"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty(), "the program ran");
    assert_not_leaked(&out, SECRET);
}

#[test]
fn watch_takes_one_file() {
    let env = TestEnv::new();
    let dir = env.work().join("p");
    fs::create_dir_all(&dir).unwrap();
    let out = env.run(
        &dir,
        [
            "exec", "--watch", "-f", "a.env", "-f", "b.env", "--", "true",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--watch follows one .env"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_everyday_commands_work_on_a_named_file_and_leave_the_nearest_alone() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", "LOCAL=1\n");
    let before = fs::read(dir.join(".env")).unwrap();

    let out = env.run_with_input(
        &dir,
        ["set", "-f", ".env.production", "API_KEY"],
        SECRET.as_bytes(),
    );
    assert!(out.status.success(), "set -f: {}", stderr(&out));
    assert_not_leaked(&out, SECRET);
    let production = dir.join(".env.production");
    let mode = fs::metadata(&production).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600);
    let seen = exec_env(&env, &dir, &[".env.production"]);
    assert!(
        seen.get("API_KEY").is_some_and(|v| v == SECRET.as_bytes()),
        "API_KEY not loaded as set"
    );
    assert!(
        !seen.contains_key("LOCAL"),
        "the nearest .env was loaded too"
    );

    let out = env.run(&dir, ["list", "-f", ".env.production"]);
    assert!(out.status.success(), "list -f: {}", stderr(&out));
    assert!(
        stdout(&out).contains(".env.production: 1 variables, would load"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("API_KEY"), "{}", stdout(&out));
    assert_not_leaked(&out, SECRET);

    let out = env.run(&dir, ["check", "-f", ".env.production"]);
    assert!(out.status.success(), "check -f: {}", stdout(&out));
    assert!(
        stdout(&out).contains("parses: 1 variables (API_KEY)"),
        "{}",
        stdout(&out)
    );
    assert_not_leaked(&out, SECRET);

    // Edited by hand: no longer allowed until `allow -f`.
    fs::write(&production, format!("API_KEY={SECRET}\nDEBUG=1\n")).unwrap();
    let out = env.run(&dir, ["check", "-f", ".env.production"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("has changed since it was allowed"),
        "{}",
        stdout(&out)
    );
    allow(&env, &dir, ".env.production");
    assert!(exec_env(&env, &dir, &[".env.production"]).contains_key("DEBUG"));

    let out = env.run(&dir, ["unset", "-f", ".env.production", "DEBUG"]);
    assert!(out.status.success(), "unset -f: {}", stderr(&out));
    let out = env.run(&dir, ["list", "--names", "-f", ".env.production"]);
    assert_eq!(stdout(&out), "API_KEY\n");

    let editor = env.work().join("editor.sh");
    write_mode(
        &editor,
        "#!/bin/sh\nprintf 'EDITED=1\\n' >> \"$1\"\n",
        0o755,
    );
    let out = env
        .cmd(&dir, ["edit", "-f", ".env.production"])
        .env("EDITOR", &editor)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "edit -f: {}", stderr(&out));
    assert!(exec_env(&env, &dir, &[".env.production"]).contains_key("EDITED"));

    assert_eq!(
        fs::read(dir.join(".env")).unwrap(),
        before,
        "the nearest .env changed"
    );
}

#[test]
fn unset_on_a_missing_named_file_says_so() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", "A=1\n");
    let out = env.run(&dir, ["unset", "-f", ".env.staging", "A"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(".env.staging: does not exist, so nothing is set in it"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.join(".env.staging").exists());
}

#[test]
fn a_missing_file_gets_a_fix_that_works_where_it_is_shown() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", "A=1\n");
    // A typo: the fix must not be `rm` of a path that does not exist.
    let out = env.run(&dir, ["allow", "-f", ".env.prodution"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(".env.prodution: does not exist"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("rm "), "{}", stderr(&out));
    let fix = stderr(&out)
        .split_once("(fix: check the path, or create it: ")
        .map(|(_, fix)| fix.trim_end().trim_end_matches(')').to_owned())
        .unwrap_or_else(|| panic!("no fix in: {}", stderr(&out)));
    assert!(fix.ends_with(" NAME"), "{fix}");
    // The shown command, run as shown (with a name for NAME), creates the file.
    let command = fix.trim_end_matches(" NAME").to_owned() + " B";
    let args: Vec<&str> = command.split(' ').skip(1).collect();
    let out = env.run_with_input(&dir, &args, b"2");
    assert!(out.status.success(), "{command}: {}", stderr(&out));
    assert!(exec_env(&env, &dir, &[".env.prodution"]).contains_key("B"));

    // A dangling symlink: the fix removes the link or points it somewhere.
    let other = env.work().join("q");
    fs::create_dir_all(&other).unwrap();
    std::os::unix::fs::symlink("gone.env", other.join(".env")).unwrap();
    let out = env.run(&other, ["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("is a symlink to a file that does not exist"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("rm "), "{}", stdout(&out));
}
