//! The step from what the shell has to what its directory asks for, as an ordered plan.
//!
//! Kept apart from the shells' syntax ([`crate::hook::emit`]) and from the decision of what to load
//! ([`crate::cmd`]'s `export`) so that the one subtle rule lives in one place: every value is
//! measured against the *base* environment, the shell's environment with the previously loaded
//! file taken out (each of its names back at the value saved before loading). That base is what
//! leaving restores, what a newly loaded name saves, and what `${NAME}` in the file resolves
//! against, so a project never sees, saves or restores another project's values.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};

use crate::hook::state::{Original, Saved};
use crate::load::dotenv::Binding;

/// A previously loaded name to put back.
pub struct Restore<'a> {
    pub name: &'a str,
    pub original: &'a Original,
}

/// How a name's change is shown to the user: `+A` new, `~A` replaced, `-A` removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Added,
    Changed,
    Removed,
}

pub struct Plan<'a> {
    /// Names of the previous file the new one does not set, with the values to put back; only
    /// those whose current value differs need a statement, all of them count as removed.
    pub restores: Vec<Restore<'a>>,
    /// Bindings of the new file whose value the shell does not already have.
    pub exports: Vec<&'a Binding>,
    /// What the new state must remember: each new name with its base value.
    pub saved: Vec<Saved>,
    /// Every binding of the new file, in file order, for the message.
    pub entered: Vec<Entered<'a>>,
}

pub struct Entered<'a> {
    pub name: &'a str,
    /// Against the base environment: a new name (`Added`) or one the shell had (`Changed`).
    pub mark: Mark,
    /// Whether the previous file set it too.
    pub was_loaded: bool,
    /// Whether the shell's current value differs (an export is emitted).
    pub differs: bool,
}

/// The environment as it would be without the previous file: the saved originals of its
/// names, the shell's values for every other name.
pub struct Base<'a> {
    previous: HashMap<&'a str, &'a Original>,
}

impl<'a> Base<'a> {
    pub fn new(previous: &'a [Saved]) -> Self {
        Base {
            previous: previous
                .iter()
                .map(|saved| (saved.name.as_str(), &saved.original))
                .collect(),
        }
    }

    pub fn get(&self, name: &str) -> Option<OsString> {
        match self.previous.get(name) {
            Some(Original::Unset) => None,
            Some(Original::Value(original)) => Some(original.clone()),
            Some(Original::FileValue) | None => std::env::var_os(name),
        }
    }

    /// What a name the new file sets with `value` must save: its base value, unless that is
    /// the file's own value (then it may be a secret, and stays out of the state).
    fn original(&self, name: &str, value: &str) -> Original {
        if self.previous.get(name) == Some(&&Original::FileValue) {
            return Original::FileValue;
        }
        match self.get(name) {
            None => Original::Unset,
            Some(base) if base == OsStr::new(value) => Original::FileValue,
            Some(base) => Original::Value(base),
        }
    }

    fn was_loaded(&self, name: &str) -> bool {
        self.previous.contains_key(name)
    }
}

