//! Names in a hostile `.env` (issue 10, items 1-4 and 20), against the real program and real
//! interactive shells: a name a shell runs as code is refused before any prompt can expand
//! it, a name that only changes the user's shell is refused by the hook but loads for
//! `envguard exec`, the hook's own variables are out of reach, and names that make other
//! programs run code are named (never their values) by every command that approves a file.

mod common;
mod pty;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use envguard::cli::ShellKind;
use pty::Session;

/// A project whose `.env` is `contents` (mode 0600), and the marker file its payload would
/// create if any shell ran it.
fn hostile_project(env: &TestEnv, name: &str, contents: &str) -> (PathBuf, PathBuf) {
    let marker = env.root.path().join(format!("{name}.ran"));
    let contents = contents.replace("MARKER", &marker.display().to_string());
    (env.project(name, &contents, 0o600), marker)
}

/// `envguard allow` in `dir` must refuse, naming `name`.
#[track_caller]
fn assert_allow_refuses(env: &TestEnv, dir: &Path, name: &str) {
    let out = env.run(dir, ["allow"]);
    assert!(
        !out.status.success(),
        "allow accepted a .env setting {name}"
    );
    assert!(
        stderr(&out).contains(name),
        "the refusal does not name {name}: {}",
        stderr(&out)
    );
}

/// Entering `dir` in `session`: the hook must refuse the file naming `name` and load nothing.
#[track_caller]
fn assert_hook_refuses(session: &mut Session, dir: &Path, name: &str) {
    let shown = session.cd(dir);
    let refusal = shown
        .lines()
        .find(|line| line.contains("envguard: ") && line.contains(name));
    assert!(
        refusal.is_some(),
        "{:?}: no refusal naming {name} on entering the project:\n{shown}",
        session.kind
    );
    let exported = session.dump();
    assert!(!exported.contains_key(name), "{name} was exported");
    assert!(
        !exported.contains_key("EG_CANARY"),
        "{:?}: the rest of a file setting {name} loaded",
        session.kind
    );
}

#[test]
fn bash_mailpath_cannot_run_a_command_at_the_prompt() {
    let env = TestEnv::new();
    let (dir, marker) = hostile_project(
        &env,
        "mail",
        "MAILPATH='mbox?$(touch MARKER)'\nMAILCHECK=0\nEG_CANARY=1\n",
    );
    assert_allow_refuses(&env, &dir, "MAILPATH");
    let mut bash = Session::start(&env, ShellKind::Bash, &env.work());
    assert_hook_refuses(&mut bash, &dir, "MAILPATH");
    // New mail (modified after it was last read, so bash reports it without waiting for the
    // clock to tick), then prompts at which bash checks for it.
    bash.run("printf 'From x\\n' >> mbox; touch -m -d 2099-01-01 mbox");
    bash.run("true");
    bash.run("true");
    assert!(!marker.exists(), "the MAILPATH message ran a command");
}

#[test]
fn zsh_prompt_parameters_cannot_run_a_command_with_prompt_subst() {
    let env = TestEnv::new();
    let mut zsh = Session::start_with(&env, ShellKind::Zsh, &env.work(), "setopt prompt_subst");
    for name in [
        "PROMPT_EOL_MARK",
        "SPROMPT",
        "RPS1",
        "RPROMPT",
        "PS4",
        "WATCHFMT",
    ] {
        let (dir, marker) = hostile_project(
            &env,
            name,
            &format!("{name}='$(touch MARKER)'\nEG_CANARY=1\n"),
        );
        assert_allow_refuses(&env, &dir, name);
        assert_hook_refuses(&mut zsh, &dir, name);
        // Output without a final newline: zsh shows PROMPT_EOL_MARK before the next prompt.
        zsh.run("printf x");
        zsh.run("cd ..");
        assert!(!marker.exists(), "{name} ran a command at the prompt");
    }
}

/// Names that change how the user's own shell behaves: the hook refuses them, `exec` (which
/// starts no shell of envguard's) loads them, and `allow` and `check` say so by name.
#[test]
fn shell_behaviour_names_are_refused_by_the_hook_only() {
    let env = TestEnv::new();
    let cases = [
        (
            ShellKind::Bash,
            &[
                "GLOBIGNORE",
                "HISTSIZE",
                "HISTFILESIZE",
                "HISTIGNORE",
                "HISTFILE",
                "histchars",
                "EXECIGNORE",
                "FUNCNEST",
                "IGNOREEOF",
                "INPUTRC",
                "TERMINFO",
                "TMOUT",
            ][..],
        ),
        (
            ShellKind::Zsh,
            &[
                "SAVEHIST",
                "HISTSIZE",
                "NULLCMD",
                "READNULLCMD",
                "KEYTIMEOUT",
                "WORDCHARS",
                "TMPPREFIX",
                "histchars",
                "USERNAME",
            ][..],
        ),
    ];
    for (kind, names) in cases {
        let mut shell = Session::start(&env, kind, &env.work());
        for name in names {
            let project = format!("{kind:?}-{name}");
            let dir = env.project(&project, &format!("{name}=.x\nEG_CANARY=1\n"), 0o600);
            let out = env.run(&dir, ["allow"]);
            assert!(out.status.success(), "allow {name}: {}", stderr(&out));
            assert!(
                stderr(&out).contains(&format!("warning: {}", dir.join(".env").display()))
                    && stderr(&out).contains(&format!(": {name} ")),
                "allow gave no warning about {name}: {}",
                stderr(&out)
            );
            let check = env.run(&dir, ["check"]);
            assert!(
                stderr(&check).contains(name) || stdout(&check).contains(name),
                "check says nothing about {name}"
            );
            assert_hook_refuses(&mut shell, &dir, name);
            let exec = env.run(&dir, ["exec", "--", "env", "-0"]);
            assert!(exec.status.success(), "exec {name}: {}", stderr(&exec));
            let given = parse_env0(&exec.stdout);
            assert!(
                given.contains_key(*name) && given.contains_key("EG_CANARY"),
                "exec did not load a file setting {name}"
            );
            shell.cd(&env.work());
        }
    }
}

