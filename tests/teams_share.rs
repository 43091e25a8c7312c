//! Who reads a team's `.env.shared` and what it holds (issue 13): `share add` lets a
//! teammate in, `share remove` shuts one out of every value, `unset --shared` drops a value,
//! `edit --shared` changes values in an editor (a scripted one: a sh script running sed),
//! each through the real binary, two HOMEs (two identities) and the real `age` CLI as the
//! judge of who can open what.
//!
//! Values are compared inside the test; a failure names a variable or a length, never a value.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
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
    // The outsider never allowed the list (they cannot: `allow` needs them to open the
    // values), so the recipients' trust gate refuses first; either refusal says who can.
    let words = stderr(&out);
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

/// An `$EDITOR` for `edit --shared`: a sh script running `body` with the copy as `$1`. It
/// also records where the copy was and the modes of it and its directory (never its
/// contents) in `editor.log` beside itself.
fn scripted_editor(env: &TestEnv, body: &str) -> PathBuf {
    let editor = env.root.path().join("editor.sh");
    let log = env.root.path().join("editor.log");
    let script = format!(
        "#!/bin/sh\nset -e\nstat -c '%a %n' \"$(dirname \"$1\")\" \"$1\" >> '{}'\n{body}\n",
        log.display()
    );
    common::write_mode(&editor, &script, 0o755);
    editor
}

/// What the scripted editor recorded: (mode of the copy's directory, mode of the copy, the
/// copy's path) for each time it ran.
fn editor_log(env: &TestEnv) -> Vec<(String, String, PathBuf)> {
    let log = fs::read_to_string(env.root.path().join("editor.log")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines
        .chunks(2)
        .map(|pair| {
            let dir_mode = pair[0].split(' ').next().unwrap().to_owned();
            let (mode, copy) = pair[1].split_once(' ').unwrap();
            (dir_mode, mode.to_owned(), PathBuf::from(copy))
        })
        .collect()
}

fn edit_shared(env: &TestEnv, dir: &Path, editor: &Path) -> Output {
    let out = env
        .edit(dir, editor)
        .args(["--shared"])
        .env("ENVGUARD", common::BIN)
        .output()
        .unwrap();
    assert_not_leaked(&out, API_KEY);
    assert_not_leaked(&out, DB_PASSWORD);
    out
}

fn line_of<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines()
        .find(|line| line.starts_with(&format!("{name}=")))
}

#[test]
fn edit_shared_reencrypts_only_what_changed_in_a_private_copy_that_is_then_gone() {
    let alice = TestEnv::new();
    let dir = alices_project(&alice);
    let shared = dir.join(".env.shared");
    let before = fs::read_to_string(&shared).unwrap();
    let editor = scripted_editor(
        &alice,
        "sed -i \"s/^API_KEY=.*/API_KEY='rotated-4f1e'/\" \"$1\"\necho \"NEW_TOKEN='tok-9a7c'\" >> \"$1\"",
    );
    let out = edit_shared(&alice, &dir, &editor);
    assert!(out.status.success(), "edit --shared: {}", stderr(&out));
    let words = stderr(&out);
    assert!(
        words.contains("changed API_KEY; added NEW_TOKEN") && words.contains("(allowed)"),
        "{words}"
    );

    let after = fs::read_to_string(&shared).unwrap();
    assert!(
        after.starts_with("# the team's variables\n"),
        "comment lost"
    );
    assert!(
        line_of(&after, "DB_PASSWORD") == line_of(&before, "DB_PASSWORD"),
        "an unchanged value was encrypted again (its line changed)"
    );
    assert!(
        line_of(&after, "API_KEY") != line_of(&before, "API_KEY"),
        "the changed value kept its old ciphertext"
    );
    assert!(!after.contains("rotated-4f1e") && !after.contains("tok-9a7c"));
    let identity = identity_path(&alice);
    assert!(age_opens(&dir, "API_KEY", "rotated-4f1e", &identity));
    assert!(age_opens(&dir, "NEW_TOKEN", "tok-9a7c", &identity));
    assert!(age_opens(&dir, "DB_PASSWORD", DB_PASSWORD, &identity));

    let runs = editor_log(&alice);
    assert_eq!(runs.len(), 1, "the editor ran {} times", runs.len());
    let (dir_mode, copy_mode, copy) = &runs[0];
    assert_eq!((dir_mode.as_str(), copy_mode.as_str()), ("700", "600"));
    assert!(
        !copy.starts_with(&dir),
        "the plaintext copy was in the project"
    );
    assert!(
        fs::symlink_metadata(copy.parent().unwrap()).is_err(),
        "the plaintext copy outlived the edit"
    );
    let seen = parse_env0(&exec_env(&alice, &dir).stdout);
    assert!(
        seen.get("NEW_TOKEN").map(Vec::as_slice) == Some(&b"tok-9a7c"[..]),
        "the edit does not load without a new allow"
    );
}

