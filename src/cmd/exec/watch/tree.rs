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
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if let Some((parent, group)) = parent_and_group(&stat) {
            children.entry(parent).or_default().push(Process {
                pid: Pid::from_raw(pid),
                group: Pid::from_raw(group),
            });
        }
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

/// The parent pid and process group from a `/proc/PID/stat` line; `None` for a zombie,
/// which has ended and only waits to be reaped.
fn parent_and_group(stat: &str) -> Option<(i32, i32)> {
    // The command name, in parentheses, may itself contain spaces and parentheses.
    let (_, rest) = stat.rsplit_once(") ")?;
    let mut fields = rest.split(' ');
    let state = fields.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    let parent = fields.next()?.parse().ok()?;
    let group = fields.next()?.parse().ok()?;
    Some((parent, group))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_a_name_with_spaces_and_parentheses() {
        let stat = "42 (a (b) c) S 7 9 9 0 -1 4194560 100";
        assert_eq!(parent_and_group(stat), Some((7, 9)));
        assert_eq!(parent_and_group("43 (z) Z 7 9 9"), None);
        assert_eq!(parent_and_group("garbage"), None);
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
