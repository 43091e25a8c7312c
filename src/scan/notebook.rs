//! Jupyter notebooks: findings by cell and line, and redaction in place.
//!
//! A notebook is JSON, so a finding at "line 4817" of the file means nothing to its author;
//! what they can act on is "cell 12, output 1, line 3". Each cell's source and each output's
//! text (stream text, `text/plain`, HTML, error tracebacks) is scanned as the text Jupyter
//! shows; embedded images are skipped, their base64 is neither text nor a leak.
//!
//! Redaction edits the file's bytes rather than re-serialising it: every secret found in the
//! decoded text is replaced where its JSON-escaped form occurs in the file, so the rest of the
//! notebook stays byte-identical (key order, indentation, image data) and still validates.
//! The result is rescanned before it is written; if a secret survives (an unusual escaping)
//! the notebook is left untouched and the user is told.

use aho_corasick::{AhoCorasick, MatchKind};
use serde_json::Value;

use super::{Detector, Finding};

/// The file is not notebook JSON; the caller scans it as text instead.
pub struct NotANotebook;

/// One piece of text Jupyter shows: where it is, and what it says.
struct Part {
    place: String,
    text: String,
}

pub fn scan(
    detector: &Detector,
    shown: &str,
    bytes: &[u8],
    found: &mut Vec<Finding>,
) -> Result<(), NotANotebook> {
    let mut hits = Vec::new();
    for part in parts(bytes)? {
        detector.find(part.text.as_bytes(), &mut hits);
        found.extend(detector.findings(shown, Some(&part.place), part.text.as_bytes(), &hits));
    }
    Ok(())
}

/// Whether a scan of the raw JSON finds every secret the decoded cells hold. It does when
/// each secret is written as nbformat writes it (known values are also searched JSON-escaped),
/// but not when another escape hides one (`\/`, `\u0041`), when an escape glued to a token
/// takes away the word boundary its shape needs (`\nghp_…`), nor when a multi-line value is
/// split over a source's list of lines.
pub fn raw_text_is_enough(detector: &Detector, raw: &[u8]) -> bool {
    let hiding_escape = raw.windows(3).any(|w| {
        w[0] == b'\\'
            && (matches!(w[1], b'u' | b'/')
                || (matches!(w[1], b'b' | b'f' | b'n' | b'r' | b't')
                    && w[2].is_ascii_alphanumeric()))
    });
    !detector.known.has_multiline() && !hiding_escape
}

/// Why a notebook was not rewritten.
pub enum RedactError {
    NotANotebook,
    /// After replacement a secret was still found: the file escapes it in a way not handled.
    Survived,
}

/// The notebook with every finding replaced by `<redacted:NAME>`, or `None` if it has none.
pub fn redact(detector: &Detector, bytes: &[u8]) -> Result<Option<Vec<u8>>, RedactError> {
    let parts = parts(bytes).map_err(|_| RedactError::NotANotebook)?;
    let mut needles: Vec<Vec<u8>> = Vec::new();
    let mut replacements: Vec<String> = Vec::new();
    let mut hits = Vec::new();
    for part in &parts {
        detector.find(part.text.as_bytes(), &mut hits);
        for hit in &hits {
            let secret = &part.text[hit.secret_start..hit.secret_end];
            let needle = json_escaped(secret);
            if !needles.contains(&needle) {
                needles.push(needle);
                replacements.push(detector.redaction(hit));
            }
        }
    }
    if needles.is_empty() {
        return Ok(None);
    }
    let automaton = AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostLongest)
        .build(&needles)
        .map_err(|_| RedactError::Survived)?;
    let redacted = automaton.replace_all_bytes(bytes, &replacements);
    let mut check = Vec::new();
    match scan(detector, "", &redacted, &mut check) {
        Ok(()) if check.is_empty() => Ok(Some(redacted)),
        _ => Err(RedactError::Survived),
    }
}

/// `text` as it appears inside a JSON string written by nbformat (or serde_json: the two
/// escape the same characters the same way).
fn json_escaped(text: &str) -> Vec<u8> {
    let quoted = serde_json::to_vec(text).unwrap_or_default();
    quoted
        .get(1..quoted.len().saturating_sub(1))
        .unwrap_or_default()
        .to_vec()
}

fn parts(bytes: &[u8]) -> Result<Vec<Part>, NotANotebook> {
    let notebook: Value = serde_json::from_slice(bytes).map_err(|_| NotANotebook)?;
    let cells = notebook
        .get("cells")
        .and_then(Value::as_array)
        .ok_or(NotANotebook)?;
    let mut parts = Vec::new();
    for (index, cell) in cells.iter().enumerate() {
        let number = index + 1;
        if let Some(text) = cell.get("source").and_then(multiline) {
            parts.push(Part {
                place: format!("cell {number} source"),
                text,
            });
        }
        let outputs = cell
            .get("outputs")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (index, output) in outputs.iter().enumerate() {
            let place = format!("cell {number} output {}", index + 1);
            for text in output_texts(output) {
                parts.push(Part {
                    place: place.clone(),
                    text,
                });
            }
        }
    }
    Ok(parts)
}

/// The texts of one output, images left out.
fn output_texts(output: &Value) -> Vec<String> {
    let mut texts = Vec::new();
    if let Some(text) = output.get("text").and_then(multiline) {
        texts.push(text);
    }
    if let Some(data) = output.get("data").and_then(Value::as_object) {
        for (mime, value) in data {
            if !mime.starts_with("image/")
                && let Some(text) = multiline(value)
            {
                texts.push(text);
            }
        }
    }
    for key in ["ename", "evalue"] {
        if let Some(text) = output.get(key).and_then(Value::as_str) {
            texts.push(text.to_string());
        }
    }
    if let Some(lines) = output.get("traceback").and_then(Value::as_array) {
        texts.push(
            lines
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n"),
        );
    }
    texts
}

/// nbformat's "multiline string": a string, or a list of strings to concatenate.
fn multiline(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Array(lines) => Some(lines.iter().filter_map(Value::as_str).collect()),
        _ => None,
    }
}
