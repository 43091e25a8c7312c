//! A team's `.env.shared` (issue 13) through the real binary and the real `age` and
//! `age-keygen` CLIs: values encrypted by the CLI load, each teammate (their own HOME) opens
//! them with their own key, and every way a team file can be wrong refuses the whole load.
//!
//! Values are compared inside the test; a failure names a variable or a length, never a value.

mod common;

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{TestEnv, assert_not_leaked, parse_env0, stderr, stdout, write_mode};

const API_KEY: &str = "sk-team-7f3e9a1c5b2d8e4f6a0b";
const DB_PASSWORD: &str = "pw-team-a8c6e4b2d0f9";

/// A teammate: a HOME of their own, with an age identity made by `age-keygen`.
struct Mate {
    env: TestEnv,
    recipient: String,
}

impl Mate {
    fn new() -> Self {
        let env = TestEnv::new();
        let recipient = common::age_keygen(&identity_path(&env));
        Mate { env, recipient }
    }

    fn run(&self, dir: &Path, args: &[&str]) -> Output {
        let out = self.env.run(dir, args);
        assert_not_leaked(&out, API_KEY);
        assert_not_leaked(&out, DB_PASSWORD);
        out
    }

    fn allow_shared(&self, dir: &Path) {
        let out = self.run(dir, &["allow", ".env.shared"]);
        assert!(out.status.success(), "allow .env.shared: {}", stderr(&out));
        // Committed on purpose: no advice to git-ignore it, in a repository or not.
        assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    }

    /// The environment `exec` gives a program in `dir` (its stdout is `env -0`, values and
    /// all: only stderr is envguard's), or the failed output.
    fn exec_env(&self, dir: &Path) -> Result<HashMap<String, Vec<u8>>, Output> {
        let out = self.env.run(dir, ["exec", "--", "env", "-0"]);
        for secret in [API_KEY, DB_PASSWORD] {
            assert!(
                !stderr(&out).contains(secret),
                "a secret appeared on stderr"
            );
        }
        if out.status.success() {
            Ok(parse_env0(&out.stdout))
        } else {
            Err(out)
        }
    }
}

fn identity_path(env: &TestEnv) -> PathBuf {
    env.root.path().join("config/envguard/identity.txt")
}

/// A project under `mate`'s work dir whose `.env.recipients` lists `readers` and whose
/// `.env.shared` holds API_KEY and DB_PASSWORD encrypted to them by the `age` CLI.
fn team_project(mate: &Mate, readers: &[&Mate], mode: u32) -> PathBuf {
    let dir = mate.env.work().join("team");
    fs::create_dir_all(&dir).unwrap();
    let recipients = dir.join(".env.recipients");
    let list: String = readers
        .iter()
        .map(|reader| format!("# a teammate\n{}\n", reader.recipient))
        .collect();
    write_mode(&recipients, &list, 0o644);
    let shared = format!(
        "# the team's variables\n{}\n{}",
        common::age_cli_line("API_KEY", API_KEY, &recipients),
        common::age_cli_line("DB_PASSWORD", DB_PASSWORD, &recipients)
    );
    write_mode(&dir.join(".env.shared"), &shared, mode);
    dir
}

fn has(seen: &HashMap<String, Vec<u8>>, name: &str, value: &str) -> bool {
    seen.get(name).map(Vec::as_slice) == Some(value.as_bytes())
}

#[test]
fn values_the_age_cli_encrypted_load_after_allow_from_a_0644_file() {
    let me = Mate::new();
    let dir = team_project(&me, &[&me], 0o644);
    let refused = me
        .exec_env(&dir)
        .expect_err("an unallowed team file loaded");
    assert!(
        stderr(&refused).contains("is not allowed yet"),
        "{}",
        stderr(&refused)
    );
    me.allow_shared(&dir);
    let seen = me.exec_env(&dir).map_err(|out| stderr(&out)).unwrap();
    assert!(
        has(&seen, "API_KEY", API_KEY),
        "API_KEY did not load as encrypted"
    );
    assert!(
        has(&seen, "DB_PASSWORD", DB_PASSWORD),
        "DB_PASSWORD did not load"
    );
}

