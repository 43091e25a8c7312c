//! The hook scripts as the shells see them: each one sourced (twice) by the real shell without
//! a word of output, shellcheck-clean for bash, and registered exactly once.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::*;

/// `envguard hook SHELL`, as text.
fn hook(env: &TestEnv, shell: &str) -> String {
    let out = env.run(&env.work(), ["hook", shell]);
    assert!(
        out.status.success(),
        "hook {shell} failed: {}",
        stderr(&out)
    );
    stdout(&out)
}

/// Runs `script` with `shell` in strict, rc-free mode, in the test's isolated environment,
/// with the built envguard first in `PATH` (as an installed one would be).
fn run_shell(env: &TestEnv, shell: &str, script: &str) -> std::process::Output {
    let args: &[&str] = match shell {
        "bash" => &["--noprofile", "--norc", "-euo", "pipefail", "-c"],
        "zsh" => &["-f", "-euo", "pipefail", "-c"],
        "fish" => &["--no-config", "--private", "-c"],
        _ => unreachable!(),
    };
    env.shell(shell)
        .args(args)
        .arg(script)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {shell} (the test command installs it): {e}"))
}

/// Asserts that a shell run succeeded without a word on either stream.
#[track_caller]
fn assert_silent(shell: &str, out: &std::process::Output) {
    assert!(out.status.success(), "{shell}: {}", stderr(out));
    assert_eq!(
        (stdout(out), stderr(out)),
        (String::new(), String::new()),
        "{shell}"
    );
}

#[test]
fn each_shell_sources_its_hook_twice_silently() {
    let env = TestEnv::new();
    for shell in ["bash", "zsh", "fish"] {
        let script = hook(&env, shell);
        assert_silent(
            shell,
            &run_shell(&env, shell, &format!("{script}\n{script}\n")),
        );
    }
}

#[test]
fn the_hook_runs_silently_where_there_is_no_env() {
    let env = TestEnv::new();
    let calls = [
        ("bash", "eval \"$(envguard hook bash)\"; __envguard_hook"),
        ("zsh", "eval \"$(envguard hook zsh)\"; __envguard_hook"),
        ("fish", "envguard hook fish | source; __envguard_hook"),
    ];
    for (shell, script) in calls {
        assert_silent(shell, &run_shell(&env, shell, script));
    }
}

#[test]
fn bash_hook_is_shellcheck_clean() {
    let env = TestEnv::new();
    let mut child = Command::new("shellcheck")
        .args(["--shell=bash", "--enable=all", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("shellcheck is required (the test command installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(hook(&env, "bash").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "shellcheck:\n{}", stdout(&out));
}

#[test]
fn bash_prompt_command_is_kept_as_a_string_or_an_array_and_registered_once() {
    let env = TestEnv::new();
    let script = hook(&env, "bash");
    let string = run_shell(
        &env,
        "bash",
        &format!("PROMPT_COMMAND='mine'\n{script}\n{script}\nprintf '%s' \"$PROMPT_COMMAND\""),
    );
    assert_eq!(
        stdout(&string),
        "__envguard_hook;mine",
        "{}",
        stderr(&string)
    );
    let array = run_shell(
        &env,
        "bash",
        &format!(
            "PROMPT_COMMAND=(one two)\n{script}\n{script}\nprintf '%s,' \"${{PROMPT_COMMAND[@]}}\""
        ),
    );
    assert_eq!(
        stdout(&array),
        "__envguard_hook,one,two,",
        "{}",
        stderr(&array)
    );
}

#[test]
fn zsh_hook_is_registered_once() {
    let env = TestEnv::new();
    let script = hook(&env, "zsh");
    let out = run_shell(
        &env,
        "zsh",
        &format!("{script}\n{script}\nprint -rn -- ${{precmd_functions}},${{chpwd_functions}}"),
    );
    assert_eq!(
        stdout(&out),
        "__envguard_hook,__envguard_hook",
        "{}",
        stderr(&out)
    );
}

#[test]
fn export_refuses_a_file_whose_state_would_not_fit_in_one_variable() {
    let env = TestEnv::new();
    let contents: String = (0..20_000)
        .map(|i| format!("VARIABLE_NUMBER_{i:05}=v\n"))
        .collect();
    let dir = env.allowed_project("huge", &contents);
    let out = env.run(&dir, ["export", "bash"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stdout(&out).contains("VARIABLE_NUMBER_"),
        "variables were exported"
    );
    assert!(
        stderr(&out).contains("sets 20000 variables, more than the shell hook can carry"),
        "{}",
        stderr(&out)
    );
    // The refusal is remembered like any other: the state records it, and it is small.
    assert!(stdout(&out).contains("__ENVGUARD_STATE=") && stdout(&out).len() < 4096);
}
