//! `envguard completions SHELL`: tab completion generated from the clap definitions, so it
//! can never disagree with the real command line.

use std::io::{self, Write};
use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, CompletionArgs, ShellKind};
use crate::error::{IoContext, Result};

pub fn run(args: &CompletionArgs) -> Result<()> {
    let shell = match args.shell {
        ShellKind::Bash => Shell::Bash,
        ShellKind::Zsh => Shell::Zsh,
        ShellKind::Fish => Shell::Fish,
    };
    // Rendered into memory first: clap_complete panics on a failed write (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "envguard", &mut script);
    io::stdout()
        .lock()
        .write_all(&script)
        .context("write", Path::new("standard output"))
}
