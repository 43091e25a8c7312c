//! Shared harness for the integration tests: every test gets a throw-away HOME (so the trust
//! store and Jupyter's data dir are its own) and runs the real built binary.
//!
//! Secret hygiene in tests: assertions about secrets compare lengths, hashes or `contains`
//! results, so a failing test never prints a value it was guarding.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_envguard");

pub struct TestEnv {
    pub root: tempfile::TempDir,
}

impl TestEnv {
    pub fn new() -> Self {
        let root = tempfile::Builder::new()
            .prefix("envguard-test-")
            .tempdir()
            .unwrap();
        for dir in ["home", "data", "config", "work"] {
            fs::create_dir(root.path().join(dir)).unwrap();
        }
        TestEnv { root }
    }

    pub fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    /// A directory for projects, outside HOME.
    pub fn work(&self) -> PathBuf {
        self.root.path().join("work")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// The variables every child gets: a clean, isolated environment.
    pub fn base_env(&self) -> Vec<(String, String)> {
        vec![
            (
                "PATH".into(),
                std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()),
            ),
            ("HOME".into(), self.home().display().to_string()),
            (
                "XDG_DATA_HOME".into(),
                self.data_dir().display().to_string(),
            ),
            (
                "XDG_CONFIG_HOME".into(),
                self.root.path().join("config").display().to_string(),
            ),
            ("LANG".into(), "C.UTF-8".into()),
        ]
    }

    /// `envguard ARGS` in `dir`, with the isolated environment.
    pub fn cmd<I, S>(&self, dir: &Path, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .current_dir(dir)
            .env_clear()
            .envs(self.base_env())
            .env("PWD", dir);
        cmd
    }

    pub fn run<I, S>(&self, dir: &Path, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd(dir, args).output().unwrap()
    }

    /// `program` (a shell) in `work`, in the isolated environment with the built envguard
    /// first in `PATH`, as an installed one would be.
    pub fn shell(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(self.work())
            .env_clear()
            .envs(self.base_env())
            .env("PATH", path_with_bin());
        cmd
    }

    /// `envguard ARGS` in `dir` with `input` on standard input.
    pub fn run_with_input<I, S>(&self, dir: &Path, args: I, input: &[u8]) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        output_with_input(&mut self.cmd(dir, args), input)
    }

    /// `envguard edit` in `dir` with `editor` as `$EDITOR` and nothing on standard input.
    pub fn edit(&self, dir: &Path, editor: impl AsRef<OsStr>) -> Command {
        let mut cmd = self.cmd(dir, ["edit"]);
        cmd.env("EDITOR", editor).stdin(Stdio::null());
        cmd
    }

    /// A project directory under `work` with a `.env` of `contents` and `mode`.
    pub fn project(&self, name: &str, contents: &str, mode: u32) -> PathBuf {
        let dir = self.work().join(name);
        fs::create_dir_all(&dir).unwrap();
        write_mode(&dir.join(".env"), contents, mode);
        dir
    }

    /// A project whose `.env` is 0600 and allowed.
    pub fn allowed_project(&self, name: &str, contents: &str) -> PathBuf {
        let dir = self.project(name, contents, 0o600);
        let out = self.run(&dir, ["allow"]);
        assert!(out.status.success(), "allow failed: {}", stderr(&out));
        dir
    }
}

/// Runs `cmd` with `input` on its standard input and collects what it printed.
pub fn output_with_input(cmd: &mut Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A refusal may come before the input is read: a closed pipe is not a failure here.
    let _ = child.stdin.take().unwrap().write_all(input);
    child.wait_with_output().unwrap()
}

/// `PATH` with the built envguard first, as an installed one would be, for shells whose hook
/// runs `envguard` by name.
pub fn path_with_bin() -> String {
    let bin_dir = Path::new(BIN).parent().unwrap().display().to_string();
    format!("{bin_dir}:{}", std::env::var("PATH").unwrap_or_default())
}

