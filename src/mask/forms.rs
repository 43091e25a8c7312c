//! The forms a value takes when a program prints it, shared by the scanner (which looks for
//! leaks after the fact) and `exec --mask` (which replaces them before they are written): one
//! list, so a form taught to one is known to the other.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};

/// The form in which a value was found.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Plain,
    JsonEscaped,
    UrlEncoded,
    Base64,
    HtmlEscaped,
    PythonRepr,
}

impl Encoding {
    pub fn suffix(self) -> &'static str {
        match self {
            Encoding::Plain => "",
            Encoding::JsonEscaped => " (JSON-escaped)",
            Encoding::UrlEncoded => " (URL-encoded)",
            Encoding::Base64 => " (base64)",
            Encoding::HtmlEscaped => " (HTML-escaped)",
            Encoding::PythonRepr => " (Python repr)",
        }
    }
}

/// The value in every form worth searching, the plain one first.
pub fn encodings(value: &str) -> Vec<(Encoding, Vec<u8>)> {
    let mut forms = vec![(Encoding::Plain, value.as_bytes().to_vec())];
    let json = serde_json::to_string(value).unwrap_or_default();
    let json = json
        .get(1..json.len().saturating_sub(1))
        .unwrap_or_default();
    forms.push((Encoding::JsonEscaped, json.as_bytes().to_vec()));
    forms.push((Encoding::UrlEncoded, percent_encode(value).into_bytes()));
    // Without padding, so that the value is also found when more follows it in the encoding.
    forms.push((Encoding::Base64, STANDARD_NO_PAD.encode(value).into_bytes()));
    forms.push((Encoding::Base64, URL_SAFE_NO_PAD.encode(value).into_bytes()));
    if value.contains(['&', '<', '>', '"', '\'']) {
        // html.escape, nbconvert and most templates; markupsafe (Jinja); pandas, which
        // leaves quotes alone in element text.
        for [quot, apos] in [
            ["&quot;", "&#x27;"],
            ["&quot;", "&#39;"],
            ["&#34;", "&#39;"],
            ["\"", "'"],
        ] {
            forms.push((
                Encoding::HtmlEscaped,
                html_escape(value, quot, apos).into_bytes(),
            ));
        }
    }
    if value.contains(['\n', '\r']) {
        forms.push((Encoding::PythonRepr, python_repr(value).into_bytes()));
    }
    forms
}

fn html_escape(value: &str, quot: &str, apos: &str) -> String {
    let mut out = String::with_capacity(value.len() + 16);
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str(quot),
            '\'' => out.push_str(apos),
            c => out.push(c),
        }
    }
    out
}

/// The inside of Python's `repr(value)`: its choice of quote, and its escapes.
pub fn python_repr(value: &str) -> String {
    let quote = if value.contains('\'') && !value.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(value.len() + 16);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// Percent-encoding as `encodeURIComponent` and `urllib.parse.quote(safe="")` do it.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
