//! The prompt that starts no process: real interactive bash (with the `stat` loadable) and zsh
//! on a pty (see `pty`), real files. The hook's envguard is a wrapper that counts its runs, so
//! "no process" is measured, not assumed; and every kind of change must still be noticed at
//! the very next prompt, right after a load (inside bash's two-second racy window, where the
//! record is not trusted yet) and after it (where the shell's own check decides).

mod common;
mod pty;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::Duration;

use common::*;
use envguard::cli::ShellKind;
use envguard::hook::quote::quote;
use pty::*;

/// Past bash's racy window (`record::SETTLED_SECS`), plus a margin.
const SETTLE: Duration = Duration::from_millis(2100);

const BASELINE: &str = "EG_A=alpha\nEG_REF=x${EG_OUTER}\n";

/// A hooked shell whose hook runs envguard through a wrapper that counts the runs.
struct Counted {
    sh: Session,
    count_file: PathBuf,
    seen: usize,
}

impl Counted {
    fn start(env: &TestEnv, kind: ShellKind, dir: &Path, rc_extra: &str) -> Counted {
        let count_file = env.root.path().join("runs");
        let wrapper = env.root.path().join("counting-envguard");
        fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\necho run >> {}\nexec {} \"$@\"\n",
                quote(ShellKind::Bash, &count_file.display().to_string()),
                quote(ShellKind::Bash, BIN)
            ),
        )
        .unwrap();
        fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
        let rc = format!(
            "{rc_extra}\n__envguard_exe={}",
            quote(kind, &wrapper.display().to_string())
        );
        let sh = Session::start_with(env, kind, dir, &rc);
        let mut counted = Counted {
            sh,
            count_file,
            seen: 0,
        };
        counted.runs();
        counted
    }

    /// How many times the hook started envguard since the last call.
    fn runs(&mut self) -> usize {
        let total = fs::read_to_string(&self.count_file)
            .map(|text| text.lines().count())
            .unwrap_or(0);
        let new = total - self.seen;
        self.seen = total;
        new
    }

    /// Two prompts that must start nothing (for bash, once the record is settled: the first
    /// prompt past the window writes it).
    #[track_caller]
    fn assert_quiet_prompts(&mut self, what: &str) {
        let name = self.sh.shell_name();
        if self.sh.kind == ShellKind::Bash {
            self.sh.run("true");
        }
        self.runs();
        for _ in 0..2 {
            let shown = self.sh.run("true");
            assert!(!shown.contains("envguard:"), "{name} {what}: a message");
        }
        assert_eq!(
            self.runs(),
            0,
            "{name} {what}: an unchanged prompt ran envguard"
        );
    }
}

