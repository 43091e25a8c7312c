//! Kernels that never emit a secret, for real: a kernel installed by `envguard kernel install`
//! runs cells that print, display, return, raise, `%env` and `!echo` the project's values,
//! driven by jupyter_client (every message recorded) and by nbclient (the notebook saved).
//! Nothing the kernel sent, nor the saved notebook, holds a value or an encoded form of one;
//! the kernel's own `os.environ` still does (checked by length and SHA-256 only).

mod common;

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use common::*;
use envguard::load::trust::digest;

const API_KEY: &str = "sk_live/8f3a+b&c<d>9e2Q";
const CERT_LINES: [&str; 2] = ["cert-line-one-7d1e", "cert-line-two-93ab"];
/// Every form of the values the kernel must never send: as is, base64, URL- and HTML-encoded,
/// and each line of the multi-line value.
const FORBIDDEN: &[&str] = &[
    API_KEY,
    "c2tfbGl2ZS84ZjNhK2ImYzxkPjllMlE",
    "sk_live%2F8f3a%2Bb%26c%3Cd%3E9e2Q",
    "sk_live/8f3a+b&amp;c&lt;d&gt;9e2Q",
    CERT_LINES[0],
    CERT_LINES[1],
    "Y2VydC1saW5lLW9uZS03ZDFlCmNlcnQtbGluZS10d28tOTNhYg",
];

/// The cells; each shows the values a different way.
const CELLS: &[&str] = &[
    "import os\nprint(os.environ['API_KEY'])",
    "import hashlib\nv = os.environ['API_KEY']\nprint('env-check', len(v), hashlib.sha256(v.encode()).hexdigest())",
    "from IPython.display import display, HTML\nimport html\ndisplay(HTML('<b>' + html.escape(os.environ['API_KEY']) + '</b>'))\ndisplay({'application/json': {'key': os.environ['API_KEY']}, 'text/plain': 'json'}, raw=True)",
    "os.environ['API_KEY']",
    "raise ValueError('bad key ' + os.environ['API_KEY'])",
    "%env API_KEY",
    "%env",
    "print(os.environ)",
    "class Frame:\n    def _repr_html_(self):\n        return '<table><tr><td>' + html.escape(os.environ['API_KEY']) + '</td></tr></table>'\n    def __repr__(self):\n        return '   key\\n0  ' + os.environ['API_KEY']\nFrame()",
    "!echo $API_KEY",
    "import urllib.parse, base64, json\nprint('https://api.example.com/v1?key=' + urllib.parse.quote(os.environ['API_KEY'], safe=''))\nprint(base64.b64encode(os.environ['API_KEY'].encode()).decode())\nprint(json.dumps({'k': os.environ['API_KEY']}))\nprint(repr(os.environ['API_KEY']))",
    "print(os.environ['CERT'])\nprint(base64.b64encode(os.environ['CERT'].encode()).decode())",
    "display({'application/json': {os.environ['API_KEY']: 1}, 'text/plain': 'keyed'}, raw=True)",
    "import comm\nc = comm.create_comm(target_name='envguard-test', data={'value': os.environ['API_KEY']})\nc.send({'value': os.environ['API_KEY']})",
    // A value printed in two pieces a moment apart: two stream messages, neither whole.
    "import sys, time\nk = os.environ['API_KEY']\nprint('split:' + k[:10], end='')\nsys.stdout.flush()\ntime.sleep(0.3)\nprint(k[10:])",
    // A possible start of a value that nothing completes: released after the longest hold.
    "print('partial:' + k[:10], end='')\nsys.stdout.flush()\ntime.sleep(1.5)\nprint(' end')",
    "display({'image/png': 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk', 'text/plain': 'img'}, raw=True)",
];

/// Runs every cell through jupyter_client, recording every message the kernel sent on any
/// channel, then the same cells through nbclient, saving the notebook. Prints nothing of them.
const DRIVER: &str = r#"
import json, sys
import nbformat
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

kernel, cells, messages_path, notebook_path = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
km, kc = start_new_kernel(kernel_name=kernel)
recorded = []

