//! What each secret manager's CLI is called with and what its answer means.
//!
//! A reference comes from a `.env`, so it is hostile input handed to another program: every
//! part of it reaches the CLI as exactly one argument, and only in a position where it cannot
//! be read as an option (after `--`, or glued to its option as `--opt=VALUE`). The argv and
//! output forms are the ones each vendor documents; the fixes are the commands that vendor
//! tells its users to run.

use base64::Engine;
use serde::Deserialize;

/// A reference split into the program to run and what to do with its output.
#[derive(Debug, PartialEq, Eq)]
pub struct Fetch {
    pub program: String,
    pub args: Vec<String>,
    pub output: Output,
    /// What to do when the program is not installed.
    pub install: &'static str,
    /// What to do when it ran and said no (signed out, no such secret).
    pub sign_in: &'static str,
    /// How this reference may share one process with others of its provider, if it may.
    pub batch: Option<Batch>,
}

/// What a reference contributes to a batch (see [`super::batch`]).
#[derive(Debug, PartialEq, Eq)]
pub enum Batch {
    /// A Secrets Manager secret at its current version, by name or ARN, in a region (`None`:
    /// the CLI's own setting): what `batch-get-secret-value` can fetch.
    AwsCurrent { id: String, region: Option<String> },
    /// A 1Password reference written only in characters `op inject`'s template syntax takes
    /// as part of a reference, so that it can neither end early nor add a second one.
    Op,
}

/// What is wrong with a reference (or with the user's scheme it names), and its fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub problem: String,
    pub fix: String,
}

impl Malformed {
    fn in_reference(problem: String) -> Self {
        Malformed {
            problem,
            fix: "fix the reference in the file".to_owned(),
        }
    }
}

/// The schemes envguard knows itself: a user's `providers.toml` cannot redefine them.
pub const BUILT_IN: [&str; 6] = ["aws-sm", "op", "vault", "gcp-sm", "azure-kv", "pass"];

/// The prefix that makes a value that would be a reference the literal text after it
/// (`URL=literal:op://not-a-ref` loads `op://not-a-ref`).
const LITERAL: &str = "literal:";

/// How a CLI's standard output becomes the value.
#[derive(Debug, PartialEq, Eq)]
pub enum Output {
    /// The output as is.
    Exact,
    /// The output without the one newline the CLI appends.
    TrailingNewline,
    /// The first line (`pass`: the password, by its convention, before any notes).
    FirstLine,
    /// A Secrets Manager secret as the API returns it (`SecretString` or base64
    /// `SecretBinary`), or with `#field` the member of the JSON object the secret holds.
    AwsSecret(Option<String>),
}

/// The fetch for `value` if it is a reference (`SCHEME://…` with a built-in scheme or one of
/// the user's own); `Err` holds what is malformed about it. This is the one place that decides
/// what is a reference and what is malformed: the load refuses exactly what `check` reports.
/// It judges text only; whether the text is as written, not made by `${...}` substitution, is
/// for its callers to check (`resolve::reference`), since a binding knows it and a value not.
pub fn fetch_for(value: &str) -> Option<Result<Fetch, Malformed>> {
    let (scheme, rest) = value.split_once("://")?;
    let fetch = match scheme {
        "aws-sm" => aws(rest),
        "op" => Ok(op(value)),
        "vault" => vault(rest),
        "gcp-sm" => gcp(rest),
        "azure-kv" => azure(rest),
        "pass" => pass(rest),
        _ => return super::config::fetch_for(scheme, rest),
    };
    Some(fetch.map_err(Malformed::in_reference))
}

/// The text a value escaped with `literal:` stands for, when what follows the prefix would
/// otherwise be a reference (or is itself escaped: `literal:literal:op://x` is
/// `literal:op://x`). Any other value starting `literal:` is plain, as it always was.
pub fn literal(value: &str) -> Option<&str> {
    let rest = value.strip_prefix(LITERAL)?;
    let mut inner = rest;
    while let Some(deeper) = inner.strip_prefix(LITERAL) {
        inner = deeper;
    }
    fetch_for(inner).is_some().then_some(rest)
}

/// The documented command that tells whether `program` is installed and signed in, printing
/// nothing secret that envguard would need to hide (it shows none of it anyway): `check`'s
/// "answering" probe. `None` for a user's scheme, whose CLI envguard does not know.
pub fn whoami(program: &str) -> Option<&'static [&'static str]> {
    Some(match program {
        "aws" => &["sts", "get-caller-identity"],
        "op" => &["whoami"],
        "vault" => &["token", "lookup"],
        // Not `print-access-token`, which prints a credential.
        "gcloud" => &["config", "get", "account"],
        "az" => &["account", "show"],
        // Lists entry names; decrypts nothing, so it cannot ask for a passphrase.
        "pass" => &["ls"],
        _ => return None,
    })
}

