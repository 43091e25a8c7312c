//! Who reads a team's `.env.shared` (issue 13): `share add` lets a teammate in, `share
//! remove` shuts one out of every value, `unset --shared` drops a value, each through the
//! real binary, two HOMEs (two identities) and the real `age` CLI as the judge of who can
//! open what.
//!
//! Values are compared inside the test; a failure names a variable or a length, never a value.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{TestEnv, assert_not_leaked, parse_env0, stderr, stdout};

const API_KEY: &str = "sk-share-4c1d9e7a2b5f8e3a6d0c";
const DB_PASSWORD: &str = "pw-share-b7d5c3a1e9f0";

fn run(env: &TestEnv, dir: &Path, args: &[&str]) -> Output {
    let out = env.run(dir, args);
    assert_not_leaked(&out, API_KEY);
    assert_not_leaked(&out, DB_PASSWORD);
    out
}

fn ok(env: &TestEnv, dir: &Path, args: &[&str]) -> Output {
    let out = run(env, dir, args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    out
}

fn share_me(env: &TestEnv) -> String {
    stdout(&ok(env, &env.work(), &["share", "me"]))
        .trim()
        .to_owned()
}

fn identity_path(env: &TestEnv) -> PathBuf {
    env.root.path().join("config/envguard/identity.txt")
}

/// A project of `alice`'s, started with `share init`, holding API_KEY and DB_PASSWORD below a
/// comment.
fn alices_project(alice: &TestEnv) -> PathBuf {
    let dir = alice.work().join("team");
    fs::create_dir_all(&dir).unwrap();
    ok(alice, &dir, &["share", "init"]);
    let shared = dir.join(".env.shared");
    fs::write(&shared, "# the team's variables\n").unwrap();
    ok(alice, &dir, &["allow", ".env.shared"]);
    for (name, value) in [("API_KEY", API_KEY), ("DB_PASSWORD", DB_PASSWORD)] {
        let out = alice.run_with_input(&dir, ["set", "--shared", name], value.as_bytes());
        assert_not_leaked(&out, value);
        assert!(out.status.success(), "set --shared: {}", stderr(&out));
    }
    dir
}

/// Whether `age -d` with `identity` opens `name`'s line to exactly `NAME=value`.
fn age_opens(dir: &Path, name: &str, value: &str, identity: &Path) -> bool {
    let out = common::age_cli_decrypt(dir, name, identity);
    out.status.success() && out.stdout == format!("{name}={value}").as_bytes()
}

/// The environment `exec` gives a program in `dir`: its stdout is `env -0`, values and all,
/// so only stderr (envguard's) is checked for leaks.
fn exec_env(env: &TestEnv, dir: &Path) -> Output {
    let out = env.run(dir, ["exec", "--", "env", "-0"]);
    for secret in [API_KEY, DB_PASSWORD] {
        assert!(
            !stderr(&out).contains(secret),
            "a secret appeared on stderr"
        );
    }
    out
}

fn loads_both(env: &TestEnv, dir: &Path) -> bool {
    let out = exec_env(env, dir);
    if !out.status.success() {
        return false;
    }
    let seen = parse_env0(&out.stdout);
    seen.get("API_KEY").map(Vec::as_slice) == Some(API_KEY.as_bytes())
        && seen.get("DB_PASSWORD").map(Vec::as_slice) == Some(DB_PASSWORD.as_bytes())
}

#[test]
fn share_add_lets_the_second_teammate_in_and_keeps_every_other_line() {
    let (alice, bob) = (TestEnv::new(), TestEnv::new());
    let dir = alices_project(&alice);
    let bob_recipient = share_me(&bob);
    let refused = run(&bob, &dir, &["allow", ".env.shared"]);
    assert!(!refused.status.success(), "bob opened it before share add");

    let out = ok(
        &alice,
        &dir,
        &["share", "add", &bob_recipient, "--label", "bob"],
    );
    assert!(stderr(&out).contains("2 recipients"), "{}", stderr(&out));
    let listed = fs::read_to_string(dir.join(".env.recipients")).unwrap();
    assert!(listed.contains("# bob (added "), "no label line: {listed}");
    assert!(listed.ends_with(&format!("{bob_recipient}\n")), "{listed}");
    let shared = fs::read_to_string(dir.join(".env.shared")).unwrap();
    assert!(
        shared.starts_with("# the team's variables\n"),
        "comment lost"
    );

    for (name, value) in [("API_KEY", API_KEY), ("DB_PASSWORD", DB_PASSWORD)] {
        assert!(
            age_opens(&dir, name, value, &identity_path(&bob)),
            "age -d with bob's key does not open {name}"
        );
    }
    assert!(
        loads_both(&alice, &dir),
        "alice lost access or had to re-allow"
    );
    ok(&bob, &dir, &["allow", ".env.shared"]);
    assert!(loads_both(&bob, &dir), "bob does not load the values");

    // A file of recipients works too; one already listed is not listed twice.
    let file = bob.work().join("recipients.txt");
    fs::write(&file, format!("# bob again\n{bob_recipient}\n")).unwrap();
    let out = ok(&alice, &dir, &["share", "add", file.to_str().unwrap()]);
    assert!(
        stderr(&out).contains("already a recipient"),
        "{}",
        stderr(&out)
    );
    let again = fs::read_to_string(dir.join(".env.recipients")).unwrap();
    assert_eq!(again, listed, "a listed recipient was added again");
}

#[test]
fn share_add_by_someone_who_cannot_decrypt_changes_nothing_and_says_who_can() {
    let (alice, outsider) = (TestEnv::new(), TestEnv::new());
    let dir = alices_project(&alice);
    let theirs = share_me(&outsider);
    let before: Vec<Vec<u8>> = [".env.shared", ".env.recipients"]
        .iter()
        .map(|file| fs::read(dir.join(file)).unwrap())
        .collect();
    let out = run(&outsider, &dir, &["share", "add", &theirs]);
    assert!(!out.status.success(), "an outsider added themselves");
    let words = stderr(&out);
    assert!(words.contains("you are not a recipient"), "{words}");
    assert!(words.contains("lists: "), "does not say who can: {words}");
    let after: Vec<Vec<u8>> = [".env.shared", ".env.recipients"]
        .iter()
        .map(|file| fs::read(dir.join(file)).unwrap())
        .collect();
    assert!(before == after, "a refused share add changed a file");

    let out = run(&alice, &dir, &["share", "add", "age1notakey"]);
    assert!(!out.status.success(), "a bad recipient was accepted");
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}

#[test]
fn share_remove_shuts_the_removed_one_out_of_every_value_and_lists_what_to_rotate() {
    let (alice, bob) = (TestEnv::new(), TestEnv::new());
    let dir = alices_project(&alice);
    let bob_recipient = share_me(&bob);
    ok(
        &alice,
        &dir,
        &["share", "add", &bob_recipient, "--label", "bob"],
    );
    ok(&bob, &dir, &["allow", ".env.shared"]);
    assert!(loads_both(&bob, &dir), "bob was not let in");

    let out = ok(&alice, &dir, &["share", "remove", "bob"]);
    let words = stderr(&out);
    assert!(words.contains("already seen every value"), "{words}");
    assert!(
        words.contains("rotate each: API_KEY, DB_PASSWORD"),
        "{words}"
    );
    let listed = fs::read_to_string(dir.join(".env.recipients")).unwrap();
    assert!(!listed.contains(&bob_recipient), "bob is still listed");
    assert!(!listed.contains("# bob"), "bob's label line was left");
    for (name, value) in [("API_KEY", API_KEY), ("DB_PASSWORD", DB_PASSWORD)] {
        assert!(
            !age_opens(&dir, name, value, &identity_path(&bob)),
            "bob's key still opens {name}"
        );
        assert!(
            age_opens(&dir, name, value, &identity_path(&alice)),
            "alice's key no longer opens {name}"
        );
    }
    assert!(!loads_both(&bob, &dir), "bob still loads the values");
    assert!(loads_both(&alice, &dir), "alice lost the values");
}

#[test]
fn share_remove_refuses_the_last_recipient_and_locking_yourself_out_unless_forced() {
    let (alice, bob) = (TestEnv::new(), TestEnv::new());
    let dir = alices_project(&alice);
    let alice_recipient = share_me(&alice);
    let out = run(&alice, &dir, &["share", "remove", &alice_recipient]);
    assert!(!out.status.success(), "the last recipient was removed");
    assert!(stderr(&out).contains("last recipient"), "{}", stderr(&out));

    ok(
        &alice,
        &dir,
        &["share", "add", &share_me(&bob), "--label", "bob"],
    );
    let before = fs::read(dir.join(".env.shared")).unwrap();
    let out = run(&alice, &dir, &["share", "remove", &alice_recipient]);
    assert!(!out.status.success(), "alice locked herself out");
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert!(
        fs::read(dir.join(".env.shared")).unwrap() == before,
        "a refused remove changed .env.shared"
    );

    ok(
        &alice,
        &dir,
        &["share", "remove", "--force", &alice_recipient],
    );
    assert!(
        !age_opens(&dir, "API_KEY", API_KEY, &identity_path(&alice)),
        "alice's key still opens API_KEY"
    );
    ok(&bob, &dir, &["allow", ".env.shared"]);
    assert!(loads_both(&bob, &dir), "bob cannot read after alice left");
}

#[test]
fn unset_shared_removes_only_that_line_and_keeps_the_file_allowed() {
    let alice = TestEnv::new();
    let dir = alices_project(&alice);
    let shared = dir.join(".env.shared");
    let before = fs::read_to_string(&shared).unwrap();
    let out = ok(&alice, &dir, &["unset", "--shared", "DB_PASSWORD"]);
    assert!(stderr(&out).contains("(allowed)"), "{}", stderr(&out));
    let after = fs::read_to_string(&shared).unwrap();
    let expected: String = before
        .split_inclusive('\n')
        .filter(|line| !line.starts_with("DB_PASSWORD="))
        .collect();
    assert!(after == expected, "unset --shared changed other lines");
    let out = exec_env(&alice, &dir);
    assert!(out.status.success(), "exec: {}", stderr(&out));
    let seen = parse_env0(&out.stdout);
    assert!(seen.contains_key("API_KEY"), "API_KEY no longer loads");
    assert!(!seen.contains_key("DB_PASSWORD"), "DB_PASSWORD still loads");
}

#[test]
fn share_import_encrypts_a_plaintext_env_into_the_team_file_and_says_to_rotate() {
    let alice = TestEnv::new();
    let dir = alice.work().join("team");
    fs::create_dir_all(&dir).unwrap();
    ok(&alice, &dir, &["share", "init"]);
    let plain = alice.work().join("plain.env");
    let contents = format!("# old\nAPI_KEY={API_KEY}\nexport DB_PASSWORD=\"{DB_PASSWORD}\"\n");

    common::write_mode(&plain, &contents, 0o666);
    let out = run(&alice, &dir, &["share", "import", plain.to_str().unwrap()]);
    assert!(
        !out.status.success(),
        "a file others can write was imported"
    );
    assert!(
        fs::read(dir.join(".env.shared")).unwrap().is_empty(),
        "a refused import wrote to .env.shared"
    );

    common::write_mode(&plain, &contents, 0o600);
    let out = ok(&alice, &dir, &["share", "import", plain.to_str().unwrap()]);
    let words = stderr(&out);
    assert!(
        words.contains("rotate each value: API_KEY, DB_PASSWORD"),
        "{words}"
    );
    let shared = fs::read_to_string(dir.join(".env.shared")).unwrap();
    assert!(
        !shared.contains(API_KEY) && !shared.contains(DB_PASSWORD),
        "a plaintext value reached .env.shared"
    );
    for (name, value) in [("API_KEY", API_KEY), ("DB_PASSWORD", DB_PASSWORD)] {
        assert!(
            age_opens(&dir, name, value, &identity_path(&alice)),
            "age -d does not open {name}"
        );
    }
    assert!(loads_both(&alice, &dir), "the imported values do not load");
    assert!(
        fs::read_to_string(&plain).unwrap() == contents,
        "import changed its source"
    );
}
