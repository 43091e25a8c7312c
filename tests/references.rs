//! References to secret managers through the real binary, with fake provider CLIs on `PATH`
//! that record the argv they were given: what is checked is the argv each vendor documents
//! (the real services are not reached), that a reference stays one argument that cannot
//! become an option, and that nothing runs before the file is allowed.

mod common;
mod pty;

use std::collections::HashMap;
use std::fs;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use envguard::cli::ShellKind;
use pty::Session;

use common::{TestEnv, assert_not_leaked, parse_env0, stderr, write_mode};

const SECRET: &str = "fetched-secret-value-not-to-show";

/// A directory of fake CLIs, each running `body` after recording its argv, NUL-separated,
/// in its own file under `log`.
struct FakeClis {
    bin: PathBuf,
    log: PathBuf,
}

impl FakeClis {
    fn new(env: &TestEnv) -> Self {
        let bin = env.root.path().join("fake-bin");
        let log = env.root.path().join("fake-log");
        fs::create_dir_all(&bin).unwrap();
        fs::create_dir_all(&log).unwrap();
        FakeClis { bin, log }
    }

    fn add(&self, program: &str, body: &str) -> &Self {
        let script = format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > '{}/{program}.'$$\n{body}\n",
            self.log.display()
        );
        write_mode(&self.bin.join(program), &script, 0o755);
        self
    }

    fn path(&self) -> String {
        format!("{}:/usr/bin:/bin", self.bin.display())
    }

    /// Every recorded argv of `program`.
    fn calls(&self, program: &str) -> Vec<Vec<String>> {
        let mut calls: Vec<Vec<String>> = fs::read_dir(&self.log)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(&format!("{program}."))
            })
            .map(|p| {
                String::from_utf8(fs::read(p).unwrap())
                    .unwrap()
                    .split_terminator('\0')
                    .map(str::to_owned)
                    .collect()
            })
            .collect();
        calls.sort();
        calls
    }

    fn no_calls(&self) -> bool {
        fs::read_dir(&self.log).unwrap().next().is_none()
    }
}

fn exec_env(env: &TestEnv, dir: &Path, fakes: &FakeClis) -> (Output, HashMap<String, Vec<u8>>) {
    let out = env
        .cmd(dir, ["exec", "--", "env", "-0"])
        .env("PATH", fakes.path())
        .output()
        .unwrap();
    let vars = parse_env0(&out.stdout);
    (out, vars)
}

fn is(vars: &HashMap<String, Vec<u8>>, name: &str, expected: &str) -> bool {
    vars.get(name).map(Vec::as_slice) == Some(expected.as_bytes())
}

/// A stand-in AWS CLI's body printing the JSON answer of `get-secret-value` for a secret
/// whose `SecretString` is `json_string` (a JSON string literal, quotes included).
fn aws_answer(json_string: &str) -> String {
    format!("printf '%s\\n' '{{\"Name\":\"s\",\"SecretString\":{json_string}}}'")
}

fn printing(value: &str) -> String {
    format!("printf '%s' '{value}'")
}

#[test]
fn each_scheme_runs_its_documented_argv_and_loads_the_value() {
    let env = TestEnv::new();
    let fakes = FakeClis::new(&env);
    fakes
        .add("aws", &aws_answer(&format!("\"{SECRET}\"")))
        .add("op", &printing(SECRET))
        .add("vault", &printing(SECRET))
        .add("gcloud", &printing(SECRET))
        .add("az", &format!("printf '%s\\n' '{SECRET}'"))
        .add("pass", &format!("printf '%s\\nnotes: x\\n' '{SECRET}'"));
    let dir = env.allowed_project(
        "p",
        "AWS=aws-sm://prod/db?region=eu-west-1&version-stage=AWSPREVIOUS\n\
         OP=op://Private/Db/password\n\
         VAULT=vault://secret/data/app/db#password\n\
         GCP=gcp-sm://my-project/db-pass@3\n\
         AZ=azure-kv://my-vault/db-pass\n\
         PASS=pass://work/db\n\
         PLAIN=https://example.com\n",
    );
    let (out, vars) = exec_env(&env, &dir, &fakes);
    assert!(out.status.success(), "exec failed: {}", stderr(&out));
    for name in ["AWS", "OP", "VAULT", "GCP", "AZ", "PASS"] {
        assert!(is(&vars, name, SECRET), "{name} was not the fetched value");
    }
    assert!(is(&vars, "PLAIN", "https://example.com"));
    let argv = |program: &str| fakes.calls(program);
    assert_eq!(
        argv("aws"),
        [[
            "secretsmanager",
            "get-secret-value",
            "--secret-id=prod/db",
            "--output=json",
            "--region=eu-west-1",
            "--version-stage=AWSPREVIOUS"
        ]]
    );
    assert_eq!(
        argv("op"),
        [["read", "--no-newline", "--", "op://Private/Db/password"]]
    );
    assert_eq!(
        argv("vault"),
        [["kv", "get", "-field=password", "--", "secret/data/app/db"]]
    );
    assert_eq!(
        argv("gcloud"),
        [[
            "secrets",
            "versions",
            "access",
            "--secret=db-pass",
            "--project=my-project",
            "--",
            "3"
        ]]
    );
    assert_eq!(
        argv("az"),
        [[
            "keyvault",
            "secret",
            "show",
            "--vault-name=my-vault",
            "--name=db-pass",
            "--query=value",
            "--output=tsv"
        ]]
    );
    assert_eq!(argv("pass"), [["show", "--", "work/db"]]);
}

#[test]
fn a_json_secret_gives_the_named_field() {
    let env = TestEnv::new();
    let fakes = FakeClis::new(&env);
    // One secret holding a JSON object, whether asked for alone or in a batch.
    let secret = format!(r#""{{\"user\":\"app\",\"password\":\"{SECRET}\"}}""#);
    fakes.add(
        "aws",
        &format!(
            "if [ \"$2\" = batch-get-secret-value ]; then printf '%s\\n' '{{\"SecretValues\":[{{\"Name\":\"db\",\"SecretString\":{secret}}}],\"Errors\":[]}}'; exit; fi\n{}",
            aws_answer(&secret)
        ),
    );
    let dir = env.allowed_project("p", "PW=aws-sm://db#password\nUSER=aws-sm://db#user\n");
    let (out, vars) = exec_env(&env, &dir, &fakes);
    assert!(out.status.success(), "exec failed: {}", stderr(&out));
    assert!(is(&vars, "PW", SECRET));
    assert!(is(&vars, "USER", "app"));

    fs::write(dir.join(".env"), "PW=aws-sm://db#missing\n").unwrap();
    assert!(env.run(&dir, ["allow"]).status.success());
    let (out, _) = exec_env(&env, &dir, &fakes);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("the secret has no field `missing`"));
    assert_not_leaked(&out, SECRET);
}

