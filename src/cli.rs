//! The command line, as clap types. Kept apart from the commands so that `completions` and
//! `man` can render it without running anything.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "envguard",
    version,
    about = "Load .env secrets exactly where they are needed; keep them out of code, notebooks and git.",
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a program with the project's .env variables in its environment.
    Exec(ExecArgs),
    /// Report whether the .env that applies would load, check by check.
    Check(CheckArgs),
    /// Trust a .env file's current contents (any later edit revokes it).
    Allow(TargetArgs),
    /// Revoke trust in a .env file (or, with --missing, in every allowed file that is gone).
    Deny(DenyArgs),
    /// List every allowed file and its state now: ok, changed, missing, loose mode.
    Allowed,
    /// Print the shell integration script (add `eval "$(envguard hook bash)"` to ~/.bashrc).
    Hook(ShellArgs),
    /// Print the statements that bring the shell's environment up to date (run by the hook).
    Export(ShellArgs),
    /// Show what the shell hook has loaded here, and why a file is refused.
    Status,
    /// Create a .env with safe permissions, git-ignored and allowed.
    Init(InitArgs),
    /// Set variables, reading each value at a hidden prompt (or from a pipe).
    Set(SetArgs),
    /// Remove variables from the .env.
    Unset(UnsetArgs),
    /// List the variables of the .env with masked values.
    List(ListArgs),
    /// Print one variable's value, exactly, for a script: `envguard get DB_URL | psql -f -`.
    Get(GetArgs),
    /// Write or update .env.example: every name of the .env, with empty values and its comments.
    Example(ExampleArgs),
    /// Open the .env in $VISUAL or $EDITOR, then check and allow it.
    Edit(EditArgs),
    /// Scan files, staged changes, history or notebooks for leaked secrets.
    Scan(ScanArgs),
    /// Install a git pre-commit hook that runs `envguard scan --staged`.
    InstallGitHook(InstallGitHookArgs),
    /// Manage Jupyter kernels that start with the project's secrets.
    #[command(subcommand)]
    Kernel(KernelCommand),
    /// Share the project's secrets with a team through git, each value encrypted to every
    /// teammate's own age key (.env.shared, .env.recipients).
    #[command(subcommand)]
    Share(ShareCommand),
    /// Print a shell completion script.
    Completions(CompletionArgs),
    /// Print the man page (roff).
    Man,
    /// Check the whole setup (binary, shell hooks, trust store, git hook, kernels), with a fix for each problem.
    Doctor(DoctorArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShellKind {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub struct ShellArgs {
    #[arg(value_enum)]
    pub shell: ShellKind,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Use the .env that applies to this directory instead of the current one.
    #[arg(short = 'C', long = "dir", value_name = "DIR", conflicts_with = "file")]
    pub dir: Option<PathBuf>,
    /// Load exactly this file instead of searching for the nearest .env. Repeat it to load
    /// several: each is guarded and must be allowed, and a later file's value wins.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Vec<PathBuf>,
    /// Run the program even when no .env is found.
    #[arg(long)]
    pub allow_missing: bool,
    /// Started by this envguard kernel (its kernel.json says so): explain a missing --file.
    #[arg(long, value_name = "NAME", requires = "file", hide = true)]
    pub kernel: Option<String>,
    /// Restart the program whenever the .env changes and still passes the guard and trust.
    #[arg(long)]
    pub watch: bool,
    /// With --watch: the signal that asks the program to stop before a restart.
    #[arg(
        long,
        value_name = "SIGNAL",
        default_value = "TERM",
        requires = "watch"
    )]
    pub signal: String,
    /// With --watch: seconds to wait after the signal before killing the program.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 5.0,
        requires = "watch"
    )]
    pub grace: f64,
    /// Replace every loaded value in the program's output with <masked:NAME> (also JSON-,
    /// URL-, base64- and HTML-encoded); a terminal stays a terminal. ENVGUARD_MASK=1 sets it.
    #[arg(long, conflicts_with = "no_mask")]
    pub mask: bool,
    /// Do not mask, even with ENVGUARD_MASK=1.
    #[arg(long)]
    pub no_mask: bool,
    /// The program and its arguments.
    #[arg(required = true, trailing_var_arg = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A directory (its nearest .env is checked) or a file. Default: the current directory.
    pub path: Option<PathBuf>,
    /// Check exactly this file (`.env.production`), not the nearest .env.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        conflicts_with = "path"
    )]
    pub file: Option<PathBuf>,
    /// Print nothing; only the exit code tells (0 loads, 1 refused, 2 error).
    #[arg(short, long)]
    pub quiet: bool,
    /// Fetch each secret-manager reference (as a load would) and report whether it resolves;
    /// values are never shown.
    #[arg(long)]
    pub resolve: bool,
}