/// What a change must do at the next prompt.
enum Effect {
    /// A message line containing this.
    Says(&'static str),
    /// No message, and EG_A as loaded: the change is one the hook must skip (a directory
    /// named `.env`), but it may start envguard to find that out.
    Nothing,
}

struct Case {
    name: &'static str,
    /// Done by the test (another program), or typed in the shell when it returns a command.
    change: fn(&Ctx) -> Option<String>,
    effect: Effect,
}

struct Ctx {
    env: TestEnv,
    p: PathBuf,
    sub: PathBuf,
    q: PathBuf,
    kind: ShellKind,
}

impl Ctx {
    fn file(&self) -> PathBuf {
        self.p.join(".env")
    }
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "cd elsewhere",
            change: |ctx| {
                Some(format!(
                    "cd {}",
                    quote(ctx.kind, &ctx.q.display().to_string())
                ))
            },
            effect: Effect::Says("loaded"),
        },
        Case {
            name: "a new .env below",
            change: |ctx| {
                write_mode(&ctx.sub.join(".env"), "EG_A=sub\n", 0o600);
                None
            },
            effect: Effect::Says("sub/.env"),
        },
        Case {
            name: "a new .env.shared below",
            change: |ctx| {
                write_mode(&ctx.sub.join(".env.shared"), "EG_A=team\n", 0o600);
                None
            },
            effect: Effect::Says("sub/.env.shared"),
        },
        Case {
            name: "a dangling symlink below",
            change: |ctx| {
                std::os::unix::fs::symlink("missing", ctx.sub.join(".env")).unwrap();
                None
            },
            effect: Effect::Says("sub/.env"),
        },
        Case {
            name: "a directory named .env below",
            change: |ctx| {
                fs::create_dir(ctx.sub.join(".env")).unwrap();
                None
            },
            effect: Effect::Nothing,
        },
        Case {
            name: "a same-size edit in place",
            change: |ctx| {
                fs::write(ctx.file(), BASELINE.replace("alpha", "gamma")).unwrap();
                None
            },
            effect: Effect::Says("has changed since it was allowed"),
        },
        Case {
            name: "chmod 644",
            change: |ctx| {
                fs::set_permissions(ctx.file(), fs::Permissions::from_mode(0o644)).unwrap();
                None
            },
            effect: Effect::Says("0600 or 0400 required"),
        },
        Case {
            name: "a same-size edit with the mtime put back",
            change: |ctx| {
                let before = fs::metadata(ctx.file()).unwrap().modified().unwrap();
                fs::write(ctx.file(), BASELINE.replace("alpha", "delta")).unwrap();
                fs::File::options()
                    .write(true)
                    .open(ctx.file())
                    .unwrap()
                    .set_modified(before)
                    .unwrap();
                None
            },
            effect: Effect::Says("has changed since it was allowed"),
        },
        Case {
            name: "a rename over the file with the same mtime",
            change: |ctx| {
                let before = fs::metadata(ctx.file()).unwrap().modified().unwrap();
                let new = ctx.p.join(".env.new");
                write_mode(&new, &BASELINE.replace("alpha", "omega"), 0o600);
                fs::File::options()
                    .write(true)
                    .open(&new)
                    .unwrap()
                    .set_modified(before)
                    .unwrap();
                fs::rename(&new, ctx.file()).unwrap();
                None
            },
            effect: Effect::Says("has changed since it was allowed"),
        },
        Case {
            name: "deny from another shell",
            change: |ctx| {
                let out = ctx.env.run(&ctx.p, ["deny"]);
                assert!(out.status.success(), "deny: {}", stderr(&out));
                None
            },
            effect: Effect::Says("unloaded"),
        },
        Case {
            name: "envguard set in this shell",
            change: |ctx| {
                let dir = quote(ctx.kind, &ctx.p.display().to_string());
                Some(format!("printf new | envguard set -C {dir} EG_NEW"))
            },
            effect: Effect::Says("+EG_NEW"),
        },
        Case {
            name: "a referenced outer variable changes",
            change: |_| Some("export EG_OUTER=changed".into()),
            effect: Effect::Says("~EG_REF"),
        },
        Case {
            name: "a stale PWD",
            change: |ctx| {
                fs::rename(&ctx.p, ctx.p.with_file_name("p-moved")).unwrap();
                None
            },
            effect: Effect::Says("unloaded"),
        },
    ]
}

/// Puts `p` back as it was (allowed, no file below it) and the shell in `p/sub`, loaded.
fn reset(ctx: &Ctx, sh: &mut Counted) {
    let moved = ctx.p.with_file_name("p-moved");
    if moved.exists() {
        fs::rename(&moved, &ctx.p).unwrap();
    }
    for name in [".env", ".env.shared"] {
        let path = ctx.sub.join(name);
        if path.is_dir() && !path.is_symlink() {
            fs::remove_dir(&path).unwrap();
        } else if path.symlink_metadata().is_ok() {
            fs::remove_file(&path).unwrap();
        }
    }
    write_mode(&ctx.file(), BASELINE, 0o600);
    let out = ctx.env.run(&ctx.p, ["allow"]);
    assert!(out.status.success(), "allow: {}", stderr(&out));
    sh.sh.run("unset EG_OUTER");
    sh.sh.cd(&ctx.sub);
    let loaded = sh.sh.dump();
    assert_value(&loaded, "EG_A", Some("alpha"));
    assert_value(&loaded, "EG_NEW", None);
}

