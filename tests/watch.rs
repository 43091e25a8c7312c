//! `envguard exec --watch` with real programs: a bash script that records each start (its
//! pid, a background child's pid, the pid of a daemon that left the group with `setsid`, and
//! the length and hash of `API_KEY`, never the value) and then waits. Every test ends by
//! checking the process table: no process of any program group the supervisor started, and
//! none of the recorded children, may be left. Waits poll with a deadline, never fixed sleeps.

mod common;

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use common::{TestEnv, write_mode};
use envguard::load::trust::digest;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const FIRST: &str = "first-secret-value";
const SECOND: &str = "second-secret-value-longer";

/// The program under supervision. `$2 = ignore-term` makes it (and its background child)
/// ignore SIGTERM, like a program that never shuts down cleanly.
const PROGRAM: &str = r#"
log=$1
[ "$2" = ignore-term ] && trap '' TERM
sleep 300 &
background=$!
setsid sleep 300 &
printf '%s %s %s %s %s\n' "$$" "$background" "$!" "${#API_KEY}" "$(printf %s "$API_KEY" | sha256sum | cut -c1-16)" >>"$log"
wait
"#;

const DEADLINE: Duration = Duration::from_secs(10);

/// One start of the program, as it recorded it.
struct Start {
    /// The program's pid, which is also its process group.
    group: i32,
    background: i32,
    /// A `setsid sleep`: in a session and process group of its own.
    daemon: i32,
    length: usize,
    hash: String,
}

impl Start {
    fn saw(&self, value: &str) -> bool {
        self.length == value.len() && self.hash == digest(value.as_bytes())[..16]
    }
}

/// A running `envguard exec --watch`, stopped (and checked for leftovers) when dropped.
struct Watch {
    supervisor: Child,
    log: PathBuf,
    stderr: PathBuf,
    project: PathBuf,
}

impl Watch {
    fn start(env: &TestEnv, project: &Path, flags: &[&str], mode: &str) -> Watch {
        let watch = Watch::spawn(env, project, flags, mode, false, &[]);
        watch.wait_for_starts(1);
        watch
    }

    /// Starts envguard without waiting for the program; `own_group` puts envguard in a
    /// process group of its own, as a shell does with a job; a `wrapper` (a command and its
    /// arguments) runs envguard, which is then the wrapper's child.
    fn spawn(
        env: &TestEnv,
        project: &Path,
        flags: &[&str],
        mode: &str,
        own_group: bool,
        wrapper: &[&str],
    ) -> Watch {
        let log = env.root.path().join("starts.log");
        let stderr = env.root.path().join("stderr.log");
        let mut args = vec!["exec", "--watch"];
        args.extend(flags);
        args.extend([
            "--",
            "bash",
            "-c",
            PROGRAM,
            "program",
            log.to_str().unwrap(),
            mode,
        ]);
        let mut command = match wrapper.split_first() {
            None => env.cmd(project, args),
            Some((program, wrapper_args)) => {
                let mut command = std::process::Command::new(program);
                command
                    .args(wrapper_args)
                    .arg(common::BIN)
                    .args(args)
                    .current_dir(project)
                    .env_clear()
                    .envs(env.base_env())
                    .env("PWD", project);
                command
            }
        };
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&stderr).unwrap());
        if own_group {
            command.process_group(0);
        }
        Watch {
            supervisor: command.spawn().unwrap(),
            log,
            stderr,
            project: project.to_path_buf(),
        }
    }

    fn starts(&self) -> Vec<Start> {
        read_starts(&self.log)
    }

    fn wait_for_starts(&self, count: usize) -> Vec<Start> {
        assert!(
            poll(|| self.starts().len() >= count),
            "expected {count} starts of the program, saw {}; stderr: {}",
            self.starts().len(),
            self.stderr()
        );
        self.starts()
    }

    fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn wait_for_stderr(&self, needle: &str) {
        assert!(
            poll(|| self.stderr().contains(needle)),
            "no {needle:?} on stderr: {}",
            self.stderr()
        );
    }

    fn env_file(&self) -> PathBuf {
        self.project.join(".env")
    }

    fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.supervisor.id() as i32), signal).unwrap();
    }

    /// Waits for envguard to exit; its exit code.
    fn exit_code(&mut self) -> Option<i32> {
        assert!(
            poll(|| self.supervisor.try_wait().unwrap().is_some()),
            "envguard did not exit"
        );
        self.supervisor.wait().unwrap().code()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if self.supervisor.try_wait().unwrap().is_none() {
            self.signal(Signal::SIGTERM);
            if !poll(|| self.supervisor.try_wait().unwrap().is_some()) {
                let _ = self.supervisor.kill();
                let _ = self.supervisor.wait();
                if !std::thread::panicking() {
                    panic!("envguard did not end on SIGTERM");
                }
            }
        }
        let leftovers = processes_in_groups(&self.starts());
        if !std::thread::panicking() {
            assert!(leftovers.is_empty(), "processes left behind: {leftovers:?}");
        }
    }
}

