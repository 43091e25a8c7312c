//! Jupyter notebooks: findings by cell and line, and redaction in place.
//!
//! A notebook is JSON, so a finding at "line 4817" of the file means nothing to its author;
//! what they can act on is "cell 12, output 1, line 3". Every string in the notebook is
//! scanned: each cell's source and each output's text (stream text, every MIME type but
//! image pixels, error tracebacks) as the text Jupyter shows, joining a list of lines as
//! Jupyter does; everything else (notebook and cell metadata, widget state, output metadata,
//! JSON outputs, attachments) as pretty-printed JSON, so that a key hidden in metadata is
//! found as surely as one in a cell. Only base64 image payloads (PNG, JPEG, GIF and other
//! bitmaps) are skipped: they are pixels, neither text nor a leak.
//!
//! Redaction edits the file's bytes rather than re-serialising it: every secret found in the
//! decoded text is replaced where its JSON-escaped form occurs in the file, so the rest of the
//! notebook stays byte-identical (key order, indentation, image data) and still validates.
//! A multi-line secret (a private key) in a cell's list of lines spans several JSON strings;
//! it is matched across their separators and the strings it spans are merged into one holding
//! the redaction. The result is rescanned before it is written; if a secret survives (an
//! unusual escaping) the notebook is left untouched and the user is told.

use aho_corasick::{AhoCorasick, MatchKind};
use regex::bytes::{NoExpand, Regex, RegexBuilder};
use serde_json::Value;

use super::{Detector, Finding, Hit};

/// The file is not notebook JSON; the caller scans it as text instead.
pub struct NotANotebook;