fn every_change_is_noticed(kind: ShellKind) {
    let env = TestEnv::new();
    let p = env.allowed_project("p", BASELINE);
    let sub = p.join("sub");
    fs::create_dir(&sub).unwrap();
    let q = env.allowed_project("q", "EG_A=q\n");
    let ctx = Ctx {
        env,
        p,
        sub,
        q,
        kind,
    };
    let mut sh = Counted::start(&ctx.env, kind, &ctx.env.work(), "");
    let name = sh.sh.shell_name();
    for settled in [false, true] {
        for case in cases() {
            let what = format!(
                "{}, {} the racy window",
                case.name,
                if settled { "after" } else { "inside" }
            );
            reset(&ctx, &mut sh);
            if settled {
                sleep(SETTLE);
                sh.assert_quiet_prompts(&what);
            }
            sh.runs();
            let shown = match (case.change)(&ctx) {
                Some(command) => sh.sh.run(&command),
                None => sh.sh.run("true"),
            };
            assert!(sh.runs() >= 1, "{name} {what}: envguard did not run");
            match case.effect {
                Effect::Says(part) => {
                    assert!(shown.contains(part), "{name} {what}: {shown}");
                }
                Effect::Nothing => {
                    assert!(!shown.contains("envguard:"), "{name} {what}: {shown}");
                    assert_value(&sh.sh.dump(), "EG_A", Some("alpha"));
                }
            }
        }
    }
}

#[test]
fn bash_with_the_stat_loadable_notices_every_change() {
    every_change_is_noticed(ShellKind::Bash);
}

#[test]
fn zsh_notices_every_change() {
    every_change_is_noticed(ShellKind::Zsh);
}

/// The user's shell as they set it up, with the hook sourced twice: options, their `stat`
/// command (or their own enabled `stat` builtin), and no file descriptor left behind.
fn the_users_shell_is_left_as_it_was(kind: ShellKind, rc_extra: &str, checks: &[(&str, &str)]) {
    let env = TestEnv::new();
    let p = env.allowed_project("p", BASELINE);
    let hook_again = match kind {
        ShellKind::Bash => "eval \"$(envguard hook bash)\"",
        _ => "eval \"$(envguard hook zsh)\"",
    };
    let mut sh = Counted::start(
        &env,
        kind,
        &env.work(),
        &format!("{hook_again}\n{rc_extra}"),
    );
    let name = sh.sh.shell_name();
    let fds = "ls /proc/$$/fd > \"$EG_OUT\"";
    let out = env.root.path().join("env.out");
    let child_fds = "/bin/sh -c 'ls /proc/$$/fd' > \"$EG_OUT\"";
    sh.sh.run(fds);
    let fds_before = fs::read_to_string(&out).unwrap();
    sh.sh.run(child_fds);
    let child_before = fs::read_to_string(&out).unwrap();
    sh.sh.cd(&p);
    assert_eq!(
        sh.runs(),
        1,
        "{name}: entering ran envguard other than once"
    );
    sleep(SETTLE);
    sh.assert_quiet_prompts("with the user's settings");
    for (command, expected) in checks {
        let shown = sh.sh.run(command);
        assert!(
            shown.contains(expected),
            "{name}: `{command}` gave:\n{shown}"
        );
    }
    fs::write(p.join(".env"), BASELINE.replace("alpha", "gamma")).unwrap();
    sh.sh.run("true");
    assert_eq!(
        sh.runs(),
        1,
        "{name}: a change ran envguard other than once"
    );
    sh.sh.run(fds);
    let fds_after = fs::read_to_string(&out).unwrap();
    assert_eq!(
        fds_before, fds_after,
        "{name}: the shell's descriptors changed"
    );
    sh.sh.run(child_fds);
    let child_after = fs::read_to_string(&out).unwrap();
    assert_eq!(
        child_before, child_after,
        "{name}: a child inherited a descriptor"
    );
}

#[test]
fn bash_keeps_the_users_stat_command_and_options() {
    let file = "/etc/hostname";
    let size = fs::metadata(file).unwrap().len().to_string();
    the_users_shell_is_left_as_it_was(
        ShellKind::Bash,
        "set -eu",
        &[
            ("stat --version | head -n 1", "GNU coreutils"),
            (&format!("command stat -c %s {file}"), &size),
            ("type -t stat", "file"),
            ("printf '%s%s\\n' OPTS \"$-\"", "OPTS"),
            (
                "[[ $- == *e* && $- == *u* ]] && printf '%s%s\\n' OPTS KEPT",
                "OPTSKEPT",
            ),
        ],
    );
}

#[test]
fn bash_leaves_the_users_own_stat_builtin_enabled() {
    the_users_shell_is_left_as_it_was(
        ShellKind::Bash,
        "enable -f /usr/lib/bash/stat stat",
        &[("type -t stat", "builtin")],
    );
}

