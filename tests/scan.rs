//! `envguard scan` over files and notebooks: known values, token shapes, bait that must stay
//! silent, output formats, baselines, and notebook redaction checked by the real nbformat.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{TestEnv, assert_not_leaked, stderr, stdout};

const OPENAI: &str = "sk-proj-Qm2Lp7Vt4Rw8Ks1Nb6Hc3Zx9Qm2Lp7Vt4Rw8Ks1N";
/// A secret with no recognisable shape: only known-value matching can find it.
const DB_PASSWORD: &str = "correct-horse-battery-staple-42";
const ENV: &str = "OPENAI_API_KEY=sk-proj-Qm2Lp7Vt4Rw8Ks1Nb6Hc3Zx9Qm2Lp7Vt4Rw8Ks1N\nDB_PASSWORD=correct-horse-battery-staple-42\nDEBUG=true\nPORT=8080\n";

/// A project `name` with `env_file` as its `.env` (mode `mode`) and `files` written beside it.
fn project(
    env: &TestEnv,
    name: &str,
    env_file: &str,
    mode: u32,
    files: &[(&str, &str)],
) -> PathBuf {
    let dir = env.project(name, env_file, mode);
    for (file, contents) in files {
        fs::write(dir.join(file), contents).unwrap();
    }
    dir
}

