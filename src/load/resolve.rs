//! The loader's resolution stage: bindings in, bindings with every reference replaced by the
//! secret it points to.
//!
//! What plugs in here is issue 15: a value `SCHEME://…` (`op://`, `aws-sm://`, `vault://`, …)
//! names a secret kept in a secret manager, fetched through that provider's own CLI. It is a
//! stage of its own, after decryption and before the name and size rules, because:
//!
//! - a reference may sit in a team file, where it is a plaintext value among ciphertexts, so it
//!   can only be recognised once values are decrypted;
//! - it sees all the bindings of a load at once, which is what lets the references be fetched
//!   concurrently (N references cost about one round trip) and all or nothing: one failed
//!   fetch refuses the load, naming the variable, its line and the reference, never a value;
//! - the rules that follow must judge the fetched values, which are what would be loaded;
//! - it runs after the guard and the parser and only when a file is loaded, so the hook's
//!   no-change prompt never starts a CLI; trust, decided on the bytes as read, covers the
//!   references, never what a provider returned.
//!
//! One ordering is still to change when references land: today the trust gate is the last
//! stage (so a refused name is reported before "not allowed yet"), which would let an unallowed
//! file start provider CLIs on every `cd`. Trust is decided on the bytes as read, so the gate
//! can, and then must, run before this stage for every load that resolves anything.
//!
//! Today no scheme is known, so every value is a plain value and passes as it is.

use std::path::Path;

use crate::error::Refusal;
use crate::load::dotenv::Binding;

/// The bindings of the file at `path` with every reference resolved, or the refusal for the
/// first one that could not be.
pub fn resolve(_path: &Path, bindings: Vec<Binding>) -> Result<Vec<Binding>, Refusal> {
    Ok(bindings)
}