fn read_starts(log: &Path) -> Vec<Start> {
    let text = fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            Start {
                group: fields[0].parse().unwrap(),
                background: fields[1].parse().unwrap(),
                daemon: fields[2].parse().unwrap(),
                length: fields[3].parse().unwrap(),
                hash: fields[4].to_string(),
            }
        })
        .collect()
}

/// Pids of live processes in any of the program groups, or among their recorded children.
fn processes_in_groups(starts: &[Start]) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Fields after the command name (which may contain spaces) in parentheses.
        let Some(rest) = stat.rsplit_once(") ").map(|(_, rest)| rest) else {
            continue;
        };
        let fields: Vec<&str> = rest.split(' ').collect();
        let group: i32 = fields[2].parse().unwrap_or(0);
        if starts
            .iter()
            .any(|start| start.group == group || start.background == pid || start.daemon == pid)
        {
            found.push(pid);
        }
    }
    found
}

/// The session of a live process.
fn session(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    rest.split(' ').nth(3)?.parse().ok()
}

/// Whether none of a start's processes is alive (zombies count as gone).
fn all_gone(start: &Start) -> bool {
    !alive(start.group) && !alive(start.background) && !alive(start.daemon)
}

fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}

fn poll(done: impl FnMut() -> bool) -> bool {
    common::wait_until(DEADLINE, done)
}

fn allow(env: &TestEnv, project: &Path) {
    let out = env.run(project, ["allow"]);
    assert!(
        out.status.success(),
        "allow failed: {}",
        common::stderr(&out)
    );
}

fn api_key(value: &str) -> String {
    format!("API_KEY={value}\n")
}

#[test]
fn edit_then_allow_restarts_with_the_new_value() {
    let env = TestEnv::new();
    let project = env.allowed_project("p", &api_key(FIRST));
    let watch = Watch::start(&env, &project, &[], "");
    assert!(watch.starts()[0].saw(FIRST));

    fs::write(watch.env_file(), api_key(SECOND)).unwrap();
    watch.wait_for_stderr("has changed since it was allowed");
    assert_eq!(
        watch.starts().len(),
        1,
        "restarted before the edit was allowed"
    );

    allow(&env, &project);
    let starts = watch.wait_for_starts(2);
    assert!(
        starts[1].saw(SECOND),
        "the restarted program did not get the new value"
    );
    assert!(all_gone(&starts[0]), "the old program is still running");
    watch.wait_for_stderr("changed (API_KEY): restarting");
    assert!(
        !watch.stderr().contains(FIRST) && !watch.stderr().contains(SECOND),
        "a value reached stderr"
    );
}

