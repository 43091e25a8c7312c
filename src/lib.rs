//! envguard: load `.env` secrets exactly where they are needed, and nowhere else.
//!
//! The binary is a thin shell over this library so that integration tests and benchmarks can
//! reach the same code. The loader's pieces each live in their own module, in the order a
//! `.env` meets them: [`discover`] → [`guard`] → [`dotenv`] → [`names`] → [`trust`], tied
//! together by [`loader`].

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
pub mod diff;
pub mod discover;
pub mod dotenv;
pub mod emit;
pub mod envfile;
pub mod error;
pub mod git;
pub mod guard;
pub mod jupyter;
pub mod loader;
pub mod mask;
pub mod names;
pub mod scan;
pub mod shell;
pub mod state;
pub mod trust;