#[test]
fn edit_shared_removes_a_deleted_name_and_says_no_changes_when_there_are_none() {
    let alice = TestEnv::new();
    let dir = alices_project(&alice);
    let shared = dir.join(".env.shared");
    let before = fs::read(&shared).unwrap();
    let out = edit_shared(&alice, &dir, &scripted_editor(&alice, "true"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("no changes"), "{}", stderr(&out));
    assert!(
        fs::read(&shared).unwrap() == before,
        "an unchanged edit rewrote the file"
    );

    let out = edit_shared(
        &alice,
        &dir,
        &scripted_editor(&alice, "sed -i '/^DB_PASSWORD=/d' \"$1\""),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let after = fs::read_to_string(&shared).unwrap();
    let expected: String = String::from_utf8(before)
        .unwrap()
        .split_inclusive('\n')
        .filter(|line| !line.starts_with("DB_PASSWORD="))
        .collect();
    assert!(after == expected, "removing a name changed other lines");
}

#[test]
fn edit_shared_saves_nothing_when_the_copy_does_not_parse_or_the_editor_fails() {
    let alice = TestEnv::new();
    let dir = alices_project(&alice);
    let shared = dir.join(".env.shared");
    let before = fs::read(&shared).unwrap();
    for (body, says) in [
        ("echo 'not a statement' >> \"$1\"", "line 4"),
        ("echo 'LINK=\"${API_KEY}\"' >> \"$1\"", "`${`"),
        (
            "sed -i 's/^API_KEY=.*/API_KEY=changed/' \"$1\"; exit 3",
            "failed",
        ),
    ] {
        let out = edit_shared(&alice, &dir, &scripted_editor(&alice, body));
        assert!(!out.status.success(), "{body}: saved");
        let words = stderr(&out);
        assert!(words.contains(says), "{body}: {words}");
        assert!(
            fs::read(&shared).unwrap() == before,
            "{body}: the file changed"
        );
    }
    for (_, _, copy) in editor_log(&alice) {
        assert!(
            fs::symlink_metadata(copy.parent().unwrap()).is_err(),
            "a plaintext copy outlived a failed edit"
        );
    }
}

#[test]
fn edit_shared_after_a_kill_leaves_a_copy_that_the_next_edit_removes() {
    let alice = TestEnv::new();
    let dir = alices_project(&alice);
    let out = edit_shared(&alice, &dir, &scripted_editor(&alice, "kill -9 $PPID"));
    assert!(!out.status.success(), "envguard survived SIGKILL");
    let (_, _, copy) = editor_log(&alice).pop().expect("the editor ran");
    let out = edit_shared(&alice, &dir, &scripted_editor(&alice, "true"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        fs::symlink_metadata(copy.parent().unwrap()).is_err(),
        "the killed edit's plaintext copy is still there"
    );
}

#[test]
fn edit_shared_applies_the_edit_by_name_to_a_file_that_changed_meanwhile_unless_they_clash() {
    let alice = TestEnv::new();
    let dir = alices_project(&alice);
    // While the editor is open, another `set --shared` changes DB_PASSWORD.
    let editor = scripted_editor(
        &alice,
        "sed -i \"s/^API_KEY=.*/API_KEY='mine-1b2c'/\" \"$1\"\nprintf theirs-3d4e | \"$ENVGUARD\" set --shared DB_PASSWORD 2>/dev/null",
    );
    let out = edit_shared(&alice, &dir, &editor);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("applied to it by name"),
        "{}",
        stderr(&out)
    );
    let identity = identity_path(&alice);
    assert!(
        age_opens(&dir, "API_KEY", "mine-1b2c", &identity),
        "the edit was lost"
    );
    assert!(
        age_opens(&dir, "DB_PASSWORD", "theirs-3d4e", &identity),
        "the other change was lost"
    );

    let before_clash = fs::read(dir.join(".env.shared")).unwrap();
    let clash = scripted_editor(
        &alice,
        "sed -i \"s/^API_KEY=.*/API_KEY='mine-again'/\" \"$1\"\nprintf theirs-again | \"$ENVGUARD\" set --shared API_KEY 2>/dev/null",
    );
    let out = edit_shared(&alice, &dir, &clash);
    assert!(!out.status.success(), "a clashing edit was saved");
    assert!(
        stderr(&out).contains("so did your API_KEY"),
        "{}",
        stderr(&out)
    );
    assert!(
        fs::read(dir.join(".env.shared")).unwrap() != before_clash,
        "the other writer's change is missing"
    );
    assert!(age_opens(&dir, "API_KEY", "theirs-again", &identity));
}

#[test]
fn writers_of_the_team_files_keep_the_modes_git_gave_them() {
    let alice = TestEnv::new();
    let dir = alices_project(&alice);
    let bob = TestEnv::new();
    for mode in [0o644, 0o664] {
        for file in [".env.shared", ".env.recipients"] {
            fs::set_permissions(dir.join(file), fs::Permissions::from_mode(mode)).unwrap();
        }
        let mode_of =
            |file: &str| fs::metadata(dir.join(file)).unwrap().permissions().mode() & 0o7777;
        let out = alice.run_with_input(&dir, ["set", "--shared", "API_KEY"], b"v2");
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(mode_of(".env.shared"), mode, "set --shared");
        let editor = scripted_editor(&alice, "sed -i \"s/^API_KEY=.*/API_KEY='v3'/\" \"$1\"");
        assert!(edit_shared(&alice, &dir, &editor).status.success());
        assert_eq!(mode_of(".env.shared"), mode, "edit --shared");
        ok(
            &alice,
            &dir,
            &["share", "add", &share_me(&bob), "--label", "bob"],
        );
        assert_eq!(mode_of(".env.shared"), mode, "share add");
        assert_eq!(mode_of(".env.recipients"), mode, "share add");
        ok(&alice, &dir, &["share", "remove", "bob"]);
        assert_eq!(mode_of(".env.recipients"), mode, "share remove");
    }
}

#[test]
fn a_pulled_recipient_gets_nothing_encrypted_to_it_until_the_list_is_allowed_again() {
    let (alice, stranger) = (TestEnv::new(), TestEnv::new());
    let dir = alices_project(&alice);
    alice.git_ok(&dir, &["init", "-q"]);
    alice.git_ok(&dir, &["add", ".env.shared", ".env.recipients"]);
    alice.git_ok(&dir, &["commit", "-qm", "team"]);
    // Someone with push access lists a key of their own; alice pulls it with the rest.
    let clone = alice.work().join("clone");
    let (from, to) = (dir.to_str().unwrap(), clone.to_str().unwrap());
    alice.git_ok(&alice.work(), &["clone", "-q", from, to]);
    let listed = fs::read_to_string(clone.join(".env.recipients")).unwrap();
    let theirs = share_me(&stranger);
    fs::write(
        clone.join(".env.recipients"),
        format!("{listed}# new hire\n{theirs}\n"),
    )
    .unwrap();
    alice.git_ok(&clone, &["commit", "-qam", "add the new hire"]);
    alice.git_ok(&dir, &["pull", "-q", to, "HEAD"]);

    let shared = dir.join(".env.shared");
    let before = fs::read(&shared).unwrap();
    let bob = share_me(&TestEnv::new());
    let writers: [&dyn Fn() -> Output; 3] = [
        &|| alice.run_with_input(&dir, ["set", "--shared", "API_KEY"], b"new-value"),
        &|| run(&alice, &dir, &["share", "add", &bob]),
        &|| edit_shared(&alice, &dir, &scripted_editor(&alice, "true")),
    ];
    for write in writers {
        let out = write();
        assert!(
            !out.status.success(),
            "encrypted to a pulled, unreviewed list"
        );
        let words = stderr(&out);
        assert!(
            words.contains("git log -p") && words.contains("`envguard allow`"),
            "{words}"
        );
        assert!(
            fs::read(&shared).unwrap() == before,
            "a refused writer changed .env.shared"
        );
    }
    assert!(
        editor_log(&alice).is_empty(),
        "the editor opened on a refused list"
    );
    // Loading needs no recipients at all.
    assert!(
        loads_both(&alice, &dir),
        "the unchanged values stopped loading"
    );
    let aside = alice.work().join("recipients.aside");
    fs::rename(dir.join(".env.recipients"), &aside).unwrap();
    assert!(loads_both(&alice, &dir), "loading needed .env.recipients");
    fs::rename(&aside, dir.join(".env.recipients")).unwrap();

    // The review shows the added key itself, not only the label its adder chose.
    let out = ok(&alice, &dir, &["allow"]);
    let words = stderr(&out);
    assert!(words.contains("(2 recipients: "), "{words}");
    assert!(
        words.contains(&format!(
            "changed since it was last allowed; it now adds {theirs} (new hire)"
        )),
        "{words}"
    );
    assert!(
        !words.contains(&format!("adds {}", listed.lines().nth(2).unwrap())),
        "{words}"
    );
    assert!(
        words.contains("if you do not know a key, stop and ask"),
        "{words}"
    );
    let again = stderr(&ok(&alice, &dir, &["allow"]));
    assert!(
        !again.contains("it now adds"),
        "an unchanged list was reviewed: {again}"
    );
    let out = alice.run_with_input(&dir, ["set", "--shared", "API_KEY"], b"new-value");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        age_opens(&dir, "API_KEY", "new-value", &identity_path(&stranger)),
        "the allowed list's new recipient cannot open the value"
    );
}

#[test]
fn edit_shared_seals_to_the_recipients_listed_when_it_saves() {
    let (alice, bob) = (TestEnv::new(), TestEnv::new());
    let dir = alices_project(&alice);
    let theirs = share_me(&bob);
    ok(&alice, &dir, &["share", "add", &theirs, "--label", "bob"]);
    // While the editor is open, a pull takes bob off the list and alice allows it.
    let editor = scripted_editor(
        &alice,
        "sed -i '/^# bob /,+1d' .env.recipients\n\
         \"$ENVGUARD\" allow >/dev/null 2>&1\n\
         sed -i 's/^API_KEY=.*/API_KEY=rotated-after-bob/' \"$1\"",
    );
    let out = edit_shared(&alice, &dir, &editor);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(age_opens(
        &dir,
        "API_KEY",
        "rotated-after-bob",
        &identity_path(&alice)
    ));
    assert!(
        !age_opens(&dir, "API_KEY", "rotated-after-bob", &identity_path(&bob)),
        "a teammate removed during the edit can open the value sealed after it"
    );
}

#[test]
fn allow_shows_a_reference_sealed_inside_the_team_file() {
    // A ciphertext anyone with the public keys can write may hold a reference to a personal
    // vault item: allow is where the review can see it.
    let alice = TestEnv::new();
    let dir = alices_project(&alice);
    let out = alice.run_with_input(
        &dir,
        ["set", "--shared", "API_KEY"],
        b"op://Private/bank/password",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !fs::read_to_string(dir.join(".env.shared"))
            .unwrap()
            .contains("op://"),
        "the reference is not sealed"
    );
    let said = stderr(&ok(&alice, &dir, &["allow"]));
    assert!(
        said.contains("API_KEY = op://Private/bank/password → ****"),
        "{said}"
    );
    assert!(
        !said.contains("DB_PASSWORD ="),
        "a plain value was called a reference: {said}"
    );
}

#[test]
fn a_recipient_label_cannot_write_to_the_terminal() {
    // The comment above a key is any teammate's text; raw, it could erase allow's review.
    let alice = TestEnv::new();
    let dir = alices_project(&alice);
    let listed = fs::read_to_string(dir.join(".env.recipients")).unwrap();
    let theirs = share_me(&TestEnv::new());
    fs::write(
        dir.join(".env.recipients"),
        format!("{listed}# \u{1b}[2A\u{1b}[J\u{1b}[32mall good\n{theirs}\n"),
    )
    .unwrap();
    for args in [&["allow"][..], &["check"][..]] {
        let out = run(&alice, &dir, args);
        let shown = format!("{}{}", stderr(&out), common::stdout(&out));
        assert!(
            !shown.contains('\u{1b}'),
            "{args:?} printed a raw escape: {shown:?}"
        );
        assert!(
            shown.contains("\\e[2A"),
            "{args:?} hid the label: {shown:?}"
        );
    }
}

#[test]
fn set_without_shared_writes_no_plaintext_into_a_committed_file() {
    let alice = TestEnv::new();
    let dir = alices_project(&alice);
    for file in [".env.shared", ".env.recipients"] {
        let before = fs::read(dir.join(file)).unwrap();
        let out = alice.run_with_input(&dir, ["set", "-f", file, "PASSWORD"], b"hunter2-plain");
        assert!(
            !out.status.success(),
            "set -f {file} wrote a plaintext value"
        );
        assert!(
            stderr(&out).contains("committed for the team"),
            "{}",
            stderr(&out)
        );
        assert!(
            fs::read(dir.join(file)).unwrap() == before,
            "{file} was changed"
        );
        assert_not_leaked(&out, "hunter2-plain");
    }
}
