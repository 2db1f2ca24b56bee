//! `steward audit verify`: walks the hash chain.

use std::process::ExitCode;

use super::intents::open_existing;
use super::print_json;
use crate::config::Config;
use crate::store::audit;

/// Exits 0 when the chain is intact and 1 at the first broken link.
pub async fn verify(config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let store = open_existing(config).await?;
    let outcome = audit::verify(store.reader()).await?;
    if json {
        print_json(&outcome)?;
    } else {
        match &outcome.broken {
            None => println!("audit chain intact: {} rows verified", outcome.rows),
            Some(b) => {
                println!("audit chain BROKEN at row {}: {} ({} rows verified before it)", b.seq, b.reason, outcome.rows)
            }
        }
    }
    Ok(if outcome.broken.is_some() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