/// `aws-sm://ID[#field][?region=R&version-stage=S]`.
fn aws(rest: &str) -> Result<Fetch, String> {
    let (id, field, query) = split_reference(rest);
    if id.is_empty() {
        return Err("names no secret (expected `aws-sm://ID`)".to_owned());
    }
    let mut args = vec![
        "secretsmanager".to_owned(),
        "get-secret-value".to_owned(),
        format!("--secret-id={id}"),
        // The whole answer, not `--query=SecretString --output=text`, which prints `None`
        // for a binary secret: a value no one could tell from a secret that is `None`.
        "--output=json".to_owned(),
    ];
    let mut region = None;
    let mut current = true;
    for (key, value) in query {
        current &= key == "region";
        match key {
            "region" => {
                region = Some(value.to_owned());
                args.push(format!("--region={value}"));
            }
            "version-stage" => args.push(format!("--version-stage={value}")),
            "version-id" => args.push(format!("--version-id={value}")),
            _ => {
                return Err(format!(
                    "has an unknown option `{key}` (known: region, version-stage, version-id)"
                ));
            }
        }
    }
    Ok(Fetch {
        program: "aws".to_owned(),
        args,
        output: Output::AwsSecret(field.map(str::to_owned)),
        install: "install the AWS CLI",
        sign_in: "run `aws sso login` (or `aws configure`), and check the secret's name and region",
        batch: current.then(|| Batch::AwsCurrent {
            id: id.to_owned(),
            region,
        }),
    })
}

/// `op://VAULT/ITEM/FIELD`, passed whole: `op read` parses its own references.
fn op(reference: &str) -> Fetch {
    Fetch {
        program: "op".to_owned(),
        args: vec![
            "read".to_owned(),
            "--no-newline".to_owned(),
            "--".to_owned(),
            reference.to_owned(),
        ],
        output: Output::Exact,
        install: "install the 1Password CLI (`op`)",
        sign_in: "run `op signin`, and check the reference with `op read`",
        batch: reference["op://".len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
            .then_some(Batch::Op),
    }
}

/// `vault://PATH#FIELD` (a KV secret's field; the path as `vault kv get` takes it).
fn vault(rest: &str) -> Result<Fetch, String> {
    let (path, field, _) = split_reference(rest);
    let field = field.unwrap_or("");
    if path.is_empty() || field.is_empty() {
        return Err("is incomplete (expected `vault://PATH#FIELD`)".to_owned());
    }
    Ok(Fetch {
        program: "vault".to_owned(),
        args: vec![
            "kv".to_owned(),
            "get".to_owned(),
            format!("-field={field}"),
            "--".to_owned(),
            path.to_owned(),
        ],
        output: Output::Exact,
        install: "install the Vault CLI",
        sign_in: "run `vault login`, and check VAULT_ADDR and the secret's path",
        batch: None,
    })
}

/// `gcp-sm://PROJECT/NAME[@VERSION]` (version `latest` when absent).
fn gcp(rest: &str) -> Result<Fetch, String> {
    let (location, _, _) = split_reference(rest);
    let (project, name) = location.split_once('/').unwrap_or(("", location));
    let (name, version) = name
        .rsplit_once('@')
        .map_or((name, None), |(n, v)| (n, Some(v)));
    if project.is_empty() || name.is_empty() || version == Some("") {
        return Err("is incomplete (expected `gcp-sm://PROJECT/NAME[@VERSION]`)".to_owned());
    }
    Ok(Fetch {
        program: "gcloud".to_owned(),
        args: vec![
            "secrets".to_owned(),
            "versions".to_owned(),
            "access".to_owned(),
            format!("--secret={name}"),
            format!("--project={project}"),
            "--".to_owned(),
            version.unwrap_or("latest").to_owned(),
        ],
        output: Output::Exact,
        install: "install the Google Cloud CLI (`gcloud`)",
        sign_in: "run `gcloud auth login`, and check the project and secret name",
        batch: None,
    })
}

/// `azure-kv://VAULT/NAME`.
fn azure(rest: &str) -> Result<Fetch, String> {
    let (location, _, _) = split_reference(rest);
    let (vault, name) = location.split_once('/').unwrap_or((location, ""));
    if vault.is_empty() || name.is_empty() {
        return Err("is incomplete (expected `azure-kv://VAULT/NAME`)".to_owned());
    }
    Ok(Fetch {
        program: "az".to_owned(),
        args: vec![
            "keyvault".to_owned(),
            "secret".to_owned(),
            "show".to_owned(),
            format!("--vault-name={vault}"),
            format!("--name={name}"),
            "--query=value".to_owned(),
            "--output=tsv".to_owned(),
        ],
        output: Output::TrailingNewline,
        install: "install the Azure CLI (`az`)",
        sign_in: "run `az login`, and check the vault and secret name",
        batch: None,
    })
}

/// `pass://NAME`.
fn pass(name: &str) -> Result<Fetch, String> {
    if name.is_empty() {
        return Err("names no entry (expected `pass://NAME`)".to_owned());
    }
    Ok(Fetch {
        program: "pass".to_owned(),
        args: vec!["show".to_owned(), "--".to_owned(), name.to_owned()],
        output: Output::FirstLine,
        install: "install pass and gnupg",
        sign_in: "check the entry with `pass show NAME` and that gpg can unlock your key",
        batch: None,
    })
}

/// `LOCATION[#FRAGMENT][?k=v&…]`, either order of fragment and query.
fn split_reference(rest: &str) -> (&str, Option<&str>, Vec<(&str, &str)>) {
    let end = rest.find(['#', '?']).unwrap_or(rest.len());
    let location = &rest[..end];
    let part = |marker: char| {
        let start = rest.find(marker)? + 1;
        let tail = &rest[start..];
        Some(&tail[..tail.find(['#', '?']).unwrap_or(tail.len())])
    };
    let query = part('?')
        .map(|q| {
            q.split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
                .collect()
        })
        .unwrap_or_default();
    (location, part('#'), query)
}

/// The value `output` makes of what the CLI printed, or what is wrong with it (never the
/// printed text itself).
pub fn value_of(output: &Output, stdout: Vec<u8>) -> Result<String, String> {
    let text = String::from_utf8(stdout)
        .map_err(|_| "the CLI printed something that is not UTF-8 text".to_owned())?;
    match output {
        Output::Exact => Ok(text),
        Output::TrailingNewline => Ok(strip_newline(text)),
        Output::FirstLine => Ok(text.lines().next().unwrap_or("").to_owned()),
        Output::AwsSecret(field) => {
            let secret: AwsSecret = serde_json::from_str(&text).map_err(|_| {
                "`aws` answered with something that is not the JSON of a secret".to_owned()
            })?;
            aws_value(&secret, field.as_deref())
        }
    }
}

/// A secret in the answer of `get-secret-value` or `batch-get-secret-value`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AwsSecret {
    pub name: Option<String>,
    #[serde(rename = "ARN")]
    pub arn: Option<String>,
    pub secret_string: Option<String>,
    pub secret_binary: Option<String>,
}