def reply_to(msg_id):
    # Every shell message is recorded; the reply is the one to this request (waiting for the
    # kernel can leave extra kernel_info replies queued ahead of it).
    while True:
        msg = kc.get_shell_msg(timeout=60)
        recorded.append(msg)
        if msg['parent_header'].get('msg_id') == msg_id:
            return

try:
    for code in cells:
        msg_id = kc.execute(code)
        while True:
            msg = kc.get_iopub_msg(timeout=60)
            recorded.append(msg)
            if (msg['parent_header'].get('msg_id') == msg_id and msg['msg_type'] == 'status'
                    and msg['content']['execution_state'] == 'idle'):
                break
        reply_to(msg_id)
    reply_to(kc.inspect('os.environ["API_KEY"]'))
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
with open(messages_path, 'w') as out:
    json.dump(recorded, out, default=str)

nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in cells])
NotebookClient(nb, kernel_name=kernel, allow_errors=True, timeout=60).execute()
nbformat.write(nb, notebook_path)
"#;

fn test_python() -> PathBuf {
    std::env::var_os("ENVGUARD_TEST_PYTHON")
        .map(PathBuf::from)
        .expect(
            "ENVGUARD_TEST_PYTHON must name a Python with Jupyter installed (run ./scripts/test)",
        )
}

/// `text` with every form of the values replaced, fit for a failure message.
fn scrubbed(text: &str) -> String {
    FORBIDDEN
        .iter()
        .fold(text.to_owned(), |text, form| text.replace(form, "<VALUE>"))
}

/// The text of each stream as a reader of it sees it: every `stream` message recorded (or
/// stream output saved), joined per request (cell) and stream name, in order.
fn joined_streams(messages: &str, notebook: &str) -> Vec<String> {
    let mut joined: Vec<((String, String), String)> = Vec::new();
    let mut add =
        |key: (String, String), text: &str| match joined.iter_mut().find(|(k, _)| *k == key) {
            Some((_, all)) => all.push_str(text),
            None => joined.push((key, text.to_owned())),
        };
    let messages: Vec<serde_json::Value> = serde_json::from_str(messages).unwrap();
    for msg in messages.iter().filter(|msg| msg["msg_type"] == "stream") {
        let parent = msg["parent_header"]["msg_id"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let name = msg["content"]["name"].as_str().unwrap_or("").to_owned();
        add(
            (parent, name),
            msg["content"]["text"].as_str().unwrap_or(""),
        );
    }
    let notebook: serde_json::Value = serde_json::from_str(notebook).unwrap();
    for (at, cell) in notebook["cells"].as_array().unwrap().iter().enumerate() {
        for output in cell["outputs"].as_array().into_iter().flatten() {
            if output["output_type"] == "stream" {
                let text = match &output["text"] {
                    serde_json::Value::Array(lines) => {
                        lines.iter().filter_map(|line| line.as_str()).collect()
                    }
                    text => text.as_str().unwrap_or("").to_owned(),
                };
                let name = output["name"].as_str().unwrap_or("").to_owned();
                add((format!("cell {at}"), name), &text);
            }
        }
    }
    joined.into_iter().map(|(_, text)| text).collect()
}

/// Which forms (by index in [`FORBIDDEN`]) `text` holds.
fn leaked_forms(text: &str) -> Vec<usize> {
    (0..FORBIDDEN.len())
        .filter(|&at| text.contains(FORBIDDEN[at]))
        .collect()
}

struct Kernel {
    env: TestEnv,
    python: PathBuf,
    project: PathBuf,
}

impl Kernel {
    fn new() -> Self {
        let env = TestEnv::new();
        let contents = format!(
            "API_KEY=\"{API_KEY}\"\nCERT=\"{}\\n{}\"\nDEBUG=true\nSHORT=abc\nPORT=54321987\n",
            CERT_LINES[0], CERT_LINES[1]
        );
        let project = env.allowed_project("analysis", &contents);
        Kernel {
            env,
            python: test_python(),
            project,
        }
    }

    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let venv_bin = self.python.parent().unwrap();
        // envguard on PATH too, for the fixes it prints.
        let path = format!("{}:{}", venv_bin.display(), path_with_bin());
        let mut cmd = Command::new(program);
        cmd.current_dir(&self.project)
            .env_clear()
            .envs(self.env.base_env())
            .env("PATH", path)
            .env("PWD", &self.project)
            .env(
                "JUPYTER_DATA_DIR",
                self.env.root.path().join("jupyter-data"),
            );
        cmd
    }

    fn install(&self, name: &str, extra: &[&str]) {
        let out = self
            .command(BIN)
            .args(["kernel", "install", "--name", name, "--python"])
            .arg(&self.python)
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "install failed: {}",
            scrubbed(&stderr(&out))
        );
    }

    /// Runs [`CELLS`] in kernel `name`; (every message recorded, the saved notebook).
    fn run(&self, name: &str) -> (String, String) {
        let messages = self.project.join(format!("{name}-messages.json"));
        let notebook = self.project.join(format!("{name}.ipynb"));
        let out = self
            .command(&self.python)
            .arg("-c")
            .arg(DRIVER)
            .arg(name)
            .arg(serde_json::to_string(CELLS).unwrap())
            .args([&messages, &notebook])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "the driver failed: {}",
            scrubbed(&stderr(&out))
        );
        (
            fs::read_to_string(&messages).unwrap(),
            fs::read_to_string(&notebook).unwrap(),
        )
    }
}

