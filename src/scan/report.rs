//! Printing findings: one line each for people, JSON for scripts, SARIF for code-scanning UIs.
//!
//! Every format is built from [`Finding`], which holds no secret, so no format can leak one.
//! File names are the repository's, not the user's: in text they are printed escaped, so a
//! committed name holding a newline or an ESC sequence can neither fake nor erase a finding
//! line. JSON and SARIF escape control characters themselves.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::Finding;
use super::rules::RULES;
use crate::cli::ScanFormat;
use crate::display::escape_text_for_display;

pub fn write(
    out: &mut impl Write,
    format: ScanFormat,
    findings: &[Finding],
    summary: Value,
) -> io::Result<()> {
    match format {
        ScanFormat::Text => findings
            .iter()
            .try_for_each(|finding| writeln!(out, "{}", text_line(finding))),
        ScanFormat::Json => {
            let findings: Vec<Value> = findings.iter().map(json_finding).collect();
            serde_json::to_writer_pretty(
                &mut *out,
                &json!({ "findings": findings, "summary": summary }),
            )?;
            writeln!(out)
        }
        ScanFormat::Sarif => {
            serde_json::to_writer_pretty(&mut *out, &sarif(findings))?;
            writeln!(out)
        }
    }
}

/// `path:line:col: rule-id NAME (hint)`; a notebook's place goes in brackets after the path
/// and a history finding is prefixed with its commit, as in git's `rev:path`.
pub fn text_line(finding: &Finding) -> String {
    let commit = finding
        .commit
        .as_deref()
        .map(|c| format!("{c}:"))
        .unwrap_or_default();
    let place = finding
        .place
        .as_deref()
        .map(|p| format!("[{p}]"))
        .unwrap_or_default();
    format!(
        "{commit}{}{}:{}:{}: {} {} ({})",
        escape_text_for_display(&finding.path),
        escape_text_for_display(&place),
        finding.line,
        finding.column,
        finding.rule_id,
        finding.label,
        finding.hint,
    )
}

fn json_finding(finding: &Finding) -> Value {
    json!({
        "path": finding.path,
        "place": finding.place,
        "line": finding.line,
        "column": finding.column,
        "rule": finding.rule_id,
        "name": finding.label,
        "hint": finding.hint,
        "fingerprint": finding.fingerprint,
        "commit": finding.commit,
    })
}

fn sarif(findings: &[Finding]) -> Value {
    let mut rules = vec![json!({
        "id": super::KNOWN_VALUE_ID,
        "name": "KnownValue",
        "shortDescription": { "text": "A value from the project's .env file" },
        "help": { "text": "Remove it from the file and rotate the credential: anything committed or shared is compromised." },
    })];
    rules.push(json!({
        "id": super::env_files::ENV_FILE_TRACKED_ID,
        "name": "EnvFileTracked",
        "shortDescription": { "text": "A .env file with values held by git" },
        "help": { "text": "Untrack it (`git rm --cached`), keep it git-ignored, and rotate its values if it was ever pushed." },
    }));
    rules.extend(RULES.iter().map(|rule| {
        json!({
            "id": rule.id,
            "shortDescription": { "text": rule.name },
            "help": { "text": "Remove it, load it from .env instead (`envguard exec`), and rotate the credential." },
        })
    }));
    let results: Vec<Value> = findings
        .iter()
        .map(|finding| {
            let place = finding
                .place
                .as_deref()
                .map(|p| format!(" in {p}"))
                .unwrap_or_default();
            json!({
                "ruleId": finding.rule_id,
                "level": "error",
                "message": { "text": format!("{} ({}){place}", finding.label, finding.hint) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": finding.path },
                        "region": { "startLine": finding.line, "startColumn": finding.column },
                    }
                }],
                "partialFingerprints": { "envguard/v1": finding.fingerprint },
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "envguard",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/envguard/envguard",
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_in_names_are_shown_escaped() {
        assert_eq!(escape_text_for_display("src/app.py"), "src/app.py");
        assert_eq!(
            escape_text_for_display("a\nb.py:1:1: fake\u{1b}[2K\tc\\d\u{7}\u{202e}"),
            "a\\nb.py:1:1: fake\\e[2K\\tc\\\\d\\x07\\u202e"
        );
    }
}
