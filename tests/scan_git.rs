//! `scan --staged`, `scan --history` and both hook styles, on real repositories with the real
//! `git` and the real pre-commit framework.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{BIN, TestEnv, assert_not_leaked, stderr, stdout};

const SECRET: &str = "tGq8-vR2z-Lm5P-xW9c-Kd3B";
const ENV: &str = "PAYMENTS_TOKEN=tGq8-vR2z-Lm5P-xW9c-Kd3B\n";

/// A repository with a git-ignored `.env` and one clean commit.
fn repo(env: &TestEnv) -> PathBuf {
    let dir = env.project("repo", ENV, 0o600);
    env.git_ok(&dir, &["init", "-q", "-b", "main"]);
    fs::write(dir.join(".gitignore"), ".env\n").unwrap();
    fs::write(dir.join("app.py"), "print('hello')\n").unwrap();
    env.git_ok(&dir, &["add", "."]);
    env.git_ok(&dir, &["commit", "-q", "-m", "initial"]);
    dir
}

/// `scan --staged` passes: nothing staged counts as a new leak.
fn assert_staged_clean(env: &TestEnv, dir: &Path) {
    let out = env.run(dir, ["scan", "--staged"]);
    assert_eq!(out.status.code(), Some(0), "reported: {}", stdout(&out));
}

#[test]
fn staged_scans_the_index_and_added_lines_only() {
    let env = TestEnv::new();
    let dir = repo(&env);
    // Committed before envguard was adopted: not an added line, so not this commit's problem.
    fs::write(dir.join("old.py"), format!("token = '{SECRET}'\n")).unwrap();
    env.git_ok(&dir, &["add", "old.py"]);
    env.git_ok(&dir, &["commit", "-q", "-m", "old"]);

    fs::write(
        dir.join("app.py"),
        format!("print('hello')\ntoken = '{SECRET}'\n"),
    )
    .unwrap();
    assert_staged_clean(&env, &dir);

    env.git_ok(&dir, &["add", "app.py"]);
    fs::write(dir.join("app.py"), "print('hello')\n").unwrap(); // the index still has it
    let staged = env.run(&dir, ["scan", "--staged"]);
    assert_eq!(staged.status.code(), Some(1));
    assert_not_leaked(&staged, SECRET);
    assert_eq!(
        stdout(&staged).trim(),
        "app.py:2:10: known-value PAYMENTS_TOKEN (tG…3B, 24 chars)"
    );

    env.git_ok(&dir, &["add", "-f", ".env"]);
    let env_staged = env.run(&dir, ["scan", "--staged"]);
    assert!(
        stdout(&env_staged).contains(".env:1:1: env-file-tracked"),
        "{}",
        stdout(&env_staged)
    );
    assert_not_leaked(&env_staged, SECRET);
}

