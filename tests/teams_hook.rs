//! The prompt hook in a team's project (issue 13) through real interactive bash, zsh and fish
//! on a pseudo-terminal, with values the real `age` CLI encrypted: `.env.shared` then `.env`
//! load together (the personal value wins), all or nothing, and the stat-only no-change path
//! still notices a chmod, an edit, a removal or a creation of the team's file.
//!
//! Values are compared inside the test; a failure names a variable or a length, never a value.

mod common;
mod pty;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::*;
use envguard::cli::ShellKind;
use pty::*;

const API_KEY: &str = "sk-team-hook-7f3e9a1c5b2d";
const DB_PASSWORD: &str = "pw-team-hook-a8c6e4b2";
const EXTRA: &str = "extra-team-hook-93b1";
const PERSONAL_PASSWORD: &str = "pw-mine-hook-d41c";

/// Gives `env` an age identity made by `age-keygen`; returns its public recipient.
fn make_identity(env: &TestEnv) -> String {
    let identity = env.root.path().join("config/envguard/identity.txt");
    let recipient = common::age_keygen(&identity);
    // The shells' XDG_CONFIG_HOME is their rc directory (see `pty`): the same key there.
    let in_shell = env.root.path().join("rc/envguard/identity.txt");
    fs::create_dir_all(in_shell.parent().unwrap()).unwrap();
    fs::copy(&identity, &in_shell).unwrap();
    fs::set_permissions(&in_shell, fs::Permissions::from_mode(0o600)).unwrap();
    recipient
}

/// A directory `name` under the work dir whose `.env.shared` holds API_KEY and DB_PASSWORD
/// encrypted to `recipient`, allowed.
fn team_dir(env: &TestEnv, name: &str, recipient: &str) -> PathBuf {
    let dir = env.work().join(name);
    fs::create_dir_all(&dir).unwrap();
    let recipients = dir.join(".env.recipients");
    write_mode(&recipients, &format!("# me\n{recipient}\n"), 0o644);
    let shared = format!(
        "# the team's variables\n{}{}",
        common::age_cli_line("API_KEY", API_KEY, &recipients),
        common::age_cli_line("DB_PASSWORD", DB_PASSWORD, &recipients)
    );
    write_mode(&dir.join(".env.shared"), &shared, 0o644);
    allow(env, &dir, ".env.shared");
    dir
}

fn allow(env: &TestEnv, dir: &Path, file: &str) {
    let out = env.run(dir, ["allow", file]);
    for secret in [API_KEY, DB_PASSWORD, EXTRA, PERSONAL_PASSWORD] {
        assert_not_leaked(&out, secret);
    }
    assert!(out.status.success(), "allow {file}: {}", stderr(&out));
}

/// The hook's message for one event, checked to name no value.
#[track_caller]
fn message(name: &str, shown: &str) -> String {
    let line = one_message(name, shown);
    for secret in [API_KEY, DB_PASSWORD, EXTRA, PERSONAL_PASSWORD] {
        assert!(!line.contains(secret), "{name}: a message held a value");
    }
    line
}

