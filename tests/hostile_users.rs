//! Another local user against envguard: links planted in shared directories, files of theirs
//! above yours, a trust store that is not yours, non-UTF-8 paths that collide, and writes
//! that would land where they should not. The tests run as root (the victim); the attacker is
//! the real second user `envguard-other`, whose processes create the attacker's files.
//!
//! Root owns everything it creates, so "owned by you or root" is trivially true for the
//! victim's own files: what must trigger each refusal is the attacker-owned link or the
//! attacker-writable directory.

mod common;

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::*;

const SECRET: &str = "prod-secret-4f1d9c";

fn skip_unless_root() -> bool {
    if !is_root() {
        eprintln!("skipped: a second user needs root (CI runs as root)");
        return true;
    }
    false
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// A world-writable sticky directory under `work`, like /tmp.
fn sticky_dir(env: &TestEnv, name: &str) -> PathBuf {
    let dir = env.work().join(name);
    fs::create_dir(&dir).unwrap();
    chmod(&dir, 0o1777);
    dir
}

/// The victim's allowed production project.
fn victim_prod(env: &TestEnv) -> PathBuf {
    env.allowed_project("prod", &format!("EG_PROD={SECRET}\n"))
}

/// The victim's allowed production project, and a sticky shared directory in which the second
/// user has planted `.env` as a link to the production file.
fn planted_link(env: &TestEnv) -> (PathBuf, PathBuf) {
    let prod = victim_prod(env);
    let shared = sticky_dir(env, "shared");
    as_other_user(
        &shared,
        &format!("ln -s '{}' .env", prod.join(".env").display()),
    );
    (prod, shared)
}

fn exec_env(env: &TestEnv, dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["exec"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "env", "-0"]);
    env.run(dir, args)
}

/// Whether `text` holds `pattern` with `{OTHER}` naming the second user: by name, or by uid
/// should the user database be changing under a parallel test.
fn mentions_other(text: impl AsRef<str>, pattern: &str) -> bool {
    let text = text.as_ref();
    let by_uid = format!("uid {}", other_user().0);
    [OTHER_USER, by_uid.as_str()]
        .iter()
        .any(|name| text.contains(&pattern.replace("{OTHER}", name)))
}

fn loaded(out: &std::process::Output, name: &str) -> bool {
    parse_env0(&out.stdout).contains_key(name)
}

