//! One module per subcommand; each exposes `run`, which reports through [`Error`](crate::error::Error) and never
//! prints a value read from a `.env` file.

use crate::cli::Command;
use crate::error::Result;

mod allow;
mod allowed;
mod check;
mod completions;
mod deny;
mod doctor;
mod edit;
mod example;
mod exec;
mod export;
mod get;
mod hook;
mod init;
mod install_git_hook;
mod kernel;
mod list;
mod man;
mod scan;
mod set;
mod share;
mod status;
mod unset;

pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Exec(args) => exec::run(args),
        Command::Check(args) => check::run(&args),
        Command::Allow(args) => allow::run(&args),
        Command::Deny(args) => deny::run(&args),
        Command::Allowed => allowed::run(),
        Command::Hook(args) => hook::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Status => status::run(),
        Command::Init(args) => init::run(&args),
        Command::Set(args) => set::run(&args),
        Command::Unset(args) => unset::run(&args),
        Command::List(args) => list::run(&args),
        Command::Get(args) => get::run(&args),
        Command::Example(args) => example::run(&args),
        Command::Edit(args) => edit::run(&args),
        Command::Scan(args) => scan::run(&args),
        Command::InstallGitHook(args) => install_git_hook::run(&args),
        Command::Kernel(command) => kernel::run(&command),
        Command::Share(command) => share::run(&command),
        Command::Completions(args) => completions::run(&args),
        Command::Man => man::run(),
        Command::Doctor(args) => doctor::run(&args),
    }
}
