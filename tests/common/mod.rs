//! Shared harness for the integration tests: every test gets a throw-away HOME (so the trust
//! store and Jupyter's data dir are its own) and runs the real built binary.
//!
//! Secret hygiene in tests: assertions about secrets compare lengths, hashes or `contains`
//! results, so a failing test never prints a value it was guarding.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

/// The (uid, gid) of the second Unix user `envguard-other`, created when missing (the tests
/// run as root). Another test creating it at the same moment is fine (useradd exit 9).
pub fn other_user() -> (u32, u32) {
    let exists = || {
        Command::new("id")
            .arg("envguard-other")
            .output()
            .is_ok_and(|out| out.status.success())
    };
    if !exists() {
        let status = Command::new("useradd")
            .args([
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                "envguard-other",
            ])
            .status()
            .expect("useradd must be installed");
        assert!(
            status.success() || status.code() == Some(9),
            "useradd envguard-other failed: {status}"
        );
    }
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, "envguard-other"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    (id("-u"), id("-g"))
}
