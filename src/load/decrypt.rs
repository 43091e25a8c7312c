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

use std::io::Read;
use std::path::Path;

use base64::Engine;

use crate::display::quote_for_display;
use crate::error::{Refusal, RefusalKind};
use crate::load::discover::SHARED_FILE_NAME;
use crate::load::dotenv::Binding;
use crate::load::identity::{self, Identities};

/// What marks a value as an age ciphertext.
pub const PREFIX: &str = "age:";

/// The fix for a user who cannot open a value: only a teammate can add them.
pub const NOT_A_RECIPIENT_FIX: &str = "ask a teammate to run envguard share add \"$(envguard share me)\", commit and push, then pull and `envguard allow`";

/// The bindings of the file at `path` with every value in plaintext, or the refusal for the
/// first one that cannot be decrypted.
pub fn decrypt(path: &Path, bindings: Vec<Binding>) -> Result<Vec<Binding>, Refusal> {
    if path.file_name().is_none_or(|name| name != SHARED_FILE_NAME) || bindings.is_empty() {
        return Ok(bindings);
    }
    let identities = identity::all()?;
    bindings
        .into_iter()
        .map(|binding| {
            let value = open(path, &binding, &identities)?;
            Ok(Binding { value, ..binding })
        })
        .collect()
}

/// Each binding's own outcome, for `check`, which names every value that cannot be opened
/// rather than stopping at the first as a load does.
pub fn try_each(
    path: &Path,
    bindings: Vec<Binding>,
) -> Result<Vec<Result<Binding, Refusal>>, Refusal> {
    let identities = identity::all()?;
    Ok(bindings
        .into_iter()
        .map(|binding| {
            let value = open(path, &binding, &identities)?;
            Ok(Binding { value, ..binding })
        })
        .collect())
}

/// How many recipients the ciphertext `value` (`age:<base64>`) is sealed to, from its age
/// header: one stanza per recipient, of the kinds a recipients file can list (X25519 and SSH
/// keys; age also writes a random "grease" stanza, which is no one's). `None` when it is not
/// an age file. The header tells how many, not who: an X25519 stanza names no key.
pub fn recipient_count(value: &str) -> Option<usize> {
    let encoded = value.strip_prefix(PREFIX)?;
    let ciphertext = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let header = ciphertext.strip_prefix(b"age-encryption.org/v1\n")?;
    let mut count = 0;
    for line in header.split(|byte| *byte == b'\n') {
        if line.starts_with(b"---") {
            return Some(count);
        }
        let kind = line
            .strip_prefix(b"-> ")
            .and_then(|stanza| stanza.split(|byte| *byte == b' ').next());
        if matches!(kind, Some(b"X25519" | b"ssh-ed25519" | b"ssh-rsa")) {
            count += 1;
        }
    }
    None
}

/// The value sealed in `binding`, checked to be sealed under `binding`'s own name.
fn open(path: &Path, binding: &Binding, identities: &Identities) -> Result<String, Refusal> {
    let name = &binding.name;
    let refuse = |reason: String, fix: String| {
        Refusal::new(path, RefusalKind::Parse, reason, fix).at_line(binding.line)
    };
    let damaged = |what: &str| {
        refuse(
            format!("{name}'s ciphertext {what}"),
            format!("ask whoever set it to run `envguard set --shared {name}` again"),
        )
    };
    let Some(encoded) = binding.value.strip_prefix(PREFIX) else {
        return Err(refuse(
            format!("{name} has a plaintext value; a committed team file holds only ciphertext"),
            format!(
                "`envguard set --shared {name}`, then rotate the value: it was readable in the file"
            ),
        ));
    };
    let ciphertext = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| damaged("is not base64"))?;
    let decryptor =
        age::Decryptor::new_buffered(&ciphertext[..]).map_err(|_| damaged("is not an age file"))?;
    let mut plaintext = Vec::new();
    decryptor
        .decrypt(identities.keys.iter().map(|identity| identity.as_ref()))
        .map_err(|error| match error {
            age::DecryptError::NoMatchingKeys if !identities.locked.is_empty() => {
                let locked: Vec<String> = identities
                    .locked
                    .iter()
                    .map(|file| quote_for_display(file))
                    .collect();
                refuse(
                    format!(
                        "none of your age identities opens {name}, and {} is protected by a passphrase, which envguard cannot ask for here (the shell hook, kernels and pipes have no terminal to ask on)",
                        locked.join(", ")
                    ),
                    "run `envguard exec -- COMMAND` in a terminal, which asks for it once; or keep an unencrypted identity file of mode 0600 (`envguard share me` makes one, for a teammate's `envguard share add`)".to_owned(),
                )
            }
            age::DecryptError::NoMatchingKeys => refuse(
                format!(
                    "you are not a recipient of {} (none of your age identities opens {name})",
                    quote_for_display(path)
                ),
                NOT_A_RECIPIENT_FIX.to_owned(),
            ),
            _ => damaged("is damaged"),
        })?
        .read_to_end(&mut plaintext)
        .map_err(|_| damaged("is damaged"))?;
    let sealed_name = plaintext.split(|b| *b == b'=').next().unwrap_or_default();
    if sealed_name.len() == plaintext.len() || sealed_name != name.as_bytes() {
        return Err(refuse(
            format!("{name} was encrypted for another name (a ciphertext moved between names)"),
            format!(
                "review the file's history (`git log -p {}`), then `envguard set --shared {name}`",
                quote_for_display(path)
            ),
        ));
    }
    let value = plaintext.split_off(sealed_name.len() + 1);
    if value.contains(&0) {
        return Err(damaged("holds a NUL byte, which no environment can carry"));
    }
    String::from_utf8(value).map_err(|_| damaged("holds a value that is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn sealed_to(count: usize) -> String {
        let keys: Vec<age::x25519::Identity> = (0..count)
            .map(|_| age::x25519::Identity::generate())
            .collect();
        let recipients: Vec<age::x25519::Recipient> =
            keys.iter().map(age::x25519::Identity::to_public).collect();
        let encryptor =
            age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
                .unwrap();
        let mut sealed = Vec::new();
        let mut writer = encryptor.wrap_output(&mut sealed).unwrap();
        writer.write_all(b"NAME=value").unwrap();
        writer.finish().unwrap();
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(sealed)
        )
    }

    #[test]
    fn recipient_count_reads_the_header_and_skips_the_grease_stanza() {
        for count in [1, 3, 8] {
            assert_eq!(recipient_count(&sealed_to(count)), Some(count));
        }
        assert_eq!(recipient_count("age:not base64"), None);
        assert_eq!(recipient_count("plaintext"), None);
        let not_age = base64::engine::general_purpose::STANDARD.encode("hello\n--- x\n");
        assert_eq!(recipient_count(&format!("{PREFIX}{not_age}")), None);
    }
}
