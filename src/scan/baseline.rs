//! Accepted findings, recorded by fingerprint so that the file can be committed safely.
//!
//! A baseline lets a team adopt `scan` on a repository with known, already-rotated leaks and
//! still fail on new ones. It stores the keyed hash from [`Finding::fingerprint`] (never the
//! value) plus the path and rule so a reviewer can see what was accepted; the key stays on the
//! machine (see [`super::fingerprint`]), so the committed file is no oracle for the values.

use std::collections::HashSet;
use std::path::Path;

use serde_json::{Value, json};

use super::Finding;
use crate::atomic;
use crate::display::escape_for_display;
use crate::error::{Error, IoContext, Result};

pub struct Baseline {
    fingerprints: HashSet<String>,
}

impl Baseline {
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).context("read", path)?;
        let document: Value = serde_json::from_slice(&bytes).map_err(|_| not_a_baseline(path))?;
        let entries = document
            .get("findings")
            .and_then(Value::as_array)
            .ok_or_else(|| not_a_baseline(path))?;
        let fingerprints = entries
            .iter()
            .filter_map(|entry| entry.get("fingerprint").and_then(Value::as_str))
            .map(str::to_string)
            .collect();
        Ok(Baseline { fingerprints })
    }

    pub fn accepts(&self, finding: &Finding) -> bool {
        self.fingerprints.contains(&finding.fingerprint)
    }
}

pub fn write(path: &Path, findings: &[Finding]) -> Result<()> {
    let entries: Vec<Value> = findings
        .iter()
        .map(|f| json!({ "path": f.path, "rule": f.rule_id, "name": f.label, "fingerprint": f.fingerprint }))
        .collect();
    let document = json!({ "version": 1, "tool": "envguard scan", "findings": entries });
    let mut bytes = serde_json::to_vec_pretty(&document)
        .map_err(|e| Error::Failed(format!("cannot encode the baseline: {e}")))?;
    bytes.push(b'\n');
    atomic::write(path, &bytes, 0o644).context("write", path)
}

fn not_a_baseline(path: &Path) -> Error {
    Error::Usage(format!(
        "{}: not an envguard baseline (fix: recreate it with `envguard scan --write-baseline {}`)",
        escape_for_display(path),
        crate::display::quote_for_display(path)
    ))
}
