//! References to secret managers through the real binary, with fake provider CLIs on `PATH`
//! that record the argv they were given: what is checked is the argv each vendor documents
//! (the real services are not reached), that a reference stays one argument that cannot
//! become an option, and that nothing runs before the file is allowed.

mod common;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

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

fn printing(value: &str) -> String {
    format!("printf '%s' '{value}'")
}

#[test]
fn each_scheme_runs_its_documented_argv_and_loads_the_value() {
    let env = TestEnv::new();
    let fakes = FakeClis::new(&env);
    fakes
        .add("aws", &format!("printf '%s\\n' '{SECRET}'"))
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
            "--query=SecretString",
            "--output=text",
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
    fakes.add(
        "aws",
        &format!("printf '%s\\n' '{{\"user\":\"app\",\"password\":\"{SECRET}\"}}'"),
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
        .add("aws", "echo x")
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

    for args in [["check"].as_slice(), ["list"].as_slice()] {
        let out = env
            .cmd(&dir, args)
            .env("PATH", fakes.path())
            .output()
            .unwrap();
        assert_not_leaked(&out, SECRET);
    }
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
    assert!(stderr(&out).contains("`vault` did not answer in time (ENVGUARD_RESOLVE_TIMEOUT)"));
}

#[test]
fn twenty_references_all_resolve() {
    let env = TestEnv::new();
    let fakes = FakeClis::new(&env);
    fakes.add("aws", "printf '%s-%s\\n' 'value' \"${3#--secret-id=}\"");
    let contents: String = (0..20).map(|i| format!("V{i}=aws-sm://s{i}\n")).collect();
    let dir = env.allowed_project("p", &contents);
    let (out, vars) = exec_env(&env, &dir, &fakes);
    assert!(out.status.success(), "exec failed: {}", stderr(&out));
    for i in 0..20 {
        assert!(is(&vars, &format!("V{i}"), &format!("value-s{i}")), "V{i}");
    }
    assert_eq!(fakes.calls("aws").len(), 20);
}
