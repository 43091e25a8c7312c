//! envguard: load `.env` secrets exactly where they are needed, and nowhere else.
//!
//! The binary is a thin shell over this library so that integration tests and benchmarks can
//! reach the same code. The layout follows the data: [`load`] reads a `.env` into variables
//! (discover → guard → parse → names → trust), [`hook`] carries them into an interactive shell
//! between prompts, [`scan`] looks for their values where they must not be, [`mask`] hides
//! them in what programs print, [`jupyter`] hands them to notebook kernels, and [`cmd`] holds
//! one module per subcommand. Below them sits a thin floor: [`atomic`] writes, [`error`]
//! refusals, [`display`] of paths, [`git`] queries and [`envfile`] rewrites.

/// `eprintln!` that cannot panic. A message to a stderr whose reader is gone (`envguard scan
/// 2>&1 | head`) is dropped instead of aborting the command half-way; the exit code still
/// tells.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub mod atomic;
pub mod cli;
pub mod cmd;
pub mod display;
pub mod envfile;
pub mod error;
pub mod git;
pub mod hook;
pub mod jupyter;
pub mod load;
pub mod mask;
pub mod scan;
pub mod user_dirs;
