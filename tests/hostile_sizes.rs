//! `.env` files built to exhaust memory or the kernel's argument space, through the real
//! binary under a real address-space limit (`prlimit --as`): a file that only needs mode
//! 0600, not `allow`, must not be able to freeze the shell of whoever `cd`s next to it.
//!
//! The limits are what the kernel enforces, not timings: unbounded substitution of the
//! doubling file reaches gigabytes, so under the cap the unfixed program dies of a failed
//! allocation instead of refusing the file with its one line.

mod common;
mod pty;

use std::ffi::OsStr;
use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{BIN, TestEnv, output_with_input, stderr, stdout, write_mode};
use envguard::cli::ShellKind;
use pty::Session;

/// Far above what envguard needs (tens of MiB of mappings) and far below what the doubling
/// file costs unbounded.
const ADDRESS_SPACE: &str = "--as=536870912";

/// `A0` = 16 bytes, then `A{i}=${A{i-1}}${A{i-1}}` for i = 1..69: 1,164 bytes of text whose
/// last value would be 16 * 2^69 bytes.
fn doubling_file() -> String {
    let mut text = format!("A0={}\n", "x".repeat(16));
    for i in 1..70 {
        text.push_str(&format!("A{i}=${{A{}}}${{A{}}}\n", i - 1, i - 1));
    }
    assert_eq!(text.len(), 1164);
    text
}

/// Values of 96 KiB each, under the per-variable limit, `count` of them: 131 KB of `A`
/// lines, then 98 KB per `B` line, from a file of a few hundred bytes.
fn wide_file(count: usize) -> String {
    let mut text = format!("A0={}\n", "x".repeat(16));
    for i in 1..13 {
        text.push_str(&format!("A{i}=${{A{}}}${{A{}}}\n", i - 1, i - 1));
    }
    for i in 0..count {
        text.push_str(&format!("B{i}=${{A12}}${{A11}}\n"));
    }
    text
}

/// `envguard ARGS` in `dir` under `prlimit LIMITS`, with the test's isolated environment
/// plus `extra`.
fn limited<I, S>(
    env: &TestEnv,
    dir: &Path,
    limits: &[&str],
    args: I,
    extra: &[(&str, &str)],
) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new("prlimit");
    cmd.args(limits)
        .arg("--")
        .arg(BIN)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(env.base_env())
        .envs(extra.iter().copied())
        .env("PWD", dir)
        .stdin(Stdio::null());
    cmd.output().expect("run prlimit (util-linux)")
}

/// `envguard exec -- true` in `dir` under a stack limit of `stack` bytes (which sets ARG_MAX),
/// with `present` already in its environment.
fn exec_with_stack(env: &TestEnv, dir: &Path, stack: &str, present: &[(&str, &str)]) -> Output {
    let limit = format!("--stack={stack}");
    limited(env, dir, &[&limit], ["exec", "--", "true"], present)
}

/// The refusal must be envguard's own exit, not a signal from a failed allocation.
fn assert_exited(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: {:?}, stderr: {}",
        out.status,
        stderr(out)
    );
}

