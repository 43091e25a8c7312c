//! The prompt hook against a shell the user has set up their own way and a `.env` that tries
//! to steer it: tracing must not print values, the user's Ctrl-C trap must survive, a moved
//! `HOME`/`XDG_DATA_HOME` must not choose the trust store, outer variables a file refers to
//! must be followed, and hostile file names must not reach the terminal raw. Real interactive
//! shells on a pty where the shell is involved (see `pty`).

mod common;
mod pty;

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use common::*;
use envguard::cli::ShellKind;
use pty::*;

const SHELLS: [ShellKind; 3] = [ShellKind::Bash, ShellKind::Zsh, ShellKind::Fish];

/// `export NAME=value` in the session's own syntax.
fn export(kind: ShellKind, name: &str, value: &str) -> String {
    match kind {
        ShellKind::Fish => format!("set -gx {name} {value}"),
        ShellKind::Bash | ShellKind::Zsh => format!("export {name}={value}"),
    }
}

/// Whether `needle` occurs in `haystack`, for assertions that must not print a secret.
fn contains(haystack: &str, needle: &str) -> bool {
    haystack.contains(needle)
}

#[test]
fn tracing_in_the_users_shell_does_not_print_loaded_values_and_stays_on() {
    for kind in SHELLS {
        let env = TestEnv::new();
        let secret = "tr4ce-s3cret-value";
        let p = env.allowed_project("p", &format!("EG_TRACED={secret}\n"));
        let mut sh = Session::start(&env, kind, &env.work());
        sh.hide(secret);
        let name = sh.shell_name();
        let (on, is_on) = match kind {
            ShellKind::Bash => (
                "set -xv",
                "[[ $- == *x* && $- == *v* ]] && printf '%s%s\\n' TRACE ON",
            ),
            ShellKind::Zsh => (
                "setopt xtrace verbose",
                "[[ -o xtrace && -o verbose ]] && printf '%s%s\\n' TRACE ON",
            ),
            ShellKind::Fish => (
                "set -g fish_trace 1",
                "test -n \"$fish_trace\"; and printf '%s%s\\n' TRACE ON",
            ),
        };
        sh.run(on);
        let entered = sh.cd(&p);
        let left = sh.cd(&env.work());
        let still_on = sh.run(is_on);
        assert!(
            !contains(&entered, secret) && !contains(&left, secret),
            "{name}: a loaded value ({} bytes) was traced on the terminal",
            secret.len()
        );
        assert!(
            contains(&entered, "envguard: loaded "),
            "{name}: the hook did not load"
        );
        assert!(
            contains(&still_on, "TRACEON"),
            "{name}: the user's tracing was not restored"
        );
    }
}

#[test]
fn the_users_own_interrupt_trap_survives_prompts_that_load() {
    for kind in SHELLS {
        let env = TestEnv::new();
        let p = env.allowed_project("p", "EG_T=t\n");
        let q = env.allowed_project("q", "EG_T=q\n");
        let (trap, interrupt) = match kind {
            ShellKind::Bash | ShellKind::Zsh => {
                ("trap 'printf \"%s%s\\n\" USER TRAP' INT", "kill -INT $$")
            }
            ShellKind::Fish => (
                "trap 'printf \"%s%s\\n\" USER TRAP' INT",
                "kill -INT $fish_pid",
            ),
        };
        let mut sh = Session::start(&env, kind, &env.work());
        let name = sh.shell_name();
        sh.run(trap);
        // Prompts that evaluate something (load, switch, unload) and one that does not.
        sh.cd(&p);
        sh.cd(&q);
        sh.cd(&env.work());
        sh.run("true");
        let shown = sh.run(interrupt);
        assert!(
            shown.contains("USERTRAP"),
            "{name}: the user's SIGINT trap is gone:\n{shown}"
        );
        if kind == ShellKind::Fish {
            let shown =
                sh.run("functions -q __envguard_on_interrupt; or printf '%s%s\\n' NO HANDLER");
            assert!(
                shown.contains("NOHANDLER"),
                "fish: the hook's own handler outlived the hook"
            );
        }
    }
}

