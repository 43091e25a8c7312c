//! The scan's progress bar: drawn on stderr when it is a real terminal (a pty here), absent
//! from a pipe, and never changing what the scan reports on stdout.

mod common;

use std::fs::{self, File};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{TestEnv, stderr, stdout};

const SECRET: &str = "tGq8-vR2z-Lm5P-xW9c-Kd3B";
const ENV: &str = "PAYMENTS_TOKEN=tGq8-vR2z-Lm5P-xW9c-Kd3B\n";

/// What a run of `cmd` wrote to stdout (a file) and to stderr (a pty), and its exit code.
struct OnTerminal {
    stdout: Vec<u8>,
    terminal: Vec<u8>,
    code: Option<i32>,
}

/// `TERM` is set to `term`, as a terminal emulator sets it.
fn run_with_stderr_on_pty(mut cmd: Command, dir: &Path, term: &str) -> OnTerminal {
    let winsize = nix::pty::Winsize {
        ws_row: 40,
        ws_col: 120,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(Some(&winsize), None).unwrap();
    let stdout_path = dir.join("..").join("stdout.out");
    let child = cmd
        .env("TERM", term)
        .stdin(Stdio::null())
        .stdout(File::create(&stdout_path).unwrap())
        .stderr(Stdio::from(pty.slave))
        .spawn()
        .unwrap();
    // The parent's copy of the slave went into `cmd`: drop it so that the master reads EOF
    // (EIO on Linux) once the child has exited.
    drop(cmd);
    let mut master = File::from(pty.master);
    let mut terminal = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match master.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => terminal.extend_from_slice(&chunk[..n]),
        }
    }
    let status = child.wait_with_output().unwrap().status;
    let out = OnTerminal {
        stdout: fs::read(&stdout_path).unwrap(),
        terminal,
        code: status.code(),
    };
    fs::remove_file(stdout_path).unwrap();
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// A tree of a few hundred files, one of which leaks the `.env`'s value.
fn tree(env: &TestEnv) -> std::path::PathBuf {
    let dir = env.project("tree", ENV, 0o600);
    for module in 0..300 {
        fs::write(
            dir.join(format!("m{module}.py")),
            format!("def f{module}():\n    return {module}\n").repeat(50),
        )
        .unwrap();
    }
    fs::write(dir.join("leak.py"), format!("TOKEN = '{SECRET}'\n")).unwrap();
    dir
}

#[test]
fn a_tree_scan_draws_a_bar_on_a_terminal_and_nothing_in_a_pipe() {
    let env = TestEnv::new();
    let dir = tree(&env);

    let on_terminal = run_with_stderr_on_pty(
        env.cmd(&dir, ["scan", "--format", "json", "."]),
        &dir,
        "xterm-256color",
    );
    let piped = env.run(&dir, ["scan", "--format", "json", "."]);

    assert_eq!(on_terminal.code, Some(1), "the leak is found either way");
    assert_eq!(piped.status.code(), Some(1));
    assert!(
        contains(&on_terminal.terminal, "scanning: ") && contains(&on_terminal.terminal, " files"),
        "no progress bar on the terminal: {:?}",
        String::from_utf8_lossy(&on_terminal.terminal)
    );
    assert!(!contains(&on_terminal.terminal, SECRET));
    // The bar is cleared when the scan ends: its last bytes erase the line.
    assert!(on_terminal.terminal.ends_with(b"\r\x1b[2K"));

    assert_eq!(stderr(&piped), "", "a pipe gets no bar and no stray byte");
    // The report is the same either way, finding for finding.
    let report = |bytes: &[u8]| -> serde_json::Value {
        let mut value: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        value["summary"].take();
        value
    };
    let piped_report = report(&piped.stdout);
    assert_eq!(report(&on_terminal.stdout), piped_report);
    assert_eq!(piped_report["findings"].as_array().map(Vec::len), Some(1));
}

#[test]
fn a_dumb_terminal_gets_no_bar() {
    let env = TestEnv::new();
    let dir = tree(&env);
    let on_terminal = run_with_stderr_on_pty(env.cmd(&dir, ["scan", "."]), &dir, "dumb");
    assert_eq!(on_terminal.code, Some(1));
    assert_eq!(
        String::from_utf8_lossy(&on_terminal.terminal),
        "envguard: 1 finding(s) in 301 file(s)\r\n",
        "a terminal that cannot redraw a line gets only the summary"
    );
}

#[test]
fn the_text_summary_line_is_all_a_pipe_gets() {
    let env = TestEnv::new();
    let dir = tree(&env);
    let piped = env.run(&dir, ["scan", "."]);
    assert_eq!(piped.status.code(), Some(1));
    assert_eq!(
        stderr(&piped),
        "envguard: 1 finding(s) in 301 file(s)\n",
        "only the summary, no bar"
    );
    assert!(!stdout(&piped).contains(SECRET));
}

#[test]
fn a_history_scan_draws_a_bar_on_a_terminal_and_nothing_in_a_pipe() {
    let env = TestEnv::new();
    let dir = tree(&env);
    fs::write(dir.join(".gitignore"), ".env\n").unwrap();
    env.git_ok(&dir, &["init", "-q", "-b", "main"]);
    env.git_ok(&dir, &["add", "."]);
    env.git_ok(&dir, &["commit", "-q", "-m", "everything"]);
    fs::remove_file(dir.join("leak.py")).unwrap();
    env.git_ok(&dir, &["commit", "-q", "-am", "the leak, removed"]);
    let listed = env.git_ok(&dir, &["rev-list", "--objects", "--all"]);
    let objects = stdout(&listed).lines().count();

    let on_terminal =
        run_with_stderr_on_pty(env.cmd(&dir, ["scan", "--history"]), &dir, "xterm-256color");
    let piped = env.run(&dir, ["scan", "--history"]);

    assert_eq!(on_terminal.code, Some(1));
    assert_eq!(piped.status.code(), Some(1));
    assert!(
        contains(&on_terminal.terminal, "scanning") && contains(&on_terminal.terminal, " objects"),
        "no progress bar on the terminal: {:?}",
        String::from_utf8_lossy(&on_terminal.terminal)
    );
    assert!(!contains(&on_terminal.terminal, SECRET));
    assert!(!contains(&piped.stderr, "scanning"));
    assert!(
        !piped.stderr.contains(&0x1b),
        "no terminal control in a pipe"
    );
    // The warnings a pipe gets are all there on the terminal too, after the cleared bar.
    for line in stderr(&piped).lines() {
        assert!(contains(&on_terminal.terminal, line), "missing {line:?}");
    }
    assert_eq!(on_terminal.stdout, piped.stdout);
    assert!(objects > 300, "the repository has {objects} objects");
}