#[test]
fn refused_or_unchanged_files_do_not_restart() {
    let env = TestEnv::new();
    let project = env.allowed_project("p", &api_key(FIRST));
    let watch = Watch::start(&env, &project, &[], "");

    let env_file = watch.env_file();
    fs::set_permissions(&env_file, fs::Permissions::from_mode(0o644)).unwrap();
    watch.wait_for_stderr("has mode 0644");
    fs::set_permissions(&env_file, fs::Permissions::from_mode(0o600)).unwrap();
    watch.wait_for_stderr("loads again, with the same variables");
    // Same contents rewritten and allowed again: nothing to restart for.
    write_mode(&env_file, &api_key(FIRST), 0o600);
    allow(&env, &project);

    // A real change now restarts exactly once more: the events above restarted nothing.
    fs::write(&env_file, api_key(SECOND)).unwrap();
    allow(&env, &project);
    let starts = watch.wait_for_starts(2);
    assert!(starts[1].saw(SECOND));
    assert_eq!(
        watch.stderr().matches("has mode 0644").count(),
        1,
        "{}",
        watch.stderr()
    );
    assert!(
        watch.stderr().contains("(fix: chmod 600"),
        "{}",
        watch.stderr()
    );
    assert_eq!(watch.starts().len(), 2);
}

#[test]
fn saves_that_rename_a_new_file_over_the_env_are_seen() {
    let env = TestEnv::new();
    let project = env.allowed_project("p", &api_key(FIRST));
    let watch = Watch::start(&env, &project, &[], "");
    let env_file = watch.env_file();
    let temp = project.join(".env.swp");
    for (round, value) in [(2, SECOND), (3, FIRST)] {
        write_mode(&temp, &api_key(value), 0o600);
        fs::rename(&temp, &env_file).unwrap();
        // The warning shows the rename itself was noticed (the allow below would also wake
        // the supervisor through the trust store).
        assert!(
            poll(|| watch
                .stderr()
                .matches("has changed since it was allowed")
                .count()
                == round - 1),
            "rename {} not noticed: {}",
            round - 1,
            watch.stderr()
        );
        allow(&env, &project);
        assert!(watch.wait_for_starts(round)[round - 1].saw(value));
    }
}

#[test]
fn sigterm_ends_the_program_and_envguard_exits_with_its_status() {
    let env = TestEnv::new();
    let project = env.allowed_project("p", &api_key(FIRST));
    let mut watch = Watch::start(&env, &project, &[], "");
    watch.signal(Signal::SIGTERM);
    assert_eq!(watch.exit_code(), Some(128 + 15));
}

#[test]
fn a_program_that_ignores_the_signal_is_killed_after_the_grace_period() {
    let env = TestEnv::new();
    let project = env.allowed_project("p", &api_key(FIRST));
    let mut watch = Watch::start(&env, &project, &["--grace", "0.5"], "ignore-term");

    fs::write(watch.env_file(), api_key(SECOND)).unwrap();
    allow(&env, &project);
    let starts = watch.wait_for_starts(2);
    assert!(starts[1].saw(SECOND));
    assert!(
        all_gone(&starts[0]),
        "a process of the old program survived SIGKILL; stderr: {}",
        watch.stderr()
    );
    watch.wait_for_stderr("did not end within 500ms of SIGTERM; killing it");

    watch.signal(Signal::SIGTERM);
    assert_eq!(watch.exit_code(), Some(128 + 9));
}

