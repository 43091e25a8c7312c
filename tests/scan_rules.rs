//! The token rules, one family at a time: a synthetic, format-valid credential of each is
//! found in a plain file, a notebook's source and a notebook's output, and a near miss or a
//! placeholder of each is not; bait that only looks random stays silent.
//!
//! Every credential here is generated (seeded, so a failure can be replayed) from the
//! provider's published format; none is real. No assertion prints one: messages name the
//! file and the rule, and `assert_not_leaked` checks the scanner's own output.

mod common;

use std::fs;
use std::path::Path;

use common::{TestEnv, assert_not_leaked, stderr};
use envguard::scan::rules::{RULES, Rules, github_checksum};
use serde_json::{Value, json};

const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LETTERS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const HEX: &str = "0123456789abcdef";
const BASE64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
const BECH32: &str = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L";

/// SplitMix64: enough randomness for test credentials, and replayable.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick(&mut self, alphabet: &str, n: usize) -> String {
        let bytes = alphabet.as_bytes();
        (0..n)
            .map(|_| char::from(bytes[(self.next() % bytes.len() as u64) as usize]))
            .collect()
    }

    /// Like `pick`, but re-drawn until it holds a digit, a lower and an upper case letter and
    /// no run that a placeholder filter reads as `xxxxxx`: what every real random key is.
    fn key(&mut self, alphabet: &str, n: usize) -> String {
        loop {
            let value = self.pick(alphabet, n);
            let b = value.as_bytes();
            let mixed = [
                |c: &u8| c.is_ascii_digit(),
                |c: &u8| c.is_ascii_lowercase(),
                |c: &u8| c.is_ascii_uppercase(),
            ]
            .iter()
            .all(|class| !alphabet.as_bytes().iter().any(class) || b.iter().any(class));
            let lower = value.to_ascii_lowercase();
            let no_marks = [
                "xxxx", "your", "fake", "dummy", "sample", "insert", "replace",
            ]
            .iter()
            .all(|mark| !lower.contains(mark))
                && !b.windows(4).any(|w| w.iter().all(|&c| c == w[0]));
            if mixed && no_marks {
                return value;
            }
        }
    }
}

fn github_token(rng: &mut Random, prefix: &str) -> String {
    let random = rng.key(ALNUM, 30);
    let checksum = github_checksum(random.as_bytes());
    format!("{prefix}{random}{}", String::from_utf8_lossy(&checksum))
}

fn pem(rng: &mut Random, label: &str) -> (String, Vec<String>) {
    let body: Vec<String> = (0..12).map(|_| rng.key(BASE64, 64)).collect();
    (
        format!("-----BEGIN {label}PRIVATE KEY-----"),
        body.into_iter()
            .chain([format!("-----END {label}PRIVATE KEY-----")])
            .collect(),
    )
}

/// One case: a rule, the credential, and the text (one or more lines) holding it.
struct Case {
    rule: &'static str,
    secret: String,
    text: String,
}

fn case(rule: &'static str, secret: String, text: String) -> Case {
    Case { rule, secret, text }
}

