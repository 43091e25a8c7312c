//! An interactive bash, zsh or fish on a pseudo-terminal, with the hook installed the way the
//! README says (one line in the rc file), driven as a user would type.
//!
//! Synchronisation never sleeps: every command is followed on the same line by a `printf` of a
//! numbered marker that the shell assembles (`EGSYNC` `7.`), so the typed echo never matches
//! it, and then by the next prompt, which each shell prints only after its hook has run. The
//! prompt carries `$SHLVL`, so a nested shell's prompt is told apart from its parent's.
//! Values are checked by reading `env -0` written by the shell into a file and comparing in
//! the test, so no value is ever printed to the terminal or into a failure message.

#![allow(dead_code)]

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::common::*;
use envguard::cli::ShellKind;
use envguard::hook::quote::quote;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// A guard against a hung shell, not a timing assertion: far beyond any normal run, also under
/// a memory limit on a loaded machine.
const TIMEOUT: Duration = Duration::from_secs(30);

/// An interactive shell on a pseudo-terminal.
pub struct Session {
    pub kind: ShellKind,
    master: File,
    child: Child,
    transcript: Vec<u8>,
    /// How much of the transcript has been consumed by earlier waits.
    seen: usize,
    markers: u32,
    level: u32,
    /// Where `dump` makes the shell write `env -0`.
    env_file: PathBuf,
    /// Values a failure message must not show, should the terminal hold them.
    hidden: Vec<String>,
}

impl Session {
    pub fn start(env: &TestEnv, kind: ShellKind, dir: &Path) -> Session {
        Session::start_with(env, kind, dir, "")
    }

    /// [`Session::start`] with `rc` (in the shell's own syntax) run after the hook's line in
    /// the rc file, as a user's later settings would be.
    pub fn start_with(env: &TestEnv, kind: ShellKind, dir: &Path, rc_extra: &str) -> Session {
        Session::spawn(env, kind, dir, rc_extra, &[])
    }

    /// [`Session::start`] with the shell run by `wrapper` (a command line that ends where the
    /// shell's own begins, such as `prlimit --as=N --`), so its limits hold for the whole
    /// session, the hook's runs included.
    pub fn start_under(env: &TestEnv, kind: ShellKind, dir: &Path, wrapper: &[&str]) -> Session {
        Session::spawn(env, kind, dir, "", wrapper)
    }

    fn spawn(
        env: &TestEnv,
        kind: ShellKind,
        dir: &Path,
        rc_extra: &str,
        wrapper: &[&str],
    ) -> Session {
        let rc = env.root.path().join("rc");
        fs::create_dir_all(rc.join("fish")).unwrap();
        let mut cmd = match kind {
            ShellKind::Bash => {
                // A PROMPT_COMMAND the user already had must keep running.
                let rc_file = rc.join("bashrc");
                fs::write(
                    &rc_file,
                    format!(
                        "PS1='EGPROMPT${{SHLVL}}> '\nPROMPT_COMMAND='printf \"%s%s\\n\" EGPC KEPT'\n\
                         eval \"$(envguard hook bash)\"\n{rc_extra}\n"
                    ),
                )
                .unwrap();
                let mut cmd = wrapped(wrapper, "bash");
                cmd.args(["--noprofile", "--rcfile"])
                    .arg(&rc_file)
                    .arg("-i");
                cmd
            }
            ShellKind::Zsh => {
                fs::write(
                    rc.join(".zshrc"),
                    format!("PROMPT='EGPROMPT%L> '\neval \"$(envguard hook zsh)\"\n{rc_extra}\n"),
                )
                .unwrap();
                let mut cmd = wrapped(wrapper, "zsh");
                cmd.arg("-i");
                cmd
            }
            ShellKind::Fish => {
                fs::write(
                    rc.join("fish/config.fish"),
                    format!(
                        "function fish_prompt; printf 'EGPROMPT%s> ' $SHLVL; end\nset -g fish_greeting\n\
                         envguard hook fish | source\n{rc_extra}\n"
                    ),
                )
                .unwrap();
                let mut cmd = wrapped(wrapper, "fish");
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
        let env_file = env.root.path().join("env.out");
        cmd.current_dir(dir)
            .env_clear()
            .envs(env.base_env())
            .env("PATH", path_with_bin())
            .env("TERM", "dumb")
            .env("SHLVL", "0")
            .env("EG_OUT", &env_file)
            .env("PWD", dir)
            // Where zsh and fish find the rc files written above.
            .env("ZDOTDIR", &rc)
            .env("XDG_CONFIG_HOME", &rc)
            // Set before entering any project: leaving must restore both exactly.
            .env("EG_PRESET_EMPTY", "")
            .env("EG_PRESET", "before")
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
            panic!("cannot start {kind:?} under {wrapper:?} (the test command installs both): {e}")
        });
        let mut session = Session {
            kind,
            master: File::from(pty.master),
            child,
            transcript: Vec::new(),
            seen: 0,
            markers: 0,
            level: 1,
            env_file,
            hidden: Vec::new(),
        };
        session.wait_prompt();
        session
    }

    /// Keeps `secret` out of this session's failure messages (a test that checks the terminal
    /// for a value may time out with it on screen).
    pub fn hide(&mut self, secret: &str) {
        self.hidden.push(secret.to_owned());
    }

