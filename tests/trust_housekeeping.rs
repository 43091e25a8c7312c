//! Trust housekeeping through the real binary: `allowed` (every allowed file and its state),
//! `deny --missing`, the review `allow` prints for a changed file (by keyed fingerprints, never
//! values), and the warning `allow`, `set` and `edit` give about a `.env` that real git tracks
//! or does not ignore, whose fix is run as shown.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use common::{TestEnv, assert_not_leaked, git, stderr, stdout, write_mode};

const API_KEY: &str = "sk-live-9f8e7d6c5b4a39281706f5e4d3c2b1a0";
const NEW_KEY: &str = "sk-live-0a1b2c3d4e5f60718293a4b5c6d7e8f9";
const OLD_VALUE: &str = "old-secret-value-4711";

fn ok(out: Output) -> Output {
    assert!(out.status.success(), "envguard failed: {}", stderr(&out));
    out
}

/// The `(fix: …)` of the one warning line that contains `about`.
fn fix_in(text: &str, about: &str) -> String {
    let line = text
        .lines()
        .find(|line| line.contains(about))
        .unwrap_or_else(|| panic!("no line about {about:?} in: {text}"));
    let fix = line.split_once("(fix: ").expect("the warning has a fix").1;
    fix.strip_suffix(')').expect("the fix ends the line").into()
}

/// The state column of the row for `path` in `envguard allowed`.
fn state_of(listing: &str, path: &str) -> String {
    let row = listing
        .lines()
        .find(|line| line.ends_with(&format!("  {path}")))
        .unwrap_or_else(|| panic!("no row for {path} in: {listing}"));
    row[..row.len() - path.len()].trim_end().into()
}

#[test]
fn allowed_lists_every_file_with_its_state_and_deny_missing_forgets_the_gone() {
    let env = TestEnv::new();
    let unchanged = env.allowed_project("unchanged", "A=1\n");
    let edited = env.allowed_project("edited", "A=1\n");
    fs::write(edited.join(".env"), "A=2\n").unwrap();
    let loose = env.allowed_project("loose", "A=1\n");
    fs::set_permissions(loose.join(".env"), fs::Permissions::from_mode(0o644)).unwrap();
    let deleted = env.allowed_project("deleted", "A=1\n");
    let moved = env.allowed_project("moved", "A=1\n");
    // A directory name with a newline could fake a row if printed raw.
    let _hostile = env.allowed_project("evil\nok  /fake", "A=1\n");
    fs::remove_file(deleted.join(".env")).unwrap();
    fs::rename(&moved, env.work().join("moved-away")).unwrap();

    let out = ok(env.run(&env.work(), ["allowed"]));
    let listing = stdout(&out);
    let shown = |dir: &Path| dir.join(".env").display().to_string();
    assert_eq!(state_of(&listing, &shown(&unchanged)), "ok");
    assert_eq!(state_of(&listing, &shown(&edited)), "changed since allowed");
    assert_eq!(state_of(&listing, &shown(&loose)), "loose mode");
    assert_eq!(state_of(&listing, &shown(&deleted)), "missing");
    assert_eq!(state_of(&listing, &shown(&moved)), "missing");
    let escaped = format!("{}/evil\\nok  /fake/.env", env.work().display());
    assert_eq!(state_of(&listing, &escaped), "ok");
    assert!(
        !listing.contains("\nok  /fake"),
        "raw newline in: {listing}"
    );
    // Each problem's fix, under its row, is the command that repairs it.
    assert!(listing.contains(&format!("fix: chmod 600 {}", shown(&loose))));
    assert!(listing.contains(&format!("fix: envguard allow {}", shown(&edited))));
    assert_eq!(listing.matches("fix: envguard deny --missing").count(), 2);
    let rows = listing.lines().filter(|l| !l.starts_with(' ')).count();
    assert_eq!(rows, 6, "one row per allowed file: {listing}");

    let out = ok(env.run(&env.work(), ["deny", "--missing"]));
    let said = stderr(&out);
    assert!(said.contains(&format!("forgot {} (no longer exists)", shown(&deleted))));
    assert!(said.contains(&format!("forgot {} (no longer exists)", shown(&moved))));
    assert_eq!(said.lines().count(), 2, "{said}");

    let listing = stdout(&ok(env.run(&env.work(), ["allowed"])));
    assert!(!listing.contains("missing"), "{listing}");
    assert_eq!(state_of(&listing, &shown(&unchanged)), "ok");
    assert_eq!(state_of(&listing, &shown(&loose)), "loose mode");
    // The files that still exist are still allowed: the unchanged one loads.
    ok(env.run(&unchanged, ["exec", "--", "true"]));

    let said = stderr(&ok(env.run(&env.work(), ["deny", "--missing"])));
    assert!(said.contains("nothing to forget"), "{said}");
    let refused = env.run(&env.work(), ["deny", "--missing", "."]);
    assert!(!refused.status.success(), "--missing takes no path");
}