#[test]
fn doubling_file_is_refused_in_bounded_memory_by_every_command() {
    let env = TestEnv::new();
    let dir = env.project("doubling", &doubling_file(), 0o600);
    for args in [
        &["check"][..],
        &["list"],
        &["scan"],
        &["exec", "--", "true"],
        &["allow"],
        &["export", "bash"],
        &["export", "zsh"],
        &["export", "fish"],
        &["set", "NEW"],
        &["unset", "A0"],
    ] {
        let out = limited(&env, &dir, &[ADDRESS_SPACE], args, &[]);
        let what = args.join(" ");
        // `scan` and the hook report and go on; the others refuse.
        let code = if matches!(args[0], "scan" | "export") {
            0
        } else {
            1
        };
        assert_exited(&out, code, &what);
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(
            all.contains(":14:") || all.contains("line 14:"),
            "{what} does not name line 14 (A13, the first value over 128 KiB): {all}"
        );
        assert!(all.contains("128 KiB"), "{what} does not say why: {all}");
        assert!(!all.contains("panicked"), "{what} panicked: {all}");
        if args[0] == "export" {
            assert!(!stdout(&out).contains("A0"), "{what} exported a variable");
        }
    }
    // Nothing was allowed.
    let out = env.run(&dir, ["check", "--quiet"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn substitution_past_the_environment_room_is_refused_with_its_line() {
    let env = TestEnv::new();
    // 131 KB + 20 * 98 KB: about 2.1 MB, over three quarters of the usual 2 MiB ARG_MAX.
    let dir = env.project("wide", &wide_file(20), 0o600);
    for args in [&["exec", "--", "true"][..], &["check"], &["export", "bash"]] {
        let out = limited(&env, &dir, &[ADDRESS_SPACE, "--stack=8388608"], args, &[]);
        let what = args.join(" ");
        assert_exited(&out, if args[0] == "export" { 0 } else { 1 }, &what);
        let all = format!("{}{}", stdout(&out), stderr(&out));
        // Room 1,572,864 bytes: the A lines (1-13) and B0..B13 fit, B14 (line 28) does not.
        assert!(
            all.contains(":28:") || all.contains("line 28:"),
            "{what}: {all}"
        );
        assert!(all.contains("ARG_MAX, 2097152 bytes"), "{what}: {all}");
        assert!(all.contains("ulimit -s"), "{what} gives no fix: {all}");
    }
}

#[test]
fn the_environment_room_follows_the_stack_limit_and_counts_what_is_already_there() {
    let env = TestEnv::new();
    // About 1.31 MB of variables: fits the 1.5 MiB room of an 8 MiB stack.
    let dir = env.project("fits", &wide_file(12), 0o600);
    let out = limited(&env, &dir, &["--stack=8388608"], ["allow"], &[]);
    assert_exited(&out, 0, "allow");
    let out = exec_with_stack(&env, &dir, "8388608", &[]);
    assert_exited(&out, 0, "exec with the usual stack limit");

    // A 4 MiB stack makes ARG_MAX 1 MiB: the same file no longer leaves room.
    let out = exec_with_stack(&env, &dir, "4194304", &[]);
    assert_exited(&out, 1, "exec with a 4 MiB stack");
    assert!(
        stderr(&out).contains("ARG_MAX, 1048576 bytes"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));

    // 300 KB already in the environment, none of it set by the file, pushes it over.
    let big = "z".repeat(100_000);
    let present = [("BIG_1", big.as_str()), ("BIG_2", &big), ("BIG_3", &big)];
    let out = exec_with_stack(&env, &dir, "8388608", &present);
    assert_exited(&out, 1, "exec with 300 KB in the environment");
    let message = stderr(&out);
    assert!(message.contains("already in the environment"), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");

    // A present variable the file sets counts once, with the file's value.
    let present = [("B0", big.as_str()), ("B1", &big), ("B2", &big)];
    let out = exec_with_stack(&env, &dir, "8388608", &present);
    assert_exited(&out, 0, "exec where the file overrides what is present");
}

fn set(env: &TestEnv, dir: &Path, args: &[&str], input: &[u8], extra: &[(&str, &str)]) -> Output {
    output_with_input(
        env.cmd(dir, ["set"].iter().chain(args))
            .envs(extra.iter().copied()),
        input,
    )
}

#[test]
fn set_refuses_a_value_over_128_kib_before_writing() {
    let env = TestEnv::new();
    let dir = env.work().join("set");
    fs::create_dir_all(&dir).unwrap();

    let out = set(&env, &dir, &["BIG"], &vec![b'y'; 140_000], &[]);
    assert_exited(&out, 2, "set BIG");
    assert!(stderr(&out).contains("128 KiB"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing was changed"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.join(".env").exists(), "set created the .env anyway");

    write_mode(&dir.join(".env"), "KEEP=1\n", 0o600);
    let before = fs::read(dir.join(".env")).unwrap();
    let out = set(&env, &dir, &["BIG"], &vec![b'y'; 140_000], &[]);
    assert_exited(&out, 2, "set BIG on an existing file");
    assert!(
        fs::read(dir.join(".env")).unwrap() == before,
        "the .env changed"
    );

    // Just under the limit (name, `=`, value and NUL: 131,072 bytes) is written.
    let out = set(&env, &dir, &["BIG"], &vec![b'y'; 128 * 1024 - 5], &[]);
    assert_exited(&out, 0, "set BIG at the limit");
}

#[test]
fn set_reads_standard_input_when_the_size_limit_is_the_largest_integer() {
    let env = TestEnv::new();
    let dir = env.work().join("max");
    fs::create_dir_all(&dir).unwrap();
    let max = u64::MAX.to_string();
    // Two names, one value: refused after reading the input, before anything is written.
    let out = set(
        &env,
        &dir,
        &["A", "B"],
        b"one\n",
        &[("ENVGUARD_MAX_SIZE", &max)],
    );
    assert_exited(&out, 2, "set with ENVGUARD_MAX_SIZE=u64::MAX");
    assert!(
        stderr(&out).contains("expected 2 values"),
        "{}",
        stderr(&out)
    );
}

/// `cd` into either file in a real interactive shell: the hook refuses it in one line within
/// the memory limit, and the shell's external commands (the hook's own included) still run.
#[test]
fn hooked_shells_stay_usable_next_to_hostile_files() {
    let env = TestEnv::new();
    let doubling = env.project("doubling", &doubling_file(), 0o600);
    // About 2.5 MB of variables: over the whole 2 MiB ARG_MAX. Allowed if it can be, so that
    // only envguard's own size rule keeps it out of the shell.
    let wide = env.project("wide", &wide_file(24), 0o600);
    assert_exited(&env.run(&wide, ["allow"]), 1, "allow of the wide file");
    for shell in [ShellKind::Bash, ShellKind::Zsh, ShellKind::Fish] {
        let mut session =
            Session::start_under(&env, shell, &env.work(), &["prlimit", ADDRESS_SPACE, "--"]);
        let shown = session.cd(&doubling);
        assert!(
            shown.contains(".env:14:") && shown.contains("128 KiB"),
            "{shell:?}: {shown}"
        );
        // `env` is an external command: it runs only if execve still can.
        let shown = session.run("env printf '%s-%s\\n' ALIVE doubling");
        assert!(shown.contains("ALIVE-doubling"), "{shell:?}: {shown}");
        let shown = session.cd(&wide);
        assert!(
            shown.contains(".env:") && shown.contains("ARG_MAX"),
            "{shell:?}: {shown}"
        );
        let shown = session.run("env printf '%s-%s\\n' ALIVE wide");
        assert!(shown.contains("ALIVE-wide"), "{shell:?}: {shown}");
        let shown = session.run("cd ..");
        assert!(!shown.contains("loaded"), "{shell:?}: {shown}");
    }
}