#[test]
fn a_change_in_an_outer_variable_the_file_refers_to_reloads_it_at_the_next_prompt() {
    for kind in SHELLS {
        let env = TestEnv::new();
        let p = env.allowed_project(
            "p",
            "EG_BIN=${EG_VENV}/bin\nEG_PP=${EG_PP}:src\nEG_FIXED=f\n\
             EG_HOOKS=${__ENVGUARD_KEY}${__ENVGUARD_STATE}\n",
        );
        let mut sh = Session::start(&env, kind, &env.work());
        let name = sh.shell_name();
        sh.run(&export(kind, "EG_PP", "pre"));
        sh.cd(&p);
        let first = sh.dump();
        assert_value(&first, "EG_BIN", Some("/bin"));
        assert_value(&first, "EG_PP", Some("pre:src"));

        // Activating a virtualenv, as `source .venv/bin/activate` would.
        let shown = sh.run(&export(kind, "EG_VENV", "/venv-one"));
        let p_env = p.join(".env").display().to_string();
        assert_eq!(
            one_message(name, &shown),
            format!("envguard: reloaded {p_env} ~EG_BIN"),
            "{name}"
        );
        let activated = sh.dump();
        assert_value(&activated, "EG_BIN", Some("/venv-one/bin"));
        assert_value(&activated, "EG_PP", Some("pre:src"));
        // The hook's own variables are not the file's to read.
        assert_value(&activated, "EG_HOOKS", Some(""));
        sh.run(&export(kind, "EG_VENV", "/venv-two"));
        assert_value(&sh.dump(), "EG_BIN", Some("/venv-two/bin"));

        // Prompts where nothing the file refers to changed say and reload nothing.
        assert!(
            !sh.run(&export(kind, "EG_UNRELATED", "x"))
                .contains("envguard:"),
            "{name}: an unrelated variable reloaded the file"
        );
        // The loaded variable itself is the user's to override until the file reloads.
        assert!(
            !sh.run(&export(kind, "EG_PP", "mine")).contains("envguard:"),
            "{name}: overriding a loaded variable reloaded the file"
        );
        let state_env = sh.dump();
        assert_value(&state_env, "EG_PP", Some("mine"));
        // The state names what it watches, never the values, and the key is the hook's own.
        let state = state_env.get("__ENVGUARD_STATE").expect("no state");
        let has = |v: &str| state.windows(v.len()).any(|w| w == v.as_bytes());
        assert!(has("EG_VENV"), "{name}: the state does not record EG_VENV");
        // Only what `${...}` looked up is watched, not the environment the size rules count.
        assert!(
            !has("SHLVL"),
            "{name}: the state watches the whole environment"
        );
        assert!(!has("venv-two"), "{name}: the state holds an outer value");
        assert!(
            !state_env.contains_key("__ENVGUARD_KEY") && !state_env.contains_key("__envguard_key"),
            "{name}: the fingerprint key is exported"
        );

        // Leaving restores what the self-reference was computed from.
        sh.cd(&env.work());
        let left = sh.dump();
        assert_value(&left, "EG_PP", Some("pre"));
        assert_value(&left, "EG_BIN", None);
    }
}

#[test]
fn moving_within_a_project_whose_file_refers_to_nothing_leaves_the_state_untouched() {
    for kind in SHELLS {
        let env = TestEnv::new();
        let p = env.allowed_project("p", "EG_PLAIN=value-without-references\n");
        let sub = p.join("sub");
        std::fs::create_dir(&sub).unwrap();
        let mut sh = Session::start(&env, kind, &env.work());
        let name = sh.shell_name();
        sh.cd(&p);
        let before = sh.dump().get("__ENVGUARD_STATE").cloned();
        assert!(before.is_some(), "{name}: nothing loaded");
        // PWD and OLDPWD change, as does any variable the user exports: none is an input.
        sh.cd(&sub);
        sh.run(&export(kind, "LANG", "C.UTF-8"));
        let after = sh.dump().get("__ENVGUARD_STATE").cloned();
        assert!(
            before == after,
            "{name}: the state was rewritten by a prompt that changed nothing the file reads"
        );
    }
}

/// Allows `dir`'s `.env` in the trust store under `data` (an XDG_DATA_HOME).
fn allow_in_store(env: &TestEnv, dir: &Path, data: &Path) {
    let out = env
        .cmd(dir, ["allow"])
        .env("XDG_DATA_HOME", data)
        .output()
        .unwrap();
    assert!(out.status.success(), "allow: {}", stderr(&out));
}

#[test]
fn a_file_that_moves_home_or_the_data_dir_does_not_choose_the_next_trust_store() {
    for kind in SHELLS {
        let env = TestEnv::new();
        let fake_data = env.work().join("p/store");
        let fake_home = env.work().join("p/home");
        let p = env.allowed_project(
            "p",
            &format!(
                "XDG_DATA_HOME={}\nHOME={}\nEG_P=p\n",
                fake_data.display(),
                fake_home.display()
            ),
        );
        // The project ships a store (under both places the moved variables point to) in
        // which its subdirectory's file is allowed; the user never allowed it.
        let sub = env.project("p/sub", "EG_SUB=planted\n", 0o600);
        fs::create_dir_all(&fake_home).unwrap();
        allow_in_store(&env, &sub, &fake_data);
        allow_in_store(&env, &sub, &fake_home.join(".local/share"));

        let mut sh = Session::start(&env, kind, &env.work());
        let name = sh.shell_name();
        sh.cd(&p);
        assert_value(&sh.dump(), "EG_P", Some("p"));
        let shown = sh.cd(&sub);
        let line = one_message(name, &shown);
        assert!(
            line.contains("is not allowed yet"),
            "{name}: the planted store was consulted: {line}"
        );
        assert_value(&sh.dump(), "EG_SUB", None);
        // Allowing it for real (with the user's own store) loads it.
        let allowed = env.run(&sub, ["allow"]);
        assert!(allowed.status.success(), "{}", stderr(&allowed));
        sh.run("true");
        assert_value(&sh.dump(), "EG_SUB", Some("planted"));
    }
}

