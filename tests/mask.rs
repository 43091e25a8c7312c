//! `envguard exec --mask` with real programs, through pipes (as in CI) and through a real
//! pseudo-terminal opened by the test (as at a user's terminal). No value is ever compared or
//! printed: the checks are `contains` booleans on the output and lengths.

mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;
use nix::libc;
use nix::pty::{Winsize, openpty};

const KEY: &str = "sk-live-Qm2Lp7Vt4Rw8Ks1Nb6Hc";
const PEM_LINE_1: &str = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC";
const PEM_LINE_2: &str = "BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj";
/// A value that JSON and URLs escape.
const TOKEN: &str = "tok/en+val=ue\"x9\\z";

fn project(env: &TestEnv) -> std::path::PathBuf {
    env.allowed_project(
        "app",
        &format!(
            "API_KEY={KEY}\nTOKEN='{TOKEN}'\nDEBUG=true\nPEM=\"-----BEGIN PRIVATE KEY-----\n{PEM_LINE_1}\n{PEM_LINE_2}\n-----END PRIVATE KEY-----\"\n"
        ),
    )
}

/// Prints TOKEN JSON-encoded and URL-encoded, and PEM as Python's repr shows it.
const PY: &str = "import os, json, urllib.parse as u; t = os.environ[\"TOKEN\"]; \
    print(json.dumps({\"k\": t})); print(\"https://x/?k=\" + u.quote(t, safe=\"\")); \
    print(repr(os.environ[\"PEM\"]))";

fn masked(env: &TestEnv, dir: &Path, script: &str) -> std::process::Output {
    env.run(dir, ["exec", "--mask", "--", "sh", "-c", script])
}

fn shows(bytes: &[u8], text: &str) -> bool {
    String::from_utf8_lossy(bytes).contains(text)
}

fn assert_clean(bytes: &[u8]) {
    for value in [KEY, TOKEN, PEM_LINE_1, PEM_LINE_2] {
        assert!(
            !shows(bytes, value),
            "a value ({} bytes) got through",
            value.len()
        );
    }
}

#[test]
fn a_value_in_one_write_is_masked_on_stdout_and_stderr() {
    let env = TestEnv::new();
    let dir = project(&env);
    let out = masked(
        &env,
        &dir,
        "echo \"key=$API_KEY\"; echo \"err $API_KEY\" >&2",
    );
    assert!(out.status.success());
    assert_not_leaked(&out, KEY);
    assert!(shows(&out.stdout, "key=<masked:API_KEY>\n"));
    assert!(shows(&out.stderr, "err <masked:API_KEY>\n"));
}

#[test]
fn a_value_split_across_two_writes_with_a_pause_is_masked() {
    let env = TestEnv::new();
    let dir = project(&env);
    let script = format!(
        "printf '%s' {}; sleep 0.3; printf '%s\\n' {}",
        &KEY[..12],
        &KEY[12..]
    );
    let out = masked(&env, &dir, &script);
    assert_not_leaked(&out, KEY);
    assert!(shows(&out.stdout, "<masked:API_KEY>\n"));
}

#[test]
fn encoded_and_multi_line_values_are_masked() {
    let env = TestEnv::new();
    let dir = project(&env);
    let b64 = STANDARD.encode(KEY);
    let script = format!("echo {b64}; printf '%s\\n' \"$PEM\"; python3 -c '{PY}'");
    let out = masked(&env, &dir, &script);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_clean(&out.stdout);
    assert!(!shows(&out.stdout, &b64));
    let python = |form: &str| -> String {
        let out = Command::new("python3")
            .args([
                "-c",
                &format!("import os, json, urllib.parse; print({form})"),
            ])
            .env("TOKEN", TOKEN)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    for form in [
        "json.dumps(os.environ[\"TOKEN\"])",
        "urllib.parse.quote(os.environ[\"TOKEN\"], safe=\"\")",
    ] {
        let encoded = python(form);
        assert!(!encoded.contains(TOKEN), "the form is an encoding");
        assert!(
            !shows(&out.stdout, &encoded),
            "an encoded value got through"
        );
    }
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .matches("<masked:TOKEN>")
            .count(),
        2
    );
    assert!(shows(&out.stdout, "<masked:PEM>"));
}