#[test]
fn zsh_with_ksh_arrays_nounset_and_err_exit() {
    the_users_shell_is_left_as_it_was(
        ShellKind::Zsh,
        "setopt ksh_arrays nounset err_exit",
        &[
            (
                "[[ -o ksh_arrays && -o nounset && -o err_exit ]] && printf '%s%s\\n' OPTS KEPT",
                "OPTSKEPT",
            ),
            ("whence -w stat", "stat: command"),
        ],
    );
}

#[test]
fn doctor_says_bash_prompts_skip_envguard_where_the_loadable_is() {
    let env = TestEnv::new();
    fs::write(
        env.home().join(".bashrc"),
        "eval \"$(envguard hook bash)\"\n",
    )
    .unwrap();
    let out = env.run(&env.work(), ["doctor"]);
    assert!(
        stdout(&out).contains("bash: prompts where nothing changed start no process"),
        "{}",
        stdout(&out)
    );
}

/// The hook's own variables (`__envguard*`, shell-local), as the shell holds them: written to
/// a file, so that no value reaches the terminal.
fn hook_variables(sh: &mut Counted, out: &Path) -> String {
    let command = match sh.sh.kind {
        ShellKind::Bash => "declare -p ${!__envguard@} > \"$EG_OUT\" 2>&1",
        _ => "typeset -p -m '__envguard*' > \"$EG_OUT\" 2>&1",
    };
    sh.sh.run(command);
    fs::read_to_string(out).unwrap()
}

/// An outer value a .env refers to is copied by the hook only while its record holds: never
/// left in `__envguard_seen`, gone once envguard runs again (leaving the project, or the
/// variable unset), also where that run writes no record (bash, a file younger than the racy
/// window). And the per-shell key is part of what the fast path compares.
fn outer_values_are_not_kept(kind: ShellKind) {
    const SECRET: &str = "outer-s3cret-5f2a";
    let env = TestEnv::new();
    let p = env.allowed_project("p", "EG_REF=x${EG_SECRET}\n");
    let q = env.allowed_project("q", "EG_A=q\n");
    let out = env.root.path().join("env.out");
    let mut sh = Counted::start(&env, kind, &env.work(), "");
    sh.sh.hide(SECRET);
    let name = sh.sh.shell_name();
    sh.sh.run(&format!("export EG_SECRET={SECRET}"));
    sh.sh.cd(&p);
    if kind == ShellKind::Bash {
        sleep(SETTLE);
    }
    sh.assert_quiet_prompts("loaded");
    let held = hook_variables(&mut sh, &out);
    assert!(
        !held.contains("__envguard_seen"),
        "{name}: the comparison's copy outlived it"
    );
    assert!(
        held.matches(SECRET).count() <= 1,
        "{name}: an outer value is held more than once, by more than the valid record"
    );

    sh.sh.run("unset __envguard_key");
    assert!(sh.runs() >= 1, "{name}: an unset key did not run envguard");
    sh.assert_quiet_prompts("with a new key");
    assert!(
        hook_variables(&mut sh, &out).contains("__envguard_key="),
        "{name}: no key after the reload"
    );

    // Younger than the racy window: bash writes no record for q.
    write_mode(&q.join(".env"), "EG_A=q2\n", 0o600);
    let allowed = env.run(&q, ["allow"]);
    assert!(allowed.status.success(), "allow: {}", stderr(&allowed));
    sh.runs();
    sh.sh.cd(&q);
    assert!(sh.runs() >= 1, "{name}: leaving did not run envguard");
    let held = hook_variables(&mut sh, &out);
    assert!(
        kind != ShellKind::Bash || held.contains("__envguard_rec=\"\""),
        "bash: a record for a file inside the racy window"
    );
    assert!(
        !held.contains(SECRET),
        "{name}: an outer value is still held after leaving its project"
    );

    sh.sh.cd(&p);
    sh.runs();
    sh.sh.run("unset EG_SECRET");
    assert!(
        sh.runs() >= 1,
        "{name}: unsetting an input did not run envguard"
    );
    let held = hook_variables(&mut sh, &out);
    assert!(
        !held.contains(SECRET),
        "{name}: an outer value is still held after it was unset"
    );
    assert_value(&sh.sh.dump(), "EG_REF", Some("x"));
}

#[test]
fn bash_keeps_no_outer_value_past_its_record() {
    outer_values_are_not_kept(ShellKind::Bash);
}

#[test]
fn zsh_keeps_no_outer_value_past_its_record() {
    outer_values_are_not_kept(ShellKind::Zsh);
}