#[test]
fn two_teammates_each_with_their_own_key_see_the_same_values() {
    let (alice, bob) = (Mate::new(), Mate::new());
    let alice_dir = team_project(&alice, &[&alice, &bob], 0o644);
    let bob_dir = bob.env.work().join("team");
    fs::create_dir_all(&bob_dir).unwrap();
    for file in [".env.shared", ".env.recipients"] {
        fs::copy(alice_dir.join(file), bob_dir.join(file)).unwrap();
    }
    for (mate, dir) in [(&alice, &alice_dir), (&bob, &bob_dir)] {
        mate.allow_shared(dir);
        let seen = mate.exec_env(dir).map_err(|out| stderr(&out)).unwrap();
        assert!(
            has(&seen, "API_KEY", API_KEY),
            "a teammate did not see API_KEY"
        );
    }
}

#[test]
fn someone_who_is_not_a_recipient_loads_nothing_and_is_told_who_can_help() {
    let (alice, outsider) = (Mate::new(), Mate::new());
    let dir = team_project(&alice, &[&alice], 0o644);
    let theirs = outsider.env.work().join("team");
    fs::create_dir_all(&theirs).unwrap();
    fs::copy(dir.join(".env.shared"), theirs.join(".env.shared")).unwrap();
    let out = outsider.run(&theirs, &["allow", ".env.shared"]);
    assert!(!out.status.success(), "allow decrypted without a key");
    let words = stderr(&out);
    assert!(words.contains("you are not a recipient"), "{words}");
    assert!(words.contains("envguard share add"), "{words}");
    assert_eq!(words.lines().count(), 1, "{words}");
}