#[test]
fn hostile_references_stay_one_argument() {
    let env = TestEnv::new();
    let fakes = FakeClis::new(&env);
    fakes
        .add("aws", &aws_answer("\"x\""))
        .add("op", "printf x")
        .add("pass", "echo x");
    let marker = env.root.path().join("marker");
    let dir = env.allowed_project(
        "p",
        &format!(
            "A=aws-sm://--debug\n\
             B='op://x --account evil'\n\
             C='pass://a;touch {m} $(touch {m}) `touch {m}`'\n\
             D=\"pass://line1\\n--clip\"\n",
            m = marker.display()
        ),
    );
    let (out, _) = exec_env(&env, &dir, &fakes);
    assert!(out.status.success(), "exec failed: {}", stderr(&out));
    assert!(!marker.exists(), "a reference ran a shell command");
    assert_eq!(
        fakes.calls("aws")[0][2],
        "--secret-id=--debug",
        "the id must stay glued to its option"
    );
    assert_eq!(
        fakes.calls("op"),
        [["read", "--no-newline", "--", "op://x --account evil"]]
    );
    let pass = fakes.calls("pass");
    assert_eq!(pass.len(), 2);
    assert!(pass.iter().all(|argv| argv.len() == 3 && argv[1] == "--"));
    assert!(pass.iter().any(|argv| argv[2] == "line1\n--clip"));
    assert!(pass.iter().any(
        |argv| argv[2] == format!("a;touch {m} $(touch {m}) `touch {m}`", m = marker.display())
    ));
}

#[test]
fn an_unallowed_file_starts_no_provider_cli() {
    let env = TestEnv::new();
    let fakes = FakeClis::new(&env);
    fakes.add("aws", &printing(SECRET));
    let dir = env.project("p", "A=aws-sm://db\n", 0o600);
    let (out, _) = exec_env(&env, &dir, &fakes);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is not allowed yet"));
    assert!(fakes.no_calls(), "a provider CLI ran for an unallowed file");

    for args in [
        ["check"].as_slice(),
        ["check", "--resolve"].as_slice(),
        ["list"].as_slice(),
    ] {
        let out = env
            .cmd(&dir, args)
            .env("PATH", fakes.path())
            .output()
            .unwrap();
        assert_not_leaked(&out, SECRET);
    }
    let check = common::stdout(
        &env.cmd(&dir, ["check", "--resolve"])
            .env("PATH", fakes.path())
            .output()
            .unwrap(),
    );
    assert!(
        check.contains("! references not fetched: the file is not allowed"),
        "{check}"
    );
    assert!(env.run(&dir, ["allow"]).status.success());
    let out = env
        .cmd(&dir, ["list"])
        .env("PATH", fakes.path())
        .output()
        .unwrap();
    assert_not_leaked(&out, SECRET);
    assert!(fakes.no_calls(), "check or list fetched a reference");
}

#[test]
fn one_failed_reference_loads_nothing_and_says_why() {
    let env = TestEnv::new();
    let fakes = FakeClis::new(&env);
    fakes.add(
        "aws",
        "echo >&2; echo 'An error occurred (ResourceNotFoundException) when calling the GetSecretValue operation: Secrets Manager cannot find the specified secret.' >&2; echo 'second line' >&2; exit 254",
    );
    fakes.add("op", &printing(SECRET));
    let marker = env.root.path().join("ran");
    let dir = env.allowed_project("p", "GOOD=op://v/i/f\nBAD=aws-sm://nope\n");
    let out = env
        .cmd(&dir, ["exec", "--", "touch"])
        .arg(&marker)
        .env("PATH", fakes.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!marker.exists(), "the program ran without its variables");
    let message = stderr(&out);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains(":2: BAD = `aws-sm://nope` could not be resolved"));
    assert!(message.contains("`aws` failed: An error occurred (ResourceNotFoundException)"));
    assert!(!message.contains("second line"));
    assert!(message.contains("aws sso login"));
    assert_not_leaked(&out, SECRET);
}

#[test]
fn a_missing_cli_names_what_to_install() {
    let env = TestEnv::new();
    let fakes = FakeClis::new(&env);
    let dir = env.allowed_project("p", "A=azure-kv://v/n\n");
    let (out, _) = exec_env(&env, &dir, &fakes);
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert!(message.contains("`az` is not installed"), "{message}");
    assert!(message.contains("install the Azure CLI"), "{message}");
}

