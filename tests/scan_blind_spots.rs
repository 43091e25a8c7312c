//! The places a value used to hide from `scan`: HTML-escaped outputs, every part of a notebook,
//! lines a notebook splits, hostile file names; and what a scan must keep: a notebook's owner
//! on redaction, fingerprints that mean nothing off this machine.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{TestEnv, assert_not_leaked, stderr, stdout};
use serde_json::json;

/// A password with every character HTML escapes.
const PASSWORD: &str = "Tr0ub4<d&r>\"x'9Zq";
const ENV: &str = "DB_PASSWORD='Tr0ub4<d&r>\"x\\'9Zq'\nAPI_TOKEN=Zq8vN3mXr7TbW2kL9pQs\n";
const TOKEN: &str = "Zq8vN3mXr7TbW2kL9pQs";

fn python() -> String {
    std::env::var("ENVGUARD_TEST_PYTHON")
        .expect("ENVGUARD_TEST_PYTHON must name the test venv's python (see scripts/test)")
}

fn project(env: &TestEnv, name: &str) -> PathBuf {
    env.project(name, ENV, 0o600)
}

fn html_escaped(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

fn assert_clean(out: &std::process::Output) {
    assert_not_leaked(out, PASSWORD);
    assert_not_leaked(out, TOKEN);
    assert_not_leaked(out, &html_escaped(PASSWORD));
}

fn nbformat_validates(path: &Path) -> bool {
    Command::new(python())
        .args([
            "-c",
            "import nbformat, sys; nbformat.validate(nbformat.read(sys.argv[1], as_version=4))",
        ])
        .arg(path)
        .status()
        .unwrap()
        .success()
}

#[test]
fn html_escaped_values_are_found_and_redacted() {
    let env = TestEnv::new();
    let dir = project(&env, "html");
    // A pandas DataFrame's HTML as nbformat stores it, and the same page exported by nbconvert.
    let table = format!(
        "<table>\n<tr><td>{}</td></tr>\n</table>\n",
        html_escaped(PASSWORD)
    );
    let notebook = json!({
        "cells": [{
            "cell_type": "code", "execution_count": 1, "id": "a", "metadata": {},
            "source": ["df"],
            "outputs": [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                "data": {"text/html": table, "text/plain": "   password\n0  (hidden)"}}],
        }],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    });
    let path = dir.join("frame.ipynb");
    fs::write(&path, serde_json::to_string_pretty(&notebook).unwrap()).unwrap();
    fs::write(
        dir.join("export.html"),
        format!("<pre>{}</pre>\n", html_escaped(PASSWORD)),
    )
    .unwrap();

    let out = env.run(&dir, ["scan"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_clean(&out);
    let text = stdout(&out);
    assert!(
        text.contains("frame.ipynb[cell 1 output 1]:2:9: known-value DB_PASSWORD (HTML-escaped)")
            && text.contains("export.html:1:6: known-value DB_PASSWORD (HTML-escaped)"),
        "{text}"
    );

    let redacted = env.run(&dir, ["scan", "--redact", "frame.ipynb"]);
    assert_eq!(redacted.status.code(), Some(0), "{}", stderr(&redacted));
    let after = fs::read_to_string(&path).unwrap();
    assert!(
        !after.contains(&html_escaped(PASSWORD)) && after.contains("<redacted:DB_PASSWORD>"),
        "the escaped value survived redaction"
    );
    assert!(nbformat_validates(&path));
}

#[test]
fn python_repr_of_a_multiline_value_is_found() {
    let env = TestEnv::new();
    let dir = env.project(
        "repr",
        "CERT=\"line-one-\\\"quoted\\\"\nline-two's-end\"\n",
        0o600,
    );
    // What `print(repr(os.environ["CERT"]))` shows.
    fs::write(
        dir.join("log.txt"),
        "'line-one-\"quoted\"\\nline-two\\'s-end'\n",
    )
    .unwrap();
    let out = env.run(&dir, ["scan"]);
    assert!(
        stdout(&out).contains("log.txt:1:2: known-value CERT (Python repr)"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

/// A notebook hiding the token in every part the scanner used to skip, and its base64 in a
/// PNG payload (pixels: never reported).
fn notebook_with_secrets_everywhere() -> serde_json::Value {
    use base64::Engine;
    let png = base64::engine::general_purpose::STANDARD.encode(TOKEN);
    json!({
        "cells": [
            {"cell_type": "markdown", "id": "m", "metadata": {"tags": ["x"]},
             "source": ["![img](attachment:a.txt)"],
             "attachments": {"a.txt": {"text/plain": format!("token {TOKEN}"), "image/png": png}}},
            {"cell_type": "code", "execution_count": 1, "id": "c",
             "metadata": {"papermill": {"parameters": {"api_token": TOKEN}}},
             "source": "x = 1",
             "outputs": [
                {"output_type": "display_data", "metadata": {"note": TOKEN},
                 "data": {"application/json": {"auth": {"token": TOKEN}}, "image/png": png}},
                {"output_type": "display_data", "metadata": {},
                 "data": {"image/svg+xml": ["<svg>\n", format!("<text>{TOKEN}</text>\n"), "</svg>"]}},
             ]},
        ],
        "metadata": {"widgets": {"application/vnd.jupyter.widget-state+json": {
            "state": {"w1": {"model_name": "TextModel", "state": {"value": TOKEN}}}}}},
        "nbformat": 4, "nbformat_minor": 5,
    })
}

#[test]
fn every_string_of_a_notebook_is_scanned_but_image_pixels_are_not() {
    let env = TestEnv::new();
    let dir = project(&env, "everywhere");
    let notebook = serde_json::to_string_pretty(&notebook_with_secrets_everywhere()).unwrap();
    fs::write(dir.join("nb.ipynb"), &notebook).unwrap();
    let out = env.run(&dir, ["scan"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_clean(&out);
    let text = stdout(&out);
    for place in [
        "nb.ipynb[notebook metadata]:",
        "nb.ipynb[cell 1 attachment]:1:7: known-value API_TOKEN",
        "nb.ipynb[cell 2 metadata]:",
        "nb.ipynb[cell 2 output 1]:",
        "nb.ipynb[cell 2 output 1 metadata]:",
        "nb.ipynb[cell 2 output 2]:2:7: known-value API_TOKEN",
    ] {
        assert!(text.contains(place), "missing {place:?} in:\n{text}");
    }
    assert!(
        !text.contains("(base64)"),
        "an image payload was reported:\n{text}"
    );
    assert_eq!(text.lines().count(), 6, "{text}");

    // The same notebook staged: the index scan sees the same parts.
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(&dir)
            .env_clear()
            .envs(env.base_env())
            .envs([("GIT_AUTHOR_NAME", "t"), ("GIT_AUTHOR_EMAIL", "t@e")])
            .envs([("GIT_COMMITTER_NAME", "t"), ("GIT_COMMITTER_EMAIL", "t@e")])
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    };
    fs::write(dir.join(".gitignore"), ".env\n").unwrap();
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "nb.ipynb"]);
    let staged = env.run(&dir, ["scan", "--staged"]);
    assert_clean(&staged);
    assert_eq!(stdout(&staged).lines().count(), 6, "{}", stdout(&staged));

    // Redaction reaches every part the scan reports.
    let redacted = env.run(&dir, ["scan", "--redact", "nb.ipynb"]);
    assert_eq!(redacted.status.code(), Some(0), "{}", stderr(&redacted));
    assert!(
        !fs::read_to_string(dir.join("nb.ipynb"))
            .unwrap()
            .contains(TOKEN)
    );
    assert_eq!(env.run(&dir, ["scan", "nb.ipynb"]).status.code(), Some(0));
}

#[test]
fn a_value_split_over_list_elements_is_joined_in_every_mode() {
    let env = TestEnv::new();
    let dir = project(&env, "split");
    let (head, tail) = TOKEN.split_at(7);
    let notebook = json!({
        "cells": [{"cell_type": "code", "execution_count": 1, "id": "a", "metadata": {},
            "source": ["import os\n", format!("x = '{head}"), format!("{tail}'\n"), "print(x)"],
            "outputs": []}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    });
    fs::write(
        dir.join("split.ipynb"),
        serde_json::to_string_pretty(&notebook).unwrap(),
    )
    .unwrap();
    let out = env.run(&dir, ["scan"]);
    assert_clean(&out);
    assert!(
        stdout(&out).contains("split.ipynb[cell 1 source]:2:6: known-value API_TOKEN"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn hostile_file_names_are_printed_escaped() {
    let env = TestEnv::new();
    let dir = project(&env, "names");
    let name = "x\n.env:1:1: fake\u{1b}[2K.py";
    fs::write(dir.join(name), format!("t = '{TOKEN}'\n")).unwrap();
    let out = env.run(&dir, ["scan"]);
    assert_eq!(out.status.code(), Some(1));
    assert_clean(&out);
    let text = stdout(&out);
    assert_eq!(
        text.lines().count(),
        1,
        "a file name broke the line:\n{text:?}"
    );
    assert!(
        text.starts_with("x\\n.env:1:1: fake\\e[2K.py:1:6: known-value API_TOKEN"),
        "{text:?}"
    );
    assert!(!text.contains('\u{1b}'));
}

#[test]
fn redaction_keeps_the_notebook_owner_and_group() {
    if !common::is_root() {
        eprintln!("skipped: needs root to give a file to another user");
        return;
    }
    let (uid, gid) = common::other_user();
    let env = TestEnv::new();
    let dir = project(&env, "owner");
    let notebook = json!({
        "cells": [{"cell_type": "code", "execution_count": 1, "id": "a", "metadata": {},
            "source": ["print(token)"],
            "outputs": [{"output_type": "stream", "name": "stdout", "text": [format!("{TOKEN}\n")]}]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    });
    let path = dir.join("theirs.ipynb");
    fs::write(&path, serde_json::to_string_pretty(&notebook).unwrap()).unwrap();
    std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
    fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o664)).unwrap();

    let out = env.run(&dir, ["scan", "--redact"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let meta = fs::metadata(&path).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid()),
        (uid, gid),
        "the notebook changed owner"
    );
    assert_eq!(meta.mode() & 0o7777, 0o664);
    assert!(!fs::read_to_string(&path).unwrap().contains(TOKEN));
    assert!(nbformat_validates(&path));
}

/// The fingerprints a JSON scan of `dir` reports, with `home` as the user's home.
fn fingerprints(env: &TestEnv, dir: &Path, data: &Path, key: Option<&str>) -> Vec<String> {
    let mut cmd = env.cmd(dir, ["scan", "--format", "json"]);
    cmd.env("XDG_DATA_HOME", data);
    if let Some(key) = key {
        cmd.env("ENVGUARD_FINGERPRINT_KEY", key);
    }
    let out = cmd.output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn fingerprints_are_keyed_per_machine_and_the_key_is_private() {
    let env = TestEnv::new();
    let dir = project(&env, "keyed");
    fs::write(dir.join("a.py"), format!("t = '{TOKEN}'\n")).unwrap();
    let here = fingerprints(&env, &dir, &env.data_dir(), None);
    assert_eq!(here.len(), 1);
    assert_eq!(
        here,
        fingerprints(&env, &dir, &env.data_dir(), None),
        "unstable"
    );

    let keys = env.data_dir().join("envguard/fingerprint-keys");
    let mode = |p: &Path| fs::metadata(p).unwrap().mode() & 0o777;
    assert_eq!(mode(&keys), 0o700);
    let files: Vec<PathBuf> = fs::read_dir(&keys)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(mode(&files[0]), 0o600);
    assert!(
        !files[0].starts_with(&dir),
        "the key must live outside the repository"
    );

    let elsewhere = env.root.path().join("other-machine");
    fs::create_dir(&elsewhere).unwrap();
    assert_ne!(
        here,
        fingerprints(&env, &dir, &elsewhere, None),
        "another machine computed the same fingerprint"
    );
    let key = fs::read_to_string(&files[0]).unwrap();
    assert_eq!(
        here,
        fingerprints(&env, &dir, &elsewhere, Some(key.trim())),
        "the exported key must reproduce the fingerprints"
    );

    // A baseline written here is honoured here.
    let baseline = dir.join("baseline.json");
    let write = env.run(&dir, ["scan", "--write-baseline", "baseline.json"]);
    assert!(write.status.success(), "{}", stderr(&write));
    assert!(
        stderr(&write).contains("ENVGUARD_FINGERPRINT_KEY"),
        "{}",
        stderr(&write)
    );
    assert!(baseline.exists());
    let again = env.run(&dir, ["scan", "--baseline", "baseline.json"]);
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
}

#[test]
fn redaction_refuses_when_the_owner_cannot_be_kept() {
    if !common::is_root() {
        eprintln!("skipped: needs root to run as another user");
        return;
    }
    use std::os::unix::fs::{PermissionsExt, chown};
    use std::os::unix::process::CommandExt;
    let (uid, gid) = common::other_user();
    // A directory both users can write, as a shared project directory is.
    let shared = tempfile::Builder::new()
        .prefix("envguard-shared-")
        .tempdir()
        .unwrap();
    let dir = shared.path();
    fs::set_permissions(dir, fs::Permissions::from_mode(0o777)).unwrap();
    for sub in ["home", "data"] {
        fs::create_dir(dir.join(sub)).unwrap();
        chown(dir.join(sub), Some(uid), Some(gid)).unwrap();
    }
    common::write_mode(&dir.join(".env"), &format!("API_TOKEN={TOKEN}\n"), 0o600);
    chown(dir.join(".env"), Some(uid), Some(gid)).unwrap();
    let notebook = json!({
        "cells": [{"cell_type": "code", "execution_count": 1, "id": "a", "metadata": {},
            "source": ["print(token)"],
            "outputs": [{"output_type": "stream", "name": "stdout", "text": [format!("{TOKEN}\n")]}]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    });
    let path = dir.join("roots.ipynb");
    let before = serde_json::to_string_pretty(&notebook).unwrap();
    common::write_mode(&path, &before, 0o666);

    let out = Command::new(common::BIN)
        .args(["scan", "--redact"])
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.join("home"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("PWD", dir)
        .uid(uid)
        .gid(gid)
        .output()
        .unwrap();
    assert_clean(&out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("left unchanged"), "{}", stderr(&out));
    let meta = fs::metadata(&path).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid()),
        (0, 0),
        "the notebook was given away"
    );
    assert!(
        fs::read_to_string(&path).unwrap() == before,
        "the notebook was rewritten"
    );
}

/// A private key's lines, pseudo-random base64 as a real key's are.
fn private_key() -> String {
    const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut lines = vec!["-----BEGIN PRIVATE KEY-----".to_string()];
    for _ in 0..12 {
        let line: String = (0..64)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                BASE64[(state >> 58) as usize] as char
            })
            .collect();
        lines.push(line);
    }
    lines.push("-----END PRIVATE KEY-----".to_string());
    lines.join("\n")
}

/// nbformat's list of lines: each line but the last keeps its newline.
fn lines_of(text: &str) -> Vec<String> {
    text.split_inclusive('\n').map(str::to_string).collect()
}

#[test]
fn a_private_key_over_a_list_of_lines_is_redacted_and_the_notebook_stays_valid() {
    let env = TestEnv::new();
    let dir = project(&env, "pem");
    let key = private_key();
    let body_line = key.lines().nth(3).unwrap().to_string();
    let source = format!("key = \"\"\"{key}\"\"\"\nprint(len(key))");
    let notebook = json!({
        "cells": [
            {"cell_type": "code", "execution_count": 1, "id": "a", "metadata": {},
             "source": lines_of(&source),
             "outputs": [{"output_type": "stream", "name": "stdout",
                          "text": lines_of(&format!("{key}\n"))}]},
            {"cell_type": "markdown", "id": "b", "metadata": {}, "source": ["# Notes\n", "kept as is"]}
        ],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5
    });
    let path = dir.join("keys.ipynb");
    fs::write(&path, serde_json::to_string_pretty(&notebook).unwrap()).unwrap();
    let scanned = env.run(&dir, ["scan", "keys.ipynb"]);
    assert_eq!(scanned.status.code(), Some(1), "{}", stderr(&scanned));
    assert_not_leaked(&scanned, &body_line);

    let redacted = env.run(&dir, ["scan", "--redact", "keys.ipynb"]);
    assert_not_leaked(&redacted, &body_line);
    assert_eq!(redacted.status.code(), Some(0), "{}", stderr(&redacted));
    assert!(stderr(&redacted).contains("redacted keys.ipynb"));
    let after = fs::read_to_string(&path).unwrap();
    assert!(
        key.lines()
            .skip(1)
            .take(12)
            .all(|line| !after.contains(line)),
        "a line of the key survived redaction"
    );
    assert_eq!(after.matches("<redacted:private-key>").count(), 2);
    assert!(
        nbformat_validates(&path),
        "nbformat rejected the redacted notebook"
    );
    // What surrounds the key in its cell, and the other cells, are as they were.
    let cells: serde_json::Value = serde_json::from_str(&after).unwrap();
    let source: String = cells["cells"][0]["source"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line.as_str().unwrap())
        .collect();
    // The key's body is the secret; its armour lines say only what it was.
    assert_eq!(
        source,
        "key = \"\"\"-----BEGIN PRIVATE KEY-----\n<redacted:private-key>\n-----END PRIVATE KEY-----\"\"\"\nprint(len(key))"
    );
    assert_eq!(cells["cells"][1], notebook["cells"][1]);
    assert_eq!(env.run(&dir, ["scan", "keys.ipynb"]).status.code(), Some(0));
}

#[test]
fn a_multi_line_known_value_over_a_list_of_lines_is_redacted() {
    let env = TestEnv::new();
    let key = private_key();
    let body_line = key.lines().nth(5).unwrap().to_string();
    let dir = env.project("pem-known", &format!("SIGNING_KEY=\"{key}\"\n"), 0o600);
    let notebook = json!({
        "cells": [{"cell_type": "code", "execution_count": 1, "id": "a", "metadata": {},
             "source": ["import os\n", "print(os.environ['SIGNING_KEY'])"],
             "outputs": [{"output_type": "stream", "name": "stdout",
                          "text": lines_of(&format!("{key}\n"))}]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5
    });
    let path = dir.join("run.ipynb");
    fs::write(&path, serde_json::to_string_pretty(&notebook).unwrap()).unwrap();
    let redacted = env.run(&dir, ["scan", "--redact", "run.ipynb"]);
    assert_not_leaked(&redacted, &body_line);
    assert_eq!(redacted.status.code(), Some(0), "{}", stderr(&redacted));
    let after = fs::read_to_string(&path).unwrap();
    assert!(!after.contains(&body_line), "a line of the key survived");
    assert!(after.contains("<redacted:SIGNING_KEY>"));
    assert!(
        nbformat_validates(&path),
        "nbformat rejected the redacted notebook"
    );
    assert_eq!(env.run(&dir, ["scan", "run.ipynb"]).status.code(), Some(0));
}

#[test]
fn image_payloads_are_passed_over_only_where_they_are_pixels() {
    let env = TestEnv::new();
    let dir = project(&env, "pixels");
    let pixels = format!("iVBORw0KGgo{}", "AAAA".repeat(5000));
    let notebook = json!({
        "cells": [{"cell_type": "code", "execution_count": 1, "id": "a",
            // An `image/png` key in metadata is not an image: the parsed scan reads it.
            "metadata": {"data": {"image/png": TOKEN}},
            "source": ["plot()"],
            "outputs": [{"output_type": "display_data", "metadata": {},
                         "data": {"image/png": pixels, "text/plain": ["<Figure>"]}}]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5
    });
    fs::write(
        dir.join("plot.ipynb"),
        serde_json::to_string_pretty(&notebook).unwrap(),
    )
    .unwrap();
    let out = env.run(&dir, ["scan", "--format", "json", "plot.ipynb"]);
    assert_clean(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let places: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["place"].as_str())
        .collect();
    assert_eq!(places, ["cell 1 metadata"]);
}
