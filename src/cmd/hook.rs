use crate::cli::ShellArgs;
use crate::error::{Error, Result};

pub fn run(_args: &ShellArgs) -> Result<()> {
    Err(Error::Failed("`hook` is not implemented yet".into()))
}
