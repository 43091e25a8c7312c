//! `envguard man`: the man page (roff), generated from the clap definitions.
//! Install it with `envguard man > ~/.local/share/man/man1/envguard.1`.

use std::io::{self, Write};
use std::path::Path;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{IoContext, Result};

pub fn run() -> Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .context("render", Path::new("the man page"))?;
    io::stdout()
        .lock()
        .write_all(&page)
        .context("write", Path::new("standard output"))
}