#[test]
fn allowed_with_an_empty_store_says_so() {
    let env = TestEnv::new();
    let out = ok(env.run(&env.work(), ["allowed"]));
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).contains("no file is allowed yet"));
}

#[test]
fn allow_of_a_changed_file_names_what_changed_never_a_value() {
    let env = TestEnv::new();
    let before = format!("API_KEY={API_KEY}\nOLD={OLD_VALUE}\nSAME=kept\n");
    let dir = env.allowed_project("p", &before);
    let after = format!("# rotated\nAPI_KEY={NEW_KEY}\nNEW=fresh\nSAME=kept\n");
    fs::write(dir.join(".env"), &after).unwrap();

    let out = ok(env.run(&dir, ["allow"]));
    let said = stderr(&out);
    assert!(
        said.contains("changed since it was last allowed: +NEW ~API_KEY -OLD\n"),
        "{said}"
    );
    for value in [API_KEY, NEW_KEY, OLD_VALUE, "fresh", "kept"] {
        assert_not_leaked(&out, value);
    }

    // The store holds keyed fingerprints, in a file of their own that loads never read: no
    // value, and no plain hash of one.
    let store_dir = env.data_dir().join("envguard");
    let digests = fs::read_to_string(store_dir.join("trust.json")).unwrap();
    let fingerprints = fs::read_to_string(store_dir.join("fingerprints.json")).unwrap();
    for value in [API_KEY, NEW_KEY, "fresh", "kept"] {
        let plain = sha256_hex(value.as_bytes());
        for store in [&digests, &fingerprints] {
            assert!(!store.contains(value), "a value is in the trust store");
            assert!(
                !store.contains(&plain),
                "a plain hash of a value is in the store"
            );
        }
    }
    assert!(!digests.contains("API_KEY") && fingerprints.contains("\"API_KEY\""));
    let keys = store_dir.join("fingerprint-keys");
    let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&store_dir.join("fingerprints.json")), 0o600);
    assert_eq!(mode(&keys), 0o700);
    assert_eq!(mode(&keys.join("trust")), 0o600);

    // A change of comments only is said to be that.
    fs::write(dir.join(".env"), format!("{after}# note\n")).unwrap();
    let said = stderr(&ok(env.run(&dir, ["allow"])));
    assert!(said.contains("no name or value changed"), "{said}");
    // Allowing an unchanged file reviews nothing.
    let said = stderr(&ok(env.run(&dir, ["allow"])));
    assert!(!said.contains("changed since"), "{said}");
    // `set` re-allows with new fingerprints: the next review compares with what it wrote.
    ok(env.run_with_input(&dir, ["set", "SAME"], b"other\n"));
    fs::write(
        dir.join(".env"),
        fs::read_to_string(dir.join(".env")).unwrap() + "EXTRA=1\n",
    )
    .unwrap();
    let said = stderr(&ok(env.run(&dir, ["allow"])));
    assert!(said.contains("last allowed: +EXTRA\n"), "{said}");
}