/// The scan's report holds each of `expected` (the report is masked, so printing it is safe).
fn assert_reports(out: &Output, expected: &[&str]) {
    let text = stdout(out);
    for line in expected {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

fn assert_clean_of_secrets(out: &Output) {
    assert_not_leaked(out, OPENAI);
    assert_not_leaked(out, DB_PASSWORD);
}

fn python() -> String {
    std::env::var("ENVGUARD_TEST_PYTHON")
        .expect("ENVGUARD_TEST_PYTHON must name the test venv's python (see scripts/test)")
}

#[test]
fn finds_known_values_in_every_encoding_and_token_shapes_without_printing_them() {
    let env = TestEnv::new();
    let settings = format!(
        "DB = \"{DB_PASSWORD}\"\nclient = OpenAI(api_key=\"{OPENAI}\")\naws = \"AKIAQYLPMN5HFIQR7X2B\"\n"
    );
    let log = format!(
        "GET /login?pw={}\n",
        DB_PASSWORD.replace("staple", "st%61ple")
    );
    let dir = project(
        &env,
        "app",
        ENV,
        0o600,
        &[("settings.py", &settings), ("log.txt", &log)],
    );

    let out = env.run(&dir, ["scan"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_clean_of_secrets(&out);
    assert_reports(
        &out,
        &[
            "settings.py:1:7: known-value DB_PASSWORD (co…42, 31 chars)",
            "settings.py:2:26: known-value OPENAI_API_KEY",
            "settings.py:3:8: aws-access-key-id AWS access key id",
        ],
    );
    // A partial match is not a match: an exact value has no near misses.
    assert!(!stdout(&out).contains("log.txt"), "{}", stdout(&out));
    // The .env itself is where values belong: never reported, even with --all.
    let all = env.run(&dir, ["scan", "--all"]);
    assert!(!stdout(&all).contains(".env"), "{}", stdout(&all));
}

#[test]
fn encodings_json_url_and_base64_are_found() {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode("p@ss/w0rd\"quoted\"+x");
    let env = TestEnv::new();
    let dir = project(
        &env,
        "enc",
        "API_TOKEN=p@ss/w0rd\"quoted\"+x\n",
        0o600,
        &[
            ("a.json", "{\"t\": \"p@ss/w0rd\\\"quoted\\\"+x\"}\n"),
            ("b.txt", "https://h/?t=p%40ss%2Fw0rd%22quoted%22%2Bx\n"),
            ("c.yaml", &format!("data:\n  token: {b64}\n")),
        ],
    );
    let out = env.run(&dir, ["scan"]);
    assert_reports(
        &out,
        &[
            "a.json:1:8: known-value API_TOKEN (JSON-escaped)",
            "b.txt:1:14: known-value API_TOKEN (URL-encoded)",
            "c.yaml:2:10: known-value API_TOKEN (base64)",
        ],
    );
    assert_not_leaked(&out, "p@ss/w0rd");
}

#[test]
fn bait_stays_silent() {
    let env = TestEnv::new();
    let bait_py = r#"request_id = "550e8400-e29b-41d4-a716-446655440000"
OPENAI_API_KEY = "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
api_key = "YOUR_API_KEY"
token = "<token>"
password = "changeme"
DATABASE_URL = "postgres://app:changeme@localhost/app"
commit = "9fceb02d0ae598e95dc970b74767f19372d61af8"
debug = True  # PORT=8080 and DEBUG=true are in .env but mean nothing
"#;
    let lock = r#"{"packages": {"node_modules/x": {"integrity": "sha512-Q2x9mLp7Vt4Rw8Ks1Nb6Hc3Zx9Qm2Lp7Vt4Rw8Ks1Nb6Hc3Zx9Qm2Lp7Vt4Rw8Ks1Nb6Hc3Zx9Qm2Lp7Vt4Rw8==", "resolved": "https://registry.npmjs.org/x/-/x-1.0.0.tgz"}}}"#;
    let checksum =
        "checksum = \"e7e9cc8b1b85264074fbcc02a88680c4096b1e47df8f739dceb03bf482f04bd6\"\n";
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    let page = format!("<img src=\"data:image/png;base64,{}\">\n", png.repeat(20));
    let dir = project(
        &env,
        "bait",
        ENV,
        0o600,
        &[
            ("bait.py", bait_py),
            ("package-lock.json", lock),
            ("Cargo.lock", checksum),
            ("page.html", &page),
        ],
    );
    let out = env.run(&dir, ["scan"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "bait reported:\n{}",
        stdout(&out)
    );
}

#[test]
fn allow_comment_baseline_and_exit_codes() {
    let env = TestEnv::new();
    let allowed = format!("x = \"{DB_PASSWORD}\"  # envguard:allow\n");
    let dir = project(&env, "allow", ENV, 0o600, &[("ok.py", &allowed)]);
    assert_eq!(env.run(&dir, ["scan"]).status.code(), Some(0));

    fs::write(dir.join("old.py"), format!("x = \"{DB_PASSWORD}\"\n")).unwrap();
    let written = env.run(&dir, ["scan", "--write-baseline", "baseline.json"]);
    assert_eq!(written.status.code(), Some(0), "{}", stderr(&written));
    let baseline = fs::read_to_string(dir.join("baseline.json")).unwrap();
    assert!(!baseline.contains(DB_PASSWORD) && baseline.contains("fingerprint"));
    assert_eq!(
        env.run(&dir, ["scan", "--baseline", "baseline.json"])
            .status
            .code(),
        Some(0)
    );

    fs::write(dir.join("new.py"), format!("y = \"{OPENAI}\"\n")).unwrap();
    let out = env.run(&dir, ["scan", "--baseline", "baseline.json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("new.py") && !stdout(&out).contains("old.py"));

    let missing = env.run(&dir, ["scan", "no-such-dir"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).starts_with("envguard: "),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn json_and_sarif_carry_no_value() {
    let env = TestEnv::new();
    let dir = project(
        &env,
        "fmt",
        ENV,
        0o600,
        &[("a.py", &format!("k = \"{OPENAI}\"\n"))],
    );
    let json = env.run(&dir, ["scan", "--format", "json"]);
    assert_clean_of_secrets(&json);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["findings"][0]["name"], "OPENAI_API_KEY");
    assert_eq!(doc["findings"][0]["line"], 1);
    let sarif = env.run(&dir, ["scan", "--format", "sarif"]);
    assert_clean_of_secrets(&sarif);
    let doc: serde_json::Value = serde_json::from_slice(&sarif.stdout).unwrap();
    assert_eq!(doc["version"], "2.1.0");
    assert_eq!(doc["runs"][0]["results"][0]["ruleId"], "known-value");
}

#[test]
fn gitignore_binary_and_size_limits_are_respected_and_counted() {
    let env = TestEnv::new();
    let dir = env.project("walk", ENV, 0o600);
    fs::write(dir.join(".gitignore"), "build/\n").unwrap();
    fs::create_dir(dir.join("build")).unwrap();
    fs::write(dir.join("build/out.js"), format!("k='{OPENAI}'\n")).unwrap();
    fs::write(
        dir.join("blob.bin"),
        [b"\0\0".as_slice(), OPENAI.as_bytes()].concat(),
    )
    .unwrap();
    fs::write(dir.join("big.txt"), format!("{}{OPENAI}", "a".repeat(2000))).unwrap();
    let out = env.run(&dir, ["scan", "--max-file-size", "1000"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("skipped 1 binary, 1 over --max-file-size"),
        "{}",
        stderr(&out)
    );
    let all = env.run(&dir, ["scan", "--all", "--max-file-size", "1000"]);
    assert_reports(&all, &["build/out.js:1:4: known-value OPENAI_API_KEY"]);
}

#[test]
fn loose_env_is_still_searched_and_reported_loose_but_a_broken_one_is_a_warning() {
    let env = TestEnv::new();
    let source = format!("k = \"{DB_PASSWORD}\"\nk2 = \"AKIAQYLPMN5HFIQR7X2B\"\n");
    let dir = project(&env, "loose", ENV, 0o644, &[("a.py", &source)]);
    let out = env.run(&dir, ["scan"]);
    assert_eq!(out.status.code(), Some(1));
    assert_clean_of_secrets(&out);
    assert!(
        stderr(&out).contains("mode 0644") && stderr(&out).contains("fix: chmod 600"),
        "{}",
        stderr(&out)
    );
    assert_reports(
        &out,
        &["a.py:1:6: known-value DB_PASSWORD", "aws-access-key-id"],
    );

    let broken = project(
        &env,
        "broken",
        "DB_PASSWORD=\"unterminated\n",
        0o600,
        &[("a.py", &source)],
    );
    let out = env.run(&broken, ["scan"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("warning:") && stderr(&out).contains("not searched for"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("aws-access-key-id") && !stdout(&out).contains("DB_PASSWORD"));
}

/// A notebook written by nbformat itself, with the secrets where they really leak.
fn write_notebook(path: &Path) {
    let script = format!(
        r##"
import nbformat, sys
from nbformat.v4 import new_notebook, new_code_cell, new_markdown_cell, new_output
png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
nb = new_notebook(cells=[
    new_markdown_cell("# Analysis\nNothing secret here."),
    new_code_cell("import os\nprint(os.environ['DB_PASSWORD'])", outputs=[
        new_output("stream", name="stdout", text="connecting\n{DB_PASSWORD}\n"),
    ]),
    new_code_cell("client = make()\nclient", outputs=[
        new_output("execute_result", execution_count=3, data={{
            "text/plain": "Client(key='{OPENAI}')",
            "text/html": "<b>key</b>: {OPENAI}",
        }}),
        new_output("display_data", data={{"image/png": png, "text/plain": "<Figure>"}}),
    ]),
    new_code_cell("connect('{DB_PASSWORD}')", outputs=[
        new_output("error", ename="AuthError", evalue="bad password",
                   traceback=["\u001b[0;31mAuthError\u001b[0m", "  password='{DB_PASSWORD}' rejected"]),
    ]),
])
nbformat.write(nb, sys.argv[1])
"##
    );
    let status = Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(path)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "nbformat could not write the test notebook"
    );
}

#[test]
fn notebook_findings_by_cell_and_redaction_in_place() {
    let env = TestEnv::new();
    let dir = env.project("nb", ENV, 0o600);
    let path = dir.join("analysis.ipynb");
    write_notebook(&path);
    let before = fs::read(&path).unwrap();

    let out = env.run(&dir, ["scan"]);
    assert_eq!(out.status.code(), Some(1));
    assert_clean_of_secrets(&out);
    assert_reports(
        &out,
        &[
            "analysis.ipynb[cell 2 output 1]:2:1: known-value DB_PASSWORD",
            "analysis.ipynb[cell 3 output 1]:1:13: known-value OPENAI_API_KEY",
            "analysis.ipynb[cell 4 source]:1:10: known-value DB_PASSWORD",
            "analysis.ipynb[cell 4 output 1]:2:13: known-value DB_PASSWORD",
        ],
    );
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 5, "{text}");
    assert!(
        text.find("cell 2 output 1") < text.find("cell 4 source"),
        "findings out of order:\n{text}"
    );

    let redacted = env.run(&dir, ["scan", "--redact"]);
    assert_eq!(redacted.status.code(), Some(0), "{}", stderr(&redacted));
    assert!(stderr(&redacted).contains("redacted analysis.ipynb"));
    let after = fs::read_to_string(&path).unwrap();
    assert!(!after.contains(DB_PASSWORD) && !after.contains(OPENAI));
    assert!(
        after.contains("<redacted:DB_PASSWORD>") && after.contains("<redacted:OPENAI_API_KEY>")
    );
    // Everything but the secrets is byte-identical.
    let expected = String::from_utf8(before)
        .unwrap()
        .replace(DB_PASSWORD, "<redacted:DB_PASSWORD>")
        .replace(OPENAI, "<redacted:OPENAI_API_KEY>");
    assert!(after == expected, "redaction changed more than the secrets");
    let valid = Command::new(python())
        .args([
            "-c",
            "import nbformat, sys; nbformat.validate(nbformat.read(sys.argv[1], as_version=4))",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        valid.status.success(),
        "nbformat rejected the redacted notebook: {}",
        stderr(&valid)
    );
    assert_eq!(env.run(&dir, ["scan"]).status.code(), Some(0));
}

#[test]
fn notebook_json_escapes_do_not_hide_a_secret() {
    // Valid JSON that no raw search for the value or its usual JSON form would match.
    let notebook = r#"{"cells": [{"cell_type": "code", "execution_count": 1, "id": "a", "metadata": {},
  "source": ["x = 'correct-horse-b\u0061ttery-staple-42'\n", "y = 'tok\/Qm2Lp7Vt4Rw8Ks1N'"],
  "outputs": []}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"#;
    // A token glued to a `\n` escape: in the raw text no word boundary precedes it.
    let glued = r#"{"cells": [{"cell_type": "code", "execution_count": 1, "id": "a", "metadata": {},
  "source": [], "outputs": [{"output_type": "error", "ename": "E", "traceback": [],
    "evalue": "bad token\n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"}]}],
  "metadata": {}, "nbformat": 4, "nbformat_minor": 5}"#;
    let env = TestEnv::new();
    let dir = project(
        &env,
        "escaped",
        "API_URL_TOKEN=tok/Qm2Lp7Vt4Rw8Ks1N\nDB_PASSWORD=correct-horse-battery-staple-42\n",
        0o600,
        &[("hidden.ipynb", notebook), ("glued.ipynb", glued)],
    );
    let out = env.run(&dir, ["scan"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_not_leaked(&out, DB_PASSWORD);
    assert_not_leaked(&out, "tok/Qm2Lp7Vt4Rw8Ks1N");
    assert_reports(
        &out,
        &[
            "hidden.ipynb[cell 1 source]:1:6: known-value DB_PASSWORD",
            "hidden.ipynb[cell 1 source]:2:6: known-value API_URL_TOKEN",
            "glued.ipynb[cell 1 output 1]:2:1: github-token GitHub token",
        ],
    );
}