pub fn write_mode(path: &Path, contents: &str, mode: u32) {
    fs::write(path, contents).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts that `secret` appears in neither output stream, without printing it on failure.
pub fn assert_not_leaked(out: &Output, secret: &str) {
    let leaked = |bytes: &[u8]| String::from_utf8_lossy(bytes).contains(secret);
    assert!(
        !leaked(&out.stdout),
        "a secret value ({} bytes) appeared on stdout",
        secret.len()
    );
    assert!(
        !leaked(&out.stderr),
        "a secret value ({} bytes) appeared on stderr",
        secret.len()
    );
}

/// The variables in `env -0` output, by name (values as bytes: they need not be UTF-8).
pub fn parse_env0(bytes: &[u8]) -> std::collections::HashMap<String, Vec<u8>> {
    bytes
        .split(|&b| b == 0)
        .filter_map(|entry| {
            let at = entry.iter().position(|&b| b == b'=')?;
            Some((
                String::from_utf8_lossy(&entry[..at]).into_owned(),
                entry[at + 1..].to_vec(),
            ))
        })
        .collect()
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The name of the second Unix user the cross-user tests act as.
pub const OTHER_USER: &str = "envguard-other";

/// (uid, gid) of [`OTHER_USER`], created (no home, no login shell) when missing. Tests run in
/// parallel, so another one may be creating it at the same moment: `useradd` then exits 9
/// (name in use) or fails to lock /etc/passwd, and the lookup is simply tried again.
pub fn other_user() -> (u32, u32) {
    let exists = || {
        Command::new("id")
            .arg(OTHER_USER)
            .output()
            .is_ok_and(|out| out.status.success())
    };
    for _ in 0..100 {
        if exists() {
            break;
        }
        let status = Command::new("useradd")
            .args([
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                OTHER_USER,
            ])
            .status()
            .expect("useradd can be run (the tests need root)");
        if !status.success() && status.code() != Some(9) {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, OTHER_USER])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "no user {OTHER_USER}: {}",
            stderr(&out)
        );
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    (id("-u"), id("-g"))
}

/// Runs `sh -c SCRIPT` in `dir` as [`OTHER_USER`]: a real second user's process, so what it
/// creates is theirs the way an attacker's files would be.
pub fn as_other_user(dir: &Path, script: &str) {
    use std::os::unix::process::CommandExt;
    let (uid, gid) = other_user();
    let out = Command::new("sh")
        .args(["-c", script])
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .gid(gid)
        .uid(uid)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "as {OTHER_USER}: {script}: {}",
        stderr(&out)
    );
}

/// `git ARGS` in `dir`, isolated from the user's git configuration, with a fixed identity;
/// it must succeed.
pub fn git(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t")
        .output()
        .expect("git must be installed for these tests");
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    out
}

/// What `envguard exec -- env -0` sees in `dir`: every variable of the child, by name.
pub fn loaded(env: &TestEnv, dir: &Path) -> std::collections::HashMap<String, Vec<u8>> {
    let out = env.run(dir, ["exec", "--", "env", "-0"]);
    assert!(out.status.success(), "exec failed: {}", stderr(&out));
    parse_env0(&out.stdout)
}

impl TestEnv {
    /// `git ARGS` in `dir` in this test's environment (its HOME, so no user configuration),
    /// with a fixed identity; the output whatever the status.
    pub fn git(&self, dir: &Path, args: &[&str]) -> Output {
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .env_clear()
            .envs(self.base_env())
            .envs([
                ("GIT_AUTHOR_NAME", "t"),
                ("GIT_AUTHOR_EMAIL", "t@example.com"),
                ("GIT_COMMITTER_NAME", "t"),
                ("GIT_COMMITTER_EMAIL", "t@example.com"),
            ])
            .output()
            .expect("git must be installed")
    }

    /// [`Self::git`], which must succeed.
    pub fn git_ok(&self, dir: &Path, args: &[&str]) -> Output {
        let out = self.git(dir, args);
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            stderr(&out)
        );
        out
    }
}

/// A new age identity at `path` made by the real `age-keygen` (mode 0600, as envguard requires
/// of an identity file); returns its public recipient, as `age-keygen -y` prints it.
pub fn age_keygen(path: &Path) -> String {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let made = Command::new("age-keygen")
        .arg("-o")
        .arg(path)
        .output()
        .unwrap();
    assert!(made.status.success(), "age-keygen: {}", stderr(&made));
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
    let public = Command::new("age-keygen")
        .arg("-y")
        .arg(path)
        .output()
        .unwrap();
    assert!(
        public.status.success(),
        "age-keygen -y: {}",
        stderr(&public)
    );
    stdout(&public).trim().to_owned()
}

/// `NAME=age:<base64>` made with the real age CLI, as the README documents:
/// `printf 'NAME=%s' "$v" | age -R .env.recipients | base64 -w0`.
pub fn age_cli_line(name: &str, value: &str, recipients: &Path) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"printf '%s=%s' "$NAME" "$VALUE" | age -R "$RECIPIENTS" | base64 -w0"#)
        .env("NAME", name)
        .env("VALUE", value)
        .env("RECIPIENTS", recipients)
        .output()
        .unwrap();
    assert!(out.status.success(), "age -R: {}", stderr(&out));
    format!("{name}=age:{}\n", stdout(&out))
}

/// `age -d` with `identity` of `name`'s line in `dir`'s `.env.shared`, as the README documents.
pub fn age_cli_decrypt(dir: &Path, name: &str, identity: &Path) -> Output {
    Command::new("bash")
        .args(["-o", "pipefail", "-c"])
        .arg(r#"grep "^$NAME=" .env.shared | cut -d: -f2- | base64 -d | age -d -i "$IDENTITY""#)
        .current_dir(dir)
        .env("NAME", name)
        .env("IDENTITY", identity)
        .output()
        .unwrap()
}

/// Polls `done` every 20 ms until it holds or `deadline` has passed; whether it held. For
/// waits on real processes, which a fixed sleep would make slow or flaky.
pub fn wait_until(deadline: std::time::Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = std::time::Instant::now() + deadline;
    while std::time::Instant::now() < until {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    done()
}
