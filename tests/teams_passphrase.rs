//! Passphrase-protected age identities (issue 13): a protected `~/.ssh/id_ed25519` made by
//! the real `ssh-keygen -N`, and an identity file protected by the real `age -p`. Where
//! nobody can be asked (a pipe, the prompt hook) the refusal names the file and the way out;
//! `allow` and `exec` run in a terminal (a real bash on a pseudo-terminal) ask once, hidden.
//!
//! The value and the passphrase are compared inside the test and hidden from the session's
//! failure messages.

mod common;
mod pty;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{TestEnv, assert_not_leaked, parse_env0, stderr, write_mode};
use envguard::cli::ShellKind;
use pty::{Session, assert_value};

const API_KEY: &str = "sk-locked-3a9f1c7e5b2d";
const PASSPHRASE: &str = "correct horse battery 42";
const PROMPT: &str = "(hidden): ";

/// A project whose `.env.shared` holds API_KEY, sealed by the `age` CLI to `recipient` alone.
fn project_sealed_to(env: &TestEnv, recipient: &str) -> PathBuf {
    let dir = env.work().join("team");
    fs::create_dir_all(&dir).unwrap();
    let recipients = dir.join(".env.recipients");
    write_mode(&recipients, &format!("# me\n{recipient}\n"), 0o644);
    let line = common::age_cli_line("API_KEY", API_KEY, &recipients);
    write_mode(&dir.join(".env.shared"), &line, 0o644);
    dir
}

fn session(env: &TestEnv) -> Session {
    let mut shell = Session::start(env, ShellKind::Bash, &env.work());
    shell.hide(API_KEY);
    shell.hide(PASSPHRASE);
    shell
}

/// What a program `exec` started in the session saw, read from the file it wrote.
fn exec_in(shell: &mut Session, env: &TestEnv, dir: &Path, prefix: &str) -> (String, bool) {
    let out = env.root.path().join("exec.out");
    let _ = fs::remove_file(&out);
    let command = format!(
        "(cd '{}' && {prefix}envguard exec -- sh -c 'env -0 > \"$0\"' '{}')",
        dir.display(),
        out.display()
    );
    let shown = shell.run_answering(&command, &[(PROMPT, PASSPHRASE)]);
    let loaded = fs::read(&out)
        .map(|bytes| {
            parse_env0(&bytes).get("API_KEY").map(Vec::as_slice) == Some(API_KEY.as_bytes())
        })
        .unwrap_or(false);
    (shown, loaded)
}

#[test]
fn a_protected_ssh_key_is_asked_for_once_in_a_terminal_and_named_where_it_cannot_be() {
    let env = TestEnv::new();
    let ssh = env.home().join(".ssh");
    fs::create_dir_all(&ssh).unwrap();
    fs::set_permissions(&ssh, fs::Permissions::from_mode(0o700)).unwrap();
    let key = ssh.join("id_ed25519");
    let made = Command::new("ssh-keygen")
        .args([
            "-q", "-t", "ed25519", "-C", "me@host", "-N", PASSPHRASE, "-f",
        ])
        .arg(&key)
        .output()
        .unwrap();
    assert!(made.status.success(), "ssh-keygen: {}", stderr(&made));
    let recipient = fs::read_to_string(ssh.join("id_ed25519.pub")).unwrap();
    let dir = project_sealed_to(&env, recipient.trim());

    // No terminal (a pipe, a kernel): refused, naming the key, the reason and the way out.
    let out = env.run(&dir, ["exec", "--", "true"]);
    assert_not_leaked(&out, API_KEY);
    assert!(!out.status.success(), "loaded without the passphrase");
    let words = stderr(&out);
    assert!(
        words.contains(&key.display().to_string())
            && words.contains("protected by a passphrase")
            && words.contains("`envguard exec -- COMMAND` in a terminal"),
        "{words}"
    );
    assert_eq!(words.lines().count(), 1, "{words}");

    let mut shell = session(&env);
    let shown = shell.run_answering(
        &format!("envguard allow '{}'", dir.join(".env.shared").display()),
        &[(PROMPT, PASSPHRASE)],
    );
    assert_eq!(shown.matches("passphrase for").count(), 1, "{shown}");
    assert!(shown.contains("allowed"), "{shown}");

    // The hook has no terminal to ask on: entering says so and loads nothing.
    let shown = shell.cd(&dir);
    assert!(shown.contains("protected by a passphrase"), "{shown}");
    assert!(!shown.contains("passphrase for"), "the hook asked: {shown}");
    assert_value(&shell.dump(), "API_KEY", None);

    let (shown, loaded) = exec_in(&mut shell, &env, &dir, "");
    assert_eq!(shown.matches("passphrase for").count(), 1, "{shown}");
    assert!(loaded, "exec did not load the value after the passphrase");
}

#[test]
fn an_identity_file_protected_by_age_p_opens_with_its_passphrase_and_refuses_a_wrong_one() {
    let env = TestEnv::new();
    let plain = env.root.path().join("plain.txt");
    let dir = project_sealed_to(&env, &common::age_keygen(&plain));
    let protected = env.root.path().join("identity.age");

    let mut shell = session(&env);
    shell.run_answering(
        &format!(
            "age -p -a -o '{}' '{}'",
            protected.display(),
            plain.display()
        ),
        &[
            ("passphrase", PASSPHRASE),
            ("onfirm passphrase", PASSPHRASE),
        ],
    );
    fs::remove_file(&plain).unwrap();
    fs::set_permissions(&protected, fs::Permissions::from_mode(0o600)).unwrap();
    let armored = fs::read_to_string(&protected).unwrap();
    assert!(armored.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));

    let out = env
        .cmd(&dir, ["allow", ".env.shared"])
        .env("ENVGUARD_AGE_IDENTITY_FILE", &protected)
        .output()
        .unwrap();
    assert!(!out.status.success(), "allowed without the passphrase");
    assert!(
        stderr(&out).contains(&protected.display().to_string()),
        "{}",
        stderr(&out)
    );

    let prefix = format!("ENVGUARD_AGE_IDENTITY_FILE='{}' ", protected.display());
    let shown = shell.run_answering(
        &format!(
            "{prefix}envguard allow '{}'",
            dir.join(".env.shared").display()
        ),
        &[(PROMPT, "not the passphrase")],
    );
    assert!(
        shown.contains("did not open with the passphrase typed"),
        "{shown}"
    );
    let shown = shell.run_answering(
        &format!(
            "{prefix}envguard allow '{}'",
            dir.join(".env.shared").display()
        ),
        &[(PROMPT, PASSPHRASE)],
    );
    assert!(shown.contains("allowed"), "{shown}");
    let (shown, loaded) = exec_in(&mut shell, &env, &dir, &prefix);
    assert_eq!(shown.matches("passphrase for").count(), 1, "{shown}");
    assert!(loaded, "exec did not load the value after the passphrase");
}
