use crate::cli::DirArgs;
use crate::error::{Error, Result};

pub fn run(_args: &DirArgs) -> Result<()> {
    Err(Error::Failed("`edit` is not implemented yet".into()))
}
