//! Real interactive bash, zsh and fish on a pseudo-terminal, with the hook installed the way
//! the README says (one line in the rc file), walking through projects as a user would.
//!
//! Synchronisation never sleeps: every command is followed on the same line by a `printf` of a
//! numbered marker that the shell assembles (`EGSYNC` `7.`), so the typed echo never matches
//! it, and then by the next prompt, which each shell prints only after its hook has run. The
//! prompt carries `$SHLVL`, so a nested shell's prompt is told apart from its parent's.
//! Values are checked by reading `env -0` written by the shell into a file and comparing in
//! the test, so no value is ever printed to the terminal or into a failure message.

mod common;

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::*;
use envguard::cli::ShellKind;
use envguard::shell::quote;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

const TIMEOUT: Duration = Duration::from_secs(20);

/// An interactive shell on a pseudo-terminal.
struct Session {
    kind: ShellKind,
    master: File,
    child: Child,
    transcript: Vec<u8>,
    /// How much of the transcript has been consumed by earlier waits.
    seen: usize,
    markers: u32,
    level: u32,
    /// Where `dump` makes the shell write `env -0`.
    env_file: PathBuf,
}

impl Session {
    fn start(env: &TestEnv, kind: ShellKind, dir: &Path) -> Session {
        let rc = env.root.path().join("rc");
        fs::create_dir_all(rc.join("fish")).unwrap();
        let mut cmd = match kind {
            ShellKind::Bash => {
                // A PROMPT_COMMAND the user already had must keep running.
                let rc_file = rc.join("bashrc");
                fs::write(
                    &rc_file,
                    "PS1='EGPROMPT${SHLVL}> '\nPROMPT_COMMAND='printf \"%s%s\\n\" EGPC KEPT'\n\
                     eval \"$(envguard hook bash)\"\n",
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
                    rc.join(".zshrc"),
                    "PROMPT='EGPROMPT%L> '\neval \"$(envguard hook zsh)\"\n",
                )
                .unwrap();
                let mut cmd = Command::new("zsh");
                cmd.arg("-i");
                cmd
            }
            ShellKind::Fish => {
                fs::write(
                    rc.join("fish/config.fish"),
                    "function fish_prompt; printf 'EGPROMPT%s> ' $SHLVL; end\nset -g fish_greeting\n\
                     envguard hook fish | source\n",
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
            .env("PATH", format!("{bin_dir}:{}", std::env::var("PATH").unwrap_or_default()))
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
            panic!("cannot start {kind:?} (the test command installs it): {e}")
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
        };
        session.wait_prompt();
        session
    }

    fn shell_name(&self) -> &'static str {
        match self.kind {
            ShellKind::Bash => "bash",
            ShellKind::Zsh => "zsh",
            ShellKind::Fish => "fish",
        }
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
                "{}: timed out waiting for {needle:?}; terminal ends with:\n{tail}",
                self.shell_name()
            );
            let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
            let millis = PollTimeout::try_from(left.as_millis().min(1000) as i32).unwrap();
            if poll(&mut fds, millis).unwrap() > 0 {
                let mut buf = [0u8; 4096];
                match self.master.read(&mut buf) {
                    Ok(0) | Err(_) => panic!(
                        "{}: the shell exited; terminal ends with:\n{tail}",
                        self.shell_name()
                    ),
                    Ok(n) => self.transcript.extend_from_slice(&buf[..n]),
                }
            }
        }
    }

    fn wait_prompt(&mut self) -> String {
        let prompt = format!("EGPROMPT{}> ", self.level);
        self.wait_for(&prompt)
    }

    /// Types `command`, waits until it ran and the next prompt (after the hook) is shown;
    /// returns what the terminal showed meanwhile (hook messages included).
    fn run(&mut self, command: &str) -> String {
        self.markers += 1;
        let n = self.markers;
        self.type_line(&format!("{command}; printf '%s%s.\\n' EGSYNC {n}"));
        let mut text = self.wait_for(&format!("EGSYNC{n}."));
        text.push_str(&self.wait_prompt());
        text
    }

    fn type_line(&mut self, line: &str) {
        self.master
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }

    fn cd(&mut self, dir: &Path) -> String {
        self.run(&format!(
            "cd {}",
            quote(self.kind, &dir.display().to_string())
        ))
    }

    /// The exported environment as the shell's children see it.
    fn dump(&mut self) -> HashMap<String, Vec<u8>> {
        self.run("env -0 > \"$EG_OUT\"");
        parse_env0(&fs::read(&self.env_file).unwrap())
    }

    /// Starts the same shell, interactive, inside this one.
    fn nest(&mut self) {
        let line = match self.kind {
            ShellKind::Bash => format!("bash --noprofile --rcfile {} -i", self.rc_quoted("bashrc")),
            ShellKind::Zsh => "zsh -i".to_owned(),
            ShellKind::Fish => "fish -i".to_owned(),
        };
        self.type_line(&line);
        self.level += 1;
        self.wait_prompt();
    }

    fn unnest(&mut self) {
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

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The one message line the hook printed for one event, from `envguard: ` on (a shell may put
/// terminal escapes or zsh's partial-line mark before it). A message names variables, never a
/// value, so it may be shown on failure.
#[track_caller]
fn one_message(name: &str, shown: &str) -> String {
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
fn assert_value(env: &HashMap<String, Vec<u8>>, name: &str, expected: Option<&str>) {
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

const AWKWARD_SINGLE: &str =
    "  sq \"dq\" $HOME `echo bt` $(touch PWNED) a\\b {a,b} *\nsecond line\tTab ü € 😀 end  ";
const AWKWARD_DOUBLE_FILE: &str = r#""it's \\ back \" dq""#;
const AWKWARD_DOUBLE: &str = r#"it's \ back " dq"#;

struct Projects {
    p: PathBuf,
    nested: PathBuf,
    q: PathBuf,
    spaced: PathBuf,
    refused: PathBuf,
    untrusted: PathBuf,
    link: PathBuf,
    pwned: PathBuf,
}

fn projects(env: &TestEnv) -> Projects {
    let pwned = env.root.path().join("pwned");
    let awkward = AWKWARD_SINGLE.replace("PWNED", &pwned.display().to_string());
    let p = env.allowed_project(
        "p",
        &format!(
            "EG_A=alpha\nEG_PRESET=from-file\nEG_PRESET_EMPTY=not-empty\nEG_AWK1='{awkward}'\nEG_AWK2={AWKWARD_DOUBLE_FILE}\n"
        ),
    );
    let nested = env.allowed_project("p/nested", "EG_A=nested\nEG_N=n\n");
    let q = env.allowed_project("q", "EG_A=q\nEG_Q=q\n");
    let spaced = env.allowed_project("it's a \"dir\" $x", "EG_S=spaced\n");
    let refused = env.project("refused", "EG_R=r\n", 0o644);
    env.run(&refused, ["allow"]);
    let untrusted = env.project("untrusted", "EG_U=u\n", 0o600);
    let link = env.work().join("link");
    std::os::unix::fs::symlink(&p, &link).unwrap();
    Projects {
        p,
        nested,
        q,
        spaced,
        refused,
        untrusted,
        link,
        pwned,
    }
}

fn scenario(kind: ShellKind) {
    let env = TestEnv::new();
    let ps = projects(&env);
    let awkward = AWKWARD_SINGLE.replace("PWNED", &ps.pwned.display().to_string());
    let mut sh = Session::start(&env, kind, &env.work());
    let name = sh.shell_name();

    let outside = sh.dump();
    assert_value(&outside, "EG_A", None);
    assert_value(&outside, "EG_PRESET_EMPTY", Some(""));

    // Enter: every value exact, nothing in a value ran.
    let shown = sh.cd(&ps.p);
    let p_env = ps.p.join(".env").display().to_string();
    assert_eq!(
        one_message(name, &shown),
        format!("envguard: loaded {p_env} +EG_A ~EG_PRESET ~EG_PRESET_EMPTY +EG_AWK1 +EG_AWK2"),
        "{name}"
    );
    if kind == ShellKind::Bash {
        assert!(
            shown.contains("EGPCKEPT"),
            "bash: the existing PROMPT_COMMAND stopped running"
        );
    }
    let inside = sh.dump();
    assert_value(&inside, "EG_A", Some("alpha"));
    assert_value(&inside, "EG_AWK1", Some(&awkward));
    assert_value(&inside, "EG_AWK2", Some(AWKWARD_DOUBLE));
    assert_value(&inside, "EG_PRESET", Some("from-file"));
    assert!(!ps.pwned.exists(), "{name}: a value was executed");
    assert!(
        !sh.run("true").contains("envguard:"),
        "{name}: a message without a change"
    );

    // Nested project: only the nearest file counts; the parent's names are restored.
    sh.cd(&ps.nested);
    let nested = sh.dump();
    assert_value(&nested, "EG_A", Some("nested"));
    assert_value(&nested, "EG_N", Some("n"));
    assert_value(&nested, "EG_AWK1", None);
    assert_value(&nested, "EG_PRESET", Some("before"));
    assert_value(&nested, "EG_PRESET_EMPTY", Some(""));
    sh.cd(&ps.p);
    assert_value(&sh.dump(), "EG_N", None);

    // Sibling jump in one prompt, then `cd -` back.
    let shown = sh.cd(&ps.q);
    assert_eq!(
        one_message(name, &shown),
        format!(
            "envguard: unloaded {p_env} -EG_A -EG_PRESET -EG_PRESET_EMPTY -EG_AWK1 -EG_AWK2; \
             loaded {}/.env +EG_A +EG_Q",
            ps.q.display()
        ),
        "{name}"
    );
    let sibling = sh.dump();
    assert_value(&sibling, "EG_A", Some("q"));
    assert_value(&sibling, "EG_AWK1", None);
    sh.run("cd -");
    assert_value(&sh.dump(), "EG_AWK2", Some(AWKWARD_DOUBLE));

    // A directory name with spaces and quotes.
    sh.cd(&ps.spaced);
    let spaced = sh.dump();
    assert_value(&spaced, "EG_S", Some("spaced"));
    assert_value(&spaced, "EG_A", None);

    // Refused by mode: the spaced project unloads and nothing loads, said in one line with
    // the fix, not repeated.
    let shown = sh.cd(&ps.refused);
    let line = one_message(name, &shown);
    assert!(
        line.starts_with("envguard: unloaded ")
            && line.contains(" -EG_S; ")
            && line.contains("chmod 600")
            && line.ends_with("; nothing loaded"),
        "{name}: {line}"
    );
    assert_value(&sh.dump(), "EG_R", None);
    assert!(
        !sh.run("true").contains("envguard:"),
        "{name}: the warning was repeated"
    );
    // Fixing the mode is noticed at the next prompt: now it only needs to be allowed.
    let shown = sh.run("chmod 600 .env");
    assert!(
        one_message(name, &shown).contains("envguard allow"),
        "{name}: the new mode was not noticed:\n{shown}"
    );
    sh.run("envguard allow");
    assert_value(&sh.dump(), "EG_R", Some("r"));

    // Untrusted until allowed; an edit unloads until allowed again.
    let shown = sh.cd(&ps.untrusted);
    let untrusted_env = ps.untrusted.join(".env").display().to_string();
    assert_eq!(
        one_message(name, &shown),
        format!(
            "envguard: unloaded {}/.env -EG_R; {untrusted_env}: is not allowed yet \
             (fix: review it, then run `envguard allow {untrusted_env}`); nothing loaded",
            ps.refused.display()
        ),
        "{name}"
    );
    assert_value(&sh.dump(), "EG_U", None);
    sh.run("envguard allow");
    assert_value(&sh.dump(), "EG_U", Some("u"));
    let shown = sh.run("echo EG_NEW=1 >> .env");
    assert_eq!(
        one_message(name, &shown),
        format!(
            "envguard: unloaded {untrusted_env} -EG_U: has changed since it was allowed \
             (fix: review it, then run `envguard allow {untrusted_env}`)"
        ),
        "{name}: an edit was not noticed"
    );
    assert_value(&sh.dump(), "EG_U", None);
    assert!(
        !sh.run("true").contains("envguard:"),
        "{name}: the edit was reported twice"
    );
    sh.run("envguard allow");
    let edited = sh.dump();
    assert_value(&edited, "EG_U", Some("u"));
    assert_value(&edited, "EG_NEW", Some("1"));

    // Leaving everything restores what was there before, exactly.
    let shown = sh.cd(Path::new("/"));
    assert_eq!(
        one_message(name, &shown),
        format!("envguard: unloaded {untrusted_env} -EG_U -EG_NEW"),
        "{name}"
    );
    let left = sh.dump();
    for gone in ["EG_A", "EG_U", "EG_NEW", "EG_AWK1", "__ENVGUARD_STATE"] {
        assert_value(&left, gone, None);
    }
    assert_value(&left, "EG_PRESET", Some("before"));
    assert_value(&left, "EG_PRESET_EMPTY", Some(""));

    // Through a symlinked directory.
    sh.cd(&ps.link);
    assert_value(&sh.dump(), "EG_A", Some("alpha"));

    // A nested shell inherits the project; leaving in it does not touch the parent.
    sh.nest();
    assert_value(&sh.dump(), "EG_AWK1", Some(&awkward));
    sh.cd(Path::new("/"));
    let child = sh.dump();
    assert_value(&child, "EG_A", None);
    assert_value(&child, "EG_PRESET", Some("before"));
    sh.unnest();
    let parent = sh.dump();
    assert_value(&parent, "EG_A", Some("alpha"));
    assert_value(&parent, "EG_AWK1", Some(&awkward));

    // A shell that already holds the file's values without the state (it lost it, or was
    // started by `envguard exec`): the reload must not save those values as "earlier" ones.
    sh.run(match kind {
        ShellKind::Fish => "set -e __ENVGUARD_STATE",
        ShellKind::Bash | ShellKind::Zsh => "unset __ENVGUARD_STATE",
    });
    let reloaded = sh.dump();
    assert_value(&reloaded, "EG_A", Some("alpha"));
    let state = reloaded
        .get("__ENVGUARD_STATE")
        .expect("the state was not rebuilt");
    let has = |value: &str| state.windows(value.len()).any(|w| w == value.as_bytes());
    assert!(
        !has("alpha") && !has("from-file") && !has("not-empty"),
        "{name}: the state holds a value of the file"
    );
    assert!(!ps.pwned.exists(), "{name}: a value was executed");
}

#[test]
fn bash_interactive() {
    scenario(ShellKind::Bash);
}

#[test]
fn zsh_interactive() {
    scenario(ShellKind::Zsh);
}

#[test]
fn fish_interactive() {
    scenario(ShellKind::Fish);
}
