//! Onboarding a teammate through the real binary: `example` writes the committed
//! `.env.example` (real git and `scan --staged` accept it), `check` compares the `.env` with
//! it, `init` fills a new `.env` from it at the hidden prompt (a real pseudo-terminal, driven
//! by pexpect) or from a pipe, and `get` hands one value to a script.
//!
//! Values are compared inside the test; a failure names a length or a name, never a value.
//! Files that must hold no value are checked for the secrets first, and only then compared.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use common::{TestEnv, assert_not_leaked, git, loaded, stderr, stdout, write_mode};

const SECRET: &str = "sk-live-9f8e7d6c5b4a39281706f3a9";
const DB_PASSWORD: &str = "hunter2-correct-horse-battery";

fn has_value(env: &TestEnv, dir: &Path, name: &str, value: &str) -> bool {
    loaded(env, dir).get(name).map(Vec::as_slice) == Some(value.as_bytes())
}

/// Reads `path` after asserting that none of `secrets` is in it.
fn read_public(path: &Path, secrets: &[&str]) -> String {
    let text = fs::read_to_string(path).unwrap();
    for (index, secret) in secrets.iter().enumerate() {
        assert!(
            !text.contains(secret),
            "secret #{index} ({} bytes) is in {}",
            secret.len(),
            path.display()
        );
    }
    text
}

fn project_env() -> String {
    format!(
        "# From https://platform.openai.com/api-keys\n\
         OPENAI_API_KEY={SECRET}\n\
         \n\
         # rotated on 2026-01-01, was: {SECRET}\n\
         # OLD_DATABASE_URL=postgres://app:{DB_PASSWORD}@old/app\n\
         # The app's database\n\
         DATABASE_URL=\"postgres://app:{DB_PASSWORD}@db/app\" # local\n\
         NOTES='multi\n\
         # not a comment: part of a value\n\
         line'\n\
         PORT=8080\n"
    )
}

