//! The statements a shell evaluates to change its environment, in its own syntax.
//!
//! Every value is single-quoted by [`crate::hook::quote`] with the shell's own rule, so nothing in a
//! value can expand or run. Names need no quoting: the parser and [`crate::load::names`] only let
//! `[A-Za-z_][A-Za-z0-9_]*` names through. Statements are built as bytes because a value being
//! restored comes from the environment and need not be UTF-8.

use crate::cli::ShellKind;
use crate::hook::quote::push_quoted_bytes;

/// `NAME=value`, exported to the shell's children.
pub fn set(out: &mut Vec<u8>, shell: ShellKind, name: &str, value: &[u8]) {
    assign(out, shell, ["export ", "set -gx "], name, value);
}

/// `NAME=value` in the shell only, not exported: for what the hook keeps for itself and hands
/// to envguard alone.
pub fn assign_local(out: &mut Vec<u8>, shell: ShellKind, name: &str, value: &[u8]) {
    assign(out, shell, ["", "set -g "], name, value);
}

/// An assignment led by `keywords` (bash and zsh's, then fish's).
fn assign(out: &mut Vec<u8>, shell: ShellKind, keywords: [&str; 2], name: &str, value: &[u8]) {
    let (keyword, separator) = match shell {
        ShellKind::Bash | ShellKind::Zsh => (keywords[0], b'='),
        ShellKind::Fish => (keywords[1], b' '),
    };
    out.extend_from_slice(keyword.as_bytes());
    out.extend_from_slice(name.as_bytes());
    out.push(separator);
    push_quoted_bytes(out, shell, value);
    out.push(b'\n');
}

/// Removes `NAME` from the shell (a variable only: `-v` keeps bash from unsetting a function
/// of that name when no variable exists).
pub fn unset(out: &mut Vec<u8>, shell: ShellKind, name: &str) {
    out.extend_from_slice(match shell {
        ShellKind::Bash | ShellKind::Zsh => b"unset -v ",
        ShellKind::Fish => b"set -e -g ",
    });
    out.extend_from_slice(name.as_bytes());
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn each_shell_gets_its_own_syntax() {
        assert_eq!(
            text(|o| set(o, ShellKind::Bash, "A", b"it's")),
            "export A='it'\\''s'\n"
        );
        assert_eq!(
            text(|o| set(o, ShellKind::Fish, "A", b"a\\'")),
            "set -gx A 'a\\\\\\''\n"
        );
        assert_eq!(text(|o| unset(o, ShellKind::Zsh, "A")), "unset -v A\n");
        assert_eq!(
            text(|o| assign_local(o, ShellKind::Bash, "a", b"k")),
            "a='k'\n"
        );
        assert_eq!(
            text(|o| assign_local(o, ShellKind::Fish, "a", b"k")),
            "set -g a 'k'\n"
        );
        assert_eq!(text(|o| unset(o, ShellKind::Fish, "A")), "set -e -g A\n");
    }
}
