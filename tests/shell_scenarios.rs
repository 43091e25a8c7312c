//! Real interactive bash, zsh and fish on a pseudo-terminal (see `pty`), walking through
//! projects as a user would.

mod common;
mod pty;

use std::path::{Path, PathBuf};

use common::*;
use envguard::cli::ShellKind;
use pty::*;

const AWKWARD_SINGLE: &str =
    "  sq \"dq\" $HOME `echo bt` $(touch PWNED) a\\b {a,b} *\nsecond line\tTab ü € 😀 end  ";
const AWKWARD_DOUBLE_FILE: &str = r#""it's \\ back \" dq""#;
const AWKWARD_DOUBLE: &str = r#"it's \ back " dq"#;

struct Projects {
    p: PathBuf,
    nested: PathBuf,
    q: PathBuf,
    spaced: PathBuf,
    refused: PathBuf,
    untrusted: PathBuf,
    link: PathBuf,
    pwned: PathBuf,
}

fn projects(env: &TestEnv) -> Projects {
    let pwned = env.root.path().join("pwned");
    let awkward = AWKWARD_SINGLE.replace("PWNED", &pwned.display().to_string());
    let p = env.allowed_project(
        "p",
        &format!(
            "EG_A=alpha\nEG_PRESET=from-file\nEG_PRESET_EMPTY=not-empty\nEG_AWK1='{awkward}'\nEG_AWK2={AWKWARD_DOUBLE_FILE}\n"
        ),
    );
    let nested = env.allowed_project("p/nested", "EG_A=nested\nEG_N=n\n");
    let q = env.allowed_project("q", "EG_A=q\nEG_Q=q\n");
    let spaced = env.allowed_project("it's a \"dir\" $x", "EG_S=spaced\n");
    let refused = env.project("refused", "EG_R=r\n", 0o644);
    env.run(&refused, ["allow"]);
    let untrusted = env.project("untrusted", "EG_U=u\n", 0o600);
    let link = env.work().join("link");
    std::os::unix::fs::symlink(&p, &link).unwrap();
    Projects {
        p,
        nested,
        q,
        spaced,
        refused,
        untrusted,
        link,
        pwned,
    }
}

