use crate::cli::KernelCommand;
use crate::error::{Error, Result};

pub fn run(_args: &KernelCommand) -> Result<()> {
    Err(Error::Failed("`kernel` is not implemented yet".into()))
}
