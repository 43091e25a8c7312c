use crate::cli::InitArgs;
use crate::error::{Error, Result};

pub fn run(_args: &InitArgs) -> Result<()> {
    Err(Error::Failed("`init` is not implemented yet".into()))
}