#[test]
fn the_program_ending_on_its_own_ends_envguard_with_its_code_and_no_leftovers() {
    let env = TestEnv::new();
    let project = env.allowed_project("p", &api_key(FIRST));
    let pids = env.root.path().join("pids");
    let script = format!(
        "sleep 300 & background=$!; setsid sleep 300 & echo $$ $background $! >{}; exit 3",
        pids.display()
    );
    let out = env.run(
        &project,
        [
            "exec", "--watch", "--grace", "0.5", "--", "bash", "-c", &script,
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", common::stderr(&out));
    let recorded = fs::read_to_string(&pids).unwrap();
    let pids: Vec<i32> = recorded
        .split_whitespace()
        .map(|pid| pid.parse().unwrap())
        .collect();
    let start = Start {
        group: pids[0],
        background: pids[1],
        daemon: pids[2],
        length: 0,
        hash: String::new(),
    };
    assert_eq!(processes_in_groups(&[start]), Vec::<i32>::new());
}

/// The daemon really left: another session, so no signal to the program's group reaches it.
/// Its pid is recorded when `setsid` is forked, before it has called setsid(): wait for that.
fn assert_daemon_left_the_group(start: &Start) {
    assert!(alive(start.daemon), "the daemon did not start");
    assert!(
        poll(|| session(start.daemon) != session(start.group)),
        "setsid did not give the daemon a session of its own"
    );
}

#[test]
fn sigkill_of_envguard_leaves_no_process_of_the_program_behind() {
    let env = TestEnv::new();
    let project = env.allowed_project("p", &api_key(FIRST));
    let mut watch = Watch::start(&env, &project, &[], "");
    let start = &watch.starts()[0];
    assert_daemon_left_the_group(start);
    watch.signal(Signal::SIGKILL);
    assert_eq!(watch.exit_code(), None, "envguard was not killed");
    let start = &watch.starts()[0];
    assert!(
        poll(|| processes_in_groups(&watch.starts()).is_empty()),
        "left behind: program {} background child {} daemon {}",
        alive(start.group),
        alive(start.background),
        alive(start.daemon)
    );
}

#[test]
fn sigkill_of_envguards_whole_job_leaves_nothing_behind() {
    // `kill -9 %1` in a shell kills the job's process group, which envguard leads.
    let env = TestEnv::new();
    let project = env.allowed_project("p", &api_key(FIRST));
    let mut watch = Watch::spawn(&env, &project, &[], "", true, &[]);
    let start = &watch.wait_for_starts(1)[0];
    assert_daemon_left_the_group(start);
    let job = Pid::from_raw(watch.supervisor.id() as i32);
    nix::sys::signal::killpg(job, Signal::SIGKILL).unwrap();
    assert_eq!(watch.exit_code(), None, "envguard was not killed");
    assert!(
        poll(|| processes_in_groups(&watch.starts()).is_empty()),
        "processes of the program were left: {:?}",
        processes_in_groups(&watch.starts())
    );
}

#[test]
fn restarts_and_exit_stop_a_daemon_that_left_the_group() {
    let env = TestEnv::new();
    let project = env.allowed_project("p", &api_key(FIRST));
    let mut watch = Watch::start(&env, &project, &[], "");
    assert_daemon_left_the_group(&watch.starts()[0]);
    fs::write(watch.env_file(), api_key(SECOND)).unwrap();
    allow(&env, &project);
    let starts = watch.wait_for_starts(2);
    assert!(
        all_gone(&starts[0]),
        "the first run's daemon survived the restart"
    );
    assert_daemon_left_the_group(&starts[1]);
    watch.signal(Signal::SIGTERM);
    assert_eq!(watch.exit_code(), Some(128 + 15));
    assert!(all_gone(&starts[1]), "the daemon survived envguard's exit");
}

#[test]
fn a_burst_of_edits_and_allows_restarts_once_with_the_last_value() {
    let env = TestEnv::new();
    let project = env.allowed_project("p", &api_key(FIRST));
    let watch = Watch::start(&env, &project, &[], "");
    let value = |round: usize| format!("rotated-secret-{round:02}");
    // 20 edits, each allowed. Each `allow` is a process start, which on a loaded machine
    // can take longer than the quiet period, and the burst would then really be several:
    // envguard is stopped while the burst is made, so that to it the burst takes no time
    // however slow the machine, and every change is waiting for it when it continues.
    watch.signal(Signal::SIGSTOP);
    assert!(
        poll(|| state(watch.supervisor.id() as i32) == Some('T')),
        "envguard did not stop"
    );
    for round in 0..20 {
        fs::write(watch.env_file(), api_key(&value(round))).unwrap();
        allow(&env, &project);
    }
    watch.signal(Signal::SIGCONT);
    let last = value(19);
    assert!(
        poll(|| watch.starts().last().is_some_and(|start| start.saw(&last))),
        "the program never got the last value; {} starts",
        watch.starts().len()
    );
    let starts = watch.starts();
    let intermediate = starts[1..starts.len() - 1].len();
    assert_eq!(
        intermediate,
        0,
        "{} restarts for one burst of edits; stderr: {}",
        starts.len() - 1,
        watch.stderr()
    );
    watch.wait_for_stderr("changed (API_KEY): restarting");
    assert_eq!(
        watch.stderr().matches("restarting the program").count(),
        1,
        "{}",
        watch.stderr()
    );
}

#[test]
fn a_deleted_env_is_reported_as_deleted_and_the_program_keeps_running() {
    let env = TestEnv::new();
    let project = env.allowed_project("p", &api_key(FIRST));
    let watch = Watch::start(&env, &project, &[], "");
    fs::remove_file(watch.env_file()).unwrap();
    watch.wait_for_stderr("was deleted; the program keeps running unchanged");
    assert!(
        !watch.stderr().contains("symlink"),
        "the message speaks of a symlink: {}",
        watch.stderr()
    );
    assert!(alive(watch.starts()[0].group), "the program was stopped");
    write_mode(&watch.env_file(), &api_key(FIRST), 0o600);
    watch.wait_for_stderr("loads again, with the same variables");
    assert_eq!(watch.starts().len(), 1);
}

#[test]
fn running_out_of_descriptors_is_not_blamed_on_inotify() {
    // inotify_init1 fails with EMFILE both when the user's inotify instances are used up
    // (fs.inotify.max_user_instances, which a test cannot exhaust without breaking every
    // other watcher of the user's on the machine) and when the process is out of
    // descriptors, which a test can provoke alone: the message must name the right limit.
    // The limits below bracket the number of descriptors envguard has open when it starts
    // watching.
    let env = TestEnv::new();
    let project = env.allowed_project("p", &api_key(FIRST));
    let mut seen = 0;
    for limit in 4..=12 {
        let script = format!("ulimit -n {limit}; exec \"$0\" exec --watch -- true");
        let out = std::process::Command::new("bash")
            .args(["-c", &script, common::BIN])
            .current_dir(&project)
            .env_clear()
            .envs(env.base_env())
            .env("PWD", &project)
            .output()
            .unwrap();
        let stderr = common::stderr(&out);
        if stderr.contains("cannot watch") {
            seen += 1;
            assert!(stderr.contains(&format!("(ulimit -n {limit})")), "{stderr}");
            assert!(!stderr.contains("max_user_instances"), "{stderr}");
            assert_eq!(out.status.code(), Some(2), "{stderr}");
        }
    }
    assert!(seen > 0, "no descriptor limit made watching fail");
}

/// The open descriptor (its number) through which `pid` reads `file`, once it has read
/// something through it.
fn descriptor_read_from(pid: i32, file: &Path) -> Option<String> {
    for entry in fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten() {
        if fs::read_link(entry.path()).is_ok_and(|target| target == file) {
            let fd = entry.file_name().to_string_lossy().into_owned();
            let info = fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
            let position: u64 = info
                .lines()
                .find_map(|line| line.strip_prefix("pos:"))?
                .trim()
                .parse()
                .ok()?;
            return (position > 0).then_some(fd);
        }
    }
    None
}

/// Sends SIGTERM to a process when dropped.
struct StopOnDrop(i32);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.0), Signal::SIGTERM);
    }
}

