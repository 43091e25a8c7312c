use crate::cli::ListArgs;
use crate::error::{Error, Result};

pub fn run(_args: &ListArgs) -> Result<()> {
    Err(Error::Failed("`list` is not implemented yet".into()))
}