#[test]
fn a_cli_that_never_answers_is_stopped_at_the_timeout() {
    let env = TestEnv::new();
    let fakes = FakeClis::new(&env);
    // A wrapper whose real program holds the pipes: the whole group must be stopped.
    fakes.add("vault", "sleep 600 & sleep 600");
    let dir = env.allowed_project("p", "A=vault://secret/app#f\n");
    let out = env
        .cmd(&dir, ["exec", "--", "true"])
        .env("PATH", fakes.path())
        .env("ENVGUARD_RESOLVE_TIMEOUT", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert!(
        message.contains("`vault` did not answer in time"),
        "{message}"
    );
    assert!(
        message.contains("raise ENVGUARD_RESOLVE_TIMEOUT"),
        "{message}"
    );
}

#[test]
fn more_references_than_run_at_once_all_resolve() {
    let env = TestEnv::new();
    let fakes = FakeClis::new(&env);
    // An AWS CLI from before batch-get-secret-value, as argparse answers an unknown command:
    // every reference is then fetched on its own.
    fakes.add(
        "aws",
        "if [ \"$2\" = batch-get-secret-value ]; then echo 'usage: aws [options]' >&2; \
         echo 'aws: error: argument operation: Invalid choice, valid choices are:' >&2; exit 2; fi\n\
         printf '{\"SecretString\":\"value-%s\"}\\n' \"${3#--secret-id=}\"",
    );
    let contents: String = (0..70).map(|i| format!("V{i}=aws-sm://s{i}\n")).collect();
    let dir = env.allowed_project("p", &contents);
    let (out, vars) = exec_env(&env, &dir, &fakes);
    assert!(out.status.success(), "exec failed: {}", stderr(&out));
    for i in 0..70 {
        assert!(is(&vars, &format!("V{i}"), &format!("value-s{i}")), "V{i}");
    }
    let calls = fakes.calls("aws");
    let batches = calls
        .iter()
        .filter(|argv| argv[1] == "batch-get-secret-value");
    assert_eq!(batches.count(), 4, "70 ids are 4 batches of at most 20");
    assert_eq!(calls.len(), 74);
}

/// A password store of the real `pass` and `gpg`, with a throw-away key and GnuPG home.
struct PassStore {
    gnupg: PathBuf,
    store: PathBuf,
}

impl PassStore {
    fn new(env: &TestEnv) -> Self {
        let gnupg = env.root.path().join("gnupg");
        let store = env.root.path().join("store");
        fs::create_dir(&gnupg).unwrap();
        fs::set_permissions(&gnupg, fs::Permissions::from_mode(0o700)).unwrap();
        let pass = PassStore { gnupg, store };
        pass.run(
            "gpg",
            &[
                "--batch",
                "--passphrase",
                "",
                "--quick-gen-key",
                "envguard-test@example.invalid",
                "default",
                "default",
                "never",
            ],
            b"",
        );
        pass.run("pass", &["init", "envguard-test@example.invalid"], b"");
        pass
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("GNUPGHOME", &self.gnupg)
            .env("PASSWORD_STORE_DIR", &self.store);
        cmd
    }

    fn run(&self, program: &str, args: &[&str], input: &[u8]) {
        let out = common::output_with_input(self.command(program).args(args), input);
        assert!(out.status.success(), "{program} failed: {}", stderr(&out));
    }
}

impl Drop for PassStore {
    fn drop(&mut self) {
        let _ = self
            .command("gpgconf")
            .args(["--kill", "gpg-agent"])
            .output();
    }
}

#[test]
fn pass_references_resolve_through_the_real_pass_and_gpg() {
    let env = TestEnv::new();
    let pass = PassStore::new(&env);
    pass.run(
        "pass",
        &["insert", "--multiline", "work/db"],
        format!("{SECRET}\nuser: app\n").as_bytes(),
    );
    let dir = env.allowed_project("p", "DB=pass://work/db\n");
    let exec = |dir: &Path| {
        env.cmd(dir, ["exec", "--", "env", "-0"])
            .env("GNUPGHOME", &pass.gnupg)
            .env("PASSWORD_STORE_DIR", &pass.store)
            .output()
            .unwrap()
    };
    let out = exec(&dir);
    assert!(out.status.success(), "exec failed: {}", stderr(&out));
    assert!(
        is(&parse_env0(&out.stdout), "DB", SECRET),
        "DB was not the first line"
    );

    let dir = env.allowed_project("q", "DB=pass://work/none\n");
    let out = exec(&dir);
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert!(
        message.contains("`pass` failed: Error: work/none is not in the password store."),
        "{message}"
    );
}

/// One moto server (a real local Secrets Manager endpoint) per test binary, on a free
/// loopback port, stopped by a watchdog when this process ends.
fn moto_endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = venv_bin().join("moto_server");
        let watchdog = format!(
            "'{}' -H 127.0.0.1 -p {port} >/dev/null 2>&1 & m=$!; \
             while kill -0 {parent} 2>/dev/null; do sleep 1; done; kill $m",
            server.display(),
            parent = std::process::id()
        );
        let mut watchdog = Command::new("sh")
            .args(["-c", &watchdog])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::spawn(move || watchdog.wait());
        // Readiness, not speed: wait until the server accepts connections.
        for _ in 0..600 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return format!("http://127.0.0.1:{port}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto_server did not start");
    })
}

fn venv_bin() -> PathBuf {
    let venv = std::env::var("ENVGUARD_TEST_VENV").expect("ENVGUARD_TEST_VENV (see scripts/test)");
    Path::new(&venv).join("bin")
}

/// The AWS CLI's settings for `endpoint`, with dummy credentials.
fn aws_env(endpoint: &str) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .chain([(
        "PATH".to_owned(),
        format!("{}:/usr/bin:/bin", venv_bin().display()),
    )])
    .collect()
}

fn create_secret(name: &str, value: &str) {
    create_secret_as(name, "--secret-string", value);
}

/// A secret made with the AWS CLI's `option` (`--secret-string`, or `--secret-binary` with a
/// `fileb://` path).
fn create_secret_as(name: &str, option: &str, value: &str) {
    let out = Command::new(venv_bin().join("aws"))
        .args([
            "secretsmanager",
            "create-secret",
            "--name",
            name,
            option,
            value,
        ])
        .env_clear()
        .envs(aws_env(moto_endpoint()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "create-secret failed: {}",
        stderr(&out)
    );
}

fn exec_aws(env: &TestEnv, dir: &Path, endpoint: &str) -> Output {
    env.cmd(dir, ["exec", "--", "env", "-0"])
        .envs(aws_env(endpoint))
        .env("ENVGUARD_RESOLVE_TIMEOUT", "300")
        .output()
        .unwrap()
}

#[test]
fn aws_plain_and_json_secrets_through_the_real_cli_and_moto() {
    let env = TestEnv::new();
    create_secret("refs/plain", SECRET);
    create_secret(
        "refs/json",
        &format!("{{\"user\":\"app\",\"password\":\"{SECRET}\"}}"),
    );
    let dir = env.allowed_project(
        "p",
        "PLAIN=aws-sm://refs/plain\nPW=aws-sm://refs/json#password?region=us-east-1\nUSER=aws-sm://refs/json#user\n",
    );
    let out = exec_aws(&env, &dir, moto_endpoint());
    assert!(out.status.success(), "exec failed: {}", stderr(&out));
    let vars = parse_env0(&out.stdout);
    assert!(is(&vars, "PLAIN", SECRET), "PLAIN");
    assert!(is(&vars, "PW", SECRET), "PW");
    assert!(is(&vars, "USER", "app"), "USER");
}

#[test]
fn a_missing_aws_secret_gives_the_cli_error_and_the_fix() {
    let env = TestEnv::new();
    let dir = env.allowed_project("p", "DB=aws-sm://refs/does-not-exist\n");
    let out = exec_aws(&env, &dir, moto_endpoint());
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains("DB = `aws-sm://refs/does-not-exist` could not be resolved"),
        "{message}"
    );
    assert!(message.contains("ResourceNotFoundException"), "{message}");
    assert!(message.contains("aws sso login"), "{message}");
}