#[test]
fn allow_of_a_large_file_lists_forty_names_and_counts_the_rest() {
    let env = TestEnv::new();
    let contents: String = (0..500).map(|i| format!("VAR_{i:03}=v{i}\n")).collect();
    let dir = env.project("p", &contents, 0o600);
    let said = stderr(&ok(env.run(&dir, ["allow"])));
    assert!(
        said.contains("(500 variables: VAR_000, VAR_001, "),
        "{said}"
    );
    assert!(said.contains("VAR_039 (and 460 more)"), "{said}");
    assert!(!said.contains("VAR_040"), "{said}");
}

#[test]
fn a_store_from_before_fingerprints_still_loads_and_the_review_says_it_cannot_tell() {
    let env = TestEnv::new();
    let dir = env.project("p", &format!("API_KEY={API_KEY}\n"), 0o600);
    let canonical = fs::canonicalize(dir.join(".env")).unwrap();
    let digest = sha256_hex(&fs::read(&canonical).unwrap());
    let store_dir = env.data_dir().join("envguard");
    fs::create_dir_all(&store_dir).unwrap();
    fs::set_permissions(&store_dir, fs::Permissions::from_mode(0o700)).unwrap();
    let old_store = format!(
        "{{\n  \"version\": 1,\n  \"allowed\": {{\n    \"{}\": \"{digest}\"\n  }}\n}}\n",
        canonical.display()
    );
    write_mode(&store_dir.join("trust.json"), &old_store, 0o600);

    ok(env.run(&dir, ["exec", "--", "true"]));
    let listing = stdout(&ok(env.run(&dir, ["allowed"])));
    assert_eq!(state_of(&listing, &canonical.display().to_string()), "ok");

    fs::write(dir.join(".env"), format!("API_KEY={NEW_KEY}\n")).unwrap();
    let out = ok(env.run(&dir, ["allow"]));
    assert!(
        stderr(&out).contains("changed since it was last allowed: envguard cannot tell what"),
        "{}",
        stderr(&out)
    );
    assert_not_leaked(&out, NEW_KEY);
    ok(env.run(&dir, ["exec", "--", "true"]));
}

#[test]
fn allow_set_and_edit_warn_about_a_tracked_env_and_the_fixes_work_as_shown() {
    let env = TestEnv::new();
    let dir = env.allowed_project("repo", &format!("API_KEY={API_KEY}\n"));
    git(&dir, &["init", "-q"]);
    git(&dir, &["add", "-f", ".env"]);
    git(&dir, &["commit", "-q", "-m", "oops"]);

    let editor = env.root.path().join("editor.sh");
    write_mode(&editor, "#!/bin/sh\necho EDITED=1 >> \"$1\"\n", 0o755);
    let outputs = [
        env.run(&dir, ["allow"]),
        env.run_with_input(&dir, ["set", "OTHER"], b"v\n"),
        env.edit(&dir, &editor).output().unwrap(),
    ];
    for out in &outputs {
        let out = ok(out.clone());
        let said = stderr(&out);
        assert_eq!(said.matches("is tracked by git").count(), 1, "{said}");
        let fix = fix_in(&said, "is tracked by git");
        assert_eq!(
            fix,
            "git rm --cached .env, then rotate every secret in it that was pushed"
        );
        assert_not_leaked(&out, API_KEY);
    }

    // From elsewhere, the fix names the repository with `git -C`; run as shown, it works.
    let said = stderr(&ok(env.run(&env.work(), ["allow", "repo"])));
    let fix = fix_in(&said, "is tracked by git");
    let command = fix.split(", then").next().unwrap();
    assert_eq!(
        command,
        format!("git -C {} rm --cached .env", dir.display())
    );
    run_in_shell(&env.work(), command);

    // Untracked but not ignored: the next warning's fix ignores it.
    let said = stderr(&ok(env.run(&dir, ["allow"])));
    assert!(!said.contains("tracked by git"), "{said}");
    let fix = fix_in(&said, "is not ignored by git");
    assert_eq!(fix, format!("echo .env >> {}/.gitignore", dir.display()));
    // A .gitignore without a final newline still gets the pattern on a line of its own.
    fs::write(dir.join(".gitignore"), "target").unwrap();
    let fix = fix_in(&stderr(&ok(env.run(&dir, ["allow"]))), "not ignored");
    run_in_shell(&dir, &fix);
    let said = stderr(&ok(env.run(&dir, ["allow"])));
    assert!(!said.contains("by git"), "{said}");
    assert_eq!(
        fs::read_to_string(dir.join(".gitignore")).unwrap(),
        "target\n.env\n"
    );
    let said = stderr(&ok(env.run_with_input(&dir, ["set", "OTHER"], b"w\n")));
    assert!(!said.contains("by git"), "{said}");
}