#[test]
fn short_and_common_values_are_left_alone() {
    let env = TestEnv::new();
    let dir = project(&env);
    let out = masked(&env, &dir, "echo \"debug=$DEBUG\"");
    assert!(shows(&out.stdout, "debug=true\n"));
}

#[test]
fn exit_status_stdin_and_signals_pass_through() {
    let env = TestEnv::new();
    let dir = project(&env);
    let out = masked(&env, &dir, "exit 7");
    assert_eq!(out.status.code(), Some(7));

    let out = env.run_with_input(
        &dir,
        ["exec", "--mask", "--", "sh", "-c", "cat; echo \"$API_KEY\""],
        b"typed input\n",
    );
    assert!(shows(&out.stdout, "typed input\n<masked:API_KEY>\n"));

    let out = masked(&env, &dir, "kill -TERM $$");
    assert_eq!(out.status.signal(), Some(libc::SIGTERM));

    // A TERM sent to envguard reaches the program, which reports it and exits on its own.
    let mut child = env
        .cmd(
            &dir,
            [
                "exec",
                "--mask",
                "--",
                "sh",
                "-c",
                "trap 'echo got-term; exit 5' TERM; echo ready; while :; do sleep 0.05; done",
            ],
        )
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !shows(&seen, "ready\n") && stdout.read(&mut byte).unwrap() == 1 {
        seen.push(byte[0]);
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    stdout.read_to_end(&mut seen).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(5));
    assert!(shows(&seen, "got-term"));
}

#[test]
fn mask_is_on_with_envguard_mask_and_off_with_no_mask() {
    let env = TestEnv::new();
    let dir = project(&env);
    let script = ["sh", "-c", "echo \"$API_KEY\""];
    let on = env
        .cmd(&dir, ["exec", "--"].iter().chain(&script))
        .env("ENVGUARD_MASK", "1")
        .output()
        .unwrap();
    assert_not_leaked(&on, KEY);
    assert!(shows(&on.stdout, "<masked:API_KEY>"));
    let off = env
        .cmd(&dir, ["exec", "--no-mask", "--"].iter().chain(&script))
        .env("ENVGUARD_MASK", "1")
        .output()
        .unwrap();
    assert!(!shows(&off.stdout, "<masked:"));
    assert_eq!(off.stdout.len(), KEY.len() + 1);
}

#[test]
fn a_large_stream_passes_whole_in_bounded_memory() {
    let env = TestEnv::new();
    let dir = project(&env);
    // 64 MiB through a process whose address space could not hold it: envguard must stream.
    let size = 64 << 20;
    let mut cmd = Command::new("prlimit");
    cmd.args(["--as=48000000", "--", BIN, "exec", "--mask", "--"])
        .args([
            "sh",
            "-c",
            &format!("yes abcdefghijkl | head -c {size}; echo \"$API_KEY\""),
        ])
        .current_dir(&dir)
        .env_clear()
        .envs(env.base_env());
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_not_leaked(&out, KEY);
    assert_eq!(out.stdout.len(), size + "<masked:API_KEY>\n".len());
}

/// envguard started on a fresh pseudo-terminal of `cols` columns, as a user's terminal.
struct Terminal {
    master: File,
    /// The user's side, to read its modes after envguard has gone.
    slave: OwnedFd,
    child: Child,
}

impl Terminal {
    fn start(env: &TestEnv, dir: &Path, script: &str, cols: u16) -> Terminal {
        Terminal::start_with(env, dir, &[], script, cols)
    }

