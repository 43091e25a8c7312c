use crate::error::{Error, Result};

pub fn run() -> Result<()> {
    Err(Error::Failed("`man` is not implemented yet".into()))
}
