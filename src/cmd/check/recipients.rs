//! `check`'s report on who reads a team's `.env.shared`: the recipients `.env.recipients`
//! lists (by label), whether that list is allowed (the writers encrypt to nothing else),
//! which of them is the user and by which identity, which values were sealed to a different
//! number of recipients than the list holds, and which values the user cannot open.
//!
//! A value's age header says how many recipients it was sealed to, not who (an X25519 stanza
//! names no key), so a list edited by hand shows as a count that differs, or, when one key was
//! swapped for another, as a value the user is listed for but cannot open. Nothing here
//! prints a value: names, counts and labels only.

use std::path::Path;

use super::Report;
use crate::display::escape_for_display;
use crate::error::Error;
use crate::load::decrypt::{self, NOT_A_RECIPIENT_FIX};
use crate::load::discover::SHARED_FILE_NAME;
use crate::load::dotenv;
use crate::load::guard::{self, Policy};
use crate::load::identity;
use crate::load::trust::{self, Trust, TrustStore};

/// The fix for values sealed to another set than the list: a `share add` of someone listed
/// already seals every value again to the list as it is.
const RESEAL_FIX: &str = "envguard share add \"$(envguard share me)\" (encrypts every value again to the recipients listed)";

/// Adds the lines about `path`'s recipients to `report`, when `path` is a team's file.
pub(super) fn report(path: &Path, report: &mut Report) {
    if path.file_name().is_none_or(|name| name != SHARED_FILE_NAME) {
        return;
    }
    let (team, read) = match super::super::share::read_team(path) {
        Ok(read) => read,
        Err(Error::Refused(refusal)) => {
            let shown = escape_for_display(&refusal.path);
            report.warn(
                format!(
                    "{shown} {} (nothing can be encrypted for the team)",
                    refusal.reason
                ),
                refusal.fix,
            );
            return;
        }
        Err(error) => {
            report.warn(error.to_string(), "envguard share init, in the project");
            return;
        }
    };
    let list = escape_for_display(&team.path);
    let listed = team.listed.len();
    report.pass(format!(
        "{list} lists {listed} recipients: {}",
        team.labels.join(", ")
    ));
    let trusted = TrustStore::open().is_ok_and(|store| {
        store.trust(&read.canonical, &trust::digest(&read.bytes)) == Trust::Allowed
    });
    if trusted {
        report.pass(format!(
            "{list} is allowed: `set --shared` encrypts to them"
        ));
    } else {
        report.warn(
            format!("{list} is not allowed as it is now, so `set --shared`, `edit --shared` and `share` refuse to encrypt to it"),
            format!(
                "review who was added (`git log -p {}`), then `envguard allow`",
                crate::display::quote_for_display(&team.path)
            ),
        );
    }
    report_who_you_are(&team, report);
    report_values(path, listed, report);
}

fn report_who_you_are(team: &super::super::share::Team, report: &mut Report) {
    let own = identity::own_recipients();
    let mine = team.listed.iter().enumerate().find_map(|(index, listed)| {
        own.iter()
            .find(|(_, recipient)| same_recipient(listed, recipient))
            .map(|(place, _)| (index, place))
    });
    match mine {
        Some((index, place)) => report.pass(format!(
            "you are {} (your identity {place})",
            team.labels[index]
        )),
        None => report.warn(
            format!(
                "none of your age identities is listed ({})",
                if own.is_empty() {
                    "you have none yet".to_owned()
                } else {
                    own.iter()
                        .map(|(place, _)| place.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
            NOT_A_RECIPIENT_FIX,
        ),
    }
}

/// `age1…` keys are compared whole, SSH keys by type and key (a `.pub` file's comment may
/// differ from the one the list kept).
fn same_recipient(listed: &str, own: &str) -> bool {
    listed
        .split_whitespace()
        .take(2)
        .eq(own.split_whitespace().take(2))
}

fn report_values(path: &Path, listed: usize, report: &mut Report) {
    let Ok(read) = guard::open(path).map_err(drop).and_then(|opened| {
        opened
            .read(path, guard::max_size(), Policy::Inspect)
            .map_err(drop)
    }) else {
        return;
    };
    // A file that does not parse is the loader's refusal, already reported.
    let Ok(bindings) = dotenv::parse(&read.guarded.bytes, &|_| None) else {
        return;
    };
    let mismatched: Vec<String> = bindings
        .iter()
        .filter_map(|binding| {
            let count = decrypt::recipient_count(&binding.value)?;
            (count != listed).then(|| format!("{} ({count})", binding.name))
        })
        .collect();
    if !mismatched.is_empty() {
        report.warn(
            format!(
                "encrypted to another number of recipients than the {listed} listed (was the list edited by hand?): {}",
                mismatched.join(", ")
            ),
            RESEAL_FIX,
        );
    }
    let total = bindings.len();
    let outcomes = match decrypt::try_each(path, bindings) {
        Ok(outcomes) => outcomes,
        Err(refusal) => {
            report.warn(
                format!("{}: {}", escape_for_display(&refusal.path), refusal.reason),
                refusal.fix,
            );
            return;
        }
    };
    let mut unopened = 0;
    for refusal in outcomes.into_iter().filter_map(Result::err) {
        unopened += 1;
        let line = refusal
            .line
            .map(|line| format!("line {line}: "))
            .unwrap_or_default();
        report.warn(format!("{line}{}", refusal.reason), refusal.fix);
    }
    if unopened == 0 && mismatched.is_empty() {
        report.pass(format!(
            "all {total} values are encrypted to the {listed} listed recipients and open with your identity"
        ));
    }
}