/// One piece of text Jupyter shows: where it is, and what it says.
struct Part {
    place: String,
    text: String,
    /// The text is a JSON rendering (metadata, a JSON output), whose strings are already
    /// escaped as the file escapes them.
    rendered: bool,
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
/// takes away the word boundary its shape needs (`\nghp_…`), when a multi-line value is
/// split over a source's list of lines, nor when a list of lines splits a line (an element
/// not ending in a newline, followed by another), which Jupyter joins into one.
pub fn raw_text_is_enough(detector: &Detector, raw: &[u8]) -> bool {
    let hiding_escape = memchr::memchr_iter(b'\\', raw).any(|at| {
        let (kind, next) = (raw.get(at + 1).copied(), raw.get(at + 2).copied());
        matches!(kind, Some(b'u' | b'/'))
            || (matches!(kind, Some(b'b' | b'f' | b'n' | b'r' | b't'))
                && next.is_some_and(|b| b.is_ascii_alphanumeric()))
    });
    !detector.known.has_multiline() && !hiding_escape && !splits_a_line(raw)
}

/// Whether the raw JSON lets the notebook go unparsed: no hit outside its image payloads, and
/// nothing the decoded cells show that the raw text could hide ([`raw_text_is_enough`]).
/// Image payloads are a notebook's bulk and the parsed scan skips them too, so the token
/// rules are not run over them here either; a file whose payloads were passed over must
/// then be one the parsed scan would accept (else it is scanned as text, payloads and all).
pub fn raw_shows_nothing(detector: &Detector, raw: &[u8], hits: &mut Vec<Hit>) -> bool {
    let images = image_payloads(raw);
    let mut from = 0;
    for range in images
        .iter()
        .chain(std::iter::once(&(raw.len()..raw.len())))
    {
        detector.find(&raw[from..range.start], hits);
        if !hits.is_empty() {
            return false;
        }
        from = range.end;
    }
    raw_text_is_enough(detector, raw) && (images.is_empty() || parses_as_notebook(raw))
}

/// Whether [`parts`] would accept `raw`, checked without building it: valid JSON (to the
/// same depth limit) whose top is an object with one `cells` array.
fn parses_as_notebook(raw: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Shape {
        #[allow(dead_code)]
        cells: Vec<serde::de::IgnoredAny>,
    }
    serde_json::from_slice::<Shape>(raw).is_ok()
}

/// Where the base64 of each image output or attachment is in `raw` (the bytes between its
/// quotes), at exactly the places [`parts`] skips: `cells[].outputs[].data.image/*` and
/// `cells[].attachments.*.image/*`, SVG excepted. A key written with escapes is not
/// recognised, and its payload is scanned: a miss costs time, never a finding.
fn image_payloads(raw: &[u8]) -> Vec<std::ops::Range<usize>> {
    /// One open container: for an object, its current key (a range of `raw`) and whether the
    /// next string is a key; for an array, whether it is an image payload's list of lines.
    struct Frame {
        object: bool,
        key: std::ops::Range<usize>,
        expects_key: bool,
        payload_lines: bool,
    }
    let key_is = |frame: &Frame, name: &[u8]| frame.object && &raw[frame.key.clone()] == name;
    let at_image = |stack: &[Frame]| -> bool {
        let Some(bundle) = stack.last() else {
            return false;
        };
        let mime = &raw[bundle.key.clone()];
        let is_image = bundle.object
            && mime.starts_with(b"image/")
            && !mime[6..].starts_with(b"svg")
            && !mime.contains(&b'\\');
        is_image
            && match stack.len() {
                // root.cells[i].outputs[j].data.MIME
                6 => {
                    key_is(&stack[0], b"cells")
                        && !stack[1].object
                        && key_is(&stack[2], b"outputs")
                        && !stack[3].object
                        && key_is(&stack[4], b"data")
                }
                // root.cells[i].attachments.NAME.MIME
                5 => {
                    key_is(&stack[0], b"cells")
                        && !stack[1].object
                        && key_is(&stack[2], b"attachments")
                        && stack[3].object
                }
                _ => false,
            }
    };
    let mut stack: Vec<Frame> = Vec::new();
    let mut payloads = Vec::new();
    let mut at = 0;
    while at < raw.len() {
        match raw[at] {
            b'"' => {
                let end = string_end(raw, at + 1);
                let body = at + 1..end;
                let image = at_image(&stack);
                match stack.last_mut() {
                    Some(frame) if frame.object && frame.expects_key => {
                        frame.key = body;
                        frame.expects_key = false;
                    }
                    Some(frame) if frame.payload_lines => payloads.push(body),
                    _ if image => payloads.push(body),
                    _ => {}
                }
                at = end + 1;
                continue;
            }
            b'{' | b'[' => {
                let object = raw[at] == b'{';
                let payload_lines = !object && at_image(&stack);
                stack.push(Frame {
                    object,
                    key: 0..0,
                    expects_key: object,
                    payload_lines,
                });
            }
            b'}' | b']' => {
                stack.pop();
            }
            b',' => {
                if let Some(frame) = stack.last_mut() {
                    frame.expects_key = frame.object;
                }
            }
            _ => {}
        }
        at += 1;
    }
    payloads
}

/// The index of the quote closing the JSON string whose body starts at `start`, or the end
/// of `raw` when it is not closed.
fn string_end(raw: &[u8], start: usize) -> usize {
    let mut end = start;
    // Strings are most of a notebook (base64 images above all): jump through them.
    while let Some(offset) = memchr::memchr2(b'"', b'\\', &raw[end..]) {
        end += offset;
        if raw[end] == b'"' {
            return end;
        }
        end += 2;
        if end >= raw.len() {
            break;
        }
    }
    raw.len()
}

/// Whether a JSON array in `raw` holds a string not ending in `\n` followed by another string:
/// a line Jupyter joins from two elements, which the raw text shows apart.
fn splits_a_line(raw: &[u8]) -> bool {
    let mut in_array: Vec<bool> = Vec::new();
    // The previous element of the innermost array was a string without a final newline.
    let mut open_line = false;
    let mut at = 0;
    while at < raw.len() {
        match raw[at] {
            b'"' => {
                let start = at + 1;
                let end = string_end(raw, start);
                let body = &raw[start..end];
                if in_array.last() == Some(&true) {
                    if open_line {
                        return true;
                    }
                    open_line = !ends_with_newline_escape(body);
                } else {
                    open_line = false;
                }
                at = end + 1;
                continue;
            }
            b'[' => {
                in_array.push(true);
                open_line = false;
            }
            b'{' => {
                in_array.push(false);
                open_line = false;
            }
            b']' | b'}' => {
                in_array.pop();
                open_line = false;
            }
            b',' | b' ' | b'\n' | b'\r' | b'\t' => {}
            _ => open_line = false,
        }
        at += 1;
    }
    false
}

/// A JSON string body ending in the `\n` escape (not in an escaped backslash and an `n`).
fn ends_with_newline_escape(body: &[u8]) -> bool {
    let Some(before) = body.strip_suffix(b"n") else {
        return false;
    };
    let backslashes = before.iter().rev().take_while(|&&b| b == b'\\').count();
    backslashes % 2 == 1
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
    let mut spanning: Vec<(Regex, String)> = Vec::new();
    let mut hits = Vec::new();
    for part in &parts {
        detector.find(part.text.as_bytes(), &mut hits);
        for hit in &hits {
            let secret = &part.text[hit.secret_start..hit.secret_end];
            if part.rendered {
                push_new(
                    &mut needles,
                    &mut replacements,
                    secret.as_bytes().to_vec(),
                    hit,
                    detector,
                );
            } else if secret.trim_end_matches('\n').contains('\n') {
                // Without a pattern the secret stays, and the rescan below says so.
                if let Some(pattern) = across_lines(secret)
                    && !spanning
                        .iter()
                        .any(|(known, _)| known.as_str() == pattern.as_str())
                {
                    spanning.push((pattern, detector.redaction(hit)));
                }
            } else {
                push_new(
                    &mut needles,
                    &mut replacements,
                    json_escaped(secret),
                    hit,
                    detector,
                );
            }
        }
    }
    if needles.is_empty() && spanning.is_empty() {
        return Ok(None);
    }
    // Spanning secrets first: a line of one may also be a needle of its own.
    let mut redacted = bytes.to_vec();
    for (pattern, replacement) in &spanning {
        redacted = pattern
            .replace_all(&redacted, NoExpand(replacement.as_bytes()))
            .into_owned();
    }
    if !needles.is_empty() {
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&needles)
            .map_err(|_| RedactError::Survived)?;
        redacted = automaton.replace_all_bytes(&redacted, &replacements);
    }
    let mut check = Vec::new();
    match scan(detector, "", &redacted, &mut check) {
        Ok(()) if check.is_empty() => Ok(Some(redacted)),
        _ => Err(RedactError::Survived),
    }
}