#[derive(Debug, Args)]
pub struct TargetArgs {
    /// A directory (its nearest .env) or a file. Default: the current directory.
    pub path: Option<PathBuf>,
    /// Exactly this file (`.env.production`), not the nearest .env.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        conflicts_with = "path"
    )]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DenyArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Forget every allowed file that no longer exists (see `envguard allowed`).
    #[arg(long, conflicts_with = "path")]
    pub missing: bool,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    /// The project directory. Default: the current directory.
    pub dir: Option<PathBuf>,
    /// Edit the team's .env.shared: decrypted into a private temporary copy, and only the
    /// values you change are encrypted again.
    #[arg(long, conflicts_with = "file")]
    pub shared: bool,
    /// Exactly this file (`.env.production`), not the nearest .env.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        conflicts_with = "dir"
    )]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to create the .env. Default: the current directory.
    pub dir: Option<PathBuf>,
    /// Replace an existing .env (with an empty one, or the values asked for .env.example).
    #[arg(long)]
    pub force: bool,
    /// With a .env.example: values on standard input are separated by NUL bytes, not lines.
    #[arg(short = '0', long)]
    pub null: bool,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// The variable whose value is printed.
    pub name: String,
    /// Add a newline after the value.
    #[arg(long)]
    pub newline: bool,
    /// Print it even when standard output is a terminal (the value stays on screen).
    #[arg(long)]
    pub reveal: bool,
    /// Use the .env that applies to this directory instead of the current one.
    #[arg(short = 'C', long = "dir", value_name = "DIR", conflicts_with = "file")]
    pub dir: Option<PathBuf>,
    /// Read exactly this file instead of the nearest .env.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExampleArgs {
    /// The project directory (its nearest .env is read). Default: the current directory.
    #[arg(
        short = 'C',
        long = "dir",
        value_name = "DIR",
        conflicts_with = "files"
    )]
    pub dir: Option<PathBuf>,
    /// Build it from these files instead (repeatable); it is written beside the first.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SetArgs {
    /// Names of the variables to set. Each value is asked for at a hidden prompt; from a pipe,
    /// one name takes all of standard input (minus one final newline), several names take one
    /// line each.
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
    /// Values on standard input are separated by NUL bytes instead (for multi-line values).
    #[arg(short = '0', long)]
    pub null: bool,
    /// Accept `NAME=value` on the command line (it lands in shell history and process lists).
    #[arg(long)]
    pub insecure_arg: bool,
    /// Set it for the team: encrypted to every recipient of .env.recipients, in .env.shared.
    #[arg(long, conflicts_with = "file")]
    pub shared: bool,
    /// The project directory. Default: the current directory.
    #[arg(short = 'C', long = "dir", value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Exactly this file (`.env.production`, created if missing), not the nearest .env.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        conflicts_with = "dir"
    )]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ShareCommand {
    /// Print your public age recipient, for a teammate's .env.recipients (creates your
    /// identity on first use).
    Me,
    /// Start sharing this project: .env.recipients with you in it and an empty .env.shared.
    Init(ShareInitArgs),
    /// Let teammates read every value: add their recipients and re-encrypt to the new set.
    Add(ShareAddArgs),
    /// Stop encrypting to a teammate: re-encrypt every value without them (rotate what they saw).
    Remove(ShareRemoveArgs),
    /// Encrypt the values of a plaintext .env into .env.shared (rotate any that were ever
    /// committed in plaintext).
    Import(ShareImportArgs),
}

