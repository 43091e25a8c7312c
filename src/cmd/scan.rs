use crate::cli::ScanArgs;
use crate::error::{Error, Result};

pub fn run(_args: &ScanArgs) -> Result<()> {
    Err(Error::Failed("`scan` is not implemented yet".into()))
}
