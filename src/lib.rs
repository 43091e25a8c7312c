pub mod dotenv;
pub mod error;