/// The pid of a child of `parent`.
fn child_of(parent: i32) -> Option<i32> {
    fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
        let stat = fs::read_to_string(entry.path().join("stat")).ok()?;
        let (_, rest) = stat.rsplit_once(") ")?;
        (rest.split(' ').nth(1)?.parse::<i32>().ok()? == parent).then_some(pid)
    })
}

#[test]
fn an_edit_allowed_while_the_first_load_reads_the_file_is_not_missed() {
    // strace holds envguard's first read of the `.env` for a while after it returned the
    // old bytes (`delay_exit`); the test edits the file in place and allows it in that
    // window, which is after the load has read the file. The edit must still reach the
    // program: envguard has to be watching before it loads.
    let env = TestEnv::new();
    let project = env.allowed_project("p", &api_key(FIRST));
    let env_file = project.join(".env");
    let other = "other-secret-value";
    // The same length, so the load's next read (which strace does not delay) finds the end
    // of the file where the old contents ended, and the load gets the old bytes whole.
    assert_eq!(other.len(), FIRST.len());
    let wrapper = [
        "strace",
        "-o",
        "/dev/null",
        "-P",
        env_file.to_str().unwrap(),
        "-e",
        "trace=read",
        "-e",
        "inject=read:delay_exit=1500000:when=1",
    ];
    assert!(
        std::process::Command::new("strace")
            .arg("-V")
            .output()
            .is_ok_and(|out| out.status.success()),
        "this test needs strace (scripts/test installs it)"
    );
    let mut watch = Watch::spawn(&env, &project, &[], "", false, &wrapper);
    let tracer = watch.supervisor.id() as i32;
    let mut envguard = None;
    assert!(
        poll(|| {
            envguard = child_of(tracer);
            envguard.is_some_and(|pid| descriptor_read_from(pid, &env_file).is_some())
        }),
        "envguard never read the .env; stderr: {}",
        watch.stderr()
    );
    let envguard = envguard.unwrap();
    // Should an assertion fail, end envguard itself: a killed strace would leave it running.
    let _stop_envguard = StopOnDrop(envguard);
    fs::write(&env_file, api_key(other)).unwrap();
    allow(&env, &project);
    assert!(
        poll(|| watch.starts().last().is_some_and(|start| start.saw(other))),
        "the edit allowed during the first load never reached the program; {} starts; \
         stderr: {}",
        watch.starts().len(),
        watch.stderr()
    );
    // The first load did get the old bytes: the reload found a change. (Not read from the
    // log: on a slow machine the restart can end the first program before it writes there.)
    watch.wait_for_stderr("changed (API_KEY): restarting the program");
    kill(Pid::from_raw(envguard), Signal::SIGTERM).unwrap();
    assert_eq!(watch.exit_code(), Some(128 + 15));
}