#[test]
fn a_link_another_user_planted_in_a_sticky_dir_is_refused() {
    if skip_unless_root() {
        return;
    }
    let env = TestEnv::new();
    let (prod, shared) = planted_link(&env);
    assert_ne!(fs::symlink_metadata(shared.join(".env")).unwrap().uid(), 0);

    let out = exec_env(&env, &shared, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!loaded(&out, "EG_PROD"), "the victim's secret was loaded");
    let message = stderr(&out);
    assert!(
        mentions_other(
            &message,
            "is a symlink owned by {OTHER}, not by you or root"
        ),
        "{message}"
    );
    assert!(message.contains("fix: "), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
    assert_not_leaked(&out, SECRET);

    let out = env.run(&shared, ["check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(mentions_other(
        stdout(&out),
        "✗ is a symlink owned by {OTHER}"
    ));
    assert_not_leaked(&out, SECRET);

    // Nor does the link steer a write into the victim's file.
    let before = fs::read(prod.join(".env")).unwrap();
    let out = env
        .cmd(&shared, ["set", "EG_NEW"])
        .stdin(fs::File::open("/dev/null").unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        mentions_other(stderr(&out), "owned by {OTHER}"),
        "{}",
        stderr(&out)
    );
    assert!(
        fs::read(prod.join(".env")).unwrap() == before,
        "prod .env changed"
    );
}

#[test]
fn a_link_of_yours_reached_through_a_link_of_theirs_is_refused() {
    if skip_unless_root() {
        return;
    }
    let env = TestEnv::new();
    let prod = victim_prod(&env);
    let shared = sticky_dir(&env, "shared");
    // The victim's own link, but its target is a link the attacker owns (a second hop).
    as_other_user(
        &shared,
        &format!("ln -s '{}' hop", prod.join(".env").display()),
    );
    symlink(shared.join("hop"), shared.join(".env")).unwrap();
    let out = exec_env(&env, &shared, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!loaded(&out, "EG_PROD"));
    assert!(
        stderr(&out).contains("leads through the symlink") && stderr(&out).contains("hop"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_link_of_yours_in_a_directory_someone_else_controls_is_refused() {
    if skip_unless_root() {
        return;
    }
    let env = TestEnv::new();
    let prod = victim_prod(&env);
    // A directory of the attacker's (they can replace anything in it)...
    let shared = sticky_dir(&env, "shared");
    as_other_user(&shared, "mkdir -m 755 project");
    let project = shared.join("project");
    symlink(prod.join(".env"), project.join(".env")).unwrap();
    let out = exec_env(&env, &project, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!loaded(&out, "EG_PROD"));
    assert!(
        mentions_other(stderr(&out), "which is owned by {OTHER}"),
        "{}",
        stderr(&out)
    );

    // ...or a world-writable one without the sticky bit, whoever owns it.
    let open = env.work().join("open");
    fs::create_dir(&open).unwrap();
    chmod(&open, 0o777);
    symlink(prod.join(".env"), open.join(".env")).unwrap();
    let out = exec_env(&env, &open, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is writable by group or others (mode 0777)"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains(&format!("chmod go-w {}", open.display())),
        "{}",
        stderr(&out)
    );
    chmod(&open, 0o755);
    assert!(exec_env(&env, &open, &[]).status.success());
}

#[test]
fn a_link_of_yours_in_a_root_owned_sticky_dir_still_loads() {
    if skip_unless_root() {
        return;
    }
    let env = TestEnv::new();
    let prod = victim_prod(&env);
    let shared = sticky_dir(&env, "shared");
    symlink(prod.join(".env"), shared.join(".env")).unwrap();
    let out = exec_env(&env, &shared, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(loaded(&out, "EG_PROD"));
}

#[test]
fn another_users_env_above_you_is_skipped_by_allow_missing_and_no_parent_loads() {
    if skip_unless_root() {
        return;
    }
    let env = TestEnv::new();
    // An allowed .env of the victim's above the shared directory: it must not load in place
    // of the foreign file, which is the nearest.
    let work = env.work();
    write_mode(&work.join(".env"), "EG_PARENT=1\n", 0o600);
    assert!(env.run(&work, ["allow"]).status.success());
    let shared = sticky_dir(&env, "tmp");
    as_other_user(
        &shared,
        "mkdir -m 755 job && printf 'EG_THEIRS=1\\n' > job/.env && chmod 600 job/.env",
    );
    let below = shared.join("job/sub");
    fs::create_dir(&below).unwrap();

    let out = exec_env(&env, &below, &["--allow-missing"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!loaded(&out, "EG_THEIRS"));
    assert!(!loaded(&out, "EG_PARENT"), "a parent's .env loaded instead");
    assert!(
        stderr(&out).contains("another user's, not yours to load"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));

    // Without --allow-missing it is refused by name, with a fix that does not steal it.
    let out = exec_env(&env, &below, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        mentions_other(stderr(&out), "is owned by {OTHER}, not by you")
            && stderr(&out).contains("envguard init"),
        "{}",
        stderr(&out)
    );
}

fn store(env: &TestEnv) -> PathBuf {
    env.data_dir().join("envguard/trust.json")
}

#[test]
fn a_trust_store_linked_to_another_users_file_is_refused() {
    if skip_unless_root() {
        return;
    }
    let env = TestEnv::new();
    let dir = env.allowed_project("p", &format!("EG_P={SECRET}\n"));
    // The attacker's world-writable copy of a store that allows the file.
    let honest = fs::read(store(&env)).unwrap();
    let theirs = env.work().join("theirs");
    fs::create_dir(&theirs).unwrap();
    chmod(&theirs, 0o777);
    fs::write(theirs.join("copy.json"), &honest).unwrap();
    chmod(&theirs.join("copy.json"), 0o644);
    as_other_user(&theirs, "cp copy.json trust.json && chmod 666 trust.json");
    fs::remove_file(store(&env)).unwrap();
    symlink(theirs.join("trust.json"), store(&env)).unwrap();

    let out = exec_env(&env, &dir, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!loaded(&out, "EG_P"), "a foreign trust store was honoured");
    assert!(
        stderr(&out).contains("the trust store is a symlink") && stderr(&out).contains("fix: rm"),
        "{}",
        stderr(&out)
    );
    assert_not_leaked(&out, SECRET);
}

#[test]
fn a_trust_store_not_private_or_not_yours_is_refused() {
    if skip_unless_root() {
        return;
    }
    let env = TestEnv::new();
    let dir = env.allowed_project("p", "EG_P=1\n");
    let file = store(&env);
    let store_dir = file.parent().unwrap().to_path_buf();

    chmod(&file, 0o666);
    let out = exec_env(&env, &dir, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!loaded(&out, "EG_P"));
    assert!(stderr(&out).contains("has mode 0666"), "{}", stderr(&out));
    chmod(&file, 0o600);

    chmod(&store_dir, 0o777);
    let out = exec_env(&env, &dir, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("chmod 700 {}", store_dir.display())),
        "{}",
        stderr(&out)
    );
    chmod(&store_dir, 0o700);

    let (uid, gid) = other_user();
    std::os::unix::fs::chown(&file, Some(uid), Some(gid)).unwrap();
    let out = exec_env(&env, &dir, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        mentions_other(stderr(&out), "is owned by {OTHER}, not by you"),
        "{}",
        stderr(&out)
    );
    std::os::unix::fs::chown(&file, Some(0), Some(0)).unwrap();
    assert!(exec_env(&env, &dir, &[]).status.success());
}

#[test]
fn trust_is_keyed_by_the_exact_bytes_of_the_path() {
    let env = TestEnv::new();
    let make = |name: &[u8]| {
        let dir = env.work().join(OsStr::from_bytes(name));
        fs::create_dir(&dir).unwrap();
        write_mode(&dir.join(".env"), "EG_X=1\n", 0o600);
        dir
    };
    let ff = make(b"x\xff");
    let fe = make(b"x\xfe");
    assert!(env.run(&ff, ["allow"]).status.success());
    assert!(exec_env(&env, &ff, &[]).status.success());
    let out = exec_env(&env, &fe, &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "x\\xfe was trusted through x\\xff"
    );
    assert!(
        stderr(&out).contains("is not allowed yet"),
        "{}",
        stderr(&out)
    );
    // UTF-8 paths keep their readable keys, so older stores still work.
    let text = fs::read_to_string(store(&env)).unwrap();
    assert!(text.contains("bytes:"), "non-UTF-8 key not encoded");
}

#[test]
fn init_force_refuses_a_symlinked_env_and_empties_nothing() {
    let env = TestEnv::new();
    let keys = env.home().join(".ssh/authorized_keys");
    fs::create_dir_all(keys.parent().unwrap()).unwrap();
    fs::write(&keys, "ssh-ed25519 AAAA victim\n").unwrap();
    let repo = env.work().join("clone");
    fs::create_dir(&repo).unwrap();
    symlink(&keys, repo.join(".env")).unwrap();
    for args in [&["init"][..], &["init", "--force"]] {
        let out = env.run(&repo, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("is a symlink"), "{}", stderr(&out));
        assert!(!stderr(&out).contains("--force"), "{}", stderr(&out));
        assert!(stderr(&out).contains("fix: "), "{}", stderr(&out));
    }
    assert_eq!(fs::read(&keys).unwrap(), b"ssh-ed25519 AAAA victim\n");
    assert!(
        fs::symlink_metadata(repo.join(".env"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

/// Edit directories in `tmp`.
fn edit_dirs(tmp: &Path) -> Vec<PathBuf> {
    fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with("envguard-edit-")
        })
        .map(|entry| entry.path())
        .collect()
}

#[test]
fn edit_keeps_its_copy_private_and_a_killed_edit_is_cleaned_up_next_time() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", &format!("EG_P={SECRET}\n"));
    let tmp = env.root.path().join("tmp");
    fs::create_dir(&tmp).unwrap();
    let marker = env.root.path().join("editor-pid");
    let editor = env.work().join("editor.sh");
    write_mode(
        &editor,
        &format!(
            "#!/bin/sh\necho $$ > '{m}.new' && mv '{m}.new' '{m}'\nexec sleep 600\n",
            m = marker.display()
        ),
        0o755,
    );
    let mut edit = env
        .edit(&dir, &editor)
        .env("TMPDIR", &tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait (no time limit asserted) until the editor is running on the copy.
    while !marker.exists() {
        assert!(edit.try_wait().unwrap().is_none(), "edit ended early");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let editor_pid: i32 = fs::read_to_string(&marker).unwrap().trim().parse().unwrap();
    let scratch = edit_dirs(&tmp);
    assert_eq!(scratch.len(), 1);
    let mode = fs::metadata(&scratch[0]).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o700, "the edit directory is {mode:04o}");
    assert!(scratch[0].join(".env").exists());

    // SIGKILL: envguard cannot clean up, so the copy is left behind...
    edit.kill().unwrap();
    edit.wait().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(editor_pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    assert_eq!(edit_dirs(&tmp).len(), 1);

    // ...until the next edit, which removes it and says where it was.
    let out = env.edit(&dir, "true").env("TMPDIR", &tmp).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("removed {}", scratch[0].display())),
        "{}",
        stderr(&out)
    );
    assert!(edit_dirs(&tmp).is_empty(), "a copy was left behind");
    assert_not_leaked(&out, SECRET);
}

#[test]
fn edit_does_not_allow_a_file_someone_else_changed_since_it_was_allowed() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", "EG_A=1\n");
    // Someone else's change (a pull, another user with access) after the last allow.
    fs::write(dir.join(".env"), "EG_A=1\nLD_PRELOAD=/tmp/evil.so\n").unwrap();
    let editor = env.work().join("editor.sh");
    write_mode(&editor, "#!/bin/sh\necho EG_B=2 >> \"$1\"\n", 0o755);
    let out = env.edit(&dir, &editor).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("did not allow it") && stderr(&out).contains("envguard check"),
        "{}",
        stderr(&out)
    );
    assert!(
        fs::read_to_string(dir.join(".env"))
            .unwrap()
            .ends_with("EG_B=2\n")
    );
    let out = exec_env(&env, &dir, &[]);
    assert_eq!(out.status.code(), Some(1), "the unreviewed file loads");
    assert!(stderr(&out).contains("has changed since it was allowed"));

    // An edit with no change allows nothing either.
    let out = env.edit(&dir, "true").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(exec_env(&env, &dir, &[]).status.code(), Some(1));

    // After a review, `allow` is the user's decision.
    assert!(env.run(&dir, ["allow"]).status.success());
    assert!(exec_env(&env, &dir, &[]).status.success());
}

#[test]
fn the_largest_max_size_neither_panics_nor_reads_empty() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", "EG_A=1\n");
    let out = env
        .cmd(&dir, ["exec", "--", "env", "-0"])
        .env("ENVGUARD_MAX_SIZE", u64::MAX.to_string())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(loaded(&out, "EG_A"));
}

#[test]
fn the_prompt_hook_of_each_shell_refuses_a_planted_link() {
    if skip_unless_root() {
        return;
    }
    let env = TestEnv::new();
    let (_, shared) = planted_link(&env);
    let dump = env.root.path().join("env.out");
    let calls = [
        (
            "bash",
            vec!["--noprofile", "--norc", "-c"],
            "eval \"$(envguard hook bash)\"; cd \"$EG_DIR\"; __envguard_hook; env -0 > \"$EG_OUT\"",
        ),
        (
            "zsh",
            vec!["-f", "-c"],
            "eval \"$(envguard hook zsh)\"; cd \"$EG_DIR\"; __envguard_hook; env -0 > \"$EG_OUT\"",
        ),
        (
            "fish",
            vec!["--no-config", "--private", "-c"],
            "envguard hook fish | source; cd $EG_DIR; __envguard_hook; env -0 > $EG_OUT",
        ),
    ];
    for (shell, args, script) in calls {
        let out = env
            .shell(shell)
            .args(args)
            .arg(script)
            .env("EG_DIR", &shared)
            .env("EG_OUT", &dump)
            .output()
            .unwrap();
        assert!(
            mentions_other(stderr(&out), "is a symlink owned by {OTHER}"),
            "{shell}: {}",
            stderr(&out)
        );
        let loaded = parse_env0(&fs::read(&dump).unwrap());
        assert!(
            !loaded.contains_key("EG_PROD"),
            "{shell} loaded the victim's secret"
        );
        assert_not_leaked(&out, SECRET);
    }
}

/// `deny` follows a link only as far as a load would: through someone else's link it would
/// revoke trust from whichever of the victim's files the link names, unknown to them.
#[test]
fn deny_through_a_planted_link_is_refused_and_revokes_nothing() {
    if skip_unless_root() {
        return;
    }
    let env = TestEnv::new();
    let (prod, shared) = planted_link(&env);
    let trusted = fs::read(store(&env)).unwrap();
    let by_path = shared.join(".env");
    for (dir, args) in [
        (&shared, vec![OsStr::new("deny")]),
        (&env.work(), vec![OsStr::new("deny"), by_path.as_os_str()]),
    ] {
        let out = env.run(dir, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let message = stderr(&out);
        assert!(
            mentions_other(
                &message,
                "is a symlink owned by {OTHER}, not by you or root"
            ),
            "{args:?}: {message}"
        );
        assert_eq!(message.lines().count(), 1, "{args:?}: {message}");
        assert!(
            fs::read(store(&env)).unwrap() == trusted,
            "{args:?}: the trust store changed"
        );
    }
    let out = exec_env(&env, &prod, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(loaded(&out, "EG_PROD"), "the victim's file lost its trust");
}
