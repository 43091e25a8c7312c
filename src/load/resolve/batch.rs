//! Several references of one provider fetched by one process.
//!
//! Why: the AWS CLI is a Python program that spends about a second of CPU starting, so ten
//! `get-secret-value` calls on two cores cost five seconds however concurrently they run, and
//! each `op read` may ask the user to unlock 1Password again. One
//! `aws secretsmanager batch-get-secret-value` serves up to 20 secrets of a region, and one
//! `op inject` serves every 1Password reference, fed a template on standard input.
//!
//! A batch is only an optimisation: where the installed CLI lacks the batch command, the
//! caller lacks the permission for it, or its answer does not account for a reference, those
//! references are fetched one by one, so the outcome (and its error line) is the one a single
//! fetch would have given.

use std::io::Read;

use serde::Deserialize;

use super::providers::{AwsSecret, Batch, Fetch, Output, aws_value, value_of};
use super::run::{Failed, Failure, first_line};

/// `batch-get-secret-value` takes at most this many ids.
const AWS_BATCH: usize = 20;

/// One process to run, and the references (indexes into the load's fetches) it serves.
pub struct Job {
    pub program: String,
    pub args: Vec<String>,
    pub stdin: Option<Vec<u8>>,
    pub members: Vec<usize>,
    kind: Kind,
}

enum Kind {
    Single,
    /// `batch-get-secret-value` for the members' `Batch::AwsCurrent` ids.
    Aws,
    /// The random marker the template put before each reference.
    Op(String),
}

/// What a job's run means for one member: its outcome, or `None` to fetch it on its own.
pub type Outcome = (usize, Option<Result<String, Failure>>);

/// The jobs that fetch `members` of `fetches`, batched where the provider allows.
pub fn plan(fetches: &[&Fetch], members: &[usize]) -> Vec<Job> {
    let mut jobs = Vec::new();
    let mut aws: Vec<(Option<&str>, Vec<usize>)> = Vec::new();
    let mut op = Vec::new();
    for &member in members {
        match &fetches[member].batch {
            Some(Batch::AwsCurrent { region, .. }) => {
                let region = region.as_deref();
                match aws.iter_mut().find(|(r, _)| *r == region) {
                    Some((_, group)) => group.push(member),
                    None => aws.push((region, vec![member])),
                }
            }
            Some(Batch::Op) => op.push(member),
            None => jobs.push(single(fetches, member)),
        }
    }
    for (region, group) in aws {
        for chunk in chunks_of_unique_ids(fetches, group) {
            jobs.push(match chunk.len() {
                1 => single(fetches, chunk[0]),
                _ => aws_job(fetches, region, chunk),
            });
        }
    }
    match random_marker().filter(|_| op.len() > 1) {
        Some(marker) => jobs.push(op_job(fetches, op, marker)),
        None => jobs.extend(singles(fetches, &op)),
    }
    jobs
}

/// Each member fetched by its own process (a batch's fallback).
pub fn singles(fetches: &[&Fetch], members: &[usize]) -> Vec<Job> {
    members.iter().map(|&m| single(fetches, m)).collect()
}

fn single(fetches: &[&Fetch], member: usize) -> Job {
    Job {
        program: fetches[member].program.clone(),
        args: fetches[member].args.clone(),
        stdin: None,
        members: vec![member],
        kind: Kind::Single,
    }
}

/// What the run of `job` gives each of its members.
pub fn split(job: &Job, fetches: &[&Fetch], ran: Result<Vec<u8>, Failed>) -> Vec<Outcome> {
    let all = |outcome: Option<Result<String, Failure>>| -> Vec<Outcome> {
        job.members.iter().map(|&m| (m, outcome.clone())).collect()
    };
    let stdout = match ran {
        Ok(stdout) => stdout,
        // The CLI predates the batch command, or the caller may read each secret but not
        // batch them (`BatchGetSecretValue` is a permission of its own): one by one.
        Err(failed)
            if matches!(job.kind, Kind::Aws)
                && (failed.said("Invalid choice") || failed.said("AccessDenied")) =>
        {
            return all(None);
        }
        // `op inject` fails whole, naming no reference: one by one says which one failed.
        Err(Failed::Exited(_)) if matches!(job.kind, Kind::Op(_)) => return all(None),
        Err(failed) => return all(Some(Err(Failure::of(&job.program, failed)))),
    };
    match &job.kind {
        Kind::Single => {
            let fetch = fetches[job.members[0]];
            let value = value_of(&fetch.output, stdout).map_err(Failure::Refused);
            vec![(job.members[0], Some(value))]
        }
        Kind::Aws => split_aws(job, fetches, &stdout),
        Kind::Op(marker) => split_op(job, marker, stdout),
    }
}