/// The value of a secret: its text exactly (the JSON answer has no newline to drop), or the
/// member `field` of the JSON object it holds; a binary secret when it is UTF-8 text.
pub fn aws_value(secret: &AwsSecret, field: Option<&str>) -> Result<String, String> {
    let text = match (&secret.secret_string, &secret.secret_binary) {
        (Some(text), _) => text.clone(),
        (None, Some(binary)) => base64::engine::general_purpose::STANDARD
            .decode(binary)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| "the secret is binary, not UTF-8 text".to_owned())?,
        (None, None) => return Err("the secret has no value".to_owned()),
    };
    match field {
        Some(field) => json_field(&text, field),
        None => Ok(text),
    }
}

/// The member `field` of the JSON object `secret`, as `#field` picks it.
fn json_field(secret: &str, field: &str) -> Result<String, String> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(secret)
        .map_err(|_| "the secret is not a JSON object, so it has no field".to_owned())?;
    match object.get(field) {
        Some(serde_json::Value::String(value)) => Ok(value.clone()),
        Some(serde_json::Value::Null) | None => Err(format!("the secret has no field `{field}`")),
        Some(other) => Ok(other.to_string()),
    }
}

fn strip_newline(mut text: String) -> String {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_reference_parts_stay_glued_to_their_options() {
        let fetch = fetch_for("aws-sm://--debug#f?region=eu-west-1&version-stage=AWSPREVIOUS")
            .unwrap()
            .unwrap();
        assert_eq!(
            fetch.args,
            [
                "secretsmanager",
                "get-secret-value",
                "--secret-id=--debug",
                "--output=json",
                "--region=eu-west-1",
                "--version-stage=AWSPREVIOUS"
            ]
        );
        assert_eq!(fetch.output, Output::AwsSecret(Some("f".to_owned())));
    }

    #[test]
    fn query_before_fragment_reads_the_same() {
        let a = fetch_for("aws-sm://id?region=r#f").unwrap().unwrap();
        let b = fetch_for("aws-sm://id#f?region=r").unwrap().unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn unknown_schemes_are_plain_values() {
        assert!(fetch_for("https://example.com").is_none());
        assert!(fetch_for("postgres://u:p@h/db").is_none());
        assert!(fetch_for("plain").is_none());
    }

    #[test]
    fn json_field_and_newlines() {
        let field = Output::AwsSecret(Some("k".to_owned()));
        let answer = br#"{"Name":"n","SecretString":"{\"k\":\"v\"}"}"#;
        assert_eq!(value_of(&field, answer.to_vec()).unwrap(), "v");
        assert!(value_of(&field, b"not json\n".to_vec()).is_err());
        let binary = br#"{"SecretBinary":"dmFsdWU="}"#;
        assert_eq!(
            value_of(&Output::AwsSecret(None), binary.to_vec()).unwrap(),
            "value"
        );
        let not_text = br#"{"SecretBinary":"/w=="}"#;
        assert!(value_of(&Output::AwsSecret(None), not_text.to_vec()).is_err());
        assert_eq!(
            value_of(&Output::TrailingNewline, b"v\n".to_vec()).unwrap(),
            "v"
        );
        assert_eq!(value_of(&Output::Exact, b"v\n".to_vec()).unwrap(), "v\n");
        assert_eq!(
            value_of(&Output::FirstLine, b"pw\nnotes\n".to_vec()).unwrap(),
            "pw"
        );
    }
}