#[test]
fn a_env_outside_any_repository_gets_no_git_warning() {
    let env = TestEnv::new();
    let dir = env.project("plain", "A=1\n", 0o600);
    let said = stderr(&ok(env.run(&dir, ["allow"])));
    assert!(!said.contains("git"), "{said}");
}

fn run_in_shell(dir: &Path, command: &str) {
    let out = Command::new("sh")
        .args(["-c", command])
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(out.status.success(), "`{command}` failed: {}", stderr(&out));
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn an_allowed_file_now_owned_by_another_user_is_listed_as_not_yours() {
    if !common::is_root() {
        return;
    }
    let env = TestEnv::new();
    let dir = env.allowed_project("p", "A=1\n");
    let (uid, gid) = common::other_user();
    std::os::unix::fs::chown(dir.join(".env"), Some(uid), Some(gid)).unwrap();
    let listing = stdout(&ok(env.run(&dir, ["allowed"])));
    let shown = dir.join(".env").display().to_string();
    assert_eq!(state_of(&listing, &shown), "not yours");
    assert!(!listing.contains("ok  "), "{listing}");
}

#[test]
fn a_key_directory_others_can_read_allows_without_fingerprints_and_says_how_to_fix_it() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", &format!("API_KEY={API_KEY}\n"));
    let keys = env.data_dir().join("envguard/fingerprint-keys");
    fs::set_permissions(&keys, fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(dir.join(".env"), format!("API_KEY={NEW_KEY}\n")).unwrap();

    let out = ok(env.run(&dir, ["allow"]));
    let said = stderr(&out);
    assert!(said.contains("envguard cannot tell what"), "{said}");
    assert!(said.contains("allowed without fingerprints"), "{said}");
    assert_not_leaked(&out, NEW_KEY);
    // Allowed all the same: trust does not depend on the fingerprints.
    ok(env.run(&dir, ["exec", "--", "true"]));

    let fix = fix_in(&said, "allowed without fingerprints");
    run_in_shell(&dir, &fix);
    assert_eq!(
        fs::metadata(&keys).unwrap().permissions().mode() & 0o777,
        0o700
    );
    fs::write(dir.join(".env"), format!("API_KEY={API_KEY}\n")).unwrap();
    let said = stderr(&ok(env.run(&dir, ["allow"])));
    // The entry was allowed without fingerprints, so this review cannot tell either; the
    // next one can.
    assert!(said.contains("cannot tell what"), "{said}");
    assert!(!said.contains("without fingerprints"), "{said}");
    fs::write(dir.join(".env"), format!("API_KEY={NEW_KEY}\n")).unwrap();
    let said = stderr(&ok(env.run(&dir, ["allow"])));
    assert!(said.contains("last allowed: ~API_KEY\n"), "{said}");
}