/// The state letter of a process (`T` stopped, `Z` zombie...).
fn state(pid: i32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

#[test]
fn sigtstp_to_envguard_stops_the_program_and_sigcont_continues_it() {
    // In a process group of its own, as a shell starts a job: whatever group the test
    // harness runs in (an orphaned one under a CI runner), envguard's is not orphaned, so
    // this is the SIGTSTP a shell would see.
    let env = TestEnv::new();
    let project = env.allowed_project("p", &api_key(FIRST));
    let watch = Watch::spawn(&env, &project, &[], "", true, &[]);
    watch.wait_for_starts(1);
    stops_and_continues(&watch);
}

#[test]
fn sigtstp_stops_envguard_in_an_orphaned_process_group_too() {
    // A session of its own (as under a CI runner or a container's entry point) is an
    // orphaned process group, where the kernel discards a SIGTSTP: envguard must still stop
    // with its program, not keep running over a stopped one.
    let env = TestEnv::new();
    let project = env.allowed_project("p", &api_key(FIRST));
    let watch = Watch::spawn(&env, &project, &[], "", false, &["setsid"]);
    watch.wait_for_starts(1);
    let envguard = watch.supervisor.id() as i32;
    assert_eq!(
        session(envguard),
        Some(envguard),
        "setsid did not run envguard"
    );
    stops_and_continues(&watch);
}

/// SIGTSTP to envguard stops the program and then envguard; SIGCONT continues both.
fn stops_and_continues(watch: &Watch) {
    let program = watch.starts()[0].group;
    let envguard = watch.supervisor.id() as i32;
    watch.signal(Signal::SIGTSTP);
    assert!(
        poll(|| state(program) == Some('T') && state(envguard) == Some('T')),
        "after SIGTSTP: program {:?}, envguard {:?}",
        state(program),
        state(envguard)
    );
    watch.signal(Signal::SIGCONT);
    assert!(
        poll(|| state(program).is_some_and(|s| s != 'T') && state(envguard) != Some('T')),
        "after SIGCONT: program {:?}, envguard {:?}",
        state(program),
        state(envguard)
    );
}

#[test]
fn a_bad_signal_is_a_usage_error_before_anything_runs() {
    let env = TestEnv::new();
    let project = env.allowed_project("p", &api_key(FIRST));
    let marker = env.root.path().join("ran");
    let marker = marker.to_str().unwrap();
    for flag in [
        "--signal=TERMINATE",
        "--signal=0",
        "--grace=-1",
        "--grace=nan",
    ] {
        let out = env.run(&project, ["exec", "--watch", flag, "--", "touch", marker]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{flag}: {}",
            common::stderr(&out)
        );
        assert!(
            common::stderr(&out).starts_with("envguard: --"),
            "{flag}: {}",
            common::stderr(&out)
        );
        assert!(!Path::new(marker).exists(), "{flag}: the program ran");
    }
}

/// Drives an interactive bash in a pseudo-terminal, as a user would: start the supervisor,
/// Ctrl-Z (the shell must report it stopped and get its prompt back), `bg`, `fg`, a second
/// Ctrl-Z (the program must stop again), `fg`, a restart (the new program must get the
/// terminal), then Ctrl-C. Prints the exit status the shell saw, and whether the terminal
/// was left in its usual modes (`stty -a` shows `icanon` and `echo`, not `-icanon`, `-echo`).
const TERMINAL_SESSION: &str = r#"
import os, re, signal, subprocess, sys, time, pexpect
envguard, program, log, flags = sys.argv[1:5]
# A suite started as a background job of a script inherits SIGINT and SIGQUIT ignored, and an
# ignored signal stays ignored through every exec: the shell's jobs would shrug off Ctrl-C.
for inherited in (signal.SIGINT, signal.SIGQUIT):
    signal.signal(inherited, signal.SIG_DFL)

def wait_for(done, what):
    deadline = time.time() + 10
    while not done():
        if time.time() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.02)