/// The hook scripts keep the binary's path in `__envguard_exe`: a file that could set it
/// would make every later prompt run a program of its choosing.
#[test]
fn the_hooks_own_names_are_refused_in_any_case() {
    let env = TestEnv::new();
    let payload = env.root.path().join("payload");
    let marker = env.root.path().join("payload.ran");
    write_mode(
        &payload,
        &format!("#!/bin/sh\ntouch '{}'\n", marker.display()),
        0o755,
    );
    let mut bash = Session::start(&env, ShellKind::Bash, &env.work());
    for name in [
        "__envguard_exe",
        "__ENVGUARD_EXE",
        "__EnvGuard_hook",
        "__envguard_status",
        "envguard_quiet",
        "ENVGUARD_QUIET",
    ] {
        let dir = env.project(
            name,
            &format!("{name}={}\nEG_CANARY=1\n", payload.display()),
            0o600,
        );
        assert_allow_refuses(&env, &dir, name);
        let exec = env.run(&dir, ["exec", "--", "true"]);
        assert!(!exec.status.success(), "exec loaded a file setting {name}");
        assert_hook_refuses(&mut bash, &dir, name);
        bash.run("true");
        bash.cd(&env.work());
    }
    assert!(!marker.exists(), "the hook ran the file's program");
}

/// Names that make other programs run code load, but every command that approves a file
/// names each one with the reason, and never its value.
#[test]
fn names_that_run_code_elsewhere_are_named_by_check_allow_set_and_edit() {
    const VALUE: &str = "eg-value-never-shown-7c1f";
    let names = [
        "HOME",
        "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_SYSTEM",
        "GIT_CONFIG_COUNT",
        "GIT_CONFIG_KEY_0",
        "GIT_CONFIG_VALUE_0",
        "GIT_EXTERNAL_DIFF",
        "GIT_TEMPLATE_DIR",
        "GCONV_PATH",
        "SHELL",
        "TMPDIR",
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "PYTHONUSERBASE",
        "PIP_INDEX_URL",
        "PIP_TRUSTED_HOST",
        "npm_config_registry",
        "CARGO_HOME",
        "RUSTC_WRAPPER",
        "SSL_CERT_FILE",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "http_proxy",
        "https_proxy",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "JUPYTER_CONFIG_PATH",
        "JUPYTER_DATA_DIR",
    ];
    let env = TestEnv::new();
    let contents: String = names.iter().map(|n| format!("{n}={VALUE}\n")).collect();
    let dir = env.project("elsewhere", &contents, 0o600);
    let warned = |out: &std::process::Output, name: &str| {
        stderr(out)
            .lines()
            .chain(stdout(out).lines())
            .filter(|line| {
                line.contains(&format!(": {name} ")) || line.contains(&format!("! {name} "))
            })
            .count()
    };

    let check = env.run(&dir, ["check"]);
    let allow = env.run(&dir, ["allow"]);
    assert!(allow.status.success(), "allow: {}", stderr(&allow));
    for out in [&check, &allow] {
        assert_not_leaked(out, VALUE);
        for name in names {
            assert_eq!(warned(out, name), 1, "not one warning line about {name}");
        }
    }

    // `set` warns about the names it sets.
    let set = env.run_with_input(
        &dir,
        ["set", "GIT_CONFIG_GLOBAL", "RUSTC_WRAPPER"],
        format!("{VALUE}\n{VALUE}\n").as_bytes(),
    );
    assert!(set.status.success(), "set: {}", stderr(&set));
    assert_not_leaked(&set, VALUE);
    for name in ["GIT_CONFIG_GLOBAL", "RUSTC_WRAPPER"] {
        assert_eq!(
            warned(&set, name),
            1,
            "set: not one warning line about {name}"
        );
    }

    // `edit`, with an "editor" that writes a new version of the file.
    let new_version = env.root.path().join("edited");
    write_mode(
        &new_version,
        &format!("GIT_EXTERNAL_DIFF={VALUE}\nEG_PLAIN=1\n"),
        0o600,
    );
    let edit = env
        .edit(&dir, format!("cp {}", new_version.display()))
        .output()
        .unwrap();
    assert!(edit.status.success(), "edit: {}", stderr(&edit));
    assert_not_leaked(&edit, VALUE);
    assert_eq!(warned(&edit, "GIT_EXTERNAL_DIFF"), 1, "edit: no warning");
    assert_eq!(
        warned(&edit, "EG_PLAIN"),
        0,
        "edit warned about a plain name"
    );
    assert!(
        fs::read_to_string(dir.join(".env"))
            .unwrap()
            .contains("EG_PLAIN")
    );
}
