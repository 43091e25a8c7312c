//! The shell hook's machinery between two prompts: which files make a project ([`project`]),
//! what was loaded ([`state`], exported in one variable), what must change ([`diff`]), and the
//! statements that change it ([`emit`]), with every value single-quoted for the shell that
//! evaluates it ([`quote`]), and what the shell's own per-prompt check compares
//! against before it starts envguard at all ([`record`]).
//!
//! The command that drives them is `envguard export` (`src/cmd/export.rs`); the per-shell
//! scripts that call it live in `shell/`.

pub mod diff;
pub mod emit;
pub mod project;
pub mod quote;
pub mod record;
pub mod state;