/// A notebook as JSON, one code cell per source, each printing `output`.
fn notebook_json(sources: &[&str], output: &str) -> String {
    let cells: Vec<serde_json::Value> = sources
        .iter()
        .map(|source| {
            serde_json::json!({
                "cell_type": "code", "execution_count": 1, "id": "c", "metadata": {},
                "source": source,
                "outputs": [{"output_type": "stream", "name": "stdout", "text": output}],
            })
        })
        .collect();
    let notebook = serde_json::json!({
        "cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    });
    serde_json::to_string_pretty(&notebook).unwrap()
}

#[test]
fn staged_notebook_is_reported_by_cell_and_only_for_new_secrets() {
    let env = TestEnv::new();
    let dir = repo(&env);
    let path = dir.join("analysis.ipynb");
    // Committed with the secret already in cell 1's output: not this commit's problem.
    fs::write(&path, notebook_json(&["print(1)"], &format!("{SECRET}\n"))).unwrap();
    env.git_ok(&dir, &["add", "analysis.ipynb"]);
    env.git_ok(&dir, &["commit", "-q", "-m", "notebook"]);

    fs::write(
        &path,
        notebook_json(&["print(1)", "x = 1\nprint(2)"], &format!("{SECRET}\n")),
    )
    .unwrap();
    env.git_ok(&dir, &["add", "analysis.ipynb"]);
    assert_staged_clean(&env, &dir);

    let ghp = "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";
    fs::write(
        &path,
        notebook_json(
            &["print(1)", &format!("x = 1\ngh = '{ghp}'")],
            &format!("{SECRET}\n"),
        ),
    )
    .unwrap();
    env.git_ok(&dir, &["add", "analysis.ipynb"]);
    let staged = env.run(&dir, ["scan", "--staged"]);
    assert_eq!(staged.status.code(), Some(1));
    assert_not_leaked(&staged, SECRET);
    assert_not_leaked(&staged, ghp);
    assert_eq!(
        stdout(&staged).trim(),
        "analysis.ipynb[cell 2 source]:2:7: github-token GitHub token (gh…wm, 40 chars)"
    );
}

#[test]
fn history_names_the_commit_that_leaked_and_says_to_rotate() {
    let env = TestEnv::new();
    let dir = repo(&env);
    fs::write(
        dir.join("config.json"),
        format!("{{\"token\": \"{SECRET}\"}}\n"),
    )
    .unwrap();
    env.git_ok(&dir, &["add", "config.json"]);
    env.git_ok(&dir, &["commit", "-q", "-m", "add config"]);
    let leaked =
        String::from_utf8(env.git_ok(&dir, &["rev-parse", "--short", "HEAD"]).stdout).unwrap();
    env.git_ok(&dir, &["rm", "-q", "config.json"]);
    env.git_ok(&dir, &["commit", "-q", "-m", "remove config"]);

    assert_eq!(
        env.run(&dir, ["scan"]).status.code(),
        Some(0),
        "the working tree is clean now"
    );
    let out = env.run(&dir, ["scan", "--history"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_not_leaked(&out, SECRET);
    let expected = format!(
        "{}:config.json:1:12: known-value PAYMENTS_TOKEN",
        leaked.trim()
    );
    assert!(stdout(&out).starts_with(&expected), "{}", stdout(&out));
    assert!(stderr(&out).contains(&format!(
        "PAYMENTS_TOKEN leaked in commit {}",
        leaked.trim()
    )));
    assert!(stderr(&out).contains("rotate"), "{}", stderr(&out));
}

#[test]
fn install_git_hook_chains_the_existing_hook_and_stops_a_leaking_commit() {
    let env = TestEnv::new();
    let dir = repo(&env);
    let hooks = dir.join(".git/hooks");
    fs::create_dir_all(&hooks).unwrap();
    common::write_mode(
        &hooks.join("pre-commit"),
        "#!/bin/sh\necho ran >> \"$(git rev-parse --git-dir)/chained-ran\"\n",
        0o755,
    );

    let out = env.run(&dir, ["install-git-hook"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        env.run(&dir, ["install-git-hook"]).status.success(),
        "reinstalling must be harmless"
    );
    assert!(hooks.join("pre-commit.envguard-chained").exists());

    fs::write(dir.join("app.py"), format!("token = '{SECRET}'\n")).unwrap();
    env.git_ok(&dir, &["add", "app.py"]);
    let blocked = env.git(&dir, &["commit", "-m", "leak"]);
    assert!(!blocked.status.success(), "the commit went through");
    assert_not_leaked(&blocked, SECRET);
    // git sends a hook's stdout to its own stderr.
    let said = stderr(&blocked);
    assert!(said.contains("known-value PAYMENTS_TOKEN"), "{said}");
    for fix in [
        "envguard: stopped the commit: 1 finding(s) in app.py",
        "rotate it if it was ever pushed",
        "# envguard:allow",
        "git commit --no-verify",
    ] {
        assert!(said.contains(fix), "missing {fix:?} in:\n{said}");
    }
    assert!(
        !said.contains("--redact"),
        "no notebook, no redaction advice:\n{said}"
    );

    fs::write(dir.join("app.py"), "token = os.environ['PAYMENTS_TOKEN']\n").unwrap();
    env.git_ok(&dir, &["add", "app.py"]);
    env.git_ok(&dir, &["commit", "-q", "-m", "clean"]);
    let ran = fs::read_to_string(dir.join(".git/chained-ran")).unwrap();
    assert_eq!(
        ran.lines().count(),
        2,
        "the previous hook must run on every commit"
    );
}

/// The README's `.pre-commit-config.yaml`, verbatim but for where the repository lives.
fn readme_pre_commit_config() -> String {
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("# .pre-commit-config.yaml\n")
        .expect("the README shows a .pre-commit-config.yaml");
    let block = &readme[start..];
    block[..block.find("```").expect("the snippet's code block ends")].to_owned()
}

/// A clone of this repository as the pre-commit framework would fetch it: every file git would
/// commit from the working tree (so the test checks the code under test), committed and tagged
/// `tag` in a fresh repository.
fn clone_of_this_repository(env: &TestEnv, tag: &str) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"));
    let listed = env.git_ok(
        source,
        &[
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ],
    );
    let clone = env.work().join("envguard-clone");
    for name in listed
        .stdout
        .split(|&b| b == 0)
        .filter(|name| !name.is_empty())
    {
        let name = Path::new(std::str::from_utf8(name).unwrap());
        let from = source.join(name);
        if !from.is_file() {
            continue; // deleted in the working tree, or a submodule
        }
        let to = clone.join(name);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(&from, &to).unwrap();
    }
    env.git_ok(&clone, &["init", "-q", "-b", "main"]);
    env.git_ok(&clone, &["add", "-A"]);
    env.git_ok(
        &clone,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "commit",
            "-q",
            "-m",
            "release",
        ],
    );
    env.git_ok(&clone, &["tag", tag]);
    clone
}

/// What cargo needs under the test's throw-away HOME: the real toolchain (rustup) and registry
/// cache, and one build directory kept between runs so a rerun only rebuilds envguard itself.
fn toolchain_env() -> Vec<(String, String)> {
    let home = std::env::var("HOME").unwrap_or_default();
    let mut vars: Vec<(String, String)> = ["RUSTUP_TOOLCHAIN", "CARGO_NET_OFFLINE"]
        .into_iter()
        .filter_map(|name| Some((name.to_owned(), std::env::var(name).ok()?)))
        .collect();
    for (name, default) in [("CARGO_HOME", ".cargo"), ("RUSTUP_HOME", ".rustup")] {
        let value = std::env::var(name).unwrap_or_else(|_| format!("{home}/{default}"));
        vars.push((name.to_owned(), value));
    }
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pre-commit-build");
    vars.push(("CARGO_TARGET_DIR".into(), target.display().to_string()));
    // The test is about the framework building and running the hook, not about the shipped
    // binary's speed: the release profile's LTO and single codegen unit would add minutes to
    // every fresh CI run for nothing the test looks at.
    for (name, value) in [
        ("CARGO_PROFILE_RELEASE_LTO", "false"),
        ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16"),
        ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0"),
    ] {
        vars.push((name.into(), value.into()));
    }
    vars
}

#[test]
fn pre_commit_framework_builds_and_runs_the_hook_from_the_readme_snippet() {
    let env = TestEnv::new();
    let pre_commit = which("pre-commit")
        .expect("pre-commit must be on PATH (scripts/test puts the test venv there)");
    let snippet = readme_pre_commit_config();
    // The README pins the tag of the version it documents; the release carries that tag.
    let tag = format!("v{}", env!("CARGO_PKG_VERSION"));
    assert!(
        snippet.contains(&format!("rev: {tag}\n")),
        "the README's rev must be {tag}:\n{snippet}"
    );
    let clone = clone_of_this_repository(&env, &tag);

    let dir = repo(&env);
    // As in a fresh clone, or whenever the user forgot chmod: the values must still count.
    common::write_mode(&dir.join(".env"), ENV, 0o644);
    fs::write(
        dir.join(".pre-commit-config.yaml"),
        snippet.replace(
            "https://github.com/envguard/envguard",
            &clone.display().to_string(),
        ),
    )
    .unwrap();
    env.git_ok(&dir, &["add", ".pre-commit-config.yaml"]);
    // envguard is NOT on PATH: the framework must build it from the tagged repository.
    let path = std::env::var("PATH").unwrap_or_default();
    let bin_dir = Path::new(BIN).parent().unwrap();
    assert!(
        !std::env::split_paths(&path).any(|dir| dir == bin_dir),
        "the built envguard must not be on PATH for this test"
    );
    let toolchain = toolchain_env();
    let run = |args: &[&str]| {
        let mut cmd = Command::new(&pre_commit);
        cmd.args(args)
            .current_dir(&dir)
            .env_clear()
            .envs(env.base_env())
            .envs(toolchain.iter().cloned())
            .env("PATH", &path);
        cmd.output().unwrap()
    };
    let installed = run(&["install", "--install-hooks"]);
    assert!(
        installed.status.success(),
        "pre-commit install: {}",
        stderr(&installed)
    );

    let commit = |message: &str| {
        let mut cmd = Command::new("git");
        cmd.args(["commit", "-m", message])
            .current_dir(&dir)
            .env_clear()
            .envs(env.base_env())
            .envs(toolchain.iter().cloned())
            .env("PATH", &path);
        cmd.envs([
            ("GIT_AUTHOR_NAME", "t"),
            ("GIT_AUTHOR_EMAIL", "t@e"),
            ("GIT_COMMITTER_NAME", "t"),
            ("GIT_COMMITTER_EMAIL", "t@e"),
        ]);
        cmd.output().unwrap()
    };
    fs::write(
        dir.join("app.py"),
        format!("token = '{SECRET}'\nkey = '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'\n"),
    )
    .unwrap();
    env.git_ok(&dir, &["add", "app.py"]);
    let blocked = commit("leak");
    assert!(
        !blocked.status.success(),
        "pre-commit let the leak through: {}",
        stdout(&blocked)
    );
    assert_not_leaked(&blocked, SECRET);
    let output = stdout(&blocked) + &stderr(&blocked);
    assert!(
        output.contains("known-value PAYMENTS_TOKEN") && output.contains("github-token"),
        "{output}"
    );
    assert!(
        output.contains("envguard: stopped the commit: 2 finding(s) in app.py")
            && output.contains("mode 0644"),
        "{output}"
    );

    fs::write(dir.join("app.py"), "print('clean')\n").unwrap();
    fs::write(
        dir.join("run.ipynb"),
        notebook_json(&["print(token)"], &format!("{SECRET}\n")),
    )
    .unwrap();
    env.git_ok(&dir, &["add", "app.py", "run.ipynb"]);
    let blocked = commit("notebook leak");
    assert!(
        !blocked.status.success(),
        "pre-commit let the notebook through"
    );
    assert_not_leaked(&blocked, SECRET);
    let output = stdout(&blocked) + &stderr(&blocked);
    assert!(
        output.contains("envguard scan --redact run.ipynb"),
        "{output}"
    );
    env.git_ok(&dir, &["rm", "-q", "--cached", "run.ipynb"]);

    fs::write(dir.join("app.py"), "print('clean')\n").unwrap();
    env.git_ok(&dir, &["add", "app.py"]);
    let passed = commit("clean");
    assert!(
        passed.status.success(),
        "clean commit refused: {}{}",
        stdout(&passed),
        stderr(&passed)
    );
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

#[test]
fn loose_env_does_not_blind_the_installed_hook() {
    let env = TestEnv::new();
    let dir = repo(&env);
    common::write_mode(&dir.join(".env"), ENV, 0o644);
    let out = env.run(&dir, ["install-git-hook"]);
    assert!(out.status.success(), "{}", stderr(&out));
    fs::write(dir.join("app.py"), format!("token = '{SECRET}'\n")).unwrap();
    env.git_ok(&dir, &["add", "app.py"]);
    let blocked = env.git(&dir, &["commit", "-m", "leak"]);
    assert!(
        !blocked.status.success(),
        "a loose .env let its value through"
    );
    assert_not_leaked(&blocked, SECRET);
    let said = stderr(&blocked);
    assert!(
        said.contains("known-value PAYMENTS_TOKEN") && said.contains("chmod 600"),
        "{said}"
    );

    // A git-ignored .env of another part of the project counts too, whatever its mode.
    let other = "wR7k-Qp2x-Lz9m-Hc4v-Nb6t";
    fs::create_dir(dir.join("worker")).unwrap();
    fs::write(dir.join(".gitignore"), ".env\n.env.local\n").unwrap();
    common::write_mode(
        &dir.join("worker/.env.local"),
        &format!("QUEUE_PASSWORD={other}\n"),
        0o644,
    );
    fs::write(dir.join("app.py"), format!("queue = '{other}'\n")).unwrap();
    env.git_ok(&dir, &["add", "app.py", ".gitignore"]);
    let blocked = env.git(&dir, &["commit", "-m", "leak"]);
    assert!(
        !blocked.status.success(),
        "a sibling .env's value went through"
    );
    assert_not_leaked(&blocked, other);
    assert!(
        stderr(&blocked).contains("known-value QUEUE_PASSWORD"),
        "{}",
        stderr(&blocked)
    );
}

#[test]
fn committed_env_files_are_findings_in_every_mode_except_those_made_to_be_committed() {
    let env = TestEnv::new();
    let dir = repo(&env);
    fs::create_dir(dir.join("deploy")).unwrap();
    fs::write(
        dir.join("deploy/.env.production"),
        "API_HOST=prod.internal\n",
    )
    .unwrap();
    fs::write(dir.join(".env.example"), "PAYMENTS_TOKEN=\nDEBUG=''\n").unwrap();
    fs::write(
        dir.join(".env.shared"),
        "PAYMENTS_TOKEN=age:YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOQ==\n",
    )
    .unwrap();
    fs::write(
        dir.join(".env.recipients"),
        "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgp\n",
    )
    .unwrap();
    env.git_ok(
        &dir,
        &[
            "add",
            "-f",
            ".env",
            "deploy",
            ".env.example",
            ".env.shared",
            ".env.recipients",
        ],
    );
    env.git_ok(&dir, &["commit", "-q", "-m", "configs"]);
    let commit =
        String::from_utf8(env.git_ok(&dir, &["rev-parse", "--short", "HEAD"]).stdout).unwrap();

    let expected = [
        ".env:1:1: env-file-tracked",
        "deploy/.env.production:1:1: env-file-tracked",
    ];
    let plain = env.run(&dir, ["scan"]);
    assert_eq!(plain.status.code(), Some(1), "{}", stderr(&plain));
    assert_not_leaked(&plain, SECRET);
    for mode in [plain, env.run(&dir, ["scan", "--staged"])] {
        let text = stdout(&mode);
        for line in expected {
            assert!(text.contains(line), "missing {line:?} in:\n{text}");
        }
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.contains("git rm --cached .env"), "{text}");
    }
    let history = env.run(&dir, ["scan", "--history"]);
    assert_not_leaked(&history, SECRET);
    let text = stdout(&history);
    assert!(
        text.contains(&format!("{}:.env:1:1: env-file-tracked", commit.trim()))
            && text.contains("deploy/.env.production:1:1: env-file-tracked")
            && !text.contains(".env.example")
            && !text.contains(".env.shared")
            && !text.contains(".env.recipients"),
        "{text}"
    );

    env.git_ok(
        &dir,
        &["rm", "-q", "--cached", ".env", "deploy/.env.production"],
    );
    assert_eq!(env.run(&dir, ["scan", "--staged"]).status.code(), Some(0));
}

#[test]
fn history_runs_the_token_rules_and_skips_oversize_objects_unread() {
    let env = TestEnv::new();
    let dir = repo(&env);
    let ghp = "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5";
    fs::write(dir.join("ci.yml"), format!("token: {ghp}\n")).unwrap();
    // Over the limit below, and holding a known value that must not be read to be skipped.
    let big = format!("{}\n{SECRET}\n", "x".repeat(200_000));
    fs::write(dir.join("asset.txt"), big).unwrap();
    env.git_ok(&dir, &["add", "ci.yml", "asset.txt"]);
    env.git_ok(&dir, &["commit", "-q", "-m", "ci"]);
    let leaked =
        String::from_utf8(env.git_ok(&dir, &["rev-parse", "--short", "HEAD"]).stdout).unwrap();
    env.git_ok(&dir, &["rm", "-q", "ci.yml", "asset.txt"]);
    env.git_ok(&dir, &["commit", "-q", "-m", "remove"]);

    let out = env.run(&dir, ["scan", "--history", "--max-file-size", "100000"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_not_leaked(&out, ghp);
    assert_not_leaked(&out, SECRET);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("{}:ci.yml:1:8: github-token", leaked.trim())),
        "{text}"
    );
    assert!(!text.contains("asset.txt"), "{text}");
    assert!(
        stderr(&out).contains("skipped 1 object(s) in history over --max-file-size"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn uninstall_git_hook_puts_the_chained_hook_back_and_leaves_foreign_hooks_alone() {
    let env = TestEnv::new();
    let dir = repo(&env);
    let hooks = dir.join(".git/hooks");
    fs::create_dir_all(&hooks).unwrap();
    let theirs = "#!/bin/sh\necho ran >> \"$(git rev-parse --git-dir)/chained-ran\"\n";
    common::write_mode(&hooks.join("pre-commit"), theirs, 0o755);
    assert!(env.run(&dir, ["install-git-hook"]).status.success());

    let out = env.run(&dir, ["install-git-hook", "--uninstall"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("your previous hook is back"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        fs::read_to_string(hooks.join("pre-commit")).unwrap(),
        theirs
    );
    assert!(!hooks.join("pre-commit.envguard-chained").exists());
    // git runs the restored hook, and envguard no longer stops a leak.
    fs::write(dir.join("app.py"), format!("token = '{SECRET}'\n")).unwrap();
    env.git_ok(&dir, &["add", "app.py"]);
    env.git_ok(&dir, &["commit", "-q", "-m", "no envguard"]);
    assert_eq!(
        fs::read_to_string(dir.join(".git/chained-ran"))
            .unwrap()
            .lines()
            .count(),
        1
    );

    // Not envguard's hook: refused, untouched.
    let out = env.run(&dir, ["install-git-hook", "--uninstall"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is not envguard's hook"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        fs::read_to_string(hooks.join("pre-commit")).unwrap(),
        theirs
    );

    // Without a chained hook, uninstalling leaves no hook at all; again is a no-op.
    fs::remove_file(hooks.join("pre-commit")).unwrap();
    assert!(env.run(&dir, ["install-git-hook"]).status.success());
    assert!(
        env.run(&dir, ["install-git-hook", "--uninstall"])
            .status
            .success()
    );
    assert!(!hooks.join("pre-commit").exists());
    let again = env.run(&dir, ["install-git-hook", "--uninstall"]);
    assert!(again.status.success());
    assert!(
        stderr(&again).contains("nothing to do"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn the_not_ignored_fix_covers_the_file_checked_and_works_as_shown() {
    let env = TestEnv::new();
    let dir = repo(&env);
    // `.env` is ignored already; the last line has no newline, which `echo >>` would glue onto.
    fs::write(dir.join(".gitignore"), ".env").unwrap();
    let production = dir.join(".env.production");
    common::write_mode(&production, "A=1\n", 0o600);
    let out = env.run(&dir, ["check", ".env.production"]);
    let shown = stdout(&out);
    let fix = shown
        .lines()
        .skip_while(|line| !line.contains("is not ignored by git"))
        .nth(1)
        .and_then(|line| line.trim_start().strip_prefix("fix: "))
        .unwrap_or_else(|| panic!("no ignore fix in:\n{shown}"));
    assert!(fix.contains(".env.production"), "{fix}");
    let ran = Command::new("sh")
        .args(["-c", fix])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(ran.status.success(), "{}", stderr(&ran));
    for name in [".env", ".env.production"] {
        env.git_ok(&dir, &["check-ignore", "-q", name]);
    }
    let again = stdout(&env.run(&dir, ["check", ".env.production"]));
    assert!(!again.contains("is not ignored"), "{again}");
}
