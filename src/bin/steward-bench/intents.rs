//! Intent creation through the store and the audit chain: one transaction
//! per intent (intent row, its step, its inbox claim, its audit row), against
//! the raw single-row transaction rate measured in the same run.

use std::time::Instant;

use serde_json::json;
use steward::config::{Durability, StoreConfig};
use steward::domain::{Intent, IntentText, Plan, PlannedStep, Provenance};
use steward::store::inbox::Inbound;
use steward::store::{Store, intents, now_millis};

use crate::sqlite_limit;
use crate::stats::{percentile_ms, round};

pub async fn run(count: u32, durability: Durability) -> anyhow::Result<serde_json::Value> {
    let limit = sqlite_limit::txn_per_s(durability, 2.0).await?;
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("bench.db"), &StoreConfig { durability, ..Default::default() }).await?;
    let step = PlannedStep::parse("note", "write", json!({"text": "remember the invoice"}))?;
    let plan = Plan::new(vec![step])?;
    let payload = json!({"text": "send the invoice"});
    let mut latencies = Vec::with_capacity(count as usize);
    let start = Instant::now();
    for i in 0..count {
        let t = Instant::now();
        let intent = Intent::new(
            IntentText::parse("send the invoice")?,
            Provenance::operator("bench", "bench"),
            Some(plan.clone()),
            now_millis(),
        );
        let external_id = i.to_string();
        let inbound = Inbound { channel: "bench", external_id: &external_id, actor: "bench", payload: &payload };
        intents::create(&store, intent, Some(&inbound)).await?;
        latencies.push(t.elapsed());
    }
    let per_s = count as f64 / start.elapsed().as_secs_f64();
    let verified = steward::store::audit::verify(store.reader()).await?;
    anyhow::ensure!(
        verified.broken.is_none() && verified.rows == count as i64,
        "the audit chain did not verify: {verified:?}"
    );
    store.close().await;
    Ok(json!({
        "scenario": "intents",
        "count": count,
        "durability": durability.as_str(),
        "per_s": round(per_s, 0),
        "p50_ms": round(percentile_ms(&mut latencies, 50.0), 3),
        "p99_ms": round(percentile_ms(&mut latencies, 99.0), 3),
        "sqlite_txn_per_s": round(limit, 0),
        "ratio": round(per_s / limit, 3),
    }))
}