#[test]
fn a_file_that_moves_the_config_dir_does_not_choose_the_provider_schemes() {
    // A project ships a providers.toml (under both places its moved variables point to) whose
    // scheme runs a program; a file loaded later names that scheme. The user's own config has
    // no such scheme, so the value is plain text and nothing runs.
    for kind in SHELLS {
        let env = TestEnv::new();
        let marker = env.work().join("ran");
        let fake_config = env.work().join("p/config");
        let fake_home = env.work().join("p/home");
        let p = env.allowed_project(
            "p",
            &format!(
                "XDG_CONFIG_HOME={}\nHOME={}\nEG_P=p\n",
                fake_config.display(),
                fake_home.display()
            ),
        );
        let scheme = format!(
            "[schemes.evil]\nargv = [\"touch\", \"{}-{{ref}}\"]\n",
            marker.display()
        );
        for dir in [
            fake_config.join("envguard"),
            fake_home.join(".config/envguard"),
        ] {
            fs::create_dir_all(&dir).unwrap();
            common::write_mode(&dir.join("providers.toml"), &scheme, 0o644);
        }
        let sub = env.allowed_project("p/sub", "EG_SUB=evil://x\n");

        let mut sh = Session::start(&env, kind, &env.work());
        let name = sh.shell_name();
        sh.cd(&p);
        assert_value(&sh.dump(), "EG_P", Some("p"));
        sh.cd(&sub);
        sh.run(&format!("{} exec -- true", common::BIN));
        let ran = fs::read_dir(env.work())
            .unwrap()
            .flatten()
            .any(|entry| entry.file_name().to_string_lossy().starts_with("ran"));
        assert!(!ran, "{name}: a project's providers.toml ran a program");
        assert_value(&sh.dump(), "EG_SUB", Some("evil://x"));
    }
}

/// A directory under `work` whose name holds a newline, an escape sequence that would erase
/// the line, and a byte that is not UTF-8.
fn hostile_dir(env: &TestEnv) -> PathBuf {
    let name = OsStr::from_bytes(b"evil\nenvguard: loaded /fake\x1b[2K\xff");
    env.work().join(name)
}

fn assert_escaped(what: &str, text: &str) {
    assert!(
        !text.contains('\u{1b}') && !text.contains("\u{fffd}"),
        "{what}: a raw escape or non-UTF-8 byte: {text:?}"
    );
    assert!(
        text.contains(r"evil\nenvguard: loaded /fake\e[2K\xff"),
        "{what}: the name is not shown escaped: {text:?}"
    );
}

#[test]
fn hostile_file_names_are_escaped_in_hook_and_status_lines() {
    let env = TestEnv::new();
    let dir = hostile_dir(&env);
    fs::create_dir_all(&dir).unwrap();
    write_mode(&dir.join(".env"), "EG_H=h\n", 0o600);

    // Refused (never allowed): the refusal line.
    let refused = env.run(&dir, ["export", "bash"]);
    let line = stderr(&refused);
    assert_eq!(line.lines().count(), 1, "{line:?}");
    assert_escaped("refusal", &line);

    let out = env.run(&dir, ["allow"]);
    assert!(out.status.success(), "allow: {}", stderr(&out));
    let loaded = env.run(&dir, ["export", "bash"]);
    let line = stderr(&loaded);
    assert_eq!(line.lines().count(), 1, "{line:?}");
    assert!(line.starts_with("envguard: loaded $'"), "{line:?}");
    assert_escaped("loaded", &line);

    // `status` in the shell the hook loaded it into, then leaving it.
    // The state is printable ASCII, so its quoted form holds no other quote.
    let exported = stdout(&loaded);
    let state = exported
        .split_once("export __ENVGUARD_STATE='")
        .and_then(|(_, rest)| rest.split_once('\''))
        .map(|(state, _)| state.to_owned())
        .expect("no state");
    let status = env
        .cmd(&dir, ["status"])
        .env("__ENVGUARD_STATE", &state)
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", stderr(&status));
    assert_escaped("status", &stdout(&status));
    let left = env
        .cmd(&env.work(), ["export", "bash"])
        .env("__ENVGUARD_STATE", &state)
        .output()
        .unwrap();
    let line = stderr(&left);
    assert_eq!(line.lines().count(), 1, "{line:?}");
    assert!(line.starts_with("envguard: unloaded $'"), "{line:?}");
    assert_escaped("unloaded", &line);
}

#[test]
fn names_that_make_programs_run_code_are_marked_in_the_load_line() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", "EG_PLAIN=1\nGIT_PAGER=less\nEDITOR=vi\n");
    let out = env.run(&dir, ["export", "bash"]);
    let line = stderr(&out);
    assert_eq!(
        line.trim_end(),
        format!(
            "envguard: loaded {}/.env +EG_PLAIN !GIT_PAGER !EDITOR",
            dir.display()
        )
    );
}