fn scenario(kind: ShellKind) {
    let env = TestEnv::new();
    let recipient = make_identity(&env);
    let team = team_dir(&env, "team", &recipient);
    let shared_only = team_dir(&env, "shared-only", &recipient);
    write_mode(
        &team.join(".env"),
        &format!("DB_PASSWORD={PERSONAL_PASSWORD}\nEG_LOCAL=local\n"),
        0o600,
    );
    allow(&env, &team, ".env");
    let shared = team.join(".env.shared");
    let env_path = team.join(".env").display().to_string();
    let shared_path = shared.display().to_string();

    let mut sh = Session::start(&env, kind, &env.work());
    for secret in [API_KEY, DB_PASSWORD, EXTRA, PERSONAL_PASSWORD] {
        sh.hide(secret);
    }
    let name = sh.shell_name();

    // Entering loads both files, the personal value winning; then prompts are quiet.
    let shown = message(name, &sh.cd(&team));
    assert_eq!(
        shown,
        format!("envguard: loaded {shared_path} and {env_path} +API_KEY +DB_PASSWORD +EG_LOCAL"),
        "{name}"
    );
    let inside = sh.dump();
    assert_value(&inside, "API_KEY", Some(API_KEY));
    assert_value(&inside, "DB_PASSWORD", Some(PERSONAL_PASSWORD));
    assert_value(&inside, "EG_LOCAL", Some("local"));
    assert!(
        !sh.run("true").contains("envguard:"),
        "{name}: a message without a change"
    );

    // A chmod of the team's file alone is noticed: others could write it, so nothing loads.
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o666)).unwrap();
    let shown = message(name, &sh.run("true"));
    assert!(
        shown.contains("unloaded") && shown.contains("nothing loaded"),
        "{name}: {shown}"
    );
    let refused = sh.dump();
    assert_value(&refused, "API_KEY", None);
    assert_value(&refused, "EG_LOCAL", None);
    assert!(
        !sh.run("true").contains("envguard:"),
        "{name}: the refusal was repeated"
    );
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o644)).unwrap();
    message(name, &sh.run("true"));
    assert_value(&sh.dump(), "API_KEY", Some(API_KEY));

    // An edit of the team's file revokes trust for the whole project until it is allowed.
    let recipients = team.join(".env.recipients");
    let mut contents = fs::read_to_string(&shared).unwrap();
    contents.push_str(&common::age_cli_line("EG_EXTRA", EXTRA, &recipients));
    fs::write(&shared, &contents).unwrap();
    let shown = message(name, &sh.run("true"));
    assert!(
        shown.contains("has changed since it was allowed"),
        "{name}: {shown}"
    );
    assert_value(&sh.dump(), "EG_LOCAL", None);
    allow(&env, &team, ".env.shared");
    let shown = message(name, &sh.run("true"));
    assert!(shown.contains("+EG_EXTRA"), "{name}: {shown}");
    let edited = sh.dump();
    assert_value(&edited, "EG_EXTRA", Some(EXTRA));
    assert_value(&edited, "DB_PASSWORD", Some(PERSONAL_PASSWORD));

    // Removing the team's file keeps the personal one; putting it back loads it again.
    fs::rename(&shared, team.join("shared.moved")).unwrap();
    let shown = message(name, &sh.run("true"));
    assert!(
        shown.contains("-API_KEY") && shown.contains("-EG_EXTRA"),
        "{name}: {shown}"
    );
    let personal = sh.dump();
    assert_value(&personal, "API_KEY", None);
    assert_value(&personal, "DB_PASSWORD", Some(PERSONAL_PASSWORD));
    fs::rename(team.join("shared.moved"), &shared).unwrap();
    let shown = message(name, &sh.run("true"));
    assert!(shown.contains("+API_KEY"), "{name}: {shown}");
    assert_value(&sh.dump(), "EG_EXTRA", Some(EXTRA));

    // A project of the team's file alone; leaving restores the outside.
    let shown = message(name, &sh.cd(&shared_only));
    assert!(
        shown.contains(&format!(
            "loaded {}",
            shared_only.join(".env.shared").display()
        )),
        "{name}: {shown}"
    );
    let only = sh.dump();
    assert_value(&only, "DB_PASSWORD", Some(DB_PASSWORD));
    assert_value(&only, "EG_LOCAL", None);
    sh.cd(&env.work());
    let outside = sh.dump();
    assert_value(&outside, "API_KEY", None);
    assert_value(&outside, "DB_PASSWORD", None);
    let state = outside.get("__ENVGUARD_STATE").cloned().unwrap_or_default();
    assert!(
        [API_KEY, DB_PASSWORD, EXTRA, PERSONAL_PASSWORD]
            .iter()
            .all(|secret| find(&state, secret.as_bytes()).is_none()),
        "{name}: the state holds a value"
    );
}

#[test]
fn bash_loads_the_team_file_then_the_personal_one() {
    scenario(ShellKind::Bash);
}

