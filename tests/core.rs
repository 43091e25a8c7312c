//! The core loader through the real binary: guard, trust, parse errors, `exec`, `check`.

mod common;

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::process::Command;

use common::{TestEnv, assert_not_leaked, is_root, stderr, stdout, write_mode};

const SECRET: &str = "s3cr3t-value-that-must-not-leak";

fn env_line() -> String {
    format!("API_KEY={SECRET}\n")
}

#[test]
fn only_0600_and_0400_pass_the_mode_check() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", &env_line());
    let file = dir.join(".env");
    let special = [0o4600, 0o2600, 0o1600, 0o6600, 0o7600];
    for mode in (0..=0o777).chain(special) {
        fs::set_permissions(&file, fs::Permissions::from_mode(mode)).unwrap();
        let out = env.run(&dir, ["check", "--quiet"]);
        let expected = if mode == 0o600 || mode == 0o400 { 0 } else { 1 };
        assert_eq!(out.status.code(), Some(expected), "mode {mode:04o}");
    }
}

#[test]
fn loose_mode_refusal_names_file_mode_and_fix() {
    let env = TestEnv::new();
    let dir = env.project("p", &env_line(), 0o644);
    let out = env.run(&dir, ["exec", "--", "true"]);
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    let path = dir.join(".env");
    assert!(
        message.contains(&format!("{}: has mode 0644", path.display())),
        "{message}"
    );
    assert!(
        message.contains(&format!("chmod 600 {}", path.display())),
        "{message}"
    );
    assert_eq!(message.lines().count(), 1, "{message}");
    assert_not_leaked(&out, SECRET);
}