#[test]
fn an_aws_endpoint_that_never_answers_times_out() {
    let env = TestEnv::new();
    // Accepts connections (the kernel's backlog) and never answers: a stopped server.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let dir = env.allowed_project("p", "DB=aws-sm://refs/plain\n");
    let out = env
        .cmd(&dir, ["exec", "--", "true"])
        .envs(aws_env(&endpoint))
        .env("ENVGUARD_RESOLVE_TIMEOUT", "3")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("`aws` did not answer in time"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn twenty_aws_references_resolve_concurrently_against_moto() {
    let env = TestEnv::new();
    for i in 0..20 {
        create_secret(&format!("refs/many-{i}"), &format!("{SECRET}-{i}"));
    }
    let contents: String = (0..20)
        .map(|i| format!("V{i}=aws-sm://refs/many-{i}\n"))
        .collect();
    let dir = env.allowed_project("p", &contents);
    let out = exec_aws(&env, &dir, moto_endpoint());
    assert!(out.status.success(), "exec failed: {}", stderr(&out));
    let vars = parse_env0(&out.stdout);
    for i in 0..20 {
        assert!(
            is(&vars, &format!("V{i}"), &format!("{SECRET}-{i}")),
            "V{i}"
        );
    }
}

#[test]
fn the_hook_resolves_when_entering_and_never_on_a_no_change_prompt() {
    for kind in [ShellKind::Bash, ShellKind::Zsh, ShellKind::Fish] {
        let env = TestEnv::new();
        let fakes = FakeClis::new(&env);
        fakes.add("op", &printing(SECRET));
        let dir = env.allowed_project("p", "TOKEN=op://v/i/f\n");
        let path = match kind {
            ShellKind::Fish => format!("set -gx PATH {} $PATH", fakes.bin.display()),
            ShellKind::Bash | ShellKind::Zsh => {
                format!("export PATH={}:\"$PATH\"", fakes.bin.display())
            }
        };
        let mut sh = Session::start_with(&env, kind, &env.work(), &path);
        sh.hide(SECRET);
        let name = sh.shell_name();
        sh.cd(&dir);
        assert!(is(&sh.dump(), "TOKEN", SECRET), "{name}: TOKEN not loaded");
        for _ in 0..3 {
            sh.run("true");
        }
        assert_eq!(
            fakes.calls("op").len(),
            1,
            "{name}: a prompt ran the CLI again"
        );
    }
}

#[test]
fn check_and_list_show_references_and_fetch_nothing() {
    let env = TestEnv::new();
    let fakes = FakeClis::new(&env);
    fakes.add("aws", &printing(SECRET));
    let dir = env.allowed_project(
        "p",
        "DB=aws-sm://prod/db#password\nOP=op://a/b/c\nV=vault://x\n",
    );
    let run = |args: &[&str]| {
        let out = env
            .cmd(&dir, args)
            .env("PATH", fakes.path())
            .output()
            .unwrap();
        assert_not_leaked(&out, SECRET);
        common::stdout(&out)
    };
    let check = run(&["check"]);
    assert!(
        check.contains("DB: reference `aws-sm://prod/db#password`, fetched with `aws` (installed)"),
        "{check}"
    );
    assert!(
        check.contains("OP: reference `op://a/b/c` needs `op`, which is not installed"),
        "{check}"
    );
    assert!(
        check.contains("fix: install the 1Password CLI (`op`)"),
        "{check}"
    );
    // Malformed is decided once: check refuses what the load refuses.
    assert!(
        check.contains(
            "✗ line 3: V = `vault://x` could not be resolved: is incomplete (expected `vault://PATH#FIELD`)"
        ),
        "{check}"
    );
    assert!(check.contains("refused: nothing will load"), "{check}");
    let (exec, _) = exec_env(&env, &dir, &fakes);
    assert!(stderr(&exec).contains(":3: V = `vault://x` could not be resolved: is incomplete"));
    // The installed CLI was asked who is signed in, and for nothing else.
    assert!(
        check.contains("✓ `aws` is answering (signed in)"),
        "{check}"
    );
    assert_eq!(fakes.calls("aws"), [["sts", "get-caller-identity"]]);
    let list = run(&["list"]);
    assert!(
        list.contains("DB  aws-sm://prod/db#password → **** (fetched with `aws` on load)"),
        "{list}"
    );
    assert_eq!(fakes.calls("aws").len(), 1, "list ran a provider CLI");
}

#[test]
fn check_resolve_fetches_each_reference_against_moto_and_shows_no_value() {
    let env = TestEnv::new();
    create_secret("refs/checked", SECRET);
    let dir = env.allowed_project(
        "p",
        "GOOD=aws-sm://refs/checked\nGONE=aws-sm://refs/check-missing\n",
    );
    let out = env
        .cmd(&dir, ["check", "--resolve"])
        .envs(aws_env(moto_endpoint()))
        .env("ENVGUARD_RESOLVE_TIMEOUT", "300")
        .output()
        .unwrap();
    assert_not_leaked(&out, SECRET);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let check = common::stdout(&out);
    assert!(
        check.contains("✓ GOOD: reference `aws-sm://refs/checked` resolves (fetched with `aws`)"),
        "{check}"
    );
    assert!(
        check.contains("✗ line 2: GONE = `aws-sm://refs/check-missing` could not be resolved"),
        "{check}"
    );
    assert!(check.contains("ResourceNotFoundException"), "{check}");
    assert!(check.contains("fix: run `aws sso login`"), "{check}");
    assert!(check.contains("refused: nothing will load"), "{check}");

    // Without --resolve nothing is fetched, so the missing secret goes unnoticed.
    let out = env
        .cmd(&dir, ["check"])
        .envs(aws_env(moto_endpoint()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stdout(&out));
}

/// Issue 15's "Done when": an envguard kernel, started by Jupyter from its installed
/// kernelspec, reads `os.getenv("DB_PASSWORD")` whose `.env` line is
/// `DB_PASSWORD=aws-sm://prod/db#password`, fetched by the real AWS CLI from moto, with the
/// AWS settings only in the environment Jupyter was launched from. The cell compares the
/// value by SHA-256 and length (its source is saved in the notebook, so it cannot hold the
/// value) and prints only the verdict.
#[test]
fn an_envguard_kernel_reads_an_aws_reference_resolved_against_moto() {
    let env = TestEnv::new();
    create_secret(
        "prod/db",
        &format!("{{\"username\":\"app\",\"password\":\"{SECRET}\"}}"),
    );
    let dir = env.allowed_project("analysis", "DB_PASSWORD=aws-sm://prod/db#password\n");
    let python = venv_bin().join("python");
    let jupyter_data = env.root.path().join("jupyter-data");
    let out = env
        .cmd(
            &dir,
            ["kernel", "install", "--name", "analysis", "--python"],
        )
        .arg(&python)
        .env("JUPYTER_DATA_DIR", &jupyter_data)
        .output()
        .unwrap();
    assert!(out.status.success(), "kernel install: {}", stderr(&out));

    let code = format!(
        "import hashlib, os\nv = os.getenv('DB_PASSWORD') or ''\n\
         print('matches', hashlib.sha256(v.encode()).hexdigest() == '{}', 'length', len(v))",
        envguard::load::trust::digest(SECRET.as_bytes())
    );
    let notebook = serde_json::json!({
        "cells": [{"cell_type": "code", "execution_count": null, "id": "probe",
                   "metadata": {}, "outputs": [], "source": code}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5
    });
    fs::write(dir.join("probe.ipynb"), notebook.to_string()).unwrap();

    // Jupyter (nbconvert, the executed notebook on stdout) starts the kernel from its spec.
    let out = Command::new(&python)
        .args([
            "-m",
            "jupyter",
            "nbconvert",
            "--execute",
            "--to",
            "notebook",
        ])
        .args(["--ExecutePreprocessor.kernel_name=analysis", "--stdout"])
        .arg("probe.ipynb")
        .current_dir(&dir)
        .env_clear()
        .envs(env.base_env())
        .envs(aws_env(moto_endpoint()))
        .env("JUPYTER_DATA_DIR", &jupyter_data)
        .env("ENVGUARD_RESOLVE_TIMEOUT", "300")
        .output()
        .unwrap();
    assert_not_leaked(&out, SECRET);
    assert!(out.status.success(), "nbconvert failed: {}", stderr(&out));
    let executed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let printed: String = executed["cells"][0]["outputs"]
        .as_array()
        .expect("the cell has outputs")
        .iter()
        .filter(|output| output["output_type"] == "stream")
        .map(|output| match &output["text"] {
            serde_json::Value::Array(lines) => lines.iter().filter_map(|l| l.as_str()).collect(),
            text => text.as_str().unwrap_or("").to_owned(),
        })
        .collect();
    assert_eq!(
        printed.trim(),
        format!("matches True length {}", SECRET.len()),
        "the kernel did not read the resolved DB_PASSWORD"
    );
}

/// A stand-in AWS CLI that records its argv and runs the real one from the test venv.
fn recorded_real_aws(fakes: &FakeClis) {
    fakes.add(
        "aws",
        &format!("exec '{}' \"$@\"", venv_bin().join("aws").display()),
    );
}

#[test]
fn aws_references_of_one_region_are_one_batch_call_against_moto() {
    let env = TestEnv::new();
    let fakes = FakeClis::new(&env);
    recorded_real_aws(&fakes);
    create_secret("batch/plain", SECRET);
    create_secret(
        "batch/json",
        &format!("{{\"user\":\"app\",\"password\":\"{SECRET}\"}}"),
    );
    create_secret("batch/newline", &format!("{SECRET}\n"));
    let dir = env.allowed_project(
        "p",
        "PLAIN=aws-sm://batch/plain\nPW=aws-sm://batch/json#password\nUSER=aws-sm://batch/json#user\nNL=aws-sm://batch/newline\n",
    );
    let out = env
        .cmd(&dir, ["exec", "--", "env", "-0"])
        .envs(aws_env(moto_endpoint()))
        .env("PATH", format!("{}:{}", fakes.bin.display(), fakes.path()))
        .env("ENVGUARD_RESOLVE_TIMEOUT", "300")
        .output()
        .unwrap();
    assert!(out.status.success(), "exec failed: {}", stderr(&out));
    let vars = parse_env0(&out.stdout);
    assert!(is(&vars, "PLAIN", SECRET), "PLAIN");
    assert!(is(&vars, "PW", SECRET), "PW");
    assert!(is(&vars, "USER", "app"), "USER");
    assert!(
        is(&vars, "NL", &format!("{SECRET}\n")),
        "a batch answer is the secret exactly, its own newline kept"
    );
    assert_eq!(
        fakes.calls("aws"),
        [[
            "secretsmanager",
            "batch-get-secret-value",
            r#"--cli-input-json={"SecretIdList":["batch/plain","batch/json","batch/newline"]}"#,
            "--output=json"
        ]],
        "one process for the region's references, each id once"
    );
}

#[test]
fn a_binary_secret_that_is_text_loads_alone_or_in_a_batch() {
    let env = TestEnv::new();
    let blob = env.root.path().join("blob");
    fs::write(&blob, SECRET).unwrap();
    create_secret_as(
        "refs/binary",
        "--secret-binary",
        &format!("fileb://{}", blob.display()),
    );
    create_secret("refs/beside-binary", "other");
    // Alone: `get-secret-value` (the CLI's text output would have been `None`).
    let dir = env.allowed_project("p", "BIN=aws-sm://refs/binary\n");
    let out = exec_aws(&env, &dir, moto_endpoint());
    assert!(out.status.success(), "exec failed: {}", stderr(&out));
    assert!(is(&parse_env0(&out.stdout), "BIN", SECRET), "BIN alone");
    let dir = env.allowed_project(
        "q",
        "BIN=aws-sm://refs/binary\nO=aws-sm://refs/beside-binary\n",
    );
    let out = exec_aws(&env, &dir, moto_endpoint());
    assert!(out.status.success(), "exec failed: {}", stderr(&out));
    assert!(
        is(&parse_env0(&out.stdout), "BIN", SECRET),
        "BIN in a batch"
    );
}

#[test]
fn a_missing_secret_in_a_batch_refuses_the_load_naming_its_line() {
    let env = TestEnv::new();
    create_secret("batch/present", SECRET);
    let dir = env.allowed_project(
        "p",
        "GOOD=aws-sm://batch/present\nOPT=aws-sm://--debug\nAFTER=aws-sm://batch/present\n",
    );
    let out = exec_aws(&env, &dir, moto_endpoint());
    assert_eq!(out.status.code(), Some(1));
    assert_not_leaked(&out, SECRET);
    let message = stderr(&out);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains(":2: OPT = `aws-sm://--debug` could not be resolved: `aws` failed: ResourceNotFoundException"),
        "the hostile id stays an id inside the batch: {message}"
    );
    assert!(message.contains("aws sso login"), "{message}");
}

/// A stand-in `op` that implements `op inject` as documented (each `{{ op://… }}` in the
/// template on standard input replaced by its secret) and `op read`, each secret being
/// `SECRET:` and the reference, with a second line.
fn op_with_inject(fakes: &FakeClis) {
    fakes.add(
        "op",
        &format!(
            "case \"$1\" in\n\
             inject) exec python3 -c 'import re, sys; sys.stdout.write(re.sub(r\"\\{{\\{{ *(op://[A-Za-z0-9_./-]+) *\\}}\\}}\", lambda m: \"{SECRET}:\" + m.group(1) + \"\\nline 2\", sys.stdin.read()))';;\n\
             read) printf '%s:%s\\nline 2' '{SECRET}' \"$4\";;\n\
             *) exit 1;;\n\
             esac"
        ),
    );
}

#[test]
fn op_references_are_one_op_inject_fed_on_standard_input() {
    let env = TestEnv::new();
    let fakes = FakeClis::new(&env);
    op_with_inject(&fakes);
    let dir = env.allowed_project(
        "p",
        "A=op://Private/Db/password\nB=op://Work/Api/credential\nSPACED=\"op://Work/AWS/Access Keys/id\"\nC=op://Private/Db/password\n",
    );
    let (out, vars) = exec_env(&env, &dir, &fakes);
    assert!(out.status.success(), "exec failed: {}", stderr(&out));
    let secret = |reference: &str| format!("{SECRET}:{reference}\nline 2");
    assert!(is(&vars, "A", &secret("op://Private/Db/password")), "A");
    assert!(is(&vars, "B", &secret("op://Work/Api/credential")), "B");
    assert!(is(&vars, "C", &secret("op://Private/Db/password")), "C");
    assert!(
        is(&vars, "SPACED", &secret("op://Work/AWS/Access Keys/id")),
        "SPACED"
    );
    // The references went on standard input, never argv; the one the template syntax cannot
    // hold (a space) was read on its own.
    assert_eq!(
        fakes.calls("op"),
        [
            vec!["inject"],
            vec!["read", "--no-newline", "--", "op://Work/AWS/Access Keys/id"]
        ]
    );
}

#[test]
fn an_op_without_inject_or_a_failed_inject_reads_each_reference() {
    let env = TestEnv::new();
    let fakes = FakeClis::new(&env);
    fakes.add(
        "op",
        "case \"$1\" in\n\
         inject) echo '[ERROR] unknown command \"inject\" for \"op\"' >&2; exit 1;;\n\
         read) [ \"$4\" = op://v/gone/f ] && { echo '[ERROR] \"gone\" isn'\"'\"'t an item in the \"v\" vault' >&2; exit 1; }; printf 'x';;\n\
         esac",
    );
    let dir = env.allowed_project("p", "A=op://v/i/f\nB=op://v/j/f\n");
    let (out, vars) = exec_env(&env, &dir, &fakes);
    assert!(out.status.success(), "exec failed: {}", stderr(&out));
    assert!(is(&vars, "A", "x") && is(&vars, "B", "x"));
    assert_eq!(fakes.calls("op").len(), 3, "inject, then one read each");

    // A failed inject names no reference: reading each one says which.
    fs::write(dir.join(".env"), "A=op://v/i/f\nB=op://v/gone/f\n").unwrap();
    assert!(env.run(&dir, ["allow"]).status.success());
    let (out, _) = exec_env(&env, &dir, &fakes);
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert!(
        message.contains(":2: B = `op://v/gone/f` could not be resolved: `op` failed: [ERROR] \"gone\" isn't an item"),
        "{message}"
    );
    assert!(message.contains("op signin"), "{message}");
}

/// `providers.toml` in the test's config dir, with `mode`.
fn providers_toml(env: &TestEnv, contents: &str, mode: u32) {
    let dir = env.root.path().join("config").join("envguard");
    fs::create_dir_all(&dir).unwrap();
    write_mode(&dir.join("providers.toml"), contents, mode);
}

#[test]
fn a_user_scheme_runs_the_program_providers_toml_names() {
    let env = TestEnv::new();
    let fakes = FakeClis::new(&env);
    // A real program in the role of `bw`: it answers for one item, as `bw get password` does.
    fakes.add(
        "vaultish",
        &format!("[ \"$3\" = 'item one;$(x)' ] && printf '%s\\n' '{SECRET}'"),
    );
    providers_toml(
        &env,
        "# my password manager\n[schemes.bw]\nargv = [\"vaultish\", \"get\", \"password\", \"{ref}\"]\n",
        0o644,
    );
    let dir = env.allowed_project("p", "PW='bw://item one;$(x)'\nURL=https://example.com\n");
    let (out, vars) = exec_env(&env, &dir, &fakes);
    assert!(out.status.success(), "exec failed: {}", stderr(&out));
    assert!(is(&vars, "PW", SECRET), "PW was not the program's answer");
    assert!(is(&vars, "URL", "https://example.com"));
    assert_eq!(
        fakes.calls("vaultish"),
        [["get", "password", "item one;$(x)"]]
    );
    let list = common::stdout(
        &env.cmd(&dir, ["list"])
            .env("PATH", fakes.path())
            .output()
            .unwrap(),
    );
    assert!(
        list.contains("bw://item one;$(x) → **** (fetched with `vaultish` on load)"),
        "{list}"
    );

    // A reference that would be an option is refused before anything runs.
    fs::write(dir.join(".env"), "PW=bw://--session=stolen\n").unwrap();
    assert!(env.run(&dir, ["allow"]).status.success());
    let (out, _) = exec_env(&env, &dir, &fakes);
    assert!(stderr(&out).contains("starts with `-`, which its program would read as an option"));
    assert_eq!(fakes.calls("vaultish").len(), 1);
}

#[test]
fn a_providers_toml_others_can_write_or_that_redefines_a_built_in_is_refused() {
    let env = TestEnv::new();
    let fakes = FakeClis::new(&env);
    fakes.add("vaultish", &printing(SECRET));
    let dir = env.allowed_project("p", "PW=bw://item\n");
    providers_toml(
        &env,
        "[schemes.bw]\nargv = [\"vaultish\", \"{ref}\"]\n",
        0o666,
    );
    let (out, _) = exec_env(&env, &dir, &fakes);
    assert_eq!(out.status.code(), Some(1));
    let message = stderr(&out);
    assert!(
        message.contains("your providers.toml has mode 0666 and is writable by others"),
        "{message}"
    );
    assert!(message.contains("chmod 644"), "{message}");

    providers_toml(
        &env,
        "[schemes.op]\nargv = [\"vaultish\", \"{ref}\"]\n",
        0o644,
    );
    let (out, _) = exec_env(&env, &dir, &fakes);
    let message = stderr(&out);
    assert!(
        message.contains("providers.toml:1: `op` is a built-in scheme, which cannot be redefined"),
        "{message}"
    );
    assert!(message.contains("correct line 1 of"), "{message}");
    assert!(fakes.no_calls(), "a refused config ran its program");
}

#[test]
fn literal_escapes_a_value_that_looks_like_a_reference() {
    let env = TestEnv::new();
    let fakes = FakeClis::new(&env);
    fakes.add("op", &printing(SECRET));
    let dir = env.allowed_project(
        "p",
        "URL=literal:op://not-a-ref\nTWICE=literal:literal:op://x\nPLAIN=literal:plain\n",
    );
    let (out, vars) = exec_env(&env, &dir, &fakes);
    assert!(out.status.success(), "exec failed: {}", stderr(&out));
    assert!(is(&vars, "URL", "op://not-a-ref"));
    assert!(is(&vars, "TWICE", "literal:op://x"));
    assert!(
        is(&vars, "PLAIN", "literal:plain"),
        "other values are untouched"
    );
    assert!(fakes.no_calls(), "an escaped value was fetched");
    let check = common::stdout(
        &env.cmd(&dir, ["check"])
            .env("PATH", fakes.path())
            .output()
            .unwrap(),
    );
    assert!(!check.contains("reference"), "{check}");
}

#[test]
fn check_asks_each_cli_whether_it_answers_and_shows_only_its_first_error_line() {
    let env = TestEnv::new();
    let fakes = FakeClis::new(&env);
    fakes.add(
        "op",
        "echo '[ERROR] 2026/12/02 account is not signed in' >&2; echo 'more' >&2; exit 1",
    );
    recorded_real_aws(&fakes);
    let dir = env.allowed_project("p", "A=op://v/i/f\nB=op://v/j/f\nC=aws-sm://x\n");
    let out = env
        .cmd(&dir, ["check"])
        .envs(aws_env(moto_endpoint()))
        .env("PATH", format!("{}:{}", fakes.bin.display(), fakes.path()))
        .env("ENVGUARD_RESOLVE_TIMEOUT", "300")
        .output()
        .unwrap();
    let check = common::stdout(&out);
    assert!(
        check.contains("! `op` is not answering: `op whoami`: `op` failed: [ERROR] 2026/12/02 account is not signed in"),
        "{check}"
    );
    assert!(!check.contains("more"), "{check}");
    assert!(check.contains("fix: run `op signin`"), "{check}");
    assert!(
        check.contains("✓ `aws` is answering (signed in)"),
        "{check}"
    );
    assert_eq!(
        fakes.calls("op"),
        [["whoami"]],
        "one probe per CLI, no fetch"
    );
    assert_eq!(fakes.calls("aws"), [["sts", "get-caller-identity"]]);
}

#[test]
fn status_reports_references_without_fetching_them() {
    let env = TestEnv::new();
    let fakes = FakeClis::new(&env);
    fakes.add("op", &printing(SECRET));
    // An escaped value is plain text, not a third reference.
    let dir = env.allowed_project(
        "p",
        "A=op://v/i/f\nB=op://v/j/f\nC=plain\nD=literal:op://not/a/ref\n",
    );
    let status = |dir: &Path| {
        let out = env
            .cmd(dir, ["status"])
            .env("PATH", fakes.path())
            .output()
            .unwrap();
        assert_not_leaked(&out, SECRET);
        common::stdout(&out)
    };
    let said = status(&dir);
    assert!(
        said.contains("would load if its 2 references resolve (not fetched by status"),
        "{said}"
    );
    assert!(fakes.no_calls(), "status ran a provider CLI");

    let dir = env.allowed_project("q", "A=aws-sm://\n");
    let said = status(&dir);
    assert!(
        said.contains("refused:") && said.contains("names no secret"),
        "{said}"
    );
}

#[test]
fn exec_at_a_prompt_lets_a_cli_ask_on_the_terminal_and_the_hook_never_does() {
    let env = TestEnv::new();
    let fakes = FakeClis::new(&env);
    // Signed out: it asks on the terminal when it has one, as `op` asks for a password.
    fakes.add(
        "op",
        &format!(
            "if [ -t 0 ]; then printf 'op-asks-sign-in: ' >&2; read -r answer; \
             [ \"$answer\" = yes ] && printf '%s' '{SECRET}' && exit 0; fi\n\
             echo '[ERROR] You are not currently signed in.' >&2; exit 1"
        ),
    );
    let dir = env.allowed_project("p", "TOKEN=op://v/i/f\n");
    let mut sh = Session::start_with(
        &env,
        ShellKind::Bash,
        &env.work(),
        &format!("export PATH={}:\"$PATH\"", fakes.bin.display()),
    );
    sh.hide(SECRET);
    let entered = sh.cd(&dir);
    assert!(
        !entered.contains("op-asks-sign-in"),
        "the hook let a CLI prompt"
    );
    assert!(entered.contains("run `op signin`"), "{entered}");
    assert!(!sh.dump().contains_key("TOKEN"));

    sh.type_line("envguard exec -- sh -c 'echo \"token-bytes=${#TOKEN}\"'");
    sh.wait_for("op-asks-sign-in: ");
    sh.type_line("yes");
    sh.wait_for(&format!("token-bytes={}", SECRET.len()));
    sh.wait_prompt();
}

#[test]
fn a_cli_reading_a_terminal_it_was_not_given_is_refused_at_once_not_at_the_timeout() {
    let env = TestEnv::new();
    let fakes = FakeClis::new(&env);
    fakes.add(
        "vault",
        "read -r answer </dev/tty || { echo 'vault: cannot read the terminal' >&2; exit 2; }; printf x",
    );
    let dir = env.allowed_project("p", "TOKEN=vault://secret/app#token\n");
    let mut sh = Session::start_with(
        &env,
        ShellKind::Bash,
        &env.work(),
        &format!("export PATH={}:\"$PATH\"", fakes.bin.display()),
    );
    let started = std::time::Instant::now();
    // The hook's shell ignores SIGTTIN, so the read fails rather than stops.
    let entered = sh.cd(&dir);
    assert!(
        entered.contains("`vault` failed: vault: cannot read the terminal"),
        "{entered}"
    );
    assert!(entered.contains("run `vault login`"), "{entered}");
    assert!(!sh.dump().contains_key("TOKEN"));
    // `exec` whose output is not the terminal withholds it; a foreground job's CLI that
    // reads the terminal from its own group is stopped by the kernel, and refused then.
    let said = sh.run("envguard exec -- true >/dev/null");
    assert!(
        said.contains("`vault` wants to ask something on the terminal, which it cannot have here"),
        "{said}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "a run waited for the resolve timeout"
    );
}

/// What a reference built with `${...}` is refused with, whatever it was built from.
const BUILT_WITH_SUBSTITUTION: &str = "is a reference built with ${...}, which would put another \
     variable's value into the reference and the provider's command line";
const BUILT_WITH_SUBSTITUTION_FIX: &str =
    "write the reference out in full, or escape the text with literal: if it is not a reference";

#[test]
fn a_reference_built_with_substitution_is_refused_and_its_text_never_shown_or_sent() {
    const TOKEN: &str = "ghp_S3cretTokenNotToShow0123456789";
    let env = TestEnv::new();
    let fakes = FakeClis::new(&env);
    fakes
        .add("aws", &aws_answer(&format!("\"{SECRET}\"")))
        .add("op", &printing(SECRET))
        .add("vault", &printing(SECRET));
    // From the file, from the outer environment, quoted or not; each project's line 2.
    for (name, contents, variable) in [
        (
            "file",
            "TOKEN=ghp_S3cretTokenNotToShow0123456789\nR=aws-sm://${TOKEN}\n",
            "R",
        ),
        ("outer", "A=plain\nP=op://v/${OUTER_SECRET}/f\n", "P"),
        ("quoted", "A=plain\nQ='op://v/${OUTER_SECRET}/f'\n", "Q"),
        ("double", "A=plain\nD=\"vault://x#${OUTER_SECRET}\"\n", "D"),
        ("default", "A=plain\nF=aws-sm://${MISSING:-prod/db}\n", "F"),
    ] {
        let dir = env.project(name, contents, 0o600);
        let run = |args: &[&str]| {
            let out = env
                .cmd(&dir, args)
                .env("PATH", fakes.path())
                .env("OUTER_SECRET", TOKEN)
                .output()
                .unwrap();
            assert_not_leaked(&out, TOKEN);
            out
        };
        assert!(run(&["allow"]).status.success(), "{name}: allow failed");
        let refusal = format!(
            ":2: {variable} {BUILT_WITH_SUBSTITUTION} (fix: {BUILT_WITH_SUBSTITUTION_FIX})"
        );

        let exec = run(&["exec", "--", "env", "-0"]);
        assert_eq!(exec.status.code(), Some(1), "{name}: exec was not refused");
        assert!(
            stderr(&exec).contains(&refusal),
            "{name}: {}",
            stderr(&exec)
        );
        assert!(exec.stdout.is_empty(), "{name}: the command ran");

        let list = common::stdout(&run(&["list"]));
        let hint = "(not shown) a reference built with ${...}, which a load refuses: write it \
                    out in full";
        assert!(
            list.lines().any(|line| line
                .strip_prefix(&format!("  {variable} "))
                .is_some_and(|rest| rest.trim_start() == hint)),
            "{name}: {list}"
        );
        assert!(
            list.contains(&format!(
                "refused: {variable} {BUILT_WITH_SUBSTITUTION} (fix: {BUILT_WITH_SUBSTITUTION_FIX})"
            )),
            "{name}: {list}"
        );
        for args in [&["check"][..], &["check", "--resolve"]] {
            let check = common::stdout(&run(args));
            assert!(
                check.contains(&format!(
                    "✗ line 2: {variable} {BUILT_WITH_SUBSTITUTION}\n      fix: {BUILT_WITH_SUBSTITUTION_FIX}\n"
                )),
                "{name}: {check}"
            );
            assert!(
                check.contains("refused: nothing will load"),
                "{name}: {check}"
            );
        }
        let status = common::stdout(&run(&["status"]));
        assert!(
            status.contains("refused: ") && status.contains(&refusal),
            "{name}: {status}"
        );
        assert!(fakes.no_calls(), "{name}: a provider CLI was started");
    }
}

#[test]
fn a_substituted_value_escaped_with_literal_loads_as_text_and_written_references_still_work() {
    let env = TestEnv::new();
    let fakes = FakeClis::new(&env);
    fakes.add("op", &printing(SECRET));
    let dir = env.allowed_project(
        "p",
        "HOST=example.com\nURL=literal:op://${HOST}/x\nREF=op://v/i/f\nODD=op://v/${HOST\n",
    );
    let (out, vars) = exec_env(&env, &dir, &fakes);
    assert!(out.status.success(), "exec failed: {}", stderr(&out));
    assert!(is(&vars, "URL", "op://example.com/x"));
    assert!(is(&vars, "REF", SECRET));
    // An unclosed `${` is not substitution: the reference is as written.
    assert!(is(&vars, "ODD", SECRET));
    let mut calls = fakes.calls("op");
    calls
        .iter_mut()
        .for_each(|argv| argv.retain(|a| a.starts_with("op://")));
    assert!(
        calls.iter().flatten().all(|a| !a.contains("example.com")),
        "{calls:?}"
    );
}

#[test]
fn a_user_scheme_element_starting_with_the_reference_refuses_one_starting_with_a_dash() {
    let env = TestEnv::new();
    let fakes = FakeClis::new(&env);
    fakes.add("vaultish", &printing(SECRET));
    providers_toml(
        &env,
        "[schemes.bw]\nargv = [\"vaultish\", \"get\", \"{ref}/password\"]\n",
        0o644,
    );
    let dir = env.allowed_project("p", "PW=bw://-x\n");
    let (out, _) = exec_env(&env, &dir, &fakes);
    assert_eq!(out.status.code(), Some(1), "exec was not refused");
    assert!(
        stderr(&out).contains(
            ":1: PW = `bw://-x` could not be resolved: starts with `-`, which its program would read as an option"
        ),
        "{}",
        stderr(&out)
    );
    assert!(fakes.no_calls(), "the program was started");

    // The same element with a reference that cannot be an option runs.
    fs::write(dir.join(".env"), "PW=bw://item\n").unwrap();
    assert!(env.run(&dir, ["allow"]).status.success());
    let (out, vars) = exec_env(&env, &dir, &fakes);
    assert!(out.status.success(), "exec failed: {}", stderr(&out));
    assert!(is(&vars, "PW", SECRET));
    assert_eq!(fakes.calls("vaultish"), [["get", "item/password"]]);
}

#[test]
fn files_loaded_together_start_no_cli_when_a_later_one_is_refused() {
    // A team's `.env.shared` then a `.env`: both are admitted before anything is fetched.
    let env = TestEnv::new();
    let fakes = FakeClis::new(&env);
    fakes.add("aws", &printing(SECRET));
    let dir = env.allowed_project("p", "A=aws-sm://db\n");
    common::write_mode(&dir.join("later.env"), "B=plain\n", 0o600);
    let out = env
        .cmd(
            &dir,
            ["exec", "-f", ".env", "-f", "later.env", "--", "true"],
        )
        .env("PATH", fakes.path())
        .output()
        .unwrap();
    assert_not_leaked(&out, SECRET);
    assert!(!out.status.success(), "an unallowed file loaded");
    assert!(
        stderr(&out).contains("is not allowed yet"),
        "{}",
        stderr(&out)
    );
    assert!(
        fakes.no_calls(),
        "a provider CLI ran for a load that was refused"
    );
}