#[test]
fn zsh_loads_the_team_file_then_the_personal_one() {
    scenario(ShellKind::Zsh);
}

#[test]
fn fish_loads_the_team_file_then_the_personal_one() {
    scenario(ShellKind::Fish);
}

#[test]
fn a_bare_allow_in_a_team_project_allows_both_files_or_neither() {
    let env = TestEnv::new();
    let recipient = make_identity(&env);
    let team = team_dir(&env, "team", &recipient);
    let recipients = team.join(".env.recipients");
    let shared = team.join(".env.shared");
    let mut contents = fs::read_to_string(&shared).unwrap();
    contents.push_str(&common::age_cli_line("EG_EXTRA", EXTRA, &recipients));
    fs::write(&shared, &contents).unwrap();
    write_mode(&team.join(".env"), "EG_LOCAL=local\n", 0o600);

    // A damaged personal file allows nothing, not even the team's file.
    write_mode(&team.join(".env"), "EG_LOCAL='unterminated\n", 0o600);
    let out = env.run(&team, ["allow"]);
    assert!(!out.status.success(), "a damaged .env was allowed");
    let exec = env.run(&team, ["exec", "--", "true"]);
    assert!(
        stderr(&exec).contains("has changed since it was allowed"),
        "{}",
        stderr(&exec)
    );

    write_mode(&team.join(".env"), "EG_LOCAL=local\n", 0o600);
    let out = env.run(&team, ["allow"]);
    for secret in [API_KEY, DB_PASSWORD, EXTRA] {
        assert_not_leaked(&out, secret);
    }
    assert!(out.status.success(), "allow: {}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains(&format!("allowed {}", shared.display()))
            && said.contains(&format!("allowed {}", team.join(".env").display())),
        "{said}"
    );
    let exec = env.run(&team, ["exec", "--", "true"]);
    assert!(exec.status.success(), "exec: {}", stderr(&exec));
}

#[test]
fn status_names_both_files_of_the_project_that_applies_here() {
    let env = TestEnv::new();
    let recipient = make_identity(&env);
    let team = team_dir(&env, "team", &recipient);
    write_mode(&team.join(".env"), "EG_LOCAL=local\n", 0o600);
    let status = || {
        let out = env.run(&team, ["status"]);
        assert!(out.status.success(), "status: {}", stderr(&out));
        for secret in [API_KEY, DB_PASSWORD] {
            assert_not_leaked(&out, secret);
        }
        stdout(&out)
    };
    let said = status();
    assert!(
        said.contains(&format!(
            "refused: {}: is not allowed yet",
            team.join(".env").display()
        )),
        "{said}"
    );
    allow(&env, &team, ".env");
    let said = status();
    assert!(
        said.contains(&format!(
            "not loaded: {} and {} would load",
            team.join(".env.shared").display(),
            team.join(".env").display()
        )),
        "{said}"
    );
}

#[test]
fn check_reports_both_files_of_a_team_project_each_by_its_own_mode_rule() {
    let env = TestEnv::new();
    let recipient = make_identity(&env);
    let team = team_dir(&env, "team", &recipient);
    write_mode(&team.join(".env"), "EG_LOCAL=local\n", 0o600);
    allow(&env, &team, ".env");
    let check = || {
        let out = env.run(&team, ["check"]);
        for secret in [API_KEY, DB_PASSWORD] {
            assert_not_leaked(&out, secret);
        }
        out
    };
    let out = check();
    let said = stdout(&out);
    assert!(out.status.success(), "check of a 0644 team file: {said}");
    assert!(
        said.contains(&format!("{}\n", team.join(".env.shared").display()))
            && said.contains(&format!("{}\n", team.join(".env").display()))
            && said.contains("project: would load"),
        "{said}"
    );
    fs::set_permissions(team.join(".env.shared"), fs::Permissions::from_mode(0o666)).unwrap();
    let out = check();
    assert!(!out.status.success(), "a 0666 team file passed check");
    assert!(
        stdout(&out).contains("project: refused"),
        "{}",
        stdout(&out)
    );
}