fn scenario(kind: ShellKind) {
    let env = TestEnv::new();
    let ps = projects(&env);
    let awkward = AWKWARD_SINGLE.replace("PWNED", &ps.pwned.display().to_string());
    let mut sh = Session::start(&env, kind, &env.work());
    let name = sh.shell_name();

    let outside = sh.dump();
    assert_value(&outside, "EG_A", None);
    assert_value(&outside, "EG_PRESET_EMPTY", Some(""));

    // Enter: every value exact, nothing in a value ran.
    let shown = sh.cd(&ps.p);
    let p_env = ps.p.join(".env").display().to_string();
    assert_eq!(
        one_message(name, &shown),
        format!("envguard: loaded {p_env} +EG_A ~EG_PRESET ~EG_PRESET_EMPTY +EG_AWK1 +EG_AWK2"),
        "{name}"
    );
    if kind == ShellKind::Bash {
        assert!(
            shown.contains("EGPCKEPT"),
            "bash: the existing PROMPT_COMMAND stopped running"
        );
    }
    let inside = sh.dump();
    assert_value(&inside, "EG_A", Some("alpha"));
    assert_value(&inside, "EG_AWK1", Some(&awkward));
    assert_value(&inside, "EG_AWK2", Some(AWKWARD_DOUBLE));
    assert_value(&inside, "EG_PRESET", Some("from-file"));
    assert!(!ps.pwned.exists(), "{name}: a value was executed");
    assert!(
        !sh.run("true").contains("envguard:"),
        "{name}: a message without a change"
    );

    // Nested project: only the nearest file counts; the parent's names are restored.
    sh.cd(&ps.nested);
    let nested = sh.dump();
    assert_value(&nested, "EG_A", Some("nested"));
    assert_value(&nested, "EG_N", Some("n"));
    assert_value(&nested, "EG_AWK1", None);
    assert_value(&nested, "EG_PRESET", Some("before"));
    assert_value(&nested, "EG_PRESET_EMPTY", Some(""));
    sh.cd(&ps.p);
    assert_value(&sh.dump(), "EG_N", None);

    // Sibling jump in one prompt, then `cd -` back.
    let shown = sh.cd(&ps.q);
    assert_eq!(
        one_message(name, &shown),
        format!(
            "envguard: unloaded {p_env} -EG_A -EG_PRESET -EG_PRESET_EMPTY -EG_AWK1 -EG_AWK2; \
             loaded {}/.env +EG_A +EG_Q",
            ps.q.display()
        ),
        "{name}"
    );
    let sibling = sh.dump();
    assert_value(&sibling, "EG_A", Some("q"));
    assert_value(&sibling, "EG_AWK1", None);
    sh.run("cd -");
    assert_value(&sh.dump(), "EG_AWK2", Some(AWKWARD_DOUBLE));

    // A directory name with spaces and quotes.
    sh.cd(&ps.spaced);
    let spaced = sh.dump();
    assert_value(&spaced, "EG_S", Some("spaced"));
    assert_value(&spaced, "EG_A", None);

    // Refused by mode: the spaced project unloads and nothing loads, said in one line with
    // the fix, not repeated.
    let shown = sh.cd(&ps.refused);
    let line = one_message(name, &shown);
    assert!(
        line.starts_with("envguard: unloaded ")
            && line.contains(" -EG_S; ")
            && line.contains("chmod 600")
            && line.ends_with("; nothing loaded"),
        "{name}: {line}"
    );
    assert_value(&sh.dump(), "EG_R", None);
    assert!(
        !sh.run("true").contains("envguard:"),
        "{name}: the warning was repeated"
    );
    // Fixing the mode is noticed at the next prompt: now it only needs to be allowed.
    let shown = sh.run("chmod 600 .env");
    assert!(
        one_message(name, &shown).contains("envguard allow"),
        "{name}: the new mode was not noticed:\n{shown}"
    );
    sh.run("envguard allow");
    assert_value(&sh.dump(), "EG_R", Some("r"));

    // Untrusted until allowed; an edit unloads until allowed again.
    let shown = sh.cd(&ps.untrusted);
    let untrusted_env = ps.untrusted.join(".env").display().to_string();
    assert_eq!(
        one_message(name, &shown),
        format!(
            "envguard: unloaded {}/.env -EG_R; {untrusted_env}: is not allowed yet \
             (fix: review it, then run `envguard allow {untrusted_env}`); nothing loaded",
            ps.refused.display()
        ),
        "{name}"
    );
    assert_value(&sh.dump(), "EG_U", None);
    sh.run("envguard allow");
    assert_value(&sh.dump(), "EG_U", Some("u"));
    let shown = sh.run("echo EG_NEW=1 >> .env");
    assert_eq!(
        one_message(name, &shown),
        format!(
            "envguard: unloaded {untrusted_env} -EG_U: has changed since it was allowed \
             (fix: review it, then run `envguard allow {untrusted_env}`)"
        ),
        "{name}: an edit was not noticed"
    );
    assert_value(&sh.dump(), "EG_U", None);
    assert!(
        !sh.run("true").contains("envguard:"),
        "{name}: the edit was reported twice"
    );
    sh.run("envguard allow");
    let edited = sh.dump();
    assert_value(&edited, "EG_U", Some("u"));
    assert_value(&edited, "EG_NEW", Some("1"));

    // Leaving everything restores what was there before, exactly.
    let shown = sh.cd(Path::new("/"));
    assert_eq!(
        one_message(name, &shown),
        format!("envguard: unloaded {untrusted_env} -EG_U -EG_NEW"),
        "{name}"
    );
    let left = sh.dump();
    for gone in ["EG_A", "EG_U", "EG_NEW", "EG_AWK1", "__ENVGUARD_STATE"] {
        assert_value(&left, gone, None);
    }
    assert_value(&left, "EG_PRESET", Some("before"));
    assert_value(&left, "EG_PRESET_EMPTY", Some(""));

    // Through a symlinked directory.
    sh.cd(&ps.link);
    assert_value(&sh.dump(), "EG_A", Some("alpha"));

    // A nested shell inherits the project; leaving in it does not touch the parent.
    sh.nest();
    assert_value(&sh.dump(), "EG_AWK1", Some(&awkward));
    sh.cd(Path::new("/"));
    let child = sh.dump();
    assert_value(&child, "EG_A", None);
    assert_value(&child, "EG_PRESET", Some("before"));
    sh.unnest();
    let parent = sh.dump();
    assert_value(&parent, "EG_A", Some("alpha"));
    assert_value(&parent, "EG_AWK1", Some(&awkward));

    // A shell that already holds the file's values without the state (it lost it, or was
    // started by `envguard exec`): the reload must not save those values as "earlier" ones.
    sh.run(match kind {
        ShellKind::Fish => "set -e __ENVGUARD_STATE",
        ShellKind::Bash | ShellKind::Zsh => "unset __ENVGUARD_STATE",
    });
    let reloaded = sh.dump();
    assert_value(&reloaded, "EG_A", Some("alpha"));
    let state = reloaded
        .get("__ENVGUARD_STATE")
        .expect("the state was not rebuilt");
    let has = |value: &str| state.windows(value.len()).any(|w| w == value.as_bytes());
    assert!(
        !has("alpha") && !has("from-file") && !has("not-empty"),
        "{name}: the state holds a value of the file"
    );
    assert!(!ps.pwned.exists(), "{name}: a value was executed");
}

#[test]
fn bash_interactive() {
    scenario(ShellKind::Bash);
}

#[test]
fn zsh_interactive() {
    scenario(ShellKind::Zsh);
}

#[test]
fn fish_interactive() {
    scenario(ShellKind::Fish);
}
