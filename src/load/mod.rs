//! The read side of a `.env`: from a directory to the variables that may load, or one refusal.
//!
//! Each stage is its own module, in the order a file meets them, so that what envguard trusts
//! is decided in one place and every consumer (`exec`, the shell hook, kernels, `--watch`,
//! `check`) gets the same answer: [`discover`] finds the nearest file, [`guard`] opens it once
//! and checks who could have written it ([`explain`] puts what it found into words),
//! [`dotenv`] parses python-dotenv's grammar, [`decrypt`] and [`resolve`] turn sealed values
//! and references into the values they stand for, [`names`] decides which names may be set
//! where, [`trust`] remembers what the user allowed, and [`loader`] chains them, all or
//! nothing.

pub mod decrypt;
pub mod discover;
pub mod dotenv;
pub mod explain;
pub mod guard;
pub mod identity;
pub mod loader;
pub mod names;
pub mod resolve;
pub mod trust;