    /// [`Terminal::start`] with more flags for `exec --mask`.
    fn start_with(env: &TestEnv, dir: &Path, flags: &[&str], script: &str, cols: u16) -> Terminal {
        let size = Winsize {
            ws_row: 24,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = openpty(Some(&size), None).unwrap();
        let slave: OwnedFd = pty.slave;
        let kept = slave.try_clone().unwrap();
        let mut args = vec!["exec", "--mask"];
        args.extend(flags);
        args.extend(["--", "sh", "-c", script]);
        let mut cmd = env.cmd(dir, args);
        cmd.env("TERM", "xterm")
            .stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave);
        // SAFETY: setsid and ioctl only, between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                nix::unistd::setsid()?;
                if libc::ioctl(0, libc::TIOCSCTTY as _, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        Terminal {
            master: File::from(pty.master),
            slave: kept,
            child,
        }
    }

    /// Whether the user's terminal is back in its usual (cooked, echoing) mode.
    fn cooked(&self) -> bool {
        use nix::sys::termios::{LocalFlags, tcgetattr};
        let modes = tcgetattr(&self.slave).unwrap();
        modes
            .local_flags
            .contains(LocalFlags::ECHO | LocalFlags::ICANON)
    }

    /// Everything envguard wrote until it exited, its exit code, and whether the terminal's
    /// modes were restored.
    fn finish(mut self) -> (Vec<u8>, Option<i32>) {
        let mut reader = self.master.try_clone().unwrap();
        let collected = thread::spawn(move || {
            let mut all = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                all.extend_from_slice(&buf[..n]);
            }
            all
        });
        let status = self.child.wait().unwrap();
        let cooked = self.cooked();
        drop(self.slave);
        drop(self.master);
        let transcript = collected.join().unwrap();
        assert!(cooked, "the terminal was left in raw mode");
        (transcript, status.code())
    }

    fn read_until(&mut self, marker: &str) -> Vec<u8> {
        let mut seen = Vec::new();
        let mut buf = [0u8; 256];
        while !shows(&seen, marker) {
            let n = self.master.read(&mut buf).unwrap();
            assert!(n > 0, "terminal closed before the marker");
            seen.extend_from_slice(&buf[..n]);
        }
        seen
    }
}

#[test]
fn on_a_terminal_colours_survive_and_values_are_masked() {
    let env = TestEnv::new();
    let dir = project(&env);
    let term = Terminal::start(
        &env,
        &dir,
        "echo \"$API_KEY\"; ls --color=always /; test -t 0 && test -t 1 && echo both-tty; exit 3",
        80,
    );
    let (out, code) = term.finish();
    assert_eq!(code, Some(3));
    assert_clean(&out);
    assert!(shows(&out, "<masked:API_KEY>"));
    assert!(shows(&out, "\x1b["), "colours were dropped");
    assert!(shows(&out, "both-tty"));
}

