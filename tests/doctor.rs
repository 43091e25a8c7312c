//! `envguard doctor` against real setups (real shells on a pty, real git, a real Jupyter
//! kernel), and the fixes it and the common refusals print, run exactly as shown.

mod common;
mod pty;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use common::{TestEnv, stderr, stdout};
use envguard::cli::ShellKind;
use pty::Session;

/// `envguard doctor --json` run by `sh` with the binary on PATH, as from a script.
fn doctor(env: &TestEnv, dir: &Path) -> (Output, serde_json::Value) {
    let out = env
        .shell("sh")
        .current_dir(dir)
        .env("PWD", dir)
        .args(["-c", "envguard doctor --json; exit $?"])
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", stdout(&out), stderr(&out)));
    (out, report)
}

/// The findings of `area` whose message contains `text`.
fn findings<'a>(
    report: &'a serde_json::Value,
    area: &str,
    text: &str,
) -> Vec<&'a serde_json::Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["area"] == area && f["message"].as_str().unwrap().contains(text))
        .collect()
}

fn the_finding<'a>(report: &'a serde_json::Value, area: &str, text: &str) -> &'a serde_json::Value {
    let found = findings(report, area, text);
    assert_eq!(
        found.len(),
        1,
        "one {area} finding with {text:?} in {report:#}"
    );
    found[0]
}

/// Runs a printed fix through `sh`, as a user pasting it would.
fn run_fix(env: &TestEnv, dir: &Path, fix: &str) {
    let out = env
        .shell("sh")
        .current_dir(dir)
        .env("PWD", dir)
        .args(["-c", fix])
        .output()
        .unwrap();
    assert!(out.status.success(), "fix {fix:?} failed: {}", stderr(&out));
}

#[test]
fn a_clean_setup_has_no_problems_and_exits_zero() {
    let env = TestEnv::new();
    let (out, report) = doctor(&env, &env.work());
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["ok"], true);
    assert_eq!(report["version"], env!("CARGO_PKG_VERSION"));
    the_finding(&report, "binary", "on PATH is this binary");
    the_finding(&report, "trust", "no trust store yet");
    the_finding(&report, "git", "not in a git repository");
    let text = env
        .shell("sh")
        .current_dir(env.work())
        .args(["-c", "envguard doctor"])
        .output()
        .unwrap();
    assert!(
        stdout(&text).ends_with("no problems found\n"),
        "{}",
        stdout(&text)
    );
}

#[test]
fn startup_files_with_and_without_the_hook_are_told_apart() {
    let env = TestEnv::new();
    fs::write(
        env.home().join(".bashrc"),
        "# eval \"$(envguard hook zsh)\" is a comment\neval \"$(\"$HOME/bin/envguard\" hook bash)\"\n",
    )
    .unwrap();
    let (_, report) = doctor(&env, &env.work());
    assert_eq!(
        the_finding(&report, "shell", "bash: hook in")["status"],
        "ok"
    );
    let zsh = the_finding(&report, "shell", "zsh: no hook in");
    assert_eq!(zsh["status"], "note");
    // The fix adds the line; afterwards the file counts as hooked.
    run_fix(&env, &env.work(), zsh["fix"].as_str().unwrap());
    let (_, report) = doctor(&env, &env.work());
    assert_eq!(
        the_finding(&report, "shell", "zsh: hook in")["status"],
        "ok"
    );
    // fish's directory does not exist yet: the fix must create it.
    let fish = the_finding(&report, "shell", "fish: no hook in");
    run_fix(&env, &env.work(), fish["fix"].as_str().unwrap());
    let (_, report) = doctor(&env, &env.work());
    assert_eq!(
        the_finding(&report, "shell", "fish: hook in")["status"],
        "ok"
    );
}

#[test]
fn each_real_shell_with_the_hook_reports_it_active() {
    let env = TestEnv::new();
    let dir = env.work();
    for kind in [ShellKind::Bash, ShellKind::Zsh, ShellKind::Fish] {
        let mut shell = Session::start(&env, kind, &dir);
        let name = shell.shell_name();
        let shown = shell.run("envguard doctor");
        assert!(
            shown.contains(&format!("✓ shell: this shell ({name}, pid "))
                && shown.contains("has the hook active"),
            "{name}: {shown}"
        );
    }
}

