//! Private key blocks, which are the one credential written over many lines.
//!
//! A key is leaked as a file (`id_rsa`), a `"""…"""` string, a YAML block, `!cat key.pem`
//! output in a notebook, a one-line JSON string with `\n` escapes, or a notebook's raw list
//! of per-line JSON strings (`"MIIE…\n",` `"…\n",`). A regex across lines would have to be
//! written for each of those and could backtrack over a whole file; instead the body after a
//! BEGIN line is walked byte by byte over what any of those forms can hold between base64
//! lines, and the walk stops at the first `-----` or at any other byte, and after `MAX_BODY`
//! bytes. Every byte is therefore walked at most once per BEGIN marker, and bodies never
//! overlap: the work stays linear in the text.
//!
//! A placeholder body (`...`, `<key>`, `XXXX…`) stops the walk or fails the randomness test,
//! so a documented example stays silent.

/// Larger than an RSA-8192 key in PKCS#8 with every line JSON-quoted.
const MAX_BODY: usize = 32 * 1024;

/// A real key's body, even EC P-256, holds well over this many base64 characters.
const MIN_BASE64: usize = 64;

/// Without an END marker (the block was cut off), only a body this long is taken as a key.
const MIN_BASE64_UNTERMINATED: usize = 256;

pub struct Block {
    pub start: usize,
    pub end: usize,
    pub secret_start: usize,
    pub secret_end: usize,
}

/// Each private key block that begins in `text[from..to]` (a line, or a window of one).
pub fn find(text: &[u8], from: usize, to: usize, out: &mut Vec<Block>) {
    const BEGIN: &[u8] = b"-----BEGIN";
    let mut at = from;
    while let Some(offset) = find_bytes(&text[at..to], BEGIN) {
        let start = at + offset;
        at = start + BEGIN.len();
        if let Some(body_start) = marker_end(text, at, b"-----")
            && let Some(block) = body(text, start, body_start)
        {
            out.push(block);
        }
    }
}

/// After `-----BEGIN` (or `-----END`) at `at`: the end of ` … PRIVATE KEY-----`, if that is
/// what follows.
fn marker_end(text: &[u8], at: usize, closing: &[u8]) -> Option<usize> {
    let label_end = (at + 48).min(text.len());
    let label = &text[at..label_end];
    let close = find_bytes(label, closing)?;
    let words = &label[..close];
    let is_private_key = (words.ends_with(b" PRIVATE KEY")
        || words.ends_with(b" PRIVATE KEY BLOCK"))
        && words
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b' ');
    is_private_key.then_some(at + close + closing.len())
}

fn body(text: &[u8], start: usize, body_start: usize) -> Option<Block> {
    let limit = (body_start + MAX_BODY).min(text.len());
    let mut i = body_start;
    let mut base64 = 0usize;
    let mut counts = [0u32; 128];
    let mut secret_start = None;
    let mut secret_end = body_start;
    let mut ended = None;
    while i < limit {
        let b = text[i];
        if b == b'-' && text[i..].starts_with(b"-----") {
            if text[i..].starts_with(b"-----END") {
                ended = marker_end(text, i + b"-----END".len(), b"-----");
            }
            break;
        }
        if b == b'\\' && matches!(text.get(i + 1), Some(b'n' | b'r')) {
            // An escaped line break, in a JSON or Python string: not base64.
            i += 2;
            continue;
        }
        if b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=') {
            base64 += 1;
            counts[usize::from(b)] += 1;
            secret_start.get_or_insert(i);
            secret_end = i + 1;
        } else if !(b.is_ascii_whitespace()
            || matches!(b, b'"' | b'\'' | b',' | b'\\' | b'|' | b':' | b'-'))
        {
            // `...`, `<`, `…` and anything else that is no part of an encoded key.
            break;
        }
        i += 1;
    }
    let secret_start = secret_start?;
    let long_enough = match ended {
        Some(_) => base64 >= MIN_BASE64,
        None => base64 >= MIN_BASE64_UNTERMINATED && (i == limit || text[i] == b'-'),
    };
    (long_enough && looks_encoded(&counts, base64)).then_some(Block {
        start,
        end: ended.unwrap_or(secret_end),
        secret_start,
        secret_end,
    })
}

/// Encoded key material uses most of base64's alphabet evenly; `XXXX…` or a repeated word
/// does not.
fn looks_encoded(counts: &[u32; 128], total: usize) -> bool {
    let total = total as f64;
    let entropy: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / total;
            -p * p.log2()
        })
        .sum();
    entropy >= 4.5
}

fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
