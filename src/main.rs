use std::process::ExitCode;

use clap::Parser;
use envguard::cli::Cli;
use envguard::error::Error;

fn main() -> ExitCode {
    match envguard::cmd::run(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Silent(code)) => ExitCode::from(code),
        Err(error) => {
            envguard::say!("envguard: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
