//! `envguard edit --shared`: the team's `.env.shared` in an editor, as plaintext, without the
//! plaintext ever reaching the project or outliving the edit.
//!
//! The editor gets a decrypted copy in the same private [`Scratch`] directory a personal edit
//! uses (0700, removed when the edit ends, or by the next `edit` after a kill). On save, a
//! value the user left as it was keeps its exact ciphertext (age encryption is randomised, so
//! sealing it again would change every line and turn a one-value edit into a whole-file git
//! diff that nobody can review); only changed and added values are sealed, to the recipients
//! of `.env.recipients`, and names no longer in the copy are gone.
//!
//! A copy that does not parse saves nothing: unlike a personal `.env`, a team file is not
//! written with a line that cannot be sealed. If `.env.shared` changed while the editor was
//! open (a `git pull`, a teammate's `set --shared` in the same checkout), the user's changes
//! are applied by name to the new file, unless the same name changed on both sides.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use super::{Scratch, offer_reopen, run_editor};
use crate::display::escape_for_display;
use crate::envfile::{self, Reallow, Update};
use crate::error::{Error, IoContext, Refusal, Result};
use crate::load::decrypt;
use crate::load::dotenv::{self, Binding};
use crate::load::guard::{Guarded, Identity};
use crate::load::loader;

/// The copy's name: an editor picks its `.env` syntax by the start of it, and it must not be
/// `.env.shared`, which the loader would expect to be ciphertext.
const COPY_NAME: &str = "shared.env";

pub(super) fn run(dir: Option<&Path>) -> Result<()> {
    crate::load::identity::ask_for_passphrases();
    let path = super::super::set::shared_file(dir)?;
    // Checked before the editor opens, so that a list nobody may encrypt to wastes no edit.
    super::super::share::recipients(&path)?;
    let original = Update::begin(&path)?.contents().to_vec();
    let sealed = sealed_values(&path, &original)?;
    let plaintext = plaintext_copy(&path, &original, &sealed)?;

    let scratch = Scratch::new()?;
    let copy = scratch.path().join(COPY_NAME);
    crate::atomic::write(&copy, &plaintext, envfile::MODE).context("write", &copy)?;
    let (edited, bindings) = loop {
        run_editor(&copy)?;
        let edited = fs::read(&copy).context("read", &copy)?;
        match parse_copy(&copy, &edited) {
            Ok(bindings) => break (edited, bindings),
            Err(refusal) if offer_reopen(&refusal)? => continue,
            Err(refusal) => {
                return Err(Error::Failed(format!(
                    "{refusal}; nothing was saved and the copy is removed (fix: `envguard edit --shared` again)"
                )));
            }
        }
    };
    drop(scratch);
    if edited == plaintext {
        say!("envguard: no changes to {}", escape_for_display(&path));
        return Ok(());
    }

    let changes = Changes::between(&sealed, &bindings);
    let mut update = Update::begin(&path)?;
    // Read again under the lock: `share remove` or a pull may have changed who reads while
    // the editor was open, and a removed teammate must not get the new values.
    let team = super::super::share::recipients(&path)
        .map_err(|error| Error::Failed(format!("{error}; nothing was saved")))?;
    if update.contents() == original {
        update.replace(edited);
        for binding in &bindings {
            let ciphertext = match sealed.get(&binding.name) {
                Some(old) if old.plaintext == binding.value => old.ciphertext.clone(),
                _ => seal(&team, binding)?,
            };
            update.set_unquoted(&binding.name, &ciphertext)?;
        }
    } else {
        merge_by_name(&mut update, &path, &sealed, &changes, &bindings, &team)?;
    }
    let committed = update.commit(Reallow::IfAllowedBefore)?;
    if !changes.sealed().is_empty() {
        say!(
            "envguard: encrypted to the {} recipients of {}: {}",
            team.labels.len(),
            escape_for_display(&team.path),
            team.labels.join(", ")
        );
    }
    super::super::unset::report(&path, &changes.to_string(), &changes.sealed(), committed)
}