#[test]
fn a_ciphertext_pasted_under_another_name_is_refused() {
    let me = Mate::new();
    let dir = team_project(&me, &[&me], 0o644);
    let recipients = dir.join(".env.recipients");
    let api = common::age_cli_line("API_KEY", API_KEY, &recipients);
    let swapped = api.replacen("API_KEY=", "DB_PASSWORD=", 1);
    write_mode(&dir.join(".env.shared"), &swapped, 0o644);
    let out = me.run(&dir, &["allow", ".env.shared"]);
    assert!(!out.status.success(), "a swapped ciphertext was accepted");
    assert!(
        stderr(&out).contains("DB_PASSWORD was encrypted for another name"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_plaintext_value_or_a_damaged_ciphertext_refuses_the_whole_file() {
    let me = Mate::new();
    let dir = team_project(&me, &[&me], 0o644);
    let good = fs::read_to_string(dir.join(".env.shared")).unwrap();
    let shared = dir.join(".env.shared");
    write_mode(&shared, &format!("{good}PLAIN=hello\n"), 0o644);
    let out = me.run(&dir, &["allow", ".env.shared"]);
    assert!(!out.status.success(), "a plaintext value was accepted");
    assert!(
        stderr(&out).contains("PLAIN has a plaintext value"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("envguard set --shared PLAIN"),
        "{}",
        stderr(&out)
    );

    write_mode(&shared, &format!("{good}BROKEN=age:AAAA\n"), 0o644);
    let out = me.run(&dir, &["allow", ".env.shared"]);
    assert!(!out.status.success(), "a damaged ciphertext was accepted");
    assert!(
        stderr(&out).contains("BROKEN's ciphertext"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_team_file_others_could_write_is_refused_saying_why() {
    let me = Mate::new();
    let dir = team_project(&me, &[&me], 0o644);
    me.allow_shared(&dir);
    let shared = dir.join(".env.shared");
    for mode in [0o666, 0o646] {
        fs::set_permissions(&shared, fs::Permissions::from_mode(mode)).unwrap();
        let out = me
            .exec_env(&dir)
            .expect_err("a world-writable team file loaded");
        assert!(
            stderr(&out).contains("is writable by others"),
            "{}",
            stderr(&out)
        );
        assert!(stderr(&out).contains("chmod 644"), "{}", stderr(&out));
    }
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o600)).unwrap();
    assert!(me.exec_env(&dir).is_ok(), "a 0600 team file did not load");
}

#[test]
fn group_write_passes_only_for_the_users_private_group() {
    if !common::is_root() {
        return;
    }
    let me = Mate::new();
    let dir = team_project(&me, &[&me], 0o664);
    me.allow_shared(&dir);
    let shared = dir.join(".env.shared");
    // root's group is named root, has no other member and is root's primary group.
    assert!(
        me.exec_env(&dir).is_ok(),
        "a 0664 file of a private group did not load"
    );
    std::os::unix::fs::chown(&shared, None, Some(100)).unwrap();
    let out = me
        .exec_env(&dir)
        .expect_err("a file a shared group can write loaded");
    assert!(
        stderr(&out).contains("not your own private group"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_identity_others_can_read_is_refused() {
    let me = Mate::new();
    let dir = team_project(&me, &[&me], 0o644);
    fs::set_permissions(identity_path(&me.env), fs::Permissions::from_mode(0o644)).unwrap();
    let out = me.run(&dir, &["allow", ".env.shared"]);
    assert!(!out.status.success(), "a readable identity was used");
    assert!(stderr(&out).contains("identity.txt"), "{}", stderr(&out));
    assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));
}

#[test]
fn the_personal_env_wins_and_list_says_which_file_each_name_is_from() {
    let me = Mate::new();
    let dir = team_project(&me, &[&me], 0o644);
    me.allow_shared(&dir);
    write_mode(&dir.join(".env"), "DB_PASSWORD=mine\nLOCAL=1\n", 0o600);
    let out = me.run(&dir, &["allow"]);
    assert!(out.status.success(), "allow: {}", stderr(&out));
    let seen = me.exec_env(&dir).map_err(|out| stderr(&out)).unwrap();
    assert!(
        has(&seen, "API_KEY", API_KEY),
        "the shared API_KEY is missing"
    );
    assert!(
        has(&seen, "DB_PASSWORD", "mine"),
        "the personal value did not win"
    );
    assert!(has(&seen, "LOCAL", "1"), "the personal LOCAL is missing");

    let listed = me.run(&dir, &["list"]);
    assert!(listed.status.success(), "list: {}", stderr(&listed));
    let text = stdout(&listed);
    assert!(
        text.contains(".env.shared (shared): 2 variables, would load"),
        "{text}"
    );
    assert!(
        text.contains(".env (personal, wins over shared): 2 variables"),
        "{text}"
    );
}

#[test]
fn a_key_from_the_environment_or_named_files_opens_the_file_as_ci_would() {
    let me = Mate::new();
    let dir = team_project(&me, &[&me], 0o644);
    let key = fs::read_to_string(identity_path(&me.env)).unwrap();
    let moved = me.env.home().join("ci-key.txt");
    fs::rename(identity_path(&me.env), &moved).unwrap();

    let out = me.run(&dir, &["allow", ".env.shared"]);
    assert!(
        stderr(&out).contains("you are not a recipient"),
        "{}",
        stderr(&out)
    );

    let mut with_key = me.env.cmd(&dir, ["allow", ".env.shared"]);
    with_key.env("ENVGUARD_AGE_IDENTITY", key);
    let out = with_key.output().unwrap();
    assert_not_leaked(&out, API_KEY);
    assert!(
        out.status.success(),
        "ENVGUARD_AGE_IDENTITY: {}",
        stderr(&out)
    );

    let mut with_file = me.env.cmd(&dir, ["exec", "--", "env", "-0"]);
    let files = format!("/nonexistent-first-is-refused:{}", moved.display());
    with_file.env("ENVGUARD_AGE_IDENTITY_FILE", &files);
    let out = with_file.output().unwrap();
    assert_not_leaked(&out, API_KEY);
    assert!(
        !out.status.success(),
        "a missing named identity file was ignored"
    );
    with_file.env("ENVGUARD_AGE_IDENTITY_FILE", &moved);
    let out = with_file.output().unwrap();
    assert!(
        !stderr(&out).contains(API_KEY),
        "a secret appeared on stderr"
    );
    assert!(
        out.status.success(),
        "ENVGUARD_AGE_IDENTITY_FILE: {}",
        stderr(&out)
    );
    assert!(
        has(&parse_env0(&out.stdout), "API_KEY", API_KEY),
        "API_KEY missing"
    );
}

#[test]
fn an_unencrypted_ssh_ed25519_key_is_an_identity() {
    let me = Mate::new();
    fs::remove_file(identity_path(&me.env)).unwrap();
    let ssh = me.env.home().join(".ssh");
    fs::create_dir_all(&ssh).unwrap();
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "me", "-f"])
        .arg(ssh.join("id_ed25519"))
        .output()
        .unwrap();
    assert!(made.status.success(), "ssh-keygen: {}", stderr(&made));
    let dir = me.env.work().join("team");
    fs::create_dir_all(&dir).unwrap();
    fs::copy(ssh.join("id_ed25519.pub"), dir.join(".env.recipients")).unwrap();
    let line = common::age_cli_line("API_KEY", API_KEY, &dir.join(".env.recipients"));
    write_mode(&dir.join(".env.shared"), &line, 0o644);
    me.allow_shared(&dir);
    let seen = me.exec_env(&dir).map_err(|out| stderr(&out)).unwrap();
    assert!(
        has(&seen, "API_KEY", API_KEY),
        "the ssh key did not open API_KEY"
    );
}

/// `envguard share me` in `mate`'s HOME: their recipient, the identity made on first use.
fn share_me(env: &TestEnv) -> String {
    let out = env.run(&env.work(), ["share", "me"]);
    assert!(out.status.success(), "share me: {}", stderr(&out));
    stdout(&out).trim().to_owned()
}

fn set_shared(env: &TestEnv, dir: &Path, name: &str, value: &str) -> Output {
    let out = env.run_with_input(dir, ["set", "--shared", name], value.as_bytes());
    assert_not_leaked(&out, value);
    out
}

/// The `age -d` plaintext of `name`'s line in `dir`'s `.env.shared`, with `identity`.
fn age_decrypt(dir: &Path, name: &str, identity: &Path) -> Vec<u8> {
    let out = common::age_cli_decrypt(dir, name, identity);
    assert!(out.status.success(), "age -d failed: {}", stderr(&out));
    out.stdout
}

#[test]
fn share_me_makes_a_private_identity_once_and_prints_its_recipient() {
    let env = TestEnv::new();
    let first = share_me(&env);
    assert!(first.starts_with("age1"), "not an age recipient: {first}");
    let identity = identity_path(&env);
    let mode = fs::metadata(&identity).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(share_me(&env), first, "a second call made another identity");
    let public = Command::new("age-keygen")
        .arg("-y")
        .arg(&identity)
        .output()
        .unwrap();
    assert_eq!(
        stdout(&public).trim(),
        first,
        "age-keygen reads another key"
    );
}

#[test]
fn a_value_set_for_the_team_decrypts_with_the_age_cli_and_loads_without_a_new_allow() {
    let env = TestEnv::new();
    let dir = env.work().join("team");
    fs::create_dir_all(&dir).unwrap();
    let out = env.run(&dir, ["share", "init"]);
    assert!(out.status.success(), "share init: {}", stderr(&out));
    for file in [".env.recipients", ".env.shared"] {
        assert!(dir.join(file).is_file(), "share init did not make {file}");
    }
    let out = set_shared(&env, &dir, "API_KEY", API_KEY);
    assert!(out.status.success(), "set --shared: {}", stderr(&out));
    let plaintext = age_decrypt(&dir, "API_KEY", &identity_path(&env));
    assert!(
        plaintext == format!("API_KEY={API_KEY}").as_bytes(),
        "age -d did not give NAME=value ({} bytes)",
        plaintext.len()
    );
    let text = fs::read_to_string(dir.join(".env.shared")).unwrap();
    assert!(!text.contains(API_KEY), "the plaintext reached .env.shared");
    assert!(
        text.starts_with("API_KEY=age:"),
        "not NAME=age:<base64>: {text}"
    );

    // Other lines keep their bytes; the file stays allowed, as it was.
    let shared = dir.join(".env.shared");
    let with_comment = format!("# kept as written\n{text}");
    fs::write(&shared, &with_comment).unwrap();
    let out = env.run(&dir, ["allow", ".env.shared"]);
    assert!(out.status.success(), "allow: {}", stderr(&out));
    let out = set_shared(&env, &dir, "DB_PASSWORD", DB_PASSWORD);
    assert!(out.status.success(), "set --shared: {}", stderr(&out));
    let after = fs::read_to_string(&shared).unwrap();
    assert!(after.starts_with(&with_comment), "set changed other lines");
    let out = env.run(&dir, ["exec", "--", "env", "-0"]);
    assert!(out.status.success(), "exec: {}", stderr(&out));
    let seen = parse_env0(&out.stdout);
    assert!(has(&seen, "API_KEY", API_KEY), "API_KEY did not load");
    assert!(
        has(&seen, "DB_PASSWORD", DB_PASSWORD),
        "DB_PASSWORD did not load"
    );
}

#[test]
fn a_teammate_listed_in_the_recipients_opens_what_envguard_set_for_the_team() {
    let (alice, bob) = (TestEnv::new(), TestEnv::new());
    let dir = alice.work().join("team");
    fs::create_dir_all(&dir).unwrap();
    assert!(alice.run(&dir, ["share", "init"]).status.success());
    let bob_recipient = share_me(&bob);
    let recipients = dir.join(".env.recipients");
    let listed = fs::read_to_string(&recipients).unwrap();
    fs::write(&recipients, format!("{listed}# bob\n{bob_recipient}\n")).unwrap();
    // A list changed by hand is reviewed and allowed before anything is encrypted to it.
    let out = set_shared(&alice, &dir, "API_KEY", API_KEY);
    assert!(!out.status.success(), "encrypted to an unreviewed list");
    let out = alice.run(&dir, ["allow"]);
    assert!(out.status.success(), "allow: {}", stderr(&out));
    let out = set_shared(&alice, &dir, "API_KEY", API_KEY);
    assert!(out.status.success(), "set --shared: {}", stderr(&out));
    assert!(
        stderr(&out).contains("encrypted to the 2 recipients"),
        "{}",
        stderr(&out)
    );

    let bob_dir = bob.work().join("team");
    fs::create_dir_all(&bob_dir).unwrap();
    fs::copy(dir.join(".env.shared"), bob_dir.join(".env.shared")).unwrap();
    let out = bob.run(&bob_dir, ["allow", ".env.shared"]);
    assert!(out.status.success(), "bob's allow: {}", stderr(&out));
    let out = bob.run(&bob_dir, ["exec", "--", "env", "-0"]);
    assert!(out.status.success(), "bob's exec: {}", stderr(&out));
    assert!(
        has(&parse_env0(&out.stdout), "API_KEY", API_KEY),
        "bob did not see API_KEY"
    );
}

#[test]
fn set_shared_without_recipients_says_how_to_start() {
    let env = TestEnv::new();
    let dir = env.work().join("solo");
    fs::create_dir_all(&dir).unwrap();
    let out = set_shared(&env, &dir, "API_KEY", API_KEY);
    assert!(
        !out.status.success(),
        "set --shared had nobody to encrypt for"
    );
    assert!(
        stderr(&out).contains("envguard share init"),
        "{}",
        stderr(&out)
    );
    assert!(
        !dir.join(".env.shared").exists(),
        "a file was written anyway"
    );
}

/// Commits `dir`'s team files to a repository of its own and clones it into `into`, as a
/// teammate would get them.
fn commit_and_clone(dir: &Path, into: &Path) {
    let git = |args: &[&str], at: &Path| {
        let out = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(at)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    };
    git(&["init", "-q"], dir);
    git(&["add", ".env.shared", ".env.recipients"], dir);
    git(&["commit", "-q", "-m", "team"], dir);
    let (from, to) = (dir.to_str().unwrap(), into.to_str().unwrap());
    git(&["clone", "-q", from, to], dir);
}

#[test]
fn a_clone_loads_after_allow_in_exec_and_in_an_installed_kernel() {
    let (alice, bob) = (Mate::new(), Mate::new());
    let dir = team_project(&alice, &[&alice, &bob], 0o644);
    let clone = bob.env.work().join("clone");
    commit_and_clone(&dir, &clone);
    assert!(
        bob.exec_env(&clone).is_err(),
        "a fresh clone loaded before allow"
    );
    bob.allow_shared(&clone);
    // A committed team file is what it is meant to be: `check` does not call it exposed.
    let checked = bob.env.run(&clone, ["check"]);
    let said = common::stdout(&checked);
    assert!(checked.status.success(), "{said}");
    assert!(
        !said.contains("git"),
        "check warned about a committed .env.shared: {said}"
    );
    let seen = bob.exec_env(&clone).map_err(|out| stderr(&out)).unwrap();
    assert!(
        has(&seen, "API_KEY", API_KEY),
        "the clone did not load API_KEY"
    );

    // The notebook kernel: installed for the clone, started by Jupyter from elsewhere.
    let python = PathBuf::from(
        std::env::var_os("ENVGUARD_TEST_PYTHON")
            .expect("ENVGUARD_TEST_PYTHON (run ./scripts/test)"),
    );
    let jupyter_data = bob.env.root.path().join("jupyter-data");
    let path = format!(
        "{}:{}",
        python.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let elsewhere = bob.env.work().join("notebooks");
    fs::create_dir_all(&elsewhere).unwrap();
    fs::write(elsewhere.join("probe.ipynb"), NOTEBOOK).unwrap();
    let run = |program: &Path, args: &[&str]| {
        let out = Command::new(program)
            .args(args)
            .current_dir(&elsewhere)
            .env_clear()
            .envs(bob.env.base_env())
            .env("PATH", &path)
            .env("PWD", &elsewhere)
            .env("JUPYTER_DATA_DIR", &jupyter_data)
            .output()
            .unwrap();
        assert_not_leaked(&out, API_KEY);
        out
    };
    let bin = Path::new(common::BIN);
    let project = clone.to_str().unwrap();
    let python_arg = python.to_str().unwrap();
    let installed = run(
        bin,
        &[
            "kernel", "install", "--name", "team", "--dir", project, "--python", python_arg,
        ],
    );
    assert!(
        installed.status.success(),
        "kernel install: {}",
        stderr(&installed)
    );
    assert!(
        !stderr(&installed).contains("warning"),
        "{}",
        stderr(&installed)
    );
    let executed = run(
        &python,
        &[
            "-m",
            "jupyter",
            "execute",
            "--kernel_name=team",
            "--output=executed.ipynb",
            "probe.ipynb",
        ],
    );
    assert!(
        executed.status.success(),
        "jupyter execute: {}",
        stderr(&executed)
    );
    let notebook = fs::read_to_string(elsewhere.join("executed.ipynb")).unwrap();
    let expected = format!(
        "{} {}",
        API_KEY.len(),
        envguard::load::trust::digest(API_KEY.as_bytes())
    );
    assert!(
        notebook.contains(&expected),
        "the kernel did not see API_KEY"
    );
    assert!(!notebook.contains(API_KEY), "the notebook holds the value");
}

const NOTEBOOK: &str = r#"{
 "cells": [{
  "cell_type": "code", "execution_count": null, "id": "probe", "metadata": {}, "outputs": [],
  "source": "import hashlib, os\nvalue = os.environ.get('API_KEY', '')\nprint(len(value), hashlib.sha256(value.encode()).hexdigest())"
 }],
 "metadata": {}, "nbformat": 4, "nbformat_minor": 5
}"#;

#[test]
fn get_and_scan_read_the_team_file_as_exec_loads_it() {
    let (me, outsider) = (Mate::new(), Mate::new());
    let dir = team_project(&me, &[&me], 0o644);
    me.allow_shared(&dir);
    let out = me.env.run(&dir, ["get", "API_KEY"]);
    assert!(out.status.success(), "get: {}", stderr(&out));
    assert!(
        out.stdout == API_KEY.as_bytes(),
        "get printed {} bytes, not the team's value",
        out.stdout.len()
    );
    write_mode(&dir.join(".env"), "DB_PASSWORD=mine\n", 0o600);
    assert!(me.run(&dir, &["allow"]).status.success());
    let out = me.env.run(&dir, ["get", "DB_PASSWORD"]);
    assert!(out.stdout == b"mine", "the personal .env did not win");
    let out = me.run(&dir, &["get", "MISSING"]);
    assert!(!out.status.success(), "get of a name in neither file");
    assert!(stderr(&out).contains(".env.shared or "), "{}", stderr(&out));

    // The decrypted values are known values; the committed ciphertext is no finding.
    fs::write(dir.join("settings.py"), format!("KEY = '{API_KEY}'\n")).unwrap();
    let out = me.run(&dir, &["scan"]);
    assert!(!out.status.success(), "the team's value leaked unnoticed");
    assert!(
        stdout(&out).contains("settings.py:1:") && stdout(&out).contains("known-value API_KEY"),
        "{}",
        stdout(&out)
    );
    assert!(!stderr(&out).contains("mode 0644"), "{}", stderr(&out));

    // Someone who cannot decrypt is scanned all the same, and told once why not for these.
    let out = outsider.run(&dir, &["scan"]);
    assert!(!stdout(&out).contains("known-value"), "{}", stdout(&out));
    assert_eq!(
        stderr(&out)
            .matches("its encrypted values are not searched for")
            .count(),
        1,
        "{}",
        stderr(&out)
    );
}

#[test]
fn check_reports_who_reads_and_the_values_a_hand_edited_list_left_behind() {
    let (alice, bob) = (Mate::new(), Mate::new());
    let dir = team_project(&alice, &[&alice], 0o644);
    alice.allow_shared(&dir);
    let report = stdout(&alice.run(&dir, &["check"]));
    for line in [
        "lists 1 recipients: a teammate",
        "you are a teammate (your identity ",
        "all 2 values are encrypted to the 1 listed recipients",
    ] {
        assert!(report.contains(line), "no {line:?} in: {report}");
    }

    // Bob's key, added to the list by hand (no re-encryption), reaches no value.
    let recipients = dir.join(".env.recipients");
    let listed = fs::read_to_string(&recipients).unwrap();
    write_mode(
        &recipients,
        &format!("{listed}# bob\n{}\n", bob.recipient),
        0o644,
    );
    let report = stdout(&alice.run(&dir, &["check"]));
    for line in [
        "is not allowed as it is now",
        "than the 2 listed (was the list edited by hand?): API_KEY (1), DB_PASSWORD (1)",
        "fix: envguard share add \"$(envguard share me)\"",
    ] {
        assert!(report.contains(line), "no {line:?} in: {report}");
    }
    let report = stdout(&bob.run(&dir, &["check"]));
    assert!(report.contains("you are bob (your identity "), "{report}");
    assert_eq!(
        report.matches("you are not a recipient").count(),
        3,
        "the loader's refusal and one line per value: {report}"
    );

    assert!(alice.run(&dir, &["allow"]).status.success());
    let me = stdout(&alice.run(&dir, &["share", "me"]));
    let out = alice.run(&dir, &["share", "add", me.trim()]);
    assert!(out.status.success(), "share add: {}", stderr(&out));
    let report = stdout(&alice.run(&dir, &["check"]));
    assert!(
        report.contains("all 2 values are encrypted to the 2 listed recipients"),
        "{report}"
    );
    bob.allow_shared(&dir);
    assert!(
        has(&bob.exec_env(&dir).unwrap(), "API_KEY", API_KEY),
        "bob cannot read after the values were sealed to the list"
    );
}