def starts():
    try:
        return open(log).read().splitlines()
    except FileNotFoundError:
        return []

def state(pid):
    return open(f"/proc/{pid}/stat").read().rsplit(") ", 1)[1][0]

shell = pexpect.spawn("bash", ["--norc", "--noprofile", "-i"], env=dict(os.environ, PS1="PROMPT$ "),
                      encoding="utf-8", timeout=10)
shell.expect_exact("PROMPT$ ")
shell.sendline(f"{envguard} exec --watch {flags} -- bash {program} {log}")
wait_for(lambda: starts(), "the program to start")
program_pid = starts()[0].split()[0]
shell.sendcontrol("z")
shell.expect("Stopped")
shell.expect_exact("PROMPT$ ")
wait_for(lambda: state(program_pid) == "T", "the program to stop")
shell.sendline("bg")
wait_for(lambda: state(program_pid) != "T", "the program to continue in the background")
shell.expect_exact("PROMPT$ ")
shell.sendline("fg")
tpgid = lambda pid: open(f"/proc/{pid}/stat").read().rsplit(") ", 1)[1].split()[5]
# The shell has handed the terminal over (with --mask, to envguard, which relays to the
# program's own pseudo-terminal): a Ctrl-Z typed before would reach the shell, which drops it.
wait_for(lambda: tpgid(program_pid) == program_pid and tpgid(shell.pid) != str(shell.pid),
         "the program to get the terminal back")
# A second Ctrl-Z must stop the program again, not envguard alone.
shell.sendcontrol("z")
shell.expect("Stopped")
shell.expect_exact("PROMPT$ ")
wait_for(lambda: state(program_pid) == "T", "the program to stop a second time")
shell.sendline("fg")
wait_for(lambda: state(program_pid) != "T", "the program to continue")
# A restart hands the terminal to the new program.
with open(".env", "w") as env_file:
    env_file.write("API_KEY=rotated\n")
