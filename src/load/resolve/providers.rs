//! What each secret manager's CLI is called with and what its answer means.
//!
//! A reference comes from a `.env`, so it is hostile input handed to another program: every
//! part of it reaches the CLI as exactly one argument, and only in a position where it cannot
//! be read as an option (after `--`, or glued to its option as `--opt=VALUE`). The argv and
//! output forms are the ones each vendor documents; the fixes are the commands that vendor
//! tells its users to run.

/// A reference split into the program to run and what to do with its output.
#[derive(Debug, PartialEq, Eq)]
pub struct Fetch {
    pub program: &'static str,
    pub args: Vec<String>,
    pub output: Output,
    /// What to do when the program is not installed.
    pub install: &'static str,
    /// What to do when it ran and said no (signed out, no such secret).
    pub sign_in: &'static str,
}

/// How a CLI's standard output becomes the value.
#[derive(Debug, PartialEq, Eq)]
pub enum Output {
    /// The output as is.
    Exact,
    /// The output without the one newline the CLI appends.
    TrailingNewline,
    /// The first line (`pass`: the password, by its convention, before any notes).
    FirstLine,
    /// The member `field` of the JSON object the CLI prints (after its newline).
    JsonField(String),
}

/// The fetch for `value` if it is a reference (`SCHEME://…` with a known scheme); `Err` holds
/// what is malformed about a reference that names a known scheme.
pub fn fetch_for(value: &str) -> Option<Result<Fetch, String>> {
    let (scheme, rest) = value.split_once("://")?;
    let fetch = match scheme {
        "aws-sm" => aws(rest),
        "op" => Ok(op(value)),
        "vault" => vault(rest),
        "gcp-sm" => gcp(rest),
        "azure-kv" => azure(rest),
        "pass" => pass(rest),
        _ => return None,
    };
    Some(fetch)
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
        "--query=SecretString".to_owned(),
        "--output=text".to_owned(),
    ];
    for (key, value) in query {
        match key {
            "region" => args.push(format!("--region={value}")),
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
        program: "aws",
        args,
        output: match field {
            Some(field) => Output::JsonField(field.to_owned()),
            None => Output::TrailingNewline,
        },
        install: "install the AWS CLI",
        sign_in: "run `aws sso login` (or `aws configure`), and check the secret's name and region",
    })
}

/// `op://VAULT/ITEM/FIELD`, passed whole: `op read` parses its own references.
fn op(reference: &str) -> Fetch {
    Fetch {
        program: "op",
        args: vec![
            "read".to_owned(),
            "--no-newline".to_owned(),
            "--".to_owned(),
            reference.to_owned(),
        ],
        output: Output::Exact,
        install: "install the 1Password CLI (`op`)",
        sign_in: "run `op signin`, and check the reference with `op read`",
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
        program: "vault",
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
        program: "gcloud",
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
        program: "az",
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
    })
}

/// `pass://NAME`.
fn pass(name: &str) -> Result<Fetch, String> {
    if name.is_empty() {
        return Err("names no entry (expected `pass://NAME`)".to_owned());
    }
    Ok(Fetch {
        program: "pass",
        args: vec!["show".to_owned(), "--".to_owned(), name.to_owned()],
        output: Output::FirstLine,
        install: "install pass and gnupg",
        sign_in: "check the entry with `pass show NAME` and that gpg can unlock your key",
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
    Ok(match output {
        Output::Exact => text,
        Output::TrailingNewline => strip_newline(text),
        Output::FirstLine => text.lines().next().unwrap_or("").to_owned(),
        Output::JsonField(field) => {
            let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)
                .map_err(|_| "the secret is not a JSON object, so it has no field".to_owned())?;
            match object.get(field) {
                Some(serde_json::Value::String(value)) => value.clone(),
                Some(serde_json::Value::Null) | None => {
                    return Err(format!("the secret has no field `{field}`"));
                }
                Some(other) => other.to_string(),
            }
        }
    })
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
                "--query=SecretString",
                "--output=text",
                "--region=eu-west-1",
                "--version-stage=AWSPREVIOUS"
            ]
        );
        assert_eq!(fetch.output, Output::JsonField("f".to_owned()));
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
        let field = Output::JsonField("k".to_owned());
        assert_eq!(value_of(&field, br#"{"k":"v"}"#.to_vec()).unwrap(), "v");
        assert!(value_of(&field, b"not json\n".to_vec()).is_err());
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
