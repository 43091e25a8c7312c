//! The processes descended from one process, found through the parent links in `/proc`.
//!
//! A process group does not hold everything a program started: a daemon that calls
//! `setsid()` leaves it, and the group cannot be signalled any more once its members are
//! gone from it. Parent links can: envguard and its keeper are child subreapers, so a process
//! whose parent dies is re-parented to the nearest of them instead of init, and every process
//! the program ever started stays below envguard in the tree. A scan of `/proc` (rather than
//! `/proc/PID/task/TID/children`, which needs a kernel option and lists one level) finds them
//! all; a cgroup would too, but one that a user may create is not available on every machine
//! (no systemd delegation, containers), and a cgroup alone could not act once envguard is
//! killed.
//!
//! The same table answers whether a process group is orphaned, which decides whether the
//! kernel lets a job-control stop (SIGTSTP) stop it at all.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use nix::unistd::Pid;

/// A process below the root, and the group it is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Process {
    pub pid: Pid,
    pub group: Pid,
}

/// Every live process below `root` (not `root` itself), as the process table shows it now.
/// A process started or re-parented while the table is read may be missed: callers that
/// must stop everything scan again until nothing is left.
pub fn descendants(root: Pid) -> Vec<Process> {
    let mut children: BTreeMap<i32, Vec<Process>> = BTreeMap::new();
    for entry in process_table() {
        children.entry(entry.parent).or_default().push(Process {
            pid: Pid::from_raw(entry.pid),
            group: Pid::from_raw(entry.group),
        });
    }
    let mut found = Vec::new();
    let mut seen = BTreeSet::from([root.as_raw()]);
    let mut next = vec![root.as_raw()];
    while let Some(parent) = next.pop() {
        for child in children.remove(&parent).unwrap_or_default() {
            if seen.insert(child.pid.as_raw()) {
                next.push(child.pid.as_raw());
                found.push(child);
            }
        }
    }
    found
}

/// Whether `group` is orphaned in the kernel's sense: none of its members has a parent in
/// another group of the same session, so no job-control shell is there to continue it, and
/// the kernel discards a SIGTSTP, SIGTTIN or SIGTTOU that would stop it (SIGSTOP still
/// does). A supervisor started by a CI runner, a container's entry point or `setsid` is in
/// such a group. Parents that are init do not count, as in the kernel.
pub fn group_is_orphaned(group: Pid) -> bool {
    let table: BTreeMap<i32, Entry> = process_table()
        .into_iter()
        .map(|entry| (entry.pid, entry))
        .collect();
    !table.values().any(|member| {
        member.group == group.as_raw()
            && member.parent != 1
            && table.get(&member.parent).is_some_and(|parent| {
                parent.group != member.group && parent.session == member.session
            })
    })
}

/// One live process as `/proc/PID/stat` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    pid: i32,
    parent: i32,
    group: i32,
    session: i32,
}

/// Every live process (zombies left out).
fn process_table() -> Vec<Entry> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<i32>().ok()?;
            let stat = fs::read_to_string(entry.path().join("stat")).ok()?;
            parse_stat(pid, &stat)
        })
        .collect()
}

/// The parent, group and session from a `/proc/PID/stat` line; `None` for a zombie, which
/// has ended and only waits to be reaped.
fn parse_stat(pid: i32, stat: &str) -> Option<Entry> {
    // The command name, in parentheses, may itself contain spaces and parentheses.
    let (_, rest) = stat.rsplit_once(") ")?;
    let mut fields = rest.split(' ');
    let state = fields.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    let mut number = || fields.next()?.parse().ok();
    Some(Entry {
        pid,
        parent: number()?,
        group: number()?,
        session: number()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_a_name_with_spaces_and_parentheses() {
        let stat = "42 (a (b) c) S 7 9 8 0 -1 4194560 100";
        let entry = Entry {
            pid: 42,
            parent: 7,
            group: 9,
            session: 8,
        };
        assert_eq!(parse_stat(42, stat), Some(entry));
        assert_eq!(parse_stat(43, "43 (z) Z 7 9 9"), None);
        assert_eq!(parse_stat(1, "garbage"), None);
    }

    #[test]
    fn a_new_session_is_an_orphaned_group_and_a_job_is_not() {
        use std::os::unix::process::CommandExt;
        let spawn = |command: &mut std::process::Command| {
            let child = command.spawn().unwrap();
            (Pid::from_raw(child.id() as i32), child)
        };
        // A session leader's parent is in another session; a job's is in another group.
        let (daemon, mut daemon_child) =
            spawn(std::process::Command::new("setsid").args(["sleep", "30"]));
        let (job, mut job_child) = spawn(
            std::process::Command::new("sleep")
                .arg("30")
                .process_group(0),
        );
        let orphaned = (group_is_orphaned(daemon), group_is_orphaned(job));
        for child in [&mut daemon_child, &mut job_child] {
            let _ = child.kill();
            let _ = child.wait();
        }
        assert_eq!(orphaned, (true, false));
    }

    #[test]
    fn finds_the_children_of_a_child() {
        let mut shell = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30 & wait"])
            .spawn()
            .unwrap();
        let shell_pid = Pid::from_raw(shell.id() as i32);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut below = descendants(shell_pid);
        while below.len() < 2 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
            below = descendants(shell_pid);
        }
        for process in &below {
            let _ = nix::sys::signal::kill(process.pid, nix::sys::signal::Signal::SIGKILL);
        }
        let _ = shell.kill();
        let _ = shell.wait();
        assert_eq!(below.len(), 2, "{below:?}");
    }
}