#[test]
fn a_shell_without_the_hook_is_a_problem_even_with_an_inherited_mark() {
    let env = TestEnv::new();
    // An outer shell's mark, inherited: another pid, so it says nothing about this bash.
    let out = env
        .shell("bash")
        .current_dir(env.work())
        .env("__ENVGUARD_HOOK", "bash:1")
        .args(["--norc", "-c", "envguard doctor; exit $?"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("✗ shell: bash: no hook in"), "{text}");
    assert!(text.contains("does not have the hook active"), "{text}");
    assert!(
        text.contains(r#"fix: echo 'eval "$(envguard hook bash)"' >> "#)
            && text.contains("&& exec bash"),
        "{text}"
    );
}

#[test]
fn allowed_files_that_are_gone_are_named_and_the_fix_forgets_them() {
    let env = TestEnv::new();
    let kept = env.allowed_project("kept", "A=1\n");
    let gone = env.allowed_project("gone", "B=2\n");
    fs::remove_dir_all(&gone).unwrap();
    let (out, report) = doctor(&env, &kept);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(report["ok"], false);
    let finding = the_finding(&report, "trust", "no longer exists");
    assert!(finding["message"].as_str().unwrap().contains("gone/.env"));
    the_finding(&report, "trust", "2 allowed file(s)");
    run_fix(&env, &kept, finding["fix"].as_str().unwrap());
    let (out, report) = doctor(&env, &kept);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    the_finding(&report, "trust", "1 allowed file(s)");
}

#[test]
fn a_loose_trust_store_is_a_problem_with_a_working_fix() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", "A=1\n");
    let store_dir = env.data_dir().join("envguard");
    fs::set_permissions(&store_dir, fs::Permissions::from_mode(0o755)).unwrap();
    let (out, report) = doctor(&env, &dir);
    assert_eq!(out.status.code(), Some(1));
    let finding = the_finding(&report, "trust", "mode 0755");
    run_fix(&env, &dir, finding["fix"].as_str().unwrap());
    let (out, report) = doctor(&env, &dir);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
}

#[test]
fn the_git_hook_missing_installed_chained_and_stale() {
    let env = TestEnv::new();
    let dir = env.allowed_project("repo", "A=1\n");
    env.git_ok(&dir, &["init", "-q"]);
    let (out, report) = doctor(&env, &dir);
    assert_eq!(out.status.code(), Some(1));
    let missing = the_finding(&report, "git", "no pre-commit hook");
    assert_eq!(
        missing["status"], "problem",
        "a repository with a .env needs it"
    );
    run_fix(&env, &dir, missing["fix"].as_str().unwrap());
    let (out, report) = doctor(&env, &dir);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    the_finding(&report, "git", "runs `envguard scan --staged`");

    // Another hook chained, but not executable: git's hook would skip it without a word.
    let hooks = dir.join(".git/hooks");
    env.git_ok(&dir, &["config", "core.hooksPath", ".git/hooks"]);
    fs::write(hooks.join("pre-commit.envguard-chained"), "#!/bin/sh\n").unwrap();
    let (_, report) = doctor(&env, &dir);
    let finding = the_finding(&report, "git", "not executable");
    run_fix(&env, &dir, finding["fix"].as_str().unwrap());
    let (out, report) = doctor(&env, &dir);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    the_finding(&report, "git", "after your previous hook");

    // A hook written by another envguard binary is out of date; reinstalling updates it.
    let hook = hooks.join("pre-commit");
    let text = fs::read_to_string(&hook).unwrap();
    fs::write(&hook, text.replace("envguard=", "envguard=/old/envguard #")).unwrap();
    let (_, report) = doctor(&env, &dir);
    let stale = the_finding(&report, "git", "not what this envguard installs");
    run_fix(&env, &dir, stale["fix"].as_str().unwrap());
    let (out, report) = doctor(&env, &dir);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
}

#[test]
fn a_kernel_whose_project_is_gone_is_named_and_removed_by_the_fix() {
    let Ok(python) = std::env::var("ENVGUARD_TEST_PYTHON") else {
        panic!("ENVGUARD_TEST_PYTHON must name a Python with ipykernel (scripts/test sets it)");
    };
    let env = TestEnv::new();
    let dir = env.allowed_project("doctorkernel", "A=1\n");
    let out = env.run(
        &dir,
        [
            "kernel",
            "install",
            "--name",
            "doctor-gone",
            "--python",
            &python,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, report) = doctor(&env, &env.work());
    assert_eq!(
        the_finding(&report, "kernels", "kernel doctor-gone serves")["status"],
        "ok"
    );

    fs::remove_dir_all(&dir).unwrap();
    let (out, report) = doctor(&env, &env.work());
    assert_eq!(out.status.code(), Some(1));
    let finding = the_finding(&report, "kernels", "kernel doctor-gone: its project");
    assert_eq!(finding["fix"], "envguard kernel remove doctor-gone");
    run_fix(&env, &env.work(), finding["fix"].as_str().unwrap());
    let listed = env
        .shell("sh")
        .args(["-c", "jupyter kernelspec list"])
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", stderr(&listed));
    assert!(
        !stdout(&listed).contains("doctor-gone"),
        "{}",
        stdout(&listed)
    );
    let (_, report) = doctor(&env, &env.work());
    assert!(
        findings(&report, "kernels", "doctor-gone").is_empty(),
        "{report:#}"
    );
}

/// A kernel directory renamed by hand to hold terminal escapes: shown escaped, and answered
/// by removing the directory, since no envguard command takes such a name.
#[test]
fn a_kernel_named_with_escapes_is_shown_escaped_and_removed_by_path() {
    let Ok(python) = std::env::var("ENVGUARD_TEST_PYTHON") else {
        panic!("ENVGUARD_TEST_PYTHON must name a Python with ipykernel (scripts/test sets it)");
    };
    let env = TestEnv::new();
    let dir = env.allowed_project("doctorkernel", "A=1\n");
    let out = env.run(
        &dir,
        ["kernel", "install", "--name", "plain", "--python", &python],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let kernels = env.data_dir().join("jupyter/kernels");
    let hostile = kernels.join("x\u{1b}[31mred y");
    fs::rename(kernels.join("plain"), &hostile).unwrap();
    fs::remove_dir_all(&dir).unwrap();
    let (out, report) = doctor(&env, &env.work());
    assert_eq!(out.status.code(), Some(1));
    let finding = the_finding(&report, "kernels", "its project");
    let message = finding["message"].as_str().unwrap();
    let fix = finding["fix"].as_str().unwrap();
    assert!(
        !message.contains('\u{1b}') && message.contains("x\\e[31mred y"),
        "{message:?}"
    );
    assert!(
        !fix.contains('\u{1b}') && fix.starts_with("rm -r "),
        "{fix:?}"
    );
    let shell = env.shell("bash").args(["-c", fix]).output().unwrap();
    assert!(shell.status.success(), "{}", stderr(&shell));
    assert!(!hostile.exists(), "the fix left the directory");
}

// The fixes of common refusals, run exactly as printed.

/// The `(fix: …)` of an error line.
fn fix_of(line: &str) -> &str {
    let start = line
        .find("(fix: ")
        .unwrap_or_else(|| panic!("no fix in {line:?}"))
        + 6;
    line[start..].trim_end().strip_suffix(')').unwrap()
}

#[test]
fn a_typo_is_answered_with_a_look_not_an_rm() {
    let env = TestEnv::new();
    let dir = env.allowed_project("myproject", "A=1\n");
    let out = env.run(&env.work(), ["allow", "myprojetc"]);
    assert_eq!(out.status.code(), Some(1));
    let said = stderr(&out);
    assert!(said.contains("myprojetc: does not exist"), "{said}");
    let fix = fix_of(&said);
    assert!(!fix.contains("rm "), "{said}");
    run_fix(&env, &env.work(), fix.split_once(": ").unwrap().1);
    assert!(dir.is_dir());
}

#[test]
fn a_virtualenv_named_env_is_recreated_by_the_fix_and_works() {
    let env = TestEnv::new();
    let dir = env.work().join("venvproject");
    fs::create_dir(&dir).unwrap();
    let made = Command::new("python3")
        .args(["-m", "venv", ".env"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
    let out = env.run(&dir, ["init"]);
    assert_eq!(out.status.code(), Some(2));
    let said = stderr(&out);
    let fix = fix_of(&said);
    assert!(
        !fix.starts_with("rename") && fix.contains("python3 -m venv .venv"),
        "{said}"
    );
    run_fix(&env, &dir, fix.split_once(": ").unwrap().1);
    assert!(dir.join(".env").is_file(), "the fix ends with a .env file");
    let works = Command::new(dir.join(".venv/bin/python"))
        .args(["-c", "import sys; print(sys.prefix)"])
        .output()
        .unwrap();
    assert!(
        works.status.success(),
        "the new venv runs: {}",
        stderr(&works)
    );
    assert!(stdout(&works).trim_end().ends_with("/.venv"));
}

/// The command in a fix: the last backticked one when the fix has prose around it.
fn command_of(fix: &str) -> &str {
    let parts: Vec<&str> = fix.split('`').collect();
    if parts.len() >= 3 {
        parts[parts.len() - 2]
    } else {
        fix
    }
}

#[test]
fn the_fixes_check_prints_for_common_refusals_work_one_after_another() {
    let env = TestEnv::new();
    let dir = env.work().join("shared");
    fs::create_dir(&dir).unwrap();
    env.git_ok(&dir, &["init", "-q"]);
    fs::write(dir.join(".gitignore"), ".env").unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    let file = dir.join(".env.local");
    common::write_mode(&file, "A=1\n", 0o644);
    let mut ran = Vec::new();
    for _ in 0..8 {
        let out = env.run(&dir, ["check", ".env.local"]);
        let shown = stdout(&out);
        let Some(fix) = shown
            .lines()
            .find_map(|line| line.trim_start().strip_prefix("fix: "))
        else {
            assert_eq!(out.status.code(), Some(0), "{shown}");
            break;
        };
        let command = command_of(fix).to_owned();
        assert!(
            !ran.contains(&command),
            "{command:?} did not fix it:\n{shown}"
        );
        run_fix(&env, &dir, &command);
        ran.push(command);
    }
    assert_eq!(
        env.run(&dir, ["check", ".env.local"]).status.code(),
        Some(0)
    );
    for expected in ["chmod 600", "chmod go-w", ".env.local >>", "envguard allow"] {
        assert!(
            ran.iter().any(|command| command.contains(expected)),
            "no {expected:?} among {ran:?}"
        );
    }
}
