use crate::cli::InstallGitHookArgs;
use crate::error::{Error, Result};

pub fn run(_args: &InstallGitHookArgs) -> Result<()> {
    Err(Error::Failed(
        "`install-git-hook` is not implemented yet".into(),
    ))
}
