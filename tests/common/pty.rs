//! An interactive bash, zsh or fish on a pseudo-terminal with the hook installed the way the
//! README says (one line in the rc file), for tests that need what only an interactive shell
//! does at its prompt (mail checks, prompt expansion, the hook itself).
//!
//! Synchronisation never sleeps: every command is followed on the same line by a `printf` of a
//! numbered marker the shell assembles (`EGSYNC` `7.`), so the typed echo never matches it,
//! then by the next prompt, which each shell prints only after its hook has run. Values are
//! read back through `env -0` into a file, never shown on the terminal.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use envguard::cli::ShellKind;
use envguard::shell::quote;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::common::{BIN, TestEnv, parse_env0};

const TIMEOUT: Duration = Duration::from_secs(20);
const PROMPT: &str = "EGPROMPT> ";

pub struct Session {
    pub kind: ShellKind,
    master: File,
    child: Child,
    transcript: Vec<u8>,
    seen: usize,
    markers: u32,
    env_file: PathBuf,
}

impl Session {
    /// Starts `kind` interactively in `dir`, with `rc` (the user's own settings) run before
    /// the hook line.
    pub fn start(env: &TestEnv, kind: ShellKind, dir: &Path, rc: &str) -> Session {
        let rc_dir = env.root.path().join("rc");
        fs::create_dir_all(rc_dir.join("fish")).unwrap();
        let mut cmd = match kind {
            ShellKind::Bash => {
                let rc_file = rc_dir.join("bashrc");
                fs::write(
                    &rc_file,
                    format!("PS1='EGPROMPT> '\n{rc}\neval \"$(envguard hook bash)\"\n"),
                )
                .unwrap();
                let mut cmd = Command::new("bash");
                cmd.args(["--noprofile", "--rcfile"])
                    .arg(&rc_file)
                    .arg("-i");
                cmd
            }
            ShellKind::Zsh => {
                fs::write(
                    rc_dir.join(".zshrc"),
                    format!("PROMPT='EGPROMPT> '\n{rc}\neval \"$(envguard hook zsh)\"\n"),
                )
                .unwrap();
                let mut cmd = Command::new("zsh");
                cmd.arg("-i");
                cmd
            }
            ShellKind::Fish => {
                fs::write(
                    rc_dir.join("fish/config.fish"),
                    format!(
                        "function fish_prompt; printf 'EGPROMPT> '; end\nset -g fish_greeting\n{rc}\nenvguard hook fish | source\n"
                    ),
                )
                .unwrap();
                let mut cmd = Command::new("fish");
                cmd.arg("-i");
                cmd
            }
        };
        let winsize = nix::pty::Winsize {
            ws_row: 50,
            ws_col: 250,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(Some(&winsize), None).unwrap();
        let bin_dir = Path::new(BIN).parent().unwrap().display().to_string();
        let env_file = env.root.path().join("env.out");
        cmd.current_dir(dir)
            .env_clear()
            .envs(env.base_env())
            .env(
                "PATH",
                format!("{bin_dir}:{}", std::env::var("PATH").unwrap_or_default()),
            )
            .env("TERM", "dumb")
            .env("EG_OUT", &env_file)
            .env("PWD", dir)
            .env("ZDOTDIR", &rc_dir)
            .env("XDG_CONFIG_HOME", &rc_dir)
            .stdin(File::from(pty.slave.try_clone().unwrap()))
            .stdout(File::from(pty.slave.try_clone().unwrap()))
            .stderr(File::from(pty.slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                nix::unistd::setsid()?;
                if nix::libc::ioctl(0, nix::libc::TIOCSCTTY as _, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!("cannot start {kind:?} (the test command installs it): {e}")
        });
        let mut session = Session {
            kind,
            master: File::from(pty.master),
            child,
            transcript: Vec::new(),
            seen: 0,
            markers: 0,
            env_file,
        };
        session.wait_for(PROMPT);
        session
    }

    /// Reads until `needle` appears after what was already consumed; returns the text up to
    /// and including it.
    fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(at) = find(&self.transcript[self.seen..], needle.as_bytes()) {
                let end = self.seen + at + needle.len();
                let text = String::from_utf8_lossy(&self.transcript[self.seen..end]).into_owned();
                self.seen = end;
                return text;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let tail = String::from_utf8_lossy(
                &self.transcript[self.transcript.len().saturating_sub(1500)..],
            );
            assert!(
                !left.is_zero(),
                "{:?}: timed out waiting for {needle:?}; terminal ends with:\n{tail}",
                self.kind
            );
            let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
            let millis = PollTimeout::try_from(left.as_millis().min(1000) as i32).unwrap();
            if poll(&mut fds, millis).unwrap() > 0 {
                let mut buf = [0u8; 4096];
                match self.master.read(&mut buf) {
                    Ok(0) | Err(_) => panic!(
                        "{:?}: the shell exited; terminal ends with:\n{tail}",
                        self.kind
                    ),
                    Ok(n) => self.transcript.extend_from_slice(&buf[..n]),
                }
            }
        }
    }

    /// Types `command`, waits until it ran and the next prompt (after the hook) is shown;
    /// returns what the terminal showed meanwhile (hook messages included).
    pub fn run(&mut self, command: &str) -> String {
        self.markers += 1;
        let n = self.markers;
        self.master
            .write_all(format!("{command}; printf '%s%s.\\n' EGSYNC {n}\n").as_bytes())
            .unwrap();
        let mut text = self.wait_for(&format!("EGSYNC{n}."));
        text.push_str(&self.wait_for(PROMPT));
        text
    }

    pub fn cd(&mut self, dir: &Path) -> String {
        self.run(&format!(
            "cd {}",
            quote(self.kind, &dir.display().to_string())
        ))
    }

    /// The exported environment as the shell's children see it.
    pub fn dump(&mut self) -> HashMap<String, Vec<u8>> {
        self.run("env -0 > \"$EG_OUT\"");
        parse_env0(&fs::read(&self.env_file).unwrap())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