/// A positive case for every rule, in the forms the issue lists.
fn positives(rng: &mut Random) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut add = |rule, secret: String, text: &dyn Fn(&str) -> String| {
        let text = text(&secret);
        cases.push(case(rule, secret, text));
    };
    add(
        "aws-access-key-id",
        format!("AKIA{}", rng.key("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
        &|s| format!("aws_access_key_id = {s}"),
    );
    add("github-token", github_token(rng, "ghp_"), &|s| {
        format!("GH = '{s}'")
    });
    add("github-token", github_token(rng, "gho_"), &|s| {
        format!("token({s})")
    });
    add("github-token", github_token(rng, "ghs_"), &|s| {
        format!("installation: {s}")
    });
    add(
        "anthropic-api-key",
        format!("sk-ant-api03-{}AA", rng.key(URL_SAFE, 93)),
        &|s| format!("client = Anthropic(api_key=\"{s}\")"),
    );
    add(
        "anthropic-api-key",
        format!("sk-ant-admin01-{}AA", rng.key(URL_SAFE, 93)),
        &|s| format!("admin {s}"),
    );
    for kind in ["proj", "svcacct", "admin"] {
        let secret = format!(
            "sk-{kind}-{}T3BlbkFJ{}",
            rng.key(URL_SAFE, 74),
            rng.key(URL_SAFE, 74)
        );
        add("openai-api-key", secret, &|s| {
            format!("OpenAI(api_key=\"{s}\")")
        });
    }
    add(
        "huggingface-token",
        format!("hf_{}", rng.key(LETTERS, 34)),
        &|s| format!("login(token=\"{s}\")"),
    );
    add(
        "huggingface-token",
        format!("api_org_{}", rng.key(LETTERS, 34)),
        &|s| format!("org = {s}"),
    );
    add(
        "gitlab-token",
        format!("glpat-{}", rng.key(URL_SAFE, 20)),
        &|s| format!("GITLAB = \"{s}\""),
    );
    add(
        "gitlab-token",
        format!(
            "glpat-{}.01{}",
            rng.key(URL_SAFE, 27),
            rng.key("0123456789abcdefghijklmnopqrstuvwxyz", 7)
        ),
        &|s| format!("gitlab {s}"),
    );
    for prefix in ["gldt-", "glrt-", "glcbt-", "glptt-"] {
        add(
            "gitlab-token",
            format!("{prefix}{}", rng.key(URL_SAFE, 20)),
            &|s| format!("ci: {s}"),
        );
    }
    add(
        "sendgrid-api-key",
        format!("SG.{}.{}", rng.key(URL_SAFE, 22), rng.key(URL_SAFE, 43)),
        &|s| format!("sg = SendGridAPIClient('{s}')"),
    );
    add("twilio-api-key", format!("SK{}", rng.key(HEX, 32)), &|s| {
        format!("api_key_sid = \"{s}\"")
    });
    add(
        "databricks-token",
        format!("dapi{}", rng.key(HEX, 32)),
        &|s| format!("DATABRICKS_HOST_TOKEN = \"{s}\""),
    );
    add(
        "databricks-token",
        format!("dapi{}-2", rng.key(HEX, 32)),
        &|s| format!("db {s}"),
    );
    add(
        "azure-storage-key",
        format!("{}==", rng.key(BASE64, 86)),
        &|s| {
            format!(
                "conn = \"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={s};EndpointSuffix=core.windows.net\""
            )
        },
    );
    let sig = rng.key(ALNUM, 43).replacen('a', "%2B", 1) + "%3D";
    add("azure-storage-key", sig, &|s| {
        format!(
            "url = \"https://acct.blob.core.windows.net/c/f.csv?sv=2022-11-02&sr=b&sp=r&se=2030-01-01&sig={s}\""
        )
    });
    add(
        "perplexity-api-key",
        format!("pplx-{}", rng.key(ALNUM, 48)),
        &|s| format!("PPLX = \"{s}\""),
    );
    add("npm-token", format!("npm_{}", rng.key(ALNUM, 36)), &|s| {
        format!("//registry.npmjs.org/:_authToken={s}")
    });
    add(
        "pypi-token",
        format!("pypi-AgEIcHlwaS5vcmc{}", rng.key(URL_SAFE, 120)),
        &|s| format!("password = {s}"),
    );
    add(
        "notion-token",
        format!("ntn_{}{}", rng.pick("0123456789", 11), rng.key(ALNUM, 35)),
        &|s| format!("notion = Client(auth=\"{s}\")"),
    );
    add(
        "linear-api-key",
        format!("lin_api_{}", rng.key(ALNUM, 40)),
        &|s| format!("LINEAR = '{s}'"),
    );
    add(
        "groq-api-key",
        format!("gsk_{}", rng.key(ALNUM, 52)),
        &|s| format!("Groq(api_key=\"{s}\")"),
    );
    add(
        "replicate-token",
        format!("r8_{}", rng.key(ALNUM, 37)),
        &|s| format!("REPLICATE = \"{s}\""),
    );
    add(
        "digitalocean-token",
        format!("dop_v1_{}", rng.key(HEX, 64)),
        &|s| format!("do = \"{s}\""),
    );
    add(
        "age-secret-key",
        format!("AGE-SECRET-KEY-1{}", rng.pick(BECH32, 58)),
        &|s| format!("# created: 2024-01-01\n{s}"),
    );
    add(
        "slack-token",
        format!("xoxb-{}-{}", rng.pick("0123456789", 12), rng.key(ALNUM, 24)),
        &|s| format!("slack = '{s}'"),
    );
    add(
        "stripe-key",
        format!("sk_live_{}", rng.key(ALNUM, 24)),
        &|s| format!("stripe.api_key = \"{s}\""),
    );
    add(
        "google-api-key",
        format!("AIza{}", rng.key(URL_SAFE, 35)),
        &|s| format!("maps = \"{s}\""),
    );
    add(
        "jwt",
        format!(
            "eyJhbGciOiJIUzI1NiJ9.eyJ{}.{}",
            rng.key(URL_SAFE, 30),
            rng.key(URL_SAFE, 43)
        ),
        &|s| format!("Authorization: Bearer {s}"),
    );
    add("database-url-password", rng.key(ALNUM, 16), &|s| {
        format!("DATABASE_URL = \"postgres://app:{s}@db:5432/app\"")
    });
    add("aws-secret-access-key", rng.key(BASE64, 40), &|s| {
        format!("[default]\nregion = eu-west-1\naws_secret_access_key = {s}")
    });
    add("aws-secret-access-key", rng.key(BASE64, 40), &|s| {
        format!("{{\"SecretAccessKey\": \"{s}\"}}")
    });
    add("twilio-auth-token", rng.key(HEX, 32), &|s| {
        format!("TWILIO_AUTH_TOKEN={s}")
    });
    add("twilio-auth-token", rng.key(HEX, 32), &|s| {
        format!("client = Client(sid, auth_token=\"{s}\")")
    });
    add("kaggle-key", rng.key(HEX, 32), &|s| {
        format!("{{\"username\":\"alice\",\"key\":\"{s}\"}}")
    });
    add("kaggle-key", rng.key(HEX, 32), &|s| {
        format!("export KAGGLE_KEY={s}")
    });
    add("wandb-api-key", rng.key(HEX, 40), &|s| {
        format!("WANDB_API_KEY={s}")
    });
    add("wandb-api-key", rng.key(HEX, 40), &|s| {
        format!("wandb.login(key=\"{s}\")")
    });
    add("cohere-api-key", rng.key(ALNUM, 40), &|s| {
        format!("CO_API_KEY={s}")
    });
    add("cohere-api-key", rng.key(ALNUM, 40), &|s| {
        format!("co = cohere.ClientV2(api_key=\"{s}\")")
    });
    add("generic-api-key", rng.key(ALNUM, 24), &|s| {
        format!("export SERVICE_SECRET={s}")
    });
    add("generic-api-key", rng.key(ALNUM, 24), &|s| {
        format!("ENV APP_TOKEN={s}")
    });
    add("generic-api-key", rng.key(ALNUM, 24), &|s| {
        format!("ENV APP_TOKEN {s}")
    });
    add("generic-api-key", rng.key(ALNUM, 24), &|s| {
        format!("[server]\npassword = {s}")
    });
    add("generic-api-key", rng.key(ALNUM, 24), &|s| {
        format!("os.environ[\"X_TOKEN\"] = \"{s}\"")
    });
    add("generic-api-key", rng.key(ALNUM, 24), &|s| {
        format!("sEcReT = \"{s}\"")
    });
    let (begin, rest) = pem(rng, "RSA ");
    add("private-key", rest.join("\n"), &|s| {
        format!("{begin}\n{s}\n")
    });
    let (begin, rest) = pem(rng, "");
    add("private-key", rest.join("\n"), &|s| {
        format!("KEY = \"\"\"{begin}\n{s}\n\"\"\"")
    });
    let (begin, rest) = pem(rng, "EC ");
    add("private-key", rest.join("\n"), &|s| {
        format!(
            "tls:\n  key: |\n    {begin}\n    {}",
            s.replace('\n', "\n    ")
        )
    });
    let (begin, rest) = pem(rng, "OPENSSH ");
    add("private-key", rest.join("\n"), &|s| {
        format!(
            "{{\"private_key\": \"{begin}\\n{}\\n\"}}",
            s.replace('\n', "\\n")
        )
    });
    cases
}

/// Near misses and placeholders of each family, which must stay silent.
fn negatives(rng: &mut Random) -> Vec<(&'static str, String)> {
    vec![
        ("aws-access-key-id", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE".into()),
        ("github-token", format!("token = ghp_{}", "x".repeat(36))),
        ("anthropic-api-key", "ANTHROPIC_API_KEY=sk-ant-api03-your-key-here".into()),
        ("openai-api-key", "OPENAI_API_KEY=sk-your-key-here".into()),
        ("openai-api-key", format!("OPENAI_API_KEY=sk-proj-{}", "x".repeat(40))),
        ("huggingface-token", "HF_TOKEN=hf_YOUR_TOKEN_HERE".into()),
        ("huggingface-token", format!("hf_{}", rng.key(LETTERS, 20))),
        ("gitlab-token", format!("glpat-{}", "x".repeat(20))),
        ("sendgrid-api-key", "SENDGRID_API_KEY=SG.your_api_key_here".into()),
        ("twilio-api-key", format!("sk{}", rng.key(HEX, 32))),
        ("databricks-token", format!("dapi{}", rng.key(HEX, 32).to_ascii_uppercase())),
        ("azure-storage-key", "AccountKey=<your-account-key>;EndpointSuffix=core.windows.net".into()),
        ("azure-storage-key", "https://example.com/?page=2&sig=short".into()),
        ("perplexity-api-key", format!("pplx-{}", "x".repeat(48))),
        ("npm-token", format!("npm_{}", rng.key(ALNUM, 20))),
        ("pypi-token", "password = pypi-AgEIcHlwaS5vcmc...".into()),
        ("notion-token", "NOTION_TOKEN=ntn_your_integration_token".into()),
        ("linear-api-key", format!("lin_api_{}", "x".repeat(40))),
        ("groq-api-key", "GROQ_API_KEY=gsk_your_key_here".into()),
        ("replicate-token", format!("r8_{}", "x".repeat(37))),
        ("digitalocean-token", format!("dop_v1_{}", rng.key(HEX, 63))),
        ("age-secret-key", "AGE-SECRET-KEY-1...".into()),
        ("slack-token", "SLACK_BOT_TOKEN=xoxb-your-bot-token".into()),
        ("stripe-key", "stripe.api_key = 'sk_test_xxxxxxxxxxxxxxxxxxxxxxxx'".into()),
        ("google-api-key", "GOOGLE_API_KEY=AIzaYOUR_API_KEY_HERE".into()),
        ("jwt", "Authorization: Bearer <token>".into()),
        ("database-url-password", "DATABASE_URL=postgres://user:changeme@localhost/db".into()),
        ("aws-secret-access-key", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()),
        ("twilio-auth-token", "TWILIO_AUTH_TOKEN=your_auth_token".into()),
        ("kaggle-key", format!("{{\"name\":\"cache\",\"key\":\"{}\"}}", rng.key(HEX, 32))),
        ("wandb-api-key", "WANDB_API_KEY=<your-wandb-key>".into()),
        ("cohere-api-key", "CO_API_KEY=changeme".into()),
        ("generic-api-key", "api_key_id = \"550e8400-e29b-41d4-a716-446655440000\"".into()),
        ("generic-api-key", "token = tokenizer_for_user_session".into()),
        ("generic-api-key", "password = YOUR_API_KEY_HERE".into()),
        ("generic-api-key", "ENV APP_TOKEN changeme".into()),
        ("generic-api-key", format!("secret_sha = \"{}\"", rng.key(HEX, 64))),
        ("private-key", "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----".into()),
        ("private-key", format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----", "X".repeat(64 * 4))),
        ("private-key", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC...\n-----END PRIVATE KEY-----".into()),
    ]
}

/// Looks like randomness, is not a credential.
fn bait(rng: &mut Random) -> Vec<String> {
    vec![
        format!("request_id = \"{}-{}-4{}-a{}-{}\"", rng.pick(HEX, 8), rng.pick(HEX, 4), rng.pick(HEX, 3), rng.pick(HEX, 3), rng.pick(HEX, 12)),
        format!("commit {}", rng.pick(HEX, 40)),
        format!("Merge: {} {}", rng.pick(HEX, 7), rng.pick(HEX, 7)),
        format!("digest: sha256:{}", rng.pick(HEX, 64)),
        format!("token_sha256 = \"{}\"", rng.pick(HEX, 64)),
        format!("      \"integrity\": \"sha512-{}==\",", rng.key(BASE64, 86)),
        format!("\"resolved\": \"https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz#{}\"", rng.pick(HEX, 40)),
        "!function(e,t){var n={key:e.key,token:t.token,secret:e.secret||null};return n.apiKey=t.apiKey}(window,document);".into(),
        "api_key = \"YOUR_API_KEY_HERE\"".into(),
        "OPENAI_API_KEY=sk-your-key-here".into(),
        "password: changeme".into(),
        "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE".into(),
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        format!("image = \"data:image/png;base64,iVBORw0KGgo{}\"", rng.key(BASE64, 400)),
    ]
}

fn rule_ids(text: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    Rules::new().find(text.as_bytes(), &mut out);
    out.iter().map(|m| RULES[m.rule].id).collect()
}

#[test]
fn every_family_has_a_positive_and_a_negative_case() {
    let mut rng = Random(11);
    let positives = positives(&mut rng);
    let negatives = negatives(&mut rng);
    for rule in RULES
        .iter()
        .filter(|rule| rule.id != "github-token-bad-checksum")
    {
        assert!(
            positives.iter().any(|c| c.rule == rule.id),
            "no positive case for {}",
            rule.id
        );
        assert!(
            negatives.iter().any(|(id, _)| *id == rule.id),
            "no negative case for {}",
            rule.id
        );
    }
    for (index, case) in positives.iter().enumerate() {
        let found = rule_ids(&case.text);
        assert!(
            found.contains(&case.rule),
            "positive case {index} ({}) not found; rules seen: {found:?}",
            case.rule
        );
    }
    for (index, (rule, text)) in negatives.iter().enumerate() {
        let found = rule_ids(text);
        assert!(
            found.is_empty(),
            "negative case {index} ({rule}) matched {found:?}"
        );
    }
}

#[test]
fn a_failing_github_checksum_is_reported_as_a_placeholder_or_typo() {
    let mut rng = Random(12);
    let valid = github_token(&mut rng, "ghp_");
    let mut typo = valid.clone().into_bytes();
    let at = 10;
    typo[at] = if typo[at] == b'Q' { b'R' } else { b'Q' };
    let typo = String::from_utf8(typo).expect("ASCII");
    assert_eq!(rule_ids(&format!("t = \"{valid}\"")), ["github-token"]);
    assert_eq!(
        rule_ids(&format!("t = \"{typo}\"")),
        ["github-token-bad-checksum"]
    );
    let name = RULES
        .iter()
        .find(|rule| rule.id == "github-token-bad-checksum")
        .map(|rule| rule.name)
        .unwrap_or_default();
    assert!(name.contains("placeholder") && name.contains("typo"));
}

/// A notebook whose first cell has `source` as its source and `output` as its stream output,
/// both written as nbformat writes them: a list of lines.
fn notebook(source: &str, output: &str) -> String {
    let lines =
        |text: &str| -> Vec<String> { text.split_inclusive('\n').map(str::to_string).collect() };
    let notebook = json!({
        "cells": [{
            "cell_type": "code",
            "execution_count": 1,
            "id": "a1",
            "metadata": {},
            "source": lines(source),
            "outputs": [{"output_type": "stream", "name": "stdout", "text": lines(output)}],
        }],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    });
    serde_json::to_string_pretty(&notebook).expect("a JSON value serialises")
}

fn image_notebook(rng: &mut Random) -> String {
    let png = format!("iVBORw0KGgoAAAANSUhEUgAA{}", rng.key(BASE64, 4000));
    let notebook = json!({
        "cells": [{
            "cell_type": "code", "execution_count": 1, "id": "p1", "metadata": {},
            "source": ["plt.plot(x)\n"],
            "outputs": [{"output_type": "display_data", "metadata": {},
                         "data": {"image/png": png, "text/plain": ["<Figure size 640x480>"]}}],
        }],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    });
    serde_json::to_string_pretty(&notebook).expect("a JSON value serialises")
}

/// The scan's findings, by file: (rule, place) pairs.
fn scan(
    env: &TestEnv,
    dir: &Path,
) -> (std::process::Output, Vec<(String, String, Option<String>)>) {
    let out = env.run(dir, ["scan", "--format", "json", "."]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let findings = report["findings"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|f| {
            (
                f["path"]
                    .as_str()
                    .unwrap_or_default()
                    .trim_start_matches("./")
                    .to_string(),
                f["rule"].as_str().unwrap_or_default().to_string(),
                f["place"].as_str().map(str::to_string),
            )
        })
        .collect();
    (out, findings)
}

#[test]
fn each_family_is_found_in_a_file_a_notebook_source_and_output_and_bait_is_not() {
    let env = TestEnv::new();
    let dir = env.project(
        "rules",
        "DEBUG=true\nAPP_PASSWORD=Zq8vN3mXr7TbKp2Lw9Qs\n",
        0o600,
    );
    let mut rng = Random(13);
    let positives = positives(&mut rng);
    let negatives = negatives(&mut rng);
    let bait = bait(&mut rng);
    for sub in ["pos", "neg", "bait"] {
        fs::create_dir(dir.join(sub)).unwrap();
    }
    for (index, case) in positives.iter().enumerate() {
        fs::write(
            dir.join(format!("pos/{index}.txt")),
            format!("{}\n", case.text),
        )
        .unwrap();
        let output = format!("printing the configuration\n{}\n", case.text);
        fs::write(
            dir.join(format!("pos/{index}.ipynb")),
            notebook(&format!("{}\n", case.text), &output),
        )
        .unwrap();
    }
    for (index, (_, text)) in negatives.iter().enumerate() {
        fs::write(dir.join(format!("neg/{index}.txt")), format!("{text}\n")).unwrap();
        fs::write(
            dir.join(format!("neg/{index}.ipynb")),
            notebook(&format!("{text}\n"), text),
        )
        .unwrap();
    }
    fs::write(dir.join("bait/bait.txt"), bait.join("\n") + "\n").unwrap();
    fs::write(
        dir.join("bait/bait.ipynb"),
        notebook(&bait.join("\n"), &bait.join("\n")),
    )
    .unwrap();
    fs::write(dir.join("bait/plot.ipynb"), image_notebook(&mut rng)).unwrap();

    let (out, findings) = scan(&env, &dir);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    for case in &positives {
        assert_not_leaked(&out, &case.secret);
    }
    for (index, case) in positives.iter().enumerate() {
        let in_file: Vec<_> = findings
            .iter()
            .filter(|f| f.0 == format!("pos/{index}.txt"))
            .collect();
        assert!(
            in_file.len() == 1 && in_file[0].1 == case.rule,
            "pos/{index}.txt ({}): expected one finding of that rule, got {:?}",
            case.rule,
            in_file.iter().map(|f| &f.1).collect::<Vec<_>>()
        );
        let in_notebook: Vec<_> = findings
            .iter()
            .filter(|f| f.0 == format!("pos/{index}.ipynb") && f.1 == case.rule)
            .filter_map(|f| f.2.as_deref())
            .collect();
        for place in ["cell 1 source", "cell 1 output 1"] {
            assert!(
                in_notebook.contains(&place),
                "pos/{index}.ipynb ({}): not found in {place}; found in {in_notebook:?}",
                case.rule
            );
        }
    }
    let silent: Vec<_> = findings
        .iter()
        .filter(|f| f.0.starts_with("neg/") || f.0.starts_with("bait/"))
        .map(|f| (&f.0, &f.1, &f.2))
        .collect();
    assert!(
        silent.is_empty(),
        "near misses or bait reported: {silent:?}"
    );
}