subprocess.run([envguard, "allow"], check=True, capture_output=True)
wait_for(lambda: len(starts()) == 2, "the restart")
new_pid = starts()[1].split()[0]
foreground = lambda: open(f"/proc/{new_pid}/stat").read().rsplit(") ", 1)[1].split()[5]
wait_for(lambda: foreground() == new_pid, "the new program to own the terminal")
shell.sendcontrol("c")
shell.expect_exact("PROMPT$ ")
shell.sendline("echo status=$?")
shell.expect(r"status=(\d+)")
print(shell.match.group(1))
shell.expect_exact("PROMPT$ ")
shell.sendline("stty -a; printf 'stty-%s\\n' done")
shell.expect_exact("stty-done\r\n")
modes = shell.before.split()
print("cooked" if "icanon" in modes and "echo" in modes else "raw")
shell.sendline("exit")
shell.expect(pexpect.EOF)
"#;

#[test]
fn ctrl_z_fg_and_ctrl_c_in_a_terminal_behave_as_without_envguard() {
    terminal_session("");
}

#[test]
fn with_mask_ctrl_z_fg_and_ctrl_c_behave_the_same_on_envguards_pseudo_terminal() {
    terminal_session("--mask");
}

/// [`TERMINAL_SESSION`] with `flags` for `exec --watch`.
fn terminal_session(flags: &str) {
    let python = std::env::var("ENVGUARD_TEST_PYTHON")
        .expect("ENVGUARD_TEST_PYTHON must name a Python with pexpect (scripts/test sets it)");
    let env = TestEnv::new();
    let project = env.allowed_project("p", &api_key(FIRST));
    let program = env.root.path().join("program.sh");
    let log = env.root.path().join("starts.log");
    fs::write(&program, PROGRAM).unwrap();
    let out = std::process::Command::new(python)
        .args(["-c", TERMINAL_SESSION, common::BIN])
        .args([&program, &log])
        .arg(flags)
        .current_dir(&project)
        .env_clear()
        .envs(env.base_env())
        .env("PWD", &project)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "terminal session failed: {}{}",
        common::stdout(&out),
        common::stderr(&out)
    );
    assert_eq!(
        common::stdout(&out).split_whitespace().collect::<Vec<_>>(),
        ["130", "cooked"],
        "{}",
        common::stderr(&out)
    );
    let starts = read_starts(&log);
    assert_eq!(starts.len(), 2);
    assert_eq!(processes_in_groups(&starts), Vec::<i32>::new());
}

/// `envguard ARGS` in `dir` with `input` on stdin, which must succeed; no value shown.
fn run_ok(env: &TestEnv, dir: &Path, args: &[&str], input: &str) {
    let out = env.run_with_input(dir, args, input.as_bytes());
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        common::stderr(&out)
    );
}

#[test]
fn a_team_file_is_watched_alone_and_beside_the_personal_env() {
    let env = TestEnv::new();
    let project = env.work().join("team");
    fs::create_dir_all(&project).unwrap();
    // The real age identity `share init` makes, and values sealed to it by `set --shared`.
    run_ok(&env, &project, &["share", "init"], "");
    run_ok(&env, &project, &["set", "--shared", "API_KEY"], FIRST);
    let watch = Watch::start(&env, &project, &[], "");
    assert!(
        watch.starts()[0].saw(FIRST),
        "a project of .env.shared alone did not load"
    );

    run_ok(&env, &project, &["set", "--shared", "API_KEY"], SECOND);
    let starts = watch.wait_for_starts(2);
    assert!(
        starts[1].saw(SECOND),
        "the edit of .env.shared did not reach the program"
    );
    assert!(all_gone(&starts[0]), "the old program is still running");

    // A personal `.env` appearing beside it wins, once allowed.
    let personal = "personal-secret-value";
    write_mode(&watch.env_file(), &api_key(personal), 0o600);
    allow(&env, &project);
    assert!(watch.wait_for_starts(3)[2].saw(personal));
    let stderr = watch.stderr();
    assert!(
        stderr.contains(".env.shared changed (API_KEY): restarting")
            && stderr.contains(".env.shared and "),
        "{stderr}"
    );
    assert!(
        [FIRST, SECOND, personal]
            .iter()
            .all(|value| !stderr.contains(value)),
        "a value reached stderr"
    );
}
