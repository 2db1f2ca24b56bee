//! The raw SQLite limit: one-row write transactions per second on a temp
//! file, through the same pool settings the store uses.

use std::time::{Duration, Instant};

use serde_json::json;
use steward::config::{Durability, StoreConfig};
use steward::store::Store;

use crate::stats::round;

/// Single-row transactions per second in `durability`, measured for `seconds`.
pub async fn txn_per_s(durability: Durability, seconds: f64) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("limit.db"), &StoreConfig { durability, ..Default::default() }).await?;
    let mut tx = store.begin().await?;
    sqlx::query("CREATE TABLE bench (id INTEGER PRIMARY KEY, v TEXT NOT NULL)").execute(&mut *tx).await?;
    tx.commit().await?;
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        let mut tx = store.begin().await?;
        sqlx::query("INSERT INTO bench (v) VALUES (?)").bind("01J9Z8Y7X6W5V4T3S2R1Q0P9N8").execute(&mut *tx).await?;
        tx.commit().await?;
        n += 1;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    store.close().await;
    Ok(rate)
}

pub async fn run(seconds: f64) -> anyhow::Result<serde_json::Value> {
    let process = txn_per_s(Durability::Process, seconds).await?;
    let power = txn_per_s(Durability::Power, seconds).await?;
    Ok(json!({
        "scenario": "sqlite-limit",
        "seconds": seconds,
        "process_txn_per_s": round(process, 0),
        "power_txn_per_s": round(power, 0),
    }))
}
