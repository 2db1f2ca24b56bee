//! Building steward from its configuration, running it until a shutdown
//! signal, and the CLI's commands. Only this module knows every concrete
//! component; everything below it receives its dependencies explicitly.

pub mod approvals;
pub mod ask;
mod assembly;
pub mod audit;
pub mod backup;
pub mod digest;
pub mod doctor;
pub mod exit;
pub mod import;
pub mod init;
pub mod intents;
pub mod memory;
mod memory_access;
pub mod model;
pub mod pair;
pub mod policy;
pub mod reasoning;
pub mod remote;
mod server;
pub mod service;
pub mod setup;
pub mod shutdown;
mod token;
mod upkeep;
pub mod workflows;

pub use server::{Server, catalog, lock_data_dir};
pub use token::api_token_path;

use std::io::Write;

/// Writes a value as one line of JSON to stdout, for `--json` output.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}
