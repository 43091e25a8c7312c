use crate::error::{Error, Result};

pub fn run() -> Result<()> {
    Err(Error::Failed("`status` is not implemented yet".into()))
}