fn env_check() -> String {
    format!("env-check {} {}", API_KEY.len(), digest(API_KEY.as_bytes()))
}

#[test]
fn an_installed_kernel_masks_every_value_in_everything_it_sends() {
    let kernel = Kernel::new();
    kernel.install("analysis", &[]);
    let (messages, notebook) = kernel.run("analysis");

    for (what, text) in [
        ("the recorded messages", &messages),
        ("the saved notebook", &notebook),
    ] {
        assert_eq!(
            leaked_forms(text),
            Vec::<usize>::new(),
            "{what} hold these forms of a value"
        );
        assert!(
            text.contains(&env_check()),
            "{what}: os.environ in the kernel lost API_KEY"
        );
        for shown in [
            "<masked:API_KEY>",
            "<masked:CERT>",
            "bad key <masked:API_KEY>",
            "<b><masked:API_KEY></b>",
            "<td><masked:API_KEY></td>",
            "?key=<masked:API_KEY>",
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk",
        ] {
            assert!(text.contains(shown), "{what} lack {shown:?}");
        }
        // Short and common values are not masked: `DEBUG=true` stays readable in `%env`. A
        // number is left alone too, by the rule `exec --mask` follows, which the kernel is
        // told rather than keeping its own.
        for name in ["DEBUG", "SHORT", "PORT"] {
            assert!(
                !text.contains(&format!("<masked:{name}>")),
                "{what}: {name}"
            );
        }
    }
    let streams = joined_streams(&messages, &notebook);
    for text in &streams {
        assert_eq!(
            leaked_forms(text),
            Vec::<usize>::new(),
            "a stream's messages, joined, hold these forms of a value"
        );
    }
    assert_eq!(
        streams
            .iter()
            .filter(|text| text.contains("split:<masked:API_KEY>\n"))
            .count(),
        2,
        "the value printed in two pieces was not masked whole in the messages and the notebook"
    );
    // The held tail went out on its own when its time was up, not with what came next.
    let records: Vec<serde_json::Value> = serde_json::from_str(&messages).unwrap();
    assert!(
        records.iter().any(|msg| msg["msg_type"] == "stream"
            && msg["content"]["text"].as_str() == Some(&API_KEY[..10])),
        "a held tail was not released after its time"
    );
    // The kind of message each way of showing a value produced, all of them seen.
    for kind in [
        "\"stream\"",
        "\"display_data\"",
        "\"execute_result\"",
        "\"error\"",
        "\"execute_reply\"",
        "\"comm_open\"",
        "\"comm_msg\"",
        "\"inspect_reply\"",
    ] {
        assert!(messages.contains(kind), "no {kind} message was recorded");
    }

    let out = kernel
        .command(BIN)
        .args(["scan", "--all", "analysis.ipynb", "analysis-messages.json"])
        .output()
        .unwrap();
    assert_not_leaked(&out, API_KEY);
    assert!(
        out.status.success(),
        "scan found something in the masked notebook: {}{}",
        scrubbed(&stdout(&out)),
        scrubbed(&stderr(&out))
    );
}

