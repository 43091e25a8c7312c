//! Property test of the statements `envguard export` emits: thousands of random values (any
//! character but NUL: quotes, `$`, backticks, backslashes, braces, control characters,
//! non-ASCII) are assigned by each real shell and printed back NUL-separated, byte for byte.
//! One script per shell keeps it fast. A failure names the seed and the value's index and
//! length, never the value itself.

use std::process::Command;

use envguard::cli::ShellKind;
use envguard::hook::emit;

const VALUES: usize = 3000;

/// xorshift64*: enough randomness for a property test, without a crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn char(&mut self) -> char {
        const AWKWARD: &[char] = &[
            '\'', '\\', '"', '$', '`', '{', '}', ',', '\n', '\r', '\t', ' ', '*', '?', '[', '~',
            '!', '#', '%', ';', '&', '|', '(', ')', '<', '>', '\x7f', '\u{a0}', '\u{2028}', '😀',
            'é',
        ];
        loop {
            let code = match self.below(10) {
                0..=3 => 1 + self.below(127),
                4..=6 => return AWKWARD[self.below(AWKWARD.len() as u64) as usize],
                7 => 0x80 + self.below(0x780),
                8 => 0x800 + self.below(0xF800),
                _ => 0x10000 + self.below(0x100000),
            };
            if let Some(c) = char::from_u32(code as u32) {
                return c;
            }
        }
    }

    fn value(&mut self) -> String {
        let len = self.below(40);
        (0..len).map(|_| self.char()).collect()
    }
}

fn seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1
}

/// Assigns every value with the emitted statement and prints it back; compares the bytes.
fn check(shell: ShellKind, program: &str, args: &[&str], values: &[Vec<u8>], seed: u64) {
    let mut script = Vec::new();
    for value in values {
        emit::set(&mut script, shell, "EGX", value);
        script.extend_from_slice(b"printf '%s\\0' \"$EGX\"\n");
    }
    let path = std::env::temp_dir().join(format!("envguard-quoting-{program}-{seed}"));
    std::fs::write(&path, &script).unwrap();
    let out = Command::new(program)
        .args(args)
        .arg(&path)
        .env("LANG", "C.UTF-8")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} (the test command installs it): {e}"));
    std::fs::remove_file(&path).unwrap();
    assert!(
        out.status.success(),
        "{program} failed on the script (seed {seed})"
    );
    let printed: Vec<&[u8]> = out.stdout.split(|&b| b == 0).collect();
    assert_eq!(
        printed.len(),
        values.len() + 1,
        "{program}: wrong number of values back (seed {seed})"
    );
    for (i, (value, back)) in values.iter().zip(printed).enumerate() {
        assert!(
            value.as_slice() == back,
            "{program}: value {i} ({} bytes) came back as {} bytes (seed {seed})",
            value.len(),
            back.len()
        );
    }
}

fn random_values(seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng(seed);
    let mut values: Vec<Vec<u8>> = [
        "",
        "'",
        "\\",
        "\\'",
        "a{b,c}",
        "{a,b}",
        "$(touch /nonexistent)",
        " x ",
        "\n",
    ]
    .iter()
    .map(|v| v.as_bytes().to_vec())
    .collect();
    values.extend((0..VALUES).map(|_| rng.value().into_bytes()));
    values
}

#[test]
fn bash_reads_back_every_value() {
    let seed = seed();
    check(
        ShellKind::Bash,
        "bash",
        &["--noprofile", "--norc"],
        &random_values(seed),
        seed,
    );
}

#[test]
fn zsh_reads_back_every_value() {
    let seed = seed();
    check(ShellKind::Zsh, "zsh", &["-f"], &random_values(seed), seed);
}

#[test]
fn fish_reads_back_every_value() {
    let seed = seed();
    check(
        ShellKind::Fish,
        "fish",
        &["--no-config", "--private"],
        &random_values(seed),
        seed,
    );
}

/// Values being restored come from the environment and may be any bytes but NUL.
#[test]
fn posix_shells_read_back_arbitrary_bytes() {
    let seed = seed();
    let mut rng = Rng(seed);
    let values: Vec<Vec<u8>> = (0..VALUES)
        .map(|_| {
            (0..rng.below(30))
                .map(|_| 1 + rng.below(255) as u8)
                .collect()
        })
        .collect();
    check(
        ShellKind::Bash,
        "bash",
        &["--noprofile", "--norc"],
        &values,
        seed,
    );
    check(ShellKind::Zsh, "zsh", &["-f"], &values, seed);
}

/// Paths in fix commands are shown with `quote_for_display`: pasted into bash or zsh they must
/// name the very same bytes, and shown on a terminal they must hold no control byte.
#[test]
fn displayed_paths_paste_back_exactly_and_hold_no_control_byte() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    let seed = seed();
    let mut rng = Rng(seed);
    let mut paths: Vec<Vec<u8>> = (0..VALUES)
        .map(|_| {
            (0..1 + rng.below(30))
                .map(|_| 1 + rng.below(255) as u8)
                .collect()
        })
        .collect();
    paths.extend((0..VALUES).map(|_| rng.value().into_bytes()));
    paths.push("a\u{202e}b\u{9b}c'd\\e".as_bytes().to_vec());
    let mut script = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        let shown = envguard::display::quote_for_display(Path::new(OsStr::from_bytes(path)));
        assert!(
            !shown.bytes().any(|b| b < 0x20 || b == 0x7f),
            "path {i} ({} bytes) is shown with a control byte (seed {seed})",
            path.len()
        );
        script.extend_from_slice(b"printf '%s\\0' ");
        script.extend_from_slice(shown.as_bytes());
        script.push(b'\n');
    }
    let file = std::env::temp_dir().join(format!("envguard-display-{seed}"));
    std::fs::write(&file, &script).unwrap();
    for (program, args) in [
        ("bash", &["--noprofile", "--norc"][..]),
        ("zsh", &["-f"][..]),
    ] {
        let out = Command::new(program)
            .args(args)
            .arg(&file)
            .env("LANG", "C.UTF-8")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{program} failed (seed {seed}): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let printed: Vec<&[u8]> = out.stdout.split(|&b| b == 0).collect();
        assert_eq!(printed.len(), paths.len() + 1, "{program} (seed {seed})");
        for (i, (path, back)) in paths.iter().zip(printed).enumerate() {
            assert!(
                path.as_slice() == back,
                "{program}: path {i} ({} bytes) came back as {} bytes (seed {seed})",
                path.len(),
                back.len()
            );
        }
    }
    std::fs::remove_file(&file).unwrap();
}
