//! Closed-loop latency: one submitter sends an intent of N no-op steps,
//! waits until it has succeeded, and sends the next; then 50 submitters do
//! the same at once. What an operator feels per request, where
//! `orchestrator` measures what the runner can take.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use steward::adapters::Catalog;
use steward::config::{Durability, OrchestratorConfig, StoreConfig};
use steward::domain::{Intent, IntentId, IntentText, Plan, PlannedStep, Provenance, RetryPolicy};
use steward::orchestrator::{Runner, RunnerHandle};
use steward::policy::{Policy, PolicyHandle};
use steward::store::{Store, intents, now_millis};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::orchestrator::{Noop, POLICY};
use crate::stats::{percentile_ms, round};

/// Submitters of the concurrent run.
const CONCURRENT: usize = 50;

async fn succeeded(store: &Store, id: IntentId) -> anyhow::Result<bool> {
    let state: String = sqlx::query_scalar("SELECT state FROM intents WHERE id = ?")
        .bind(id.to_string())
        .fetch_one(store.reader())
        .await?;
    anyhow::ensure!(state != "failed" && state != "cancelled", "a no-op intent ended {state}");
    Ok(state == "succeeded")
}

/// One intent, submitted and waited for; how long that took. `done` is
/// notified after each of the runner's commits; with many submitters
/// sharing it, each also looks every millisecond.
async fn one(store: &Store, wake: &RunnerHandle, done: &Notify, plan: &Plan) -> anyhow::Result<Duration> {
    let intent = Intent::new(
        IntentText::parse("bench")?,
        Provenance::operator("bench", "bench"),
        Some(plan.clone()),
        now_millis(),
    );
    let id = intent.id;
    let start = Instant::now();
    intents::create_many(store, std::slice::from_ref(&intent)).await?;
    wake.wake();
    loop {
        let committed = done.notified();
        if succeeded(store, id).await? {
            return Ok(start.elapsed());
        }
        let _ = tokio::time::timeout(Duration::from_millis(1), committed).await;
    }
}

pub async fn run(count: u32, steps: u32, durability: Durability) -> anyhow::Result<Value> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("bench.db"), &StoreConfig { durability, ..Default::default() }).await?;
    let catalog = Catalog::default().with(Arc::new(Noop), RetryPolicy::default());
    let done = Arc::new(Notify::new());
    let runner = Runner::new(store.clone(), catalog, OrchestratorConfig::default())
        .with_policy(PolicyHandle::new(Policy::parse(POLICY)?))
        .waking(done.clone());
    let wake = runner.handle();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(runner.run(shutdown.clone()));
    let plan = Plan::new(vec![PlannedStep::parse("noop", "run", json!({}))?; steps as usize])?;

    let mut alone = Vec::with_capacity(count as usize);
    for _ in 0..count {
        alone.push(one(&store, &wake, &done, &plan).await?);
    }
    let each = (count as usize).div_ceil(CONCURRENT);
    let submitters = (0..CONCURRENT).map(|_| {
        let (store, wake, done, plan) = (store.clone(), wake.clone(), done.clone(), plan.clone());
        tokio::spawn(async move {
            let mut took = Vec::with_capacity(each);
            for _ in 0..each {
                took.push(one(&store, &wake, &done, &plan).await?);
            }
            anyhow::Ok(took)
        })
    });
    let mut together = Vec::new();
    for s in futures_util::future::join_all(submitters).await {
        together.extend(s??);
    }
    shutdown.cancel();
    running.await??;
    store.close().await;
    Ok(json!({
        "scenario": "latency",
        "intents": count,
        "steps": steps,
        "durability": durability.as_str(),
        "p50_ms": round(percentile_ms(&mut alone, 50.0), 2),
        "p99_ms": round(percentile_ms(&mut alone, 99.0), 2),
        "concurrent_submitters": CONCURRENT,
        "concurrent_p50_ms": round(percentile_ms(&mut together, 50.0), 2),
        "concurrent_p99_ms": round(percentile_ms(&mut together, 99.0), 2),
    }))
}