#[test]
fn a_no_mask_kernel_shows_values_and_scan_finds_them() {
    let kernel = Kernel::new();
    kernel.install("plain", &["--no-mask"]);
    let spec = fs::read_to_string(
        kernel
            .env
            .root
            .path()
            .join("jupyter-data/kernels/plain/kernel.json"),
    )
    .unwrap();
    assert!(spec.contains("ipykernel_launcher") && spec.contains("\"mask\": false"));
    let (_, notebook) = kernel.run("plain");
    assert!(
        leaked_forms(&notebook).contains(&0),
        "--no-mask still masked"
    );
    let out = kernel
        .command(BIN)
        .args(["scan", "--all", "plain.ipynb"])
        .output()
        .unwrap();
    assert_not_leaked(&out, API_KEY);
    assert!(!out.status.success(), "scan missed the unmasked value");
}

#[test]
fn the_launcher_refuses_to_start_without_the_names_to_mask() {
    let kernel = Kernel::new();
    let out = kernel
        .command(&kernel.python)
        .args([
            "-P",
            "-c",
            envguard::jupyter::launch::MASK_LAUNCHER,
            "--version",
        ])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "it started without ENVGUARD_MASK_NAMES"
    );
    assert!(
        stderr(&out).contains("not started by `envguard exec --kernel`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_kernel_from_before_masking_is_listed_as_outdated_with_a_fix_that_works() {
    let kernel = Kernel::new();
    kernel.install("analysis", &["--no-mask"]);
    let spec_file = kernel
        .env
        .root
        .path()
        .join("jupyter-data/kernels/analysis/kernel.json");
    let list = || {
        let out = kernel
            .command(BIN)
            .args(["kernel", "list"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    assert!(
        list().contains("(does not mask: installed with --no-mask)"),
        "{}",
        list()
    );

    // What `kernel install` wrote before kernels masked: no `mask` in its metadata.
    let mut spec: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&spec_file).unwrap()).unwrap();
    spec["metadata"]["envguard"]
        .as_object_mut()
        .unwrap()
        .remove("mask");
    fs::write(&spec_file, spec.to_string()).unwrap();
    let listing = list();
    let fix = listing
        .split_once("outdated: shows loaded values in its output (fix: ")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(fix, _)| fix.to_owned())
        .unwrap_or_else(|| panic!("not listed as outdated: {listing}"));
    let out = kernel.command("sh").args(["-c", &fix]).output().unwrap();
    assert!(
        out.status.success(),
        "the fix {fix:?} failed: {}",
        stderr(&out)
    );
    let spec: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&spec_file).unwrap()).unwrap();
    assert_eq!(spec["metadata"]["envguard"]["mask"], true);
    assert!(!list().contains("mask"), "{}", list());
}

#[test]
fn without_dash_p_the_launcher_runs_nothing_from_the_notebooks_folder() {
    let kernel = Kernel::new();
    let marker = kernel.env.root.path().join("hostile-ran");
    let hostile = format!("open({:?}, 'w').write('ran')\n", marker.to_str().unwrap());
    // Modules the launcher imports, and the one it runs, as a notebook's folder could hold them.
    for module in ["json.py", "base64.py", "re.py", "ipykernel_launcher.py"] {
        fs::write(kernel.project.join(module), &hostile).unwrap();
    }
    // As on Python < 3.11: `-c` without `-P`, so sys.path starts with the working directory.
    let out = kernel
        .command(&kernel.python)
        .args(["-c", envguard::jupyter::launch::MASK_LAUNCHER, "--version"])
        .env("ENVGUARD_MASK_NAMES", "API_KEY")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!marker.exists(), "a module from the working directory ran");
}