/// What a name holds in the file as it was read: the ciphertext as written and its plaintext.
struct Sealed {
    ciphertext: String,
    plaintext: String,
}

/// Every value of `.env.shared` (its bytes `original`) with its ciphertext, by name; refused
/// as a load would refuse it, since a value the user cannot open cannot be shown to them.
fn sealed_values(path: &Path, original: &[u8]) -> Result<HashMap<String, Sealed>> {
    let bindings =
        dotenv::parse(original, &|_| None).map_err(|e| loader::parse_refusal(path, &e))?;
    let ciphertexts: Vec<String> = bindings.iter().map(|b| b.value.clone()).collect();
    let opened = decrypt::decrypt(path, bindings)?;
    Ok(opened
        .into_iter()
        .zip(ciphertexts)
        .map(|(binding, ciphertext)| {
            let sealed = Sealed {
                ciphertext,
                plaintext: binding.value,
            };
            (binding.name, sealed)
        })
        .collect())
}

/// `original` with each value's ciphertext replaced by its plaintext in `.env` quoting, every
/// other byte kept; refused for a value the copy could not give back exactly (one holding
/// `${`, which a `.env` substitutes even inside quotes).
fn plaintext_copy(
    path: &Path,
    original: &[u8],
    sealed: &HashMap<String, Sealed>,
) -> Result<Vec<u8>> {
    let mut bindings =
        dotenv::parse(original, &|_| None).map_err(|e| loader::parse_refusal(path, &e))?;
    // From the end, so that each replacement leaves the spans still to do where they were.
    bindings.sort_by_key(|binding| std::cmp::Reverse(binding.value_span.start));
    let mut copy = original.to_vec();
    for binding in &bindings {
        let plaintext = &sealed[&binding.name].plaintext;
        let rendered =
            envfile::render(plaintext).map_err(|why| not_editable(&binding.name, why))?;
        copy.splice(binding.value_span.clone(), rendered.bytes());
    }
    let reads_back = dotenv::parse(&copy, &|_| None).is_ok_and(|read| {
        read.len() == sealed.len()
            && read
                .iter()
                .all(|binding| sealed[&binding.name].plaintext == binding.value)
    });
    if !reads_back {
        let name = sealed
            .iter()
            .find(|(_, value)| value.plaintext.contains("${"))
            .map_or("a value", |(name, _)| name.as_str());
        return Err(not_editable(
            name,
            "it holds `${`, which a .env file substitutes even inside quotes",
        ));
    }
    Ok(copy)
}

fn not_editable(name: &str, why: &str) -> Error {
    Error::Usage(format!(
        "{name} cannot be shown in an editor's .env copy: {why}; nothing was changed (fix: change it with `envguard set --shared {name}`, which stores a value exactly)"
    ))
}

/// The variables of the edited copy, by every rule a load applies, and with no `${` (a team
/// value is sealed as written: a reference in it would resolve on this machine, now, and the
/// team would get whatever it resolved to).
fn parse_copy(copy: &Path, edited: &[u8]) -> std::result::Result<Vec<Binding>, Refusal> {
    let statements = dotenv::occurrences(edited).map_err(|e| loader::parse_refusal(copy, &e))?;
    if let Some(statement) = statements.iter().find(|statement| {
        edited[statement.value_span.clone()]
            .windows(2)
            .any(|w| w == b"${")
    }) {
        let name = &statement.name;
        let line = 1 + edited[..statement.value_span.start]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        return Err(Refusal::new(
            copy,
            crate::error::RefusalKind::Parse,
            format!("{name}'s value holds `${{`, but a team value is encrypted as written and cannot refer to another"),
            format!("write the value out, or set it exactly with `envguard set --shared {name}`"),
        )
        .at_line(line));
    }
    let guarded = Guarded {
        bytes: edited.to_vec(),
        identity: Identity::default(),
        canonical: copy.to_path_buf(),
    };
    Ok(loader::from_contents(copy, guarded, &|_| None)?.bindings)
}