/// Groups of at most [`AWS_BATCH`] distinct ids (a name asked for twice is one id).
fn chunks_of_unique_ids(fetches: &[&Fetch], group: Vec<usize>) -> Vec<Vec<usize>> {
    let mut chunks: Vec<(Vec<&str>, Vec<usize>)> = Vec::new();
    for member in group {
        let id = aws_id(fetches[member]);
        let fits = chunks
            .last()
            .is_some_and(|(ids, _)| ids.contains(&id) || ids.len() < AWS_BATCH);
        if !fits {
            chunks.push((Vec::new(), Vec::new()));
        }
        let (ids, members) = chunks.last_mut().expect("a chunk was just pushed");
        if !ids.contains(&id) {
            ids.push(id);
        }
        members.push(member);
    }
    chunks.into_iter().map(|(_, members)| members).collect()
}

fn aws_id(fetch: &Fetch) -> &str {
    match &fetch.batch {
        Some(Batch::AwsCurrent { id, .. }) => id,
        _ => "",
    }
}

/// The ids go in one JSON argument, glued to its option: an id such as `--debug` stays an
/// id, where `--secret-id-list ID…` would let it become an option.
fn aws_job(fetches: &[&Fetch], region: Option<&str>, members: Vec<usize>) -> Job {
    let mut ids: Vec<&str> = Vec::new();
    for &member in &members {
        let id = aws_id(fetches[member]);
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let input = serde_json::json!({ "SecretIdList": ids });
    let mut args = vec![
        "secretsmanager".to_owned(),
        "batch-get-secret-value".to_owned(),
        format!("--cli-input-json={input}"),
        "--output=json".to_owned(),
    ];
    if let Some(region) = region {
        args.push(format!("--region={region}"));
    }
    Job {
        program: "aws".to_owned(),
        args,
        stdin: None,
        members,
        kind: Kind::Aws,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AwsAnswer {
    #[serde(default)]
    secret_values: Vec<AwsSecret>,
    #[serde(default)]
    errors: Vec<AwsError>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AwsError {
    secret_id: String,
    error_code: Option<String>,
    message: Option<String>,
}

fn split_aws(job: &Job, fetches: &[&Fetch], stdout: &[u8]) -> Vec<Outcome> {
    let Ok(answer) = serde_json::from_slice::<AwsAnswer>(stdout) else {
        let failure = Failure::Refused(
            "`aws` answered batch-get-secret-value with something that is not its JSON".to_owned(),
        );
        return job
            .members
            .iter()
            .map(|&m| (m, Some(Err(failure.clone()))))
            .collect();
    };
    job.members
        .iter()
        .map(|&member| {
            let fetch = fetches[member];
            let id = aws_id(fetch);
            if let Some(error) = answer.errors.iter().find(|e| e.secret_id == id) {
                let said = format!(
                    "{}: {}",
                    error.error_code.as_deref().unwrap_or("error"),
                    error.message.as_deref().unwrap_or("no message")
                );
                let failure =
                    Failure::Refused(format!("`aws` failed: {}", first_line(said.as_bytes())));
                return (member, Some(Err(failure)));
            }
            // A partial ARN matches neither the name nor the full ARN: asked on its own.
            let secret = answer
                .secret_values
                .iter()
                .find(|s| s.name.as_deref() == Some(id) || s.arn.as_deref() == Some(id));
            let field = match &fetch.output {
                Output::AwsSecret(field) => field.as_deref(),
                _ => None,
            };
            let value = |secret| aws_value(secret, field).map_err(Failure::Refused);
            (member, secret.map(value))
        })
        .collect()
}

/// A template of every member's reference, each enclosed as `op inject` documents
/// (`{{ op://… }}`) and preceded by a random marker and its position, which no value can
/// contain by chance and no `.env` author can know: the answer splits at the markers.
fn op_job(fetches: &[&Fetch], members: Vec<usize>, marker: String) -> Job {
    let mut template = String::new();
    for (position, &member) in members.iter().enumerate() {
        let reference = fetches[member].args.last().map_or("", String::as_str);
        template.push_str(&format!("{marker}-{position}:{{{{ {reference} }}}}"));
    }
    template.push_str(&format!("{marker}-end"));
    Job {
        program: "op".to_owned(),
        args: vec!["inject".to_owned()],
        stdin: Some(template.into_bytes()),
        members,
        kind: Kind::Op(marker),
    }
}

fn split_op(job: &Job, marker: &str, stdout: Vec<u8>) -> Vec<Outcome> {
    let count = job.members.len();
    let values = String::from_utf8(stdout).ok().and_then(|text| {
        let mut rest = text.as_str();
        let mut values = Vec::with_capacity(count);
        for position in 0..count {
            rest = rest.strip_prefix(&format!("{marker}-{position}:"))?;
            let next = match position + 1 {
                n if n == count => format!("{marker}-end"),
                n => format!("{marker}-{n}:"),
            };
            let at = rest.find(&next)?;
            values.push(rest[..at].to_owned());
            rest = &rest[at..];
        }
        Some(values)
    });
    match values {
        Some(values) => job
            .members
            .iter()
            .zip(values)
            .map(|(&m, value)| (m, Some(Ok(value))))
            .collect(),
        None => {
            let failure = Failure::Refused(
                "`op inject` answered with something other than the template filled in".to_owned(),
            );
            job.members
                .iter()
                .map(|&m| (m, Some(Err(failure.clone()))))
                .collect()
        }
    }
}

/// 128 random bits in hex, from the kernel; `None` (no batch) if it cannot give them.
fn random_marker() -> Option<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::resolve::providers::fetch_for;

    fn fetches(values: &[&str]) -> Vec<Fetch> {
        values
            .iter()
            .map(|v| fetch_for(v).unwrap().unwrap())
            .collect()
    }

    #[test]
    fn one_aws_call_per_region_and_the_rest_alone() {
        let owned = fetches(&[
            "aws-sm://a",
            "aws-sm://b#f",
            "aws-sm://a#g",
            "aws-sm://c?region=eu-west-1",
            "aws-sm://d?version-stage=AWSPREVIOUS",
            "op://v/i/f",
        ]);
        let all: Vec<&Fetch> = owned.iter().collect();
        let jobs = plan(&all, &[0, 1, 2, 3, 4, 5]);
        let members: Vec<&[usize]> = jobs.iter().map(|job| job.members.as_slice()).collect();
        assert_eq!(members, [&[4][..], &[0, 1, 2], &[3], &[5]]);
        assert_eq!(
            jobs[1].args[2],
            r#"--cli-input-json={"SecretIdList":["a","b"]}"#
        );
    }

    #[test]
    fn an_inject_answer_splits_at_its_markers_whatever_the_values_hold() {
        let owned = fetches(&["op://v/a/f", "op://v/b/f"]);
        let all: Vec<&Fetch> = owned.iter().collect();
        let job = op_job(&all, vec![0, 1], "m".repeat(32));
        let template = String::from_utf8(job.stdin.clone().unwrap()).unwrap();
        assert!(template.contains("{{ op://v/a/f }}"), "{template}");
        let marker = "m".repeat(32);
        let answer = format!("{marker}-0:one\n-1:{{{{ x }}}}{marker}-1:two{marker}-end");
        let values: Vec<_> = split_op(&job, &marker, answer.into_bytes())
            .into_iter()
            .map(|(_, outcome)| outcome.unwrap().ok().unwrap())
            .collect();
        assert_eq!(values, ["one\n-1:{{ x }}", "two"]);
        let broken = split_op(&job, &marker, b"op did something else".to_vec());
        assert!(
            broken
                .iter()
                .all(|(_, outcome)| matches!(outcome, Some(Err(_))))
        );
    }
}
