use crate::cli::UnsetArgs;
use crate::error::{Error, Result};

pub fn run(_args: &UnsetArgs) -> Result<()> {
    Err(Error::Failed("`unset` is not implemented yet".into()))
}