/// Plans the step from `previous` (the names loaded so far) to `target` (the new file's
/// bindings, empty when nothing is to be loaded), given the shell's current values.
pub fn plan<'a>(
    previous: &'a [Saved],
    base: &Base<'a>,
    target: &'a [Binding],
    current: &dyn Fn(&str) -> Option<OsString>,
) -> Plan<'a> {
    let kept: std::collections::HashSet<&str> = target.iter().map(|b| b.name.as_str()).collect();
    let restores = previous
        .iter()
        .filter(|saved| !kept.contains(saved.name.as_str()))
        .map(|saved| Restore {
            name: &saved.name,
            original: &saved.original,
        })
        .collect();
    let mut exports = Vec::new();
    let mut saved = Vec::with_capacity(target.len());
    let mut entered = Vec::with_capacity(target.len());
    for binding in target {
        let original = base.original(&binding.name, &binding.value);
        let mark = match original {
            Original::Unset => Mark::Added,
            Original::Value(_) | Original::FileValue => Mark::Changed,
        };
        let differs = current(&binding.name).as_deref() != Some(OsStr::new(&binding.value));
        if differs {
            exports.push(binding);
        }
        let was_loaded = base.was_loaded(&binding.name);
        entered.push(Entered {
            name: &binding.name,
            mark,
            was_loaded,
            differs,
        });
        saved.push(Saved {
            name: binding.name.clone(),
            original,
        });
    }
    Plan {
        restores,
        exports,
        saved,
        entered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(name: &str, value: &str) -> Binding {
        Binding {
            name: name.into(),
            value: value.into(),
            line: 1,
            value_span: 0..0,
            substituted: false,
        }
    }

    #[test]
    fn leaving_restores_and_entering_saves_the_base_not_the_previous_values() {
        let previous = vec![
            Saved {
                name: "EG_DIFF_SHARED".into(),
                original: Original::Value("user".into()),
            },
            Saved {
                name: "EG_DIFF_GONE".into(),
                original: Original::Unset,
            },
        ];
        let target = vec![binding("EG_DIFF_SHARED", "b"), binding("EG_DIFF_NEW", "n")];
        // The shell still has the previous file's values.
        let current = |name: &str| match name {
            "EG_DIFF_SHARED" => Some(OsString::from("a")),
            "EG_DIFF_GONE" => Some(OsString::from("g")),
            _ => None,
        };
        let base = Base::new(&previous);
        let plan = plan(&previous, &base, &target, &current);
        assert_eq!(plan.restores.len(), 1);
        assert_eq!(
            (plan.restores[0].name, plan.restores[0].original),
            ("EG_DIFF_GONE", &Original::Unset)
        );
        assert_eq!(plan.exports.len(), 2);
        assert_eq!(
            plan.saved[0],
            Saved {
                name: "EG_DIFF_SHARED".into(),
                original: Original::Value("user".into())
            }
        );
        assert_eq!(
            plan.saved[1],
            Saved {
                name: "EG_DIFF_NEW".into(),
                original: Original::Unset
            }
        );
        let entered: Vec<_> = plan
            .entered
            .iter()
            .map(|e| (e.mark, e.name, e.was_loaded, e.differs))
            .collect();
        assert_eq!(
            entered,
            vec![
                (Mark::Changed, "EG_DIFF_SHARED", true, true),
                (Mark::Added, "EG_DIFF_NEW", false, true)
            ]
        );
    }

    #[test]
    fn values_the_shell_already_has_are_not_exported_again() {
        let previous = vec![Saved {
            name: "EG_DIFF_SAME".into(),
            original: Original::Unset,
        }];
        let target = vec![binding("EG_DIFF_SAME", "v")];
        let base = Base::new(&previous);
        let plan = plan(&previous, &base, &target, &|_| Some(OsString::from("v")));
        assert!(plan.exports.is_empty() && plan.restores.is_empty());
    }

    #[test]
    fn a_value_the_shell_already_had_from_the_file_is_not_saved() {
        // The base had the file's value (as in a shell started by `envguard exec`).
        let previous = vec![
            Saved {
                name: "EG_DIFF_SECRET".into(),
                original: Original::Value("s".into()),
            },
            Saved {
                name: "EG_DIFF_OTHER".into(),
                original: Original::Value("x".into()),
            },
        ];
        let target = vec![
            binding("EG_DIFF_SECRET", "s"),
            binding("EG_DIFF_OTHER", "o"),
        ];
        let base = Base::new(&previous);
        let first = plan(&previous, &base, &target, &|_| None);
        assert_eq!(first.saved[0].original, Original::FileValue);
        assert_eq!(first.saved[1].original, Original::Value("x".into()));
        // After an edit the name keeps "the file's value" rather than saving the old secret,
        // and leaving it has nothing to put back.
        let edited = vec![binding("EG_DIFF_SECRET", "s2")];
        let base = Base::new(&first.saved);
        let second = plan(&first.saved, &base, &edited, &|_| None);
        assert_eq!(second.saved[0].original, Original::FileValue);
        let left = plan(&second.saved, &Base::new(&second.saved), &[], &|_| None);
        assert_eq!(left.restores[0].original, &Original::FileValue);
    }
}