/// `binding`'s value sealed for `team`, refused when its ciphertext would be too large to load.
fn seal(team: &super::super::share::Team, binding: &Binding) -> Result<String> {
    let sealed = team.seal(&binding.name, &binding.value)?;
    super::super::set::refuse_oversize(&binding.name, &sealed)?;
    Ok(sealed)
}

/// The user's edit applied by name to a `.env.shared` that changed on disk while the editor
/// was open: their changed and added values sealed in, their removed names taken out, the
/// rest of the new file kept. A name that changed on disk too is refused (neither change can
/// be chosen for the user), as is a comment or layout edit, which has no name to apply by.
fn merge_by_name(
    update: &mut Update,
    path: &Path,
    sealed: &HashMap<String, Sealed>,
    changes: &Changes,
    bindings: &[Binding],
    team: &super::super::share::Team,
) -> Result<()> {
    let now =
        dotenv::parse(update.contents(), &|_| None).map_err(|e| loader::parse_refusal(path, &e))?;
    let on_disk = |name: &str| {
        now.iter()
            .find(|binding| binding.name == name)
            .map(|binding| binding.value.as_str())
    };
    let before = |name: &str| sealed.get(name).map(|old| old.ciphertext.as_str());
    let clashes: Vec<&str> = changes
        .touched()
        .filter(|name| on_disk(name) != before(name))
        .collect();
    if !clashes.is_empty() {
        return Err(Error::Failed(format!(
            "{} changed while you were editing (a `git pull`? another `envguard set --shared`?), and so did your {}; nothing was saved (fix: `envguard edit --shared` again)",
            escape_for_display(path),
            clashes.join(", ")
        )));
    }
    for binding in bindings {
        if changes.sealed().contains(&binding.name.as_str()) {
            update.set_unquoted(&binding.name, &seal(team, binding)?)?;
        }
    }
    for name in &changes.removed {
        update.unset(name)?;
    }
    say!(
        "envguard: {} changed while you were editing; your changes were applied to it by name ({changes}), any comment or layout edit of yours was not",
        escape_for_display(path)
    );
    Ok(())
}

/// Which names an edit added, changed and removed.
struct Changes {
    added: Vec<String>,
    changed: Vec<String>,
    removed: Vec<String>,
}

impl Changes {
    fn between(sealed: &HashMap<String, Sealed>, bindings: &[Binding]) -> Self {
        let mut changes = Changes {
            added: Vec::new(),
            changed: Vec::new(),
            removed: Vec::new(),
        };
        for binding in bindings {
            match sealed.get(&binding.name) {
                None => changes.added.push(binding.name.clone()),
                Some(old) if old.plaintext != binding.value => {
                    changes.changed.push(binding.name.clone());
                }
                Some(_) => {}
            }
        }
        let mut removed: Vec<String> = sealed
            .keys()
            .filter(|name| !bindings.iter().any(|binding| &binding.name == *name))
            .cloned()
            .collect();
        removed.sort();
        changes.removed = removed;
        changes
    }

    /// The names whose values are sealed anew.
    fn sealed(&self) -> Vec<&str> {
        self.added
            .iter()
            .chain(&self.changed)
            .map(String::as_str)
            .collect()
    }

    fn touched(&self) -> impl Iterator<Item = &str> {
        self.added
            .iter()
            .chain(&self.changed)
            .chain(&self.removed)
            .map(String::as_str)
    }
}

impl std::fmt::Display for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = [
            ("changed", &self.changed),
            ("added", &self.added),
            ("removed", &self.removed),
        ]
        .into_iter()
        .filter(|(_, names)| !names.is_empty())
        .map(|(what, names)| format!("{what} {}", names.join(", ")))
        .collect();
        if parts.is_empty() {
            f.write_str("rewrote comments and layout")
        } else {
            f.write_str(&parts.join("; "))
        }
    }
}
