//! The everyday commands through the real binary: init, set (pipe and a real pseudo-terminal),
//! unset, list, edit, check's git and directory warnings, completions and man; the lock with
//! two real processes, and crash safety with a process killed between the steps of a write.
//!
//! Values are compared inside the test; a failure names an index or a length, never a value.

mod common;

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{TestEnv, assert_not_leaked, git, loaded, stderr, stdout, write_mode};

const SECRET: &str = "sk-live-9f8e7d6c5b4a39281706f3a9";

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn project_dir(env: &TestEnv, name: &str) -> std::path::PathBuf {
    let dir = env.work().join(name);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn init_creates_a_private_ignored_allowed_env_once() {
    let env = TestEnv::new();
    let dir = project_dir(&env, "p");
    git(&dir, &["init", "-q"]);
    let out = env.run(&dir, ["init"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).lines().count(),
        2,
        "init says what it did and what next in two lines"
    );
    assert!(stderr(&out).contains("envguard set"));
    assert_eq!(mode(&dir.join(".env")), 0o600);
    assert_eq!(
        fs::read_to_string(dir.join(".gitignore")).unwrap(),
        ".env\n"
    );
    git(&dir, &["check-ignore", "-q", ".env"]);
    assert_eq!(env.run(&dir, ["check"]).status.code(), Some(0));

    let again = env.run(&dir, ["init"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );

    // Already ignored: .gitignore is left alone. --force empties the file.
    fs::write(dir.join(".env"), "A=1\n").unwrap();
    assert!(env.run(&dir, ["init", "--force"]).status.success());
    assert_eq!(fs::read(dir.join(".env")).unwrap(), b"");
    assert_eq!(
        fs::read_to_string(dir.join(".gitignore")).unwrap(),
        ".env\n"
    );

    // A subdirectory project: the repository's top-level .gitignore gets the entry, kept
    // byte for byte otherwise.
    let sub = dir.join("svc");
    fs::create_dir(&sub).unwrap();
    fs::write(dir.join(".gitignore"), "target/").unwrap();
    assert!(env.run(&dir, ["init", "svc"]).status.success());
    assert_eq!(
        fs::read_to_string(dir.join(".gitignore")).unwrap(),
        "target/\n.env\n"
    );
    git(&sub, &["check-ignore", "-q", ".env"]);
}

#[test]
fn set_from_a_pipe_round_trips_any_value_exactly() {
    let env = TestEnv::new();
    let dir = project_dir(&env, "p");
    let mut values: Vec<String> = vec![
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n".into(),
        r#"{"type": "service_account", "key": "a\"b\\c", "n": [1, 2]}"#.into(),
        "postgres://user:p@ss:w0rd#1'\"$x@db.example.com:5432/app?ssl=true".into(),
        "trailing backslash \\".into(),
        "\\".into(),
        "'".into(),
        "\\'".into(),
        "  leading and trailing spaces  ".into(),
        "# not a comment".into(),
        "a # b".into(),
        "$HOME and ${unclosed".into(),
        "crlf\r\nand lone\rcr".into(),
        "ünïcödé ✓ 鍵 🔑".into(),
        String::new(),
        "\n\n".into(),
        "\t\x0b\x0c\x1b[31m".into(),
    ];
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let alphabet: Vec<char> = "ab Z09'\"\\$#={}\n\r\t -_é€🔑".chars().collect();
    while values.len() < 120 {
        let len = (xorshift(&mut seed) % 40) as usize;
        let value: String = (0..len)
            .map(|_| match xorshift(&mut seed) % 5 {
                0 => char::from_u32((xorshift(&mut seed) % 0xD7FF) as u32 + 1).unwrap(),
                _ => alphabet[(xorshift(&mut seed) % alphabet.len() as u64) as usize],
            })
            .collect();
        // `${NAME}` is substituted in every .env value (python-dotenv does the same), so
        // `set` refuses such values; that refusal is tested separately.
        if !value.contains("${") {
            values.push(value);
        }
    }
    let names: Vec<String> = (0..values.len()).map(|i| format!("V{i}")).collect();
    let mut input = Vec::new();
    for value in &values {
        input.extend_from_slice(value.as_bytes());
        input.push(0);
    }
    let mut args = vec!["set", "--null"];
    args.extend(names.iter().map(String::as_str));
    let out = env.run_with_input(&dir, &args, &input);
    assert!(out.status.success(), "set failed: {}", stderr(&out));
    for value in values.iter().filter(|v| v.len() > 3) {
        assert_not_leaked(&out, value);
    }
    assert_eq!(mode(&dir.join(".env")), 0o600);

    let seen = loaded(&env, &dir);
    for (i, value) in values.iter().enumerate() {
        let got = seen.get(&names[i]).map(Vec::as_slice);
        assert!(
            got == Some(value.as_bytes()),
            "value {i} ({} bytes) did not round-trip through exec",
            value.len()
        );
    }

    // python-dotenv reads the file envguard wrote the same way.
    let python = std::env::var("ENVGUARD_TEST_PYTHON")
        .expect("ENVGUARD_TEST_PYTHON must name a Python with python-dotenv");
    let out = Command::new(python)
        .args(["-c", "import sys, dotenv\nfor k, v in dotenv.dotenv_values(sys.argv[1]).items(): sys.stdout.write(k + '=' + v + '\\0')", ".env"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python-dotenv failed: {}",
        stderr(&out)
    );
    let python_seen: Vec<&[u8]> = out.stdout.split(|&b| b == 0).collect();
    for (i, value) in values.iter().enumerate() {
        let expected = format!("{}={value}", names[i]);
        assert!(
            python_seen.contains(&expected.as_bytes()),
            "python-dotenv read value {i} ({} bytes) differently",
            value.len()
        );
    }

    // One name takes the whole of standard input, minus one final newline.
    let pem = values[0].clone();
    let out = env.run_with_input(&dir, ["set", "KEY"], format!("{pem}\n").as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        loaded(&env, &dir).get("KEY").map(Vec::as_slice) == Some(pem.as_bytes()),
        "PEM key did not round-trip"
    );
}

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn set_replaces_in_place_and_keeps_every_other_byte() {
    let env = TestEnv::new();
    let before = "# API settings\r\n\nexport API_KEY = 'old-old-old' # rotated monthly\r\nDEBUG=1\n\n  # tail comment\nURL=\"x\"";
    let dir = env.allowed_project("p", before);
    let out = env.run_with_input(
        &dir,
        ["set", "API_KEY", "NEW"],
        format!("{SECRET}\nfresh\n").as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_not_leaked(&out, SECRET);
    let after = fs::read_to_string(dir.join(".env")).unwrap();
    let expected = before.replace("'old-old-old'", &format!("'{SECRET}'")) + "\nNEW='fresh'\n";
    assert!(
        after == expected,
        "the file was not rewritten byte for byte ({} vs {} bytes)",
        after.len(),
        expected.len()
    );
    assert_eq!(mode(&dir.join(".env")), 0o600);
    // Re-allowed: it loads without another `allow`.
    assert!(loaded(&env, &dir).get("API_KEY").map(Vec::as_slice) == Some(SECRET.as_bytes()));

    // Earlier duplicates go, so an old secret does not linger in the file.
    fs::write(dir.join(".env"), "A=first-old\nB=2\nA=second-old\n").unwrap();
    assert!(env.run(&dir, ["allow"]).status.success());
    assert!(
        env.run_with_input(&dir, ["set", "A"], b"new\n")
            .status
            .success()
    );
    assert_eq!(
        fs::read_to_string(dir.join(".env")).unwrap(),
        "B=2\nA='new'\n"
    );

    // A `KEY` line without `=` after a value of KEY (python-dotenv drops the value) is refused
    // by the parser, so `set` leaves such a file alone and points at `edit`.
    let cancelled = "A=old-secret-value\nB=2\nA\n";
    fs::write(dir.join(".env"), cancelled).unwrap();
    assert_eq!(env.run(&dir, ["allow"]).status.code(), Some(1));
    let out = env.run_with_input(&dir, ["set", "A"], b"new\n");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains(".env:3: ") && stderr(&out).contains("envguard edit"));
    assert!(fs::read_to_string(dir.join(".env")).unwrap() == cancelled);
}

#[test]
fn set_refuses_command_line_values_bad_names_and_unparseable_files() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", "A=1\n");
    let out = env.run(&dir, ["set", &format!("TOKEN={SECRET}")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("shell history"), "{}", stderr(&out));
    assert_not_leaked(&out, SECRET);
    assert_eq!(fs::read_to_string(dir.join(".env")).unwrap(), "A=1\n");

    let out = env.run(&dir, ["set", "--insecure-arg", &format!("TOKEN={SECRET}")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_not_leaked(&out, SECRET);
    assert!(loaded(&env, &dir).get("TOKEN").map(Vec::as_slice) == Some(SECRET.as_bytes()));

    for bad in ["1A", "A-B", "PROMPT_COMMAND", "ENVGUARD_X"] {
        let out = env.run_with_input(&dir, ["set", bad], b"v\n");
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
    let out = env.run_with_input(&dir, ["set", "A"], b"x${HOME}y\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("${"), "{}", stderr(&out));
    let out = env.run_with_input(&dir, ["set", "A", "B"], b"only one\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("expected 2 values"),
        "{}",
        stderr(&out)
    );

    let broken = format!("OK=1\nTOKEN='{SECRET}\n");
    write_mode(&dir.join(".env"), &broken, 0o600);
    let out = env.run_with_input(&dir, ["set", "NEW"], b"v\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(".env:2:"), "{}", stderr(&out));
    assert_not_leaked(&out, SECRET);
    assert!(
        fs::read_to_string(dir.join(".env")).unwrap() == broken,
        "the unparseable file was changed"
    );
}

#[test]
fn set_creates_the_file_like_init_and_does_not_approve_unreviewed_files() {
    let env = TestEnv::new();
    let dir = project_dir(&env, "p");
    git(&dir, &["init", "-q"]);
    let out = env.run_with_input(&dir, ["set", "TOKEN"], format!("{SECRET}\n").as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(mode(&dir.join(".env")), 0o600);
    git(&dir, &["check-ignore", "-q", ".env"]);
    assert!(loaded(&env, &dir).contains_key("TOKEN"));

    // A file that was never allowed (say, from a cloned repository) stays unallowed.
    let cloned = env.project("cloned", "LD_PRELOAD=/tmp/evil.so\n", 0o600);
    let out = env.run_with_input(&cloned, ["set", "TOKEN"], b"mine\n");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("not allowed"), "{}", stderr(&out));
    assert_eq!(
        env.run(&cloned, ["exec", "--", "true"]).status.code(),
        Some(1)
    );
}

#[test]
fn unset_removes_every_assignment_and_keeps_the_rest() {
    let env = TestEnv::new();
    let dir = env.allowed_project(
        "p",
        "# keep\nA=1\nexport B='two\nlines' # note\nC=3\nB=again\n",
    );
    let out = env.run(&dir, ["unset", &format!("B={SECRET}")]);
    assert_eq!(out.status.code(), Some(2));
    assert_not_leaked(&out, SECRET);
    let out = env.run(&dir, ["unset", "B", "MISSING"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("MISSING is not set"));
    assert_eq!(
        fs::read_to_string(dir.join(".env")).unwrap(),
        "# keep\nA=1\nC=3\n"
    );
    assert_eq!(mode(&dir.join(".env")), 0o600);
    let seen = loaded(&env, &dir);
    assert!(seen.contains_key("A") && !seen.contains_key("B"));

    // Statements without `=` are statements of the name too: unset removes them.
    fs::write(dir.join(".env"), "A\nC=3\nA=old-secret-value\n").unwrap();
    assert!(env.run(&dir, ["unset", "A"]).status.success());
    assert_eq!(fs::read_to_string(dir.join(".env")).unwrap(), "C=3\n");
}

#[test]
fn list_masks_values_and_tells_whether_the_file_loads() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", &format!("API_KEY={SECRET}\nPIN=1234\n"));
    let out = env.run(&dir, ["list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("would load"), "{text}");
    assert!(text.contains("sk…a9 (32 chars)"), "{text}");
    assert!(
        text.contains("PIN") && text.contains("(4 chars)") && !text.contains("1234"),
        "{text}"
    );
    assert_not_leaked(&out, SECRET);

    let names = env.run(&dir, ["list", "--names"]);
    assert_eq!(stdout(&names), "API_KEY\nPIN\n");

    fs::set_permissions(dir.join(".env"), fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.run(&dir, ["list"]);
    assert!(
        stdout(&out).contains("refused") && stdout(&out).contains("chmod 600"),
        "{}",
        stdout(&out)
    );
    assert_not_leaked(&out, SECRET);
}

#[test]
fn edit_checks_allows_and_keeps_a_broken_result_unallowed() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", "A=1\n");
    let editor = env.work().join("editor.sh");
    write_mode(
        &editor,
        "#!/bin/sh\nprintf 'B=%s\\n' \"$EDIT_VALUE\" >> \"$1\"\n",
        0o755,
    );
    let edit = |value: &str| {
        env.cmd(&dir, ["edit"])
            .env("EDITOR", &editor)
            .env("EDIT_VALUE", value)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = edit("two");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        fs::read_to_string(dir.join(".env")).unwrap(),
        "A=1\nB=two\n"
    );
    assert_eq!(mode(&dir.join(".env")), 0o600);
    assert_eq!(env.run(&dir, ["check", "-q"]).status.code(), Some(0));

    let out = edit("'unterminated");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(".env:3:"), "{}", stderr(&out));
    assert!(
        fs::read_to_string(dir.join(".env"))
            .unwrap()
            .ends_with("B='unterminated\n")
    );
    assert_eq!(env.run(&dir, ["check", "-q"]).status.code(), Some(1));
    // Nothing but the .env in the project: no editor swap or backup files, no temp files.
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);

    // An editor given with arguments is split like a shell would.
    let out = env
        .cmd(&dir, ["edit"])
        .env("VISUAL", "sh -c 'true'")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "still broken, so still refused: {}",
        stderr(&out)
    );
}

#[test]
fn check_warns_about_git_and_a_writable_directory() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", "A=1\n");
    git(&dir, &["init", "-q"]);
    let out = env.run(&dir, ["check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "warnings do not refuse: {}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("not ignored by git"),
        "{}",
        stdout(&out)
    );

    git(&dir, &["add", "-f", ".env"]);
    assert!(stdout(&env.run(&dir, ["check"])).contains("tracked by git"));
    git(&dir, &["rm", "-q", "--cached", ".env"]);
    fs::write(dir.join(".gitignore"), ".env\n").unwrap();
    let text = stdout(&env.run(&dir, ["check"]));
    assert!(!text.contains("git"), "{text}");

    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    let text = stdout(&env.run(&dir, ["check"]));
    assert!(
        text.contains("writable by group or others") && text.contains("chmod go-w"),
        "{text}"
    );
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
}

/// A reader that went away (`envguard check | head -0`) is an I/O error (exit 2), not a panic.
#[test]
fn output_to_a_closed_pipe_is_an_error_not_a_panic() {
    let env = TestEnv::new();
    let project = env.allowed_project("p", "A=1\n");
    let nowhere = project_dir(&env, "nowhere");
    for (dir, args) in [
        (&project, ["check"]),
        (&nowhere, ["check"]),
        (&project, ["list"]),
    ] {
        let (reader, writer) = nix::unistd::pipe().unwrap();
        drop(reader);
        let out = env
            .cmd(dir, args)
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("Broken pipe"), "{}", stderr(&out));
    }
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    let env = TestEnv::new();
    let dir = env.work();
    for (shell, checker) in [("bash", "bash"), ("zsh", "zsh"), ("fish", "fish")] {
        let out = env.run(&dir, ["completions", shell]);
        assert!(out.status.success());
        assert!(stdout(&out).contains("insecure-arg"), "{shell}");
        let script = dir.join(format!("completion.{shell}"));
        fs::write(&script, &out.stdout).unwrap();
        let syntax = Command::new(checker)
            .arg("-n")
            .arg(&script)
            .output()
            .expect("bash, zsh and fish must be installed");
        assert!(
            syntax.status.success(),
            "{shell} rejects its completion script: {}",
            stderr(&syntax)
        );
    }
    let man = env.run(&dir, ["man"]);
    assert!(man.status.success());
    assert!(
        stdout(&man).starts_with(".ie") || stdout(&man).contains(".TH envguard"),
        "not a man page"
    );
}

#[test]
fn concurrent_sets_from_two_processes_lose_no_update() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", "# shared\n");
    let writer = |prefix: &'static str| {
        let mut script = String::new();
        for i in 0..15 {
            script.push_str(&format!(
                "echo value-{prefix}{i} | \"$BIN\" set {prefix}{i} || exit 1\n"
            ));
        }
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(&dir)
            .env_clear()
            .envs(env.base_env())
            .env("BIN", common::BIN)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (writer("A"), writer("B"));
    for child in [first, second] {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let seen = loaded(&env, &dir);
    for prefix in ["A", "B"] {
        for i in 0..15 {
            let name = format!("{prefix}{i}");
            assert!(
                seen.get(&name).map(Vec::as_slice) == Some(format!("value-{name}").as_bytes()),
                "{name} was lost"
            );
        }
    }
    assert!(
        fs::read_to_string(dir.join(".env"))
            .unwrap()
            .starts_with("# shared\n")
    );
}

#[test]
fn a_kill_between_write_steps_leaves_old_or_new_file_and_no_loose_temp_file() {
    let env = TestEnv::new();
    let old = "A=old\n";
    let dir = env.allowed_project("p", old);

    let killed = |step: &str| {
        let mut child = env
            .cmd(&dir, ["set", "A"])
            .env("ENVGUARD_TEST_KILL_AT", step)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{SECRET}\n").as_bytes())
            .unwrap();
        let status = child.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(9),
            "the test hook did not kill at {step}"
        );
    };
    let temp_files = || -> Vec<std::path::PathBuf> {
        fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap() != ".env")
            .collect()
    };

    killed("temp-written");
    assert_eq!(
        fs::read_to_string(dir.join(".env")).unwrap(),
        old,
        "the old file must survive intact"
    );
    let left = temp_files();
    assert_eq!(left.len(), 1, "the killed writer's temp file");
    assert_eq!(
        mode(&left[0]),
        0o600,
        "a leftover temp file must not be readable by others"
    );
    // The next write clears stale temp files away.
    let stale = Command::new("touch")
        .arg("-d")
        .arg("1 hour ago")
        .arg(&left[0])
        .status()
        .unwrap();
    assert!(stale.success());
    assert!(
        env.run_with_input(&dir, ["set", "B"], b"2\n")
            .status
            .success()
    );
    assert!(temp_files().is_empty(), "stale temp file not removed");

    killed("renamed");
    let now = fs::read_to_string(dir.join(".env")).unwrap();
    assert!(
        now == format!("A='{SECRET}'\nB='2'\n"),
        "the new file must be complete ({} bytes)",
        now.len()
    );
    assert_eq!(mode(&dir.join(".env")), 0o600);
    assert!(temp_files().is_empty());
}

#[test]
fn the_hidden_prompt_reads_the_terminal_without_echo() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", "");
    let python = std::env::var("ENVGUARD_TEST_PYTHON")
        .expect("ENVGUARD_TEST_PYTHON must name a Python with pexpect");
    // The secret reaches the driver through its environment, never its argv.
    let driver = r#"
import os, sys, pexpect
child = pexpect.spawn(sys.argv[1], ["set", "API_KEY"], env=dict(os.environ), timeout=20)
child.expect_exact("API_KEY (hidden): ")
child.sendline(os.environ["SECRET_UNDER_TEST"])
child.expect(pexpect.EOF)
child.close()
screen = child.before.decode("utf-8", "replace")
sys.exit(3 if os.environ["SECRET_UNDER_TEST"] in screen else child.exitstatus)
"#;
    let out = Command::new(python)
        .args(["-c", driver, common::BIN])
        .current_dir(&dir)
        .env_clear()
        .envs(env.base_env())
        .env("PWD", &dir)
        .env("SECRET_UNDER_TEST", SECRET)
        .output()
        .unwrap();
    assert_ne!(
        out.status.code(),
        Some(3),
        "the typed secret was echoed to the terminal"
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_not_leaked(&out, SECRET);
    assert!(loaded(&env, &dir).get("API_KEY").map(Vec::as_slice) == Some(SECRET.as_bytes()));
}