#[test]
fn on_a_terminal_the_window_size_follows_a_resize_and_keys_reach_the_program() {
    let env = TestEnv::new();
    let dir = project(&env);
    let mut term = Terminal::start(
        &env,
        &dir,
        "tput cols; echo waiting; read line; tput cols; echo \"got:$line\"",
        80,
    );
    let first = term.read_until("waiting");
    assert!(shows(&first, "80"));
    let size = Winsize {
        ws_row: 30,
        ws_col: 123,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize from a pointer valid for the call.
    unsafe { libc::ioctl(term.master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
    term.master.write_all(b"hello\r").unwrap();
    let (rest, code) = term.finish();
    assert_eq!(code, Some(0));
    assert!(shows(&rest, "123"));
    assert!(shows(&rest, "got:hello"));
}

#[test]
fn on_a_terminal_ctrl_c_reaches_the_program() {
    let env = TestEnv::new();
    let dir = project(&env);
    let mut term = Terminal::start(
        &env,
        &dir,
        "trap 'echo interrupted; exit 9' INT; echo ready; while :; do sleep 0.05; done",
        80,
    );
    term.read_until("ready");
    term.master.write_all(b"\x03").unwrap();
    let (out, code) = term.finish();
    assert_eq!(code, Some(9));
    assert!(shows(&out, "interrupted"));
}

#[test]
fn check_names_the_variables_left_unmasked() {
    let env = TestEnv::new();
    let dir = project(&env);
    let out = env.run(&dir, ["check"]);
    let unmasked = stdout(&out)
        .lines()
        .find(|line| line.contains("unmasked"))
        .map(str::to_string)
        .unwrap_or_default();
    assert!(unmasked.ends_with(": DEBUG"), "{unmasked}");
}

/// A program for `exec --watch --mask` that shows its value when it starts and when a
/// restart stops it, and then prints each line typed to it.
const SHOWS_ITS_VALUE: &str = "trap 'echo \"bye $API_KEY\"; exit 0' TERM; echo \"hello $API_KEY\"; \
    while read line; do echo \"got:$line\"; done; while :; do sleep 0.05; done";

const ROTATED: &str = "sk-live-rotated-Zx81Lq0Wm3Pd";

/// Rotates API_KEY to [`ROTATED`] in `dir`'s `.env` and allows it.
fn rotate(env: &TestEnv, dir: &Path) {
    write_mode(&dir.join(".env"), &format!("API_KEY={ROTATED}\n"), 0o600);
    let out = env.run(dir, ["allow"]);
    assert!(out.status.success(), "allow: {}", stderr(&out));
}

fn assert_no_value(bytes: &[u8]) {
    for value in [KEY, ROTATED] {
        assert!(
            !shows(bytes, value),
            "a value ({} bytes) got through",
            value.len()
        );
    }
}

#[test]
fn with_watch_through_pipes_each_run_is_masked_and_the_old_run_with_its_old_value() {
    let env = TestEnv::new();
    let dir = env.allowed_project("app", &format!("API_KEY={KEY}\n"));
    let out_path = env.root.path().join("out");
    let mut child = env
        .cmd(
            &dir,
            [
                "exec",
                "--watch",
                "--mask",
                "--",
                "sh",
                "-c",
                SHOWS_ITS_VALUE,
            ],
        )
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = || std::fs::read(&out_path).unwrap_or_default();
    let count = |text: &str| String::from_utf8_lossy(&out()).matches(text).count();
    let ten = std::time::Duration::from_secs(10);
    assert!(wait_until(ten, || count("hello <masked:API_KEY>") == 1));
    rotate(&env, &dir);
    // The second run's greeting, and the first one's farewell, written as it was stopped.
    assert!(
        wait_until(ten, || count("hello <masked:API_KEY>") == 2
            && count("bye <masked:API_KEY>") == 1),
        "{} greetings, {} farewells",
        count("hello <masked:"),
        count("bye <masked:")
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert_eq!(count("bye <masked:API_KEY>"), 2);
    assert_no_value(&out());
}

#[test]
fn with_watch_on_a_terminal_restarts_keep_the_terminal_keys_and_masking() {
    let env = TestEnv::new();
    let dir = env.allowed_project("app", &format!("API_KEY={KEY}\n"));
    let mut term = Terminal::start_with(&env, &dir, &["--watch"], SHOWS_ITS_VALUE, 80);
    let mut seen = term.read_until("hello <masked:API_KEY>");
    rotate(&env, &dir);
    seen.extend(term.read_until("hello <masked:API_KEY>"));
    // Keys reach the new run, on the same pseudo-terminal, and Ctrl-C ends it.
    term.master.write_all(b"typed\r").unwrap();
    seen.extend(term.read_until("got:typed"));
    term.master.write_all(b"\x03").unwrap();
    let (rest, code) = term.finish();
    seen.extend(rest);
    assert_eq!(code, Some(130));
    assert!(
        shows(&seen, "bye <masked:API_KEY>"),
        "no farewell of the first run"
    );
    assert_no_value(&seen);
}