#[test]
fn example_lists_every_name_and_its_comments_but_no_value() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", &project_env());
    git(&dir, &["init", "-q"]);
    let out = env.run(&dir, ["example"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_not_leaked(&out, SECRET);
    assert_not_leaked(&out, DB_PASSWORD);
    assert!(
        stderr(&out).contains("left out the comment on") && stderr(&out).contains(".env:4"),
        "{}",
        stderr(&out)
    );
    let example = dir.join(".env.example");
    let text = read_public(&example, &[SECRET, DB_PASSWORD, "multi", "8080"]);
    assert_eq!(
        text,
        "# From https://platform.openai.com/api-keys\n\
         OPENAI_API_KEY=\n\
         \n\
         # The app's database\n\
         DATABASE_URL=\n\
         NOTES=\n\
         PORT=\n"
    );
    assert_eq!(
        fs::metadata(&example).unwrap().permissions().mode() & 0o777,
        0o644
    );

    // The committed example passes envguard's own pre-commit scan.
    git(&dir, &["add", ".env.example"]);
    let scan = env.run(&dir, ["scan", "--staged"]);
    assert!(scan.status.success(), "{}", stdout(&scan));

    // Unchanged: nothing is rewritten.
    let again = env.run(&dir, ["example"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stderr(&again).contains("up to date"), "{}", stderr(&again));
}

#[test]
fn example_update_keeps_the_examples_own_lines_and_empties_placeholders() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", &format!("B={SECRET}\nA=1\n# new one\nC=x\n"));
    fs::write(
        dir.join(".env.example"),
        "# Our service keys\r\nA=changeme # keep this note\r\n\r\n# B comes from the vault\r\nB=\r\nLEGACY=\r\n",
    )
    .unwrap();
    let out = env.run(&dir, ["example"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("added C"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("emptied the value of A"),
        "{}",
        stderr(&out)
    );
    let text = read_public(&dir.join(".env.example"), &[SECRET]);
    assert_eq!(
        text,
        "# Our service keys\r\nA= # keep this note\r\n\r\n# B comes from the vault\r\nB=\r\nLEGACY=\r\n\n# new one\nC=\n"
    );
}

#[test]
fn example_keeps_the_first_comment_of_a_file_that_starts_with_a_byte_order_mark() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", &format!("\u{feff}# the API key\nAPI_KEY={SECRET}\n"));
    let out = env.run(&dir, ["example"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = read_public(&dir.join(".env.example"), &[SECRET]);
    assert_eq!(text, "# the API key\nAPI_KEY=\n");
}

#[test]
fn example_from_several_files_lists_each_name_once() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", &format!("SHARED={SECRET}\nDEV_ONLY=1\n"));
    write_mode(
        &dir.join(".env.production"),
        &format!("# production only\nPROD_ONLY={DB_PASSWORD}\nSHARED=x\n"),
        0o600,
    );
    let out = env.run(
        &env.work(),
        ["example", "-f", "p/.env", "-f", "p/.env.production"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = read_public(&dir.join(".env.example"), &[SECRET, DB_PASSWORD]);
    assert_eq!(
        text,
        "SHARED=\nDEV_ONLY=\n\n# production only\nPROD_ONLY=\n"
    );
    assert!(!env.work().join(".env.example").exists());
}

#[test]
fn example_refuses_a_symlink_and_a_value_the_user_left_in_it() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", &format!("KEY={SECRET}\n"));
    let elsewhere = env.work().join("bashrc");
    fs::write(&elsewhere, "# mine\n").unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.join(".env.example")).unwrap();
    let out = env.run(&dir, ["example"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("is a symlink"), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(&elsewhere).unwrap(), "# mine\n");
    // The fix works as shown: the link becomes a copy, which `example` then updates.
    run_fix(&dir, &stderr(&out), ", which replaces the link");
    let out = env.run(&dir, ["example"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(&elsewhere).unwrap(), "# mine\n");
    assert_eq!(
        fs::read_to_string(dir.join(".env.example")).unwrap(),
        "# mine\nKEY=\n"
    );

    fs::remove_file(dir.join(".env.example")).unwrap();
    fs::write(dir.join(".env.example"), format!("# key is {SECRET}\n")).unwrap();
    let out = env.run(&dir, ["example"]);
    assert_eq!(out.status.code(), Some(1));
    assert_not_leaked(&out, SECRET);
    assert!(
        stderr(&out).contains(".env.example:1: holds the value of KEY"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stderr(&out).lines().count(), 1);

    // A refused source writes nothing.
    fs::remove_file(dir.join(".env.example")).unwrap();
    fs::set_permissions(dir.join(".env"), fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.run(&dir, ["example"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));
    assert!(!dir.join(".env.example").exists());
}

/// Runs, with `sh` in `dir`, the fix that `message` shows between `(fix: ` and `end`.
fn run_fix(dir: &Path, message: &str, end: &str) {
    let start = message.find("(fix: ").expect("a fix") + "(fix: ".len();
    let fix = &message[start..start + message[start..].find(end).expect("the fix's end")];
    let out = Command::new("sh")
        .args(["-c", fix])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "fix `{fix}`: {}", stderr(&out));
}

#[test]
fn example_says_when_git_would_skip_it_or_it_does_not_parse() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", "KEY=1\n");
    git(&dir, &["init", "-q"]);
    fs::write(dir.join(".gitignore"), ".env*\n").unwrap();
    let out = env.run(&dir, ["example"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("git ignores"), "{}", stderr(&out));
    run_fix(&dir, &stderr(&out), ")\n");
    git(&dir, &["add", ".env.example"]);
    let again = env.run(&dir, ["example"]);
    assert!(
        !stderr(&again).contains("git ignores"),
        "{}",
        stderr(&again)
    );

    fs::write(dir.join(".env.example"), "KEY=\nBROKEN='open\n").unwrap();
    let out = env.run(&dir, ["example"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(".env.example:2: ") && stderr(&out).contains("EDITOR:-vi"),
        "{}",
        stderr(&out)
    );
    let check = env.run(&dir, ["check"]);
    assert!(check.status.success());
    assert!(
        stdout(&check).contains("cannot compare with .env.example"),
        "{}",
        stdout(&check)
    );
}

#[test]
fn check_reports_missing_and_unlisted_names() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", &format!("OPENAI_API_KEY={SECRET}\nDEBUG=1\n"));
    fs::write(dir.join(".env.example"), "OPENAI_API_KEY=\nDATABASE_URL=\n").unwrap();
    let out = env.run(&dir, ["check"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert_not_leaked(&out, SECRET);
    let report = stdout(&out);
    assert!(
        report.contains("! missing: DATABASE_URL (listed in .env.example, not set)\n      fix: envguard set DATABASE_URL\n"),
        "{report}"
    );
    assert!(
        report.contains("! not listed in .env.example: DEBUG\n      fix: envguard example"),
        "{report}"
    );
    assert!(!report.contains("missing: OPENAI_API_KEY"), "{report}");

    // The fixes work as shown.
    let set = env.run_with_input(&dir, ["set", "DATABASE_URL"], b"postgres://db/app\n");
    assert!(set.status.success(), "{}", stderr(&set));
    let example = env.run(&dir, ["example"]);
    assert!(example.status.success(), "{}", stderr(&example));
    let out = env.run(&dir, ["check"]);
    assert!(
        !stdout(&out).contains("missing:") && !stdout(&out).contains("not listed"),
        "{}",
        stdout(&out)
    );

    // From another directory the fix names the project.
    fs::write(dir.join(".env.example"), "OPENAI_API_KEY=\nLATER=\n").unwrap();
    let out = env.run(&env.work(), ["check", "p"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains(&format!("fix: envguard set -C {} LATER", dir.display())),
        "{}",
        stdout(&out)
    );
}

#[test]
fn init_fills_the_env_from_the_example_through_a_pipe() {
    let env = TestEnv::new();
    let dir = env.work().join("clone");
    fs::create_dir(&dir).unwrap();
    git(&dir, &["init", "-q"]);
    fs::write(
        dir.join(".env.example"),
        "# get it from the vault\nOPENAI_API_KEY=\nDEBUG=\nDATABASE_URL=\nLD_PRELOAD=\n",
    )
    .unwrap();

    // A wrong count creates nothing.
    let out = env.run_with_input(&dir, ["init"], b"one\ntwo\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("expected 3 values"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.join(".env").exists());

    let input = format!("{SECRET}\n\npostgres://app:{DB_PASSWORD}@db/app\n");
    let out = env.run_with_input(&dir, ["init"], input.as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_not_leaked(&out, SECRET);
    assert_not_leaked(&out, DB_PASSWORD);
    let said = stderr(&out);
    assert!(said.contains("LD_PRELOAD"), "{said}");
    assert!(said.contains("2 of 3 names of .env.example set"), "{said}");
    assert!(said.contains("skipped DEBUG"), "{said}");
    assert_eq!(
        fs::metadata(dir.join(".env")).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(has_value(&env, &dir, "OPENAI_API_KEY", SECRET));
    let vars = loaded(&env, &dir);
    assert!(!vars.contains_key("DEBUG"), "a skipped name is not written");
    assert!(
        vars.get("DATABASE_URL").map(Vec::len)
            == Some(format!("postgres://app:{DB_PASSWORD}@db/app").len())
    );
    let check = env.run(&dir, ["check"]);
    assert!(
        stdout(&check).contains("missing: DEBUG"),
        "{}",
        stdout(&check)
    );

    // In a script with nothing on standard input, the file is still created.
    let other = env.work().join("ci");
    fs::create_dir(&other).unwrap();
    fs::copy(dir.join(".env.example"), other.join(".env.example")).unwrap();
    let out = env.run_with_input(&other, ["init"], b"");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(fs::read(other.join(".env")).unwrap(), b"");
}

/// Runs the pexpect `driver` with the binary as argv[1] and the secrets in its environment.
fn drive(env: &TestEnv, dir: &Path, driver: &str) -> Output {
    let python = std::env::var("ENVGUARD_TEST_PYTHON")
        .expect("ENVGUARD_TEST_PYTHON must name a Python with pexpect");
    Command::new(python)
        .args(["-c", driver, common::BIN])
        .current_dir(dir)
        .env_clear()
        .envs(env.base_env())
        .env("PWD", dir)
        .env("SECRET_UNDER_TEST", SECRET)
        .env("SECOND_SECRET", DB_PASSWORD)
        .output()
        .unwrap()
}

#[test]
fn init_asks_for_each_listed_value_at_the_hidden_prompt() {
    let env = TestEnv::new();
    let dir = env.work().join("clone");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join(".env.example"), "A_KEY=\nB_KEY=\nC_KEY=\n").unwrap();
    let driver = r#"
import os, sys, pexpect
child = pexpect.spawn(sys.argv[1], ["init"], env=dict(os.environ), timeout=20)
child.expect_exact("A_KEY (hidden, Enter skips): ")
child.sendline(os.environ["SECRET_UNDER_TEST"])
child.expect_exact("B_KEY (hidden, Enter skips): ")
child.sendline("")
child.expect_exact("skipped B_KEY")
child.expect_exact("C_KEY (hidden, Enter skips): ")
child.sendline(os.environ["SECOND_SECRET"])
child.expect(pexpect.EOF)
child.close()
screen = child.before.decode("utf-8", "replace")
for secret in (os.environ["SECRET_UNDER_TEST"], os.environ["SECOND_SECRET"]):
    if secret in screen:
        sys.exit(3)
if "2 of 3 names" not in screen:
    sys.exit(4)
sys.exit(child.exitstatus)
"#;
    let out = drive(&env, &dir, driver);
    assert_ne!(out.status.code(), Some(3), "a typed secret was echoed");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_not_leaked(&out, SECRET);
    assert!(has_value(&env, &dir, "A_KEY", SECRET));
    assert!(has_value(&env, &dir, "C_KEY", DB_PASSWORD));
    assert!(!loaded(&env, &dir).contains_key("B_KEY"));
}

#[test]
fn get_prints_exactly_one_value_for_a_pipe() {
    let env = TestEnv::new();
    let value = "  two\nlines, a ' quote and spaces  ";
    let dir = env.allowed_project(
        "p",
        &format!("KEY={SECRET}\nMULTI='  two\nlines, a \\' quote and spaces  '\nEMPTY=\n"),
    );
    let out = env.run(&dir, ["get", "MULTI"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout == value.as_bytes(), "{} bytes", out.stdout.len());
    assert!(out.stderr.is_empty());
    let out = env.run(&dir, ["get", "--newline", "KEY"]);
    assert!(out.stdout == format!("{SECRET}\n").as_bytes());
    let out = env.run(&dir, ["get", "EMPTY"]);
    assert!(out.status.success() && out.stdout.is_empty());

    // Not set: exit 1 and one line, naming the name only.
    let out = env.run(&dir, ["get", "MISSING"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("MISSING is not set"),
        "{}",
        stderr(&out)
    );

    // From elsewhere, with -C or -f.
    let out = env.run(&env.work(), ["get", "-C", "p", "KEY"]);
    assert!(out.stdout == SECRET.as_bytes(), "{}", stderr(&out));
    let out = env.run(&env.work(), ["get", "-f", "p/.env", "KEY"]);
    assert!(out.stdout == SECRET.as_bytes(), "{}", stderr(&out));

    // The loader's refusals hold: a changed (unallowed) file yields nothing.
    write_mode(&dir.join(".env"), &format!("KEY={SECRET}\nNEW=1\n"), 0o600);
    let out = env.run(&dir, ["get", "KEY"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_not_leaked(&out, SECRET);
    assert!(stderr(&out).contains("envguard allow"), "{}", stderr(&out));
}

#[test]
fn get_refuses_a_terminal_unless_revealed() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", &format!("KEY={SECRET}\n"));
    let driver = r#"
import os, sys, pexpect
secret = os.environ["SECRET_UNDER_TEST"]
child = pexpect.spawn(sys.argv[1], ["get", "KEY"], env=dict(os.environ), timeout=20)
child.expect(pexpect.EOF)
child.close()
screen = child.before.decode("utf-8", "replace")
if secret in screen:
    sys.exit(3)
if child.exitstatus != 2 or "--reveal" not in screen:
    sys.exit(4)
child = pexpect.spawn(sys.argv[1], ["get", "--reveal", "KEY"], env=dict(os.environ), timeout=20)
child.expect(pexpect.EOF)
child.close()
shown = child.before.decode("utf-8", "replace")
sys.exit(0 if child.exitstatus == 0 and secret in shown else 5)
"#;
    let out = drive(&env, &dir, driver);
    assert_ne!(out.status.code(), Some(3), "the value reached the terminal");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_not_leaked(&out, SECRET);
}