fn push_new(
    needles: &mut Vec<Vec<u8>>,
    replacements: &mut Vec<String>,
    needle: Vec<u8>,
    hit: &super::Hit,
    detector: &Detector,
) {
    if !needles.contains(&needle) {
        needles.push(needle);
        replacements.push(detector.redaction(hit));
    }
}

/// A multi-line secret as the file holds it: JSON-escaped, and free to continue in the next
/// string of a list of lines after each of its newlines (`"…\n",` then `"…`), as nbformat
/// stores a cell's source. Replacing the whole match merges those strings into one that
/// holds the redaction, which keeps the list, and so the notebook, valid.
fn across_lines(secret: &str) -> Option<Regex> {
    let escaped: Vec<String> = secret
        .split_inclusive('\n')
        .map(|line| regex::escape(&String::from_utf8_lossy(&json_escaped(line))))
        .collect();
    let pattern = escaped.join(r#"(?:"\s*,\s*")?"#);
    // Every piece is escaped; only a secret too large for the size limit can fail.
    RegexBuilder::new(&pattern).size_limit(1 << 26).build().ok()
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
    let Value::Object(top) = &notebook else {
        return Err(NotANotebook);
    };
    let cells = top
        .get("cells")
        .and_then(Value::as_array)
        .ok_or(NotANotebook)?;
    let mut parts = Vec::new();
    push_rest(&mut parts, "notebook metadata".into(), top, &["cells"]);
    for (index, cell) in cells.iter().enumerate() {
        let number = index + 1;
        let Value::Object(cell) = cell else {
            push_json(&mut parts, format!("cell {number}"), cell);
            continue;
        };
        if let Some(source) = cell.get("source") {
            push_shown(&mut parts, format!("cell {number} source"), source);
        }
        if let Some(Value::Object(attachments)) = cell.get("attachments") {
            for bundle in attachments.values() {
                push_bundle(&mut parts, &format!("cell {number} attachment"), bundle);
            }
        } else if let Some(other) = cell.get("attachments") {
            push_json(&mut parts, format!("cell {number} attachment"), other);
        }
        match cell.get("outputs") {
            Some(Value::Array(outputs)) => {
                for (index, output) in outputs.iter().enumerate() {
                    output_parts(
                        &mut parts,
                        &format!("cell {number} output {}", index + 1),
                        output,
                    );
                }
            }
            Some(other) => push_json(&mut parts, format!("cell {number} output"), other),
            None => {}
        }
        push_rest(
            &mut parts,
            format!("cell {number} metadata"),
            cell,
            &["source", "attachments", "outputs"],
        );
    }
    Ok(parts)
}

/// The parts of one output: its text as shown, its metadata and other fields as JSON.
fn output_parts(parts: &mut Vec<Part>, place: &str, output: &Value) {
    let Value::Object(fields) = output else {
        push_json(parts, place.to_string(), output);
        return;
    };
    if let Some(text) = fields.get("text") {
        push_shown(parts, place.to_string(), text);
    }
    if let Some(data) = fields.get("data") {
        push_bundle(parts, place, data);
    }
    for key in ["ename", "evalue"] {
        if let Some(Value::String(text)) = fields.get(key) {
            parts.push(Part {
                place: place.to_string(),
                text: text.clone(),
                rendered: false,
            });
        }
    }
    match fields.get("traceback") {
        Some(Value::Array(lines)) if lines.iter().all(Value::is_string) => parts.push(Part {
            place: place.to_string(),
            text: lines
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n"),
            rendered: false,
        }),
        Some(other) => push_json(parts, place.to_string(), other),
        None => {}
    }
    push_rest(
        parts,
        format!("{place} metadata"),
        fields,
        &["text", "data", "ename", "evalue", "traceback"],
    );
}

/// A MIME bundle (`{"text/html": …, "image/png": …}`): each type as shown, pixels skipped.
fn push_bundle(parts: &mut Vec<Part>, place: &str, bundle: &Value) {
    let Value::Object(types) = bundle else {
        push_json(parts, place.to_string(), bundle);
        return;
    };
    for (mime, value) in types {
        if !is_image_payload(mime) {
            push_shown(parts, place.to_string(), value);
        }
    }
}

/// Base64 of pixels; SVG is text and can hold anything.
fn is_image_payload(mime: &str) -> bool {
    mime.strip_prefix("image/")
        .is_some_and(|kind| !kind.starts_with("svg"))
}

/// A value Jupyter shows as text: a string or list of lines as the text; anything else (an
/// `application/json` output) as JSON.
fn push_shown(parts: &mut Vec<Part>, place: String, value: &Value) {
    match multiline(value) {
        Some(text) => parts.push(Part {
            place,
            text,
            rendered: false,
        }),
        None => push_json(parts, place, value),
    }
}

/// The fields of `object` other than `shown`, as one JSON text, when any holds a string.
fn push_rest(
    parts: &mut Vec<Part>,
    place: String,
    object: &serde_json::Map<String, Value>,
    shown: &[&str],
) {
    let rest: serde_json::Map<String, Value> = object
        .iter()
        .filter(|(key, _)| !shown.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    push_json(parts, place, &Value::Object(rest));
}

/// `value` pretty-printed, unless it holds no string at all (nothing to find).
fn push_json(parts: &mut Vec<Part>, place: String, value: &Value) {
    if !holds_text(value) {
        return;
    }
    if let Ok(text) = serde_json::to_string_pretty(value) {
        parts.push(Part {
            place,
            text,
            rendered: true,
        });
    }
}

fn holds_text(value: &Value) -> bool {
    match value {
        Value::String(_) => true,
        Value::Array(items) => items.iter().any(holds_text),
        Value::Object(fields) => !fields.is_empty(),
        _ => false,
    }
}

/// nbformat's "multiline string": a string, or a list of strings to concatenate.
fn multiline(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Array(lines) if lines.iter().all(Value::is_string) => {
            Some(lines.iter().filter_map(Value::as_str).collect())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_payloads_are_found_only_where_the_parsed_scan_skips_them() {
        let raw = br#"{"cells": [{"outputs": [{"data": {"image/png": "iVBORw0KGgo=", "text/plain": ["x"], "image/svg+xml": "<svg/>"}, "metadata": {"image/png": "META"}}],
            "attachments": {"a.jpg": {"image/jpeg": ["/9j/4AAQ\n", "SkZJRg=="]}}, "metadata": {"data": {"image/png": "CELLMETA"}}}],
            "metadata": {"image/png": "TOP"}}"#;
        let payloads: Vec<&[u8]> = image_payloads(raw)
            .into_iter()
            .map(|range| &raw[range])
            .collect();
        assert_eq!(
            payloads,
            [&b"iVBORw0KGgo="[..], b"/9j/4AAQ\\n", b"SkZJRg=="]
        );
        assert!(parses_as_notebook(raw));
        assert!(!parses_as_notebook(br#"{"cells": [], "x": tru}"#));
        assert!(!parses_as_notebook(br#"{"cells": {}}"#));
    }

    #[test]
    fn a_line_split_over_list_elements_is_noticed_in_the_raw_json() {
        assert!(splits_a_line(br#"{"source": ["x = 'Zq8v", "N3mX'\n"]}"#));
        assert!(!splits_a_line(
            br#"{"source": ["a\n", "b\n", "c"], "k": "v", "l": "w"}"#
        ));
        // An escaped backslash before `n` is not a newline escape.
        assert!(splits_a_line(br#"["a\\n", "b"]"#));
        assert!(!splits_a_line(br#"["a\\\n", "b"]"#));
        assert!(!splits_a_line(br#"[{"a": "b"}, "c"]"#));
    }
}