#[derive(Debug, Args)]
pub struct ShareImportArgs {
    /// The plaintext .env to encrypt; it is left as it is.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The project directory. Default: the current directory.
    #[arg(short = 'C', long = "dir", value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ShareAddArgs {
    /// `age1…`, `ssh-ed25519 …` (quoted), or a file of recipients, one per line.
    #[arg(required = true, value_name = "RECIPIENT")]
    pub recipients: Vec<String>,
    /// Who they are, written in the comment above each: `# LABEL (added DATE)`.
    #[arg(long, value_name = "NAME")]
    pub label: Option<String>,
    /// The project directory. Default: the current directory.
    #[arg(short = 'C', long = "dir", value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ShareRemoveArgs {
    /// The recipient as listed, or the label in the comment above it.
    #[arg(value_name = "RECIPIENT-OR-LABEL")]
    pub who: String,
    /// Remove even when you could no longer decrypt the values afterwards.
    #[arg(long)]
    pub force: bool,
    /// The project directory. Default: the current directory.
    #[arg(short = 'C', long = "dir", value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ShareInitArgs {
    /// The project directory. Default: the current directory.
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct UnsetArgs {
    /// Names of the variables to remove.
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
    /// Remove them from the team's .env.shared.
    #[arg(long, conflicts_with = "file")]
    pub shared: bool,
    /// The project directory. Default: the current directory.
    #[arg(short = 'C', long = "dir", value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Exactly this file (`.env.production`, created if missing), not the nearest .env.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        conflicts_with = "dir"
    )]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The project directory. Default: the current directory.
    pub dir: Option<PathBuf>,
    /// Exactly this file (`.env.production`), not the nearest .env.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        conflicts_with = "dir"
    )]
    pub file: Option<PathBuf>,
    /// Print only the names, one per line.
    #[arg(long)]
    pub names: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    Text,
    Json,
    Sarif,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files and directories to scan. Default: the current directory.
    pub paths: Vec<PathBuf>,
    /// Also scan files that .gitignore excludes.
    #[arg(long)]
    pub all: bool,
    /// Also take known values from this .env file (repeatable).
    #[arg(long = "env-file", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ScanFormat::Text)]
    pub format: ScanFormat,
    /// Scan what is staged for commit (added lines only).
    #[arg(long, conflicts_with_all = ["history", "redact"])]
    pub staged: bool,
    /// Scan every commit reachable in the repository (known values and token shapes).
    #[arg(long, conflicts_with = "redact")]
    pub history: bool,
    /// Rewrite notebooks, replacing found secrets with <redacted:NAME>.
    #[arg(long)]
    pub redact: bool,
    /// Ignore findings recorded in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record the current findings (by hash, never by value) in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Skip files larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_file_size: u64,
}

#[derive(Debug, Args)]
pub struct InstallGitHookArgs {
    /// The repository. Default: the one containing the current directory.
    #[arg(short = 'C', long = "dir", value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Remove envguard's hook, putting back the hook it chained (if any).
    #[arg(long)]
    pub uninstall: bool,
}

#[derive(Debug, Subcommand)]
pub enum KernelCommand {
    /// Write a kernelspec whose kernel starts through `envguard exec`.
    Install(KernelInstallArgs),
    /// List envguard-wrapped kernels and the project each serves.
    List,
    /// Remove an envguard-wrapped kernel.
    Remove(KernelRemoveArgs),
}

#[derive(Debug, Args)]
pub struct KernelInstallArgs {
    /// The project whose .env the kernel loads. Default: the current directory.
    #[arg(long, value_name = "PROJECT")]
    pub dir: Option<PathBuf>,
    /// Kernel name (directory name of the kernelspec).
    #[arg(long)]
    pub name: Option<String>,
    /// Name shown in Jupyter's launcher.
    #[arg(long, value_name = "TEXT")]
    pub display_name: Option<String>,
    /// The Python that runs ipykernel. Default: `python3` on PATH.
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Install for the current user (the default).
    #[arg(long, conflicts_with = "sys_prefix")]
    pub user: bool,
    /// Install into the Python environment's prefix.
    #[arg(long)]
    pub sys_prefix: bool,
    /// Repoint a same-named envguard kernel that serves another project.
    #[arg(long)]
    pub force: bool,
    /// Let the kernel show loaded values in its output; by default it replaces each with
    /// `<masked:NAME>` in everything it sends, so a saved notebook never holds one.
    #[arg(long)]
    pub no_mask: bool,
}

#[derive(Debug, Args)]
pub struct KernelRemoveArgs {
    pub name: String,
}

#[derive(Debug, Args)]
pub struct CompletionArgs {
    #[arg(value_enum)]
    pub shell: ShellKind,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the findings as JSON.
    #[arg(long)]
    pub json: bool,
}