    pub fn shell_name(&self) -> &'static str {
        match self.kind {
            ShellKind::Bash => "bash",
            ShellKind::Zsh => "zsh",
            ShellKind::Fish => "fish",
        }
    }

    /// Reads until `needle` appears after what was already consumed; returns the text up to
    /// and including it.
    pub fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(at) = find(&self.transcript[self.seen..], needle.as_bytes()) {
                let end = self.seen + at + needle.len();
                let text = String::from_utf8_lossy(&self.transcript[self.seen..end]).into_owned();
                self.seen = end;
                return text;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "{}: timed out waiting for {needle:?}; terminal ends with:\n{}",
                self.shell_name(),
                self.tail()
            );
            let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
            let millis = PollTimeout::try_from(left.as_millis().min(1000) as i32).unwrap();
            if poll(&mut fds, millis).unwrap() > 0 {
                let mut buf = [0u8; 4096];
                match self.master.read(&mut buf) {
                    Ok(0) | Err(_) => panic!(
                        "{}: the shell exited; terminal ends with:\n{}",
                        self.shell_name(),
                        self.tail()
                    ),
                    Ok(n) => self.transcript.extend_from_slice(&buf[..n]),
                }
            }
        }
    }

    /// The end of the terminal's text for a failure message, hidden values masked.
    fn tail(&self) -> String {
        let mut shown = String::from_utf8_lossy(&self.transcript).into_owned();
        for secret in &self.hidden {
            shown = shown.replace(secret, &format!("<a secret of {} bytes>", secret.len()));
        }
        let chars: Vec<char> = shown.chars().collect();
        chars[chars.len().saturating_sub(1500)..].iter().collect()
    }

    pub fn wait_prompt(&mut self) -> String {
        let prompt = format!("EGPROMPT{}> ", self.level);
        self.wait_for(&prompt)
    }

    /// Types `command`, waits until it ran and the next prompt (after the hook) is shown;
    /// returns what the terminal showed meanwhile (hook messages included).
    pub fn run(&mut self, command: &str) -> String {
        self.run_answering(command, &[])
    }

    /// [`Session::run`] for a command that asks for secrets at hidden prompts: each answer is
    /// typed after its prompt appears and the terminal's echo is off (as a person would see
    /// the prompt before typing), so it is never shown.
    pub fn run_answering(&mut self, command: &str, answers: &[(&str, &str)]) -> String {
        self.markers += 1;
        let n = self.markers;
        self.type_line(&format!("{command}; printf '%s%s.\\n' EGSYNC {n}"));
        let mut text = String::new();
        for (prompt, answer) in answers {
            text.push_str(&self.wait_for(prompt));
            self.wait_echo_off();
            self.type_line(answer);
        }
        text.push_str(&self.wait_for(&format!("EGSYNC{n}.")));
        text.push_str(&self.wait_prompt());
        text
    }

    /// Waits until the program at the prompt has turned the terminal's echo off. The flag is
    /// the terminal's own state, not output to wait for, so it is looked at every few ms.
    fn wait_echo_off(&mut self) {
        let deadline = Instant::now() + TIMEOUT;
        while nix::sys::termios::tcgetattr(self.master.as_fd()).is_ok_and(|attrs| {
            attrs
                .local_flags
                .contains(nix::sys::termios::LocalFlags::ECHO)
        }) {
            assert!(
                Instant::now() < deadline,
                "{}: echo never went off for a hidden prompt; terminal ends with:\n{}",
                self.shell_name(),
                self.tail()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn type_line(&mut self, line: &str) {
        self.master
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
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

    /// Starts the same shell, interactive, inside this one.
    pub fn nest(&mut self) {
        let line = match self.kind {
            ShellKind::Bash => format!("bash --noprofile --rcfile {} -i", self.rc_quoted("bashrc")),
            ShellKind::Zsh => "zsh -i".to_owned(),
            ShellKind::Fish => "fish -i".to_owned(),
        };
        self.type_line(&line);
        self.level += 1;
        self.wait_prompt();
    }

    pub fn unnest(&mut self) {
        self.type_line("exit");
        self.level -= 1;
        self.wait_prompt();
    }

    fn rc_quoted(&self, file: &str) -> String {
        let rc = Path::new(&self.env_file)
            .parent()
            .unwrap()
            .join("rc")
            .join(file);
        quote(ShellKind::Bash, &rc.display().to_string())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `program`, or `wrapper` running it when there is one.
fn wrapped(wrapper: &[&str], program: &str) -> Command {
    match wrapper {
        [] => Command::new(program),
        [first, rest @ ..] => {
            let mut cmd = Command::new(first);
            cmd.args(rest).arg(program);
            cmd
        }
    }
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The one message line the hook printed for one event, from `envguard: ` on (a shell may put
/// terminal escapes or zsh's partial-line mark before it). A message names variables, never a
/// value, so it may be shown on failure.
#[track_caller]
pub fn one_message(name: &str, shown: &str) -> String {
    let lines: Vec<&str> = shown
        .lines()
        .filter_map(|line| line.find("envguard: ").map(|at| &line[at..]))
        .map(|line| line.trim_end_matches('\r'))
        .collect();
    assert_eq!(lines.len(), 1, "{name}: not one message line:\n{shown}");
    lines[0].to_owned()
}

/// Asserts a variable's exported value without ever printing it.
#[track_caller]
pub fn assert_value(env: &HashMap<String, Vec<u8>>, name: &str, expected: Option<&str>) {
    let got = env.get(name).map(Vec::as_slice);
    match (got, expected) {
        (None, None) => {}
        (Some(_), None) => panic!("{name} is set but should be absent"),
        (None, Some(_)) => panic!("{name} is absent but should be set"),
        (Some(got), Some(expected)) => assert!(
            got == expected.as_bytes(),
            "{name} differs: {} bytes, expected {} bytes",
            got.len(),
            expected.len()
        ),
    }
}
