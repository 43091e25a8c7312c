use crate::cli::CompletionArgs;
use crate::error::{Error, Result};

pub fn run(_args: &CompletionArgs) -> Result<()> {
    Err(Error::Failed("`completions` is not implemented yet".into()))
}
