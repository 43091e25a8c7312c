use crate::cli::SetArgs;
use crate::error::{Error, Result};

pub fn run(_args: &SetArgs) -> Result<()> {
    Err(Error::Failed("`set` is not implemented yet".into()))
}