#[test]
fn file_owned_by_someone_else_is_refused() {
    if !is_root() {
        eprintln!("skipped: chown to another user needs root (CI runs as root)");
        return;
    }
    let env = TestEnv::new();
    let dir = env.allowed_project("p", &env_line());
    let status = Command::new("chown")
        .arg("nobody")
        .arg(dir.join(".env"))
        .status()
        .unwrap();
    assert!(status.success());
    let out = env.run(&dir, ["exec", "--", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is owned by nobody"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn symlink_is_followed_and_its_target_checked() {
    let env = TestEnv::new();
    let dir = env.work().join("p");
    fs::create_dir(&dir).unwrap();
    let target = env.work().join("shared.env");
    write_mode(&target, &env_line(), 0o600);
    symlink(&target, dir.join(".env")).unwrap();
    assert!(env.run(&dir, ["allow"]).status.success());
    let out = env.run(&dir, ["exec", "--", "printenv", "API_KEY"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).trim_end() == SECRET,
        "value did not round-trip"
    );

    fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.run(&dir, ["exec", "--", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("has mode 0644"));
}

#[test]
fn dangling_symlink_is_refused_not_skipped() {
    let env = TestEnv::new();
    let parent = env.allowed_project("parent", &env_line());
    let child = parent.join("child");
    fs::create_dir(&child).unwrap();
    symlink("missing.env", child.join(".env")).unwrap();
    let out = env.run(&child, ["exec", "--", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
}

#[test]
fn fifo_named_env_is_refused_without_hanging() {
    let env = TestEnv::new();
    let dir = env.work().join("p");
    fs::create_dir(&dir).unwrap();
    nix::unistd::mkfifo(
        &dir.join(".env"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    let out = env.run(&dir, ["exec", "--", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is a FIFO, not a regular file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn directory_named_env_is_skipped_by_discovery_but_refused_when_named() {
    let env = TestEnv::new();
    let parent = env.allowed_project("parent", &env_line());
    let venv_project = parent.join("notebooks");
    fs::create_dir_all(venv_project.join(".env")).unwrap();
    let out = env.run(&venv_project, ["exec", "--", "printenv", "API_KEY"]);
    assert!(out.status.success(), "{}", stderr(&out));

    let out = env.run(&venv_project, ["exec", "-f", ".env", "--", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is a directory"), "{}", stderr(&out));
}

#[test]
fn oversized_file_is_refused_before_reading() {
    let env = TestEnv::new();
    let dir = env.project(
        "p",
        &format!("{}\n{}", env_line(), "# padding\n".repeat(200)),
        0o600,
    );
    let out = env
        .cmd(&dir, ["exec", "--", "true"])
        .env("ENVGUARD_MAX_SIZE", "1000")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("over the 1000-byte limit"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("ENVGUARD_MAX_SIZE"));
}

#[test]
fn malformed_lines_report_path_and_line_without_the_secret() {
    let cases: &[(&str, usize)] = &[
        ("OK=1\nAPI_KEY=\"s3cr3t-value-that-must-not-leak\n", 2),
        (
            "OK=1\n\n# comment\nAPI_KEY='s3cr3t-value-that-must-not-leak\n",
            4,
        ),
        ("OK=1\nAPI-KEY=s3cr3t-value-that-must-not-leak\n", 2),
        ("1API_KEY=s3cr3t-value-that-must-not-leak\n", 1),
        (
            "OK=1\r\nOK2=2\r\nAPI_KEY=\"s3cr3t-value-that-must-not-leak\" trailing\r\n",
            3,
        ),
        ("PROMPT_COMMAND=s3cr3t-value-that-must-not-leak\n", 1),
        ("A=1\nENVGUARD_QUIET=s3cr3t-value-that-must-not-leak\n", 2),
        ("A=1\n\nfish_greeting=s3cr3t-value-that-must-not-leak\n", 3),
    ];
    let env = TestEnv::new();
    for (index, (contents, line)) in cases.iter().enumerate() {
        let dir = env.project(&format!("case{index}"), contents, 0o600);
        for args in [&["exec", "--", "true"][..], &["allow"][..]] {
            let out = env.run(&dir, args);
            assert_eq!(out.status.code(), Some(1), "case {index} {args:?}");
            let expected = format!("{}:{line}: ", dir.join(".env").display());
            assert!(
                stderr(&out).contains(&expected),
                "case {index}: {}",
                stderr(&out)
            );
            assert_eq!(stderr(&out).lines().count(), 1, "case {index}");
            assert_not_leaked(&out, SECRET);
        }
    }
}

#[test]
fn untrusted_until_allowed_and_one_byte_edit_revokes() {
    let env = TestEnv::new();
    let dir = env.project("p", &env_line(), 0o600);
    let file = dir.join(".env");
    let out = env.run(&dir, ["exec", "--", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is not allowed yet"));
    assert!(stderr(&out).contains(&format!("envguard allow {}", file.display())));

    assert!(env.run(&dir, ["allow"]).status.success());
    assert!(env.run(&dir, ["exec", "--", "true"]).status.success());

    let mut bytes = fs::read(&file).unwrap();
    *bytes.last_mut().unwrap() = b' ';
    fs::write(&file, bytes).unwrap();
    let out = env.run(&dir, ["exec", "--", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("has changed since it was allowed"),
        "{}",
        stderr(&out)
    );

    assert!(env.run(&dir, ["allow"]).status.success());
    assert!(env.run(&dir, ["exec", "--", "true"]).status.success());
    assert!(env.run(&dir, ["deny"]).status.success());
    assert_eq!(env.run(&dir, ["exec", "--", "true"]).status.code(), Some(1));
}

#[test]
fn trust_store_keeps_digests_not_values() {
    let env = TestEnv::new();
    env.allowed_project("p", &env_line());
    let store = fs::read_to_string(env.data_dir().join("envguard/trust.json")).unwrap();
    assert!(!store.contains(SECRET), "the trust store holds a value");
    let mode = fs::metadata(env.data_dir().join("envguard/trust.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn corrupt_trust_store_trusts_nothing_says_so_and_recovers() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", &env_line());
    fs::write(env.data_dir().join("envguard/trust.json"), "{ garbage").unwrap();
    let out = env.run(&dir, ["exec", "--", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("trust store"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not allowed yet"),
        "{}",
        stderr(&out)
    );

    assert!(env.run(&dir, ["allow"]).status.success());
    assert!(env.run(&dir, ["exec", "--", "true"]).status.success());
}

#[test]
fn exec_passes_variables_and_exit_status() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", &format!("{}OTHER='two words'\n", env_line()));
    let out = env.run(
        &dir,
        [
            "exec",
            "--",
            "sh",
            "-c",
            "test \"$OTHER\" = 'two words' && exit 7",
        ],
    );
    assert_eq!(out.status.code(), Some(7));
    let out = env.run(&dir, ["exec", "--", "printenv", "API_KEY"]);
    assert!(stdout(&out).trim_end() == SECRET);
}

#[test]
fn exec_file_values_win_over_the_inherited_environment() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", &env_line());
    let out = env
        .cmd(&dir, ["exec", "--", "printenv", "API_KEY"])
        .env("API_KEY", "inherited")
        .output()
        .unwrap();
    assert!(stdout(&out).trim_end() == SECRET);
}

#[test]
fn exec_missing_command_is_127_and_missing_env_is_an_error() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", &env_line());
    let out = env.run(&dir, ["exec", "--", "no-such-command-envguard"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(stderr(&out).contains("no-such-command-envguard: command not found"));

    let empty = env.work().join("empty");
    fs::create_dir(&empty).unwrap();
    let out = env.run(&empty, ["exec", "--", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no .env here or in any parent directory"),
        "{}",
        stderr(&out)
    );
    let out = env.run(&empty, ["exec", "--allow-missing", "--", "true"]);
    assert!(out.status.success());
}

#[test]
fn exec_replaces_the_process() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", &env_line());
    let child = env
        .cmd(&dir, ["exec", "--", "sh", "-c", "echo $$ $PPID"])
        .output()
        .unwrap();
    let pids = stdout(&child);
    let mut fields = pids.split_whitespace();
    let _shell_pid = fields.next().unwrap();
    let parent: u32 = fields.next().unwrap().parse().unwrap();
    assert_eq!(
        parent,
        std::process::id(),
        "the program's parent must be the test, not envguard"
    );
}

#[test]
fn exec_with_dir_and_file_options() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", &env_line());
    let elsewhere = env.work();
    let out = env.run(
        &elsewhere,
        [
            "exec",
            "-C",
            dir.to_str().unwrap(),
            "--",
            "printenv",
            "API_KEY",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let file = dir.join(".env");
    let out = env.run(
        &elsewhere,
        [
            "exec",
            "-f",
            file.to_str().unwrap(),
            "--",
            "printenv",
            "API_KEY",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn check_reports_each_check_with_fixes() {
    let env = TestEnv::new();
    let dir = env.project("p", &env_line(), 0o640);
    let out = env.run(&dir, ["check"]);
    assert_eq!(out.status.code(), Some(1));
    let report = stdout(&out);
    for expected in [
        "✓ found",
        "✓ regular file",
        "✓ owned by you",
        "✗ has mode 0640",
        "✗ is not allowed yet",
        "chmod 600",
        "envguard allow",
    ] {
        assert!(
            report.contains(expected),
            "missing {expected:?} in:\n{report}"
        );
    }
    assert_not_leaked(&out, SECRET);

    fs::set_permissions(dir.join(".env"), fs::Permissions::from_mode(0o600)).unwrap();
    assert!(env.run(&dir, ["allow"]).status.success());
    let out = env.run(&dir, ["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("would load"));
}

#[test]
fn a_refusal_to_a_closed_stderr_still_exits_1_without_a_panic() {
    let env = TestEnv::new();
    let dir = env.project("p", &env_line(), 0o644);
    let mut child = env
        .cmd(&dir, ["exec", "--", "true"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    assert_eq!(child.wait().unwrap().code(), Some(1));
}

#[test]
fn a_variable_too_long_for_any_program_is_refused_with_its_line() {
    let env = TestEnv::new();
    let long = "x".repeat(128 * 1024);
    let dir = env.project("p", &format!("OK=1\nBLOB={long}\n"), 0o600);
    let out = env.run(&dir, ["allow"]);
    assert_eq!(out.status.code(), Some(1));
    let expected = format!("{}:2: BLOB is ", dir.join(".env").display());
    assert!(stderr(&out).contains(&expected), "{}", stderr(&out));
    assert!(stderr(&out).contains("over 128 KiB"), "{}", stderr(&out));
    assert_not_leaked(&out, &long);

    let fits = "x".repeat(100 * 1024);
    let dir = env.allowed_project("q", &format!("BLOB={fits}\n"));
    let out = env.run(&dir, ["exec", "--", "sh", "-c", "test ${#BLOB} -eq 102400"]);
    assert!(out.status.success(), "{}", stderr(&out));
}
