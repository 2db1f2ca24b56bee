//! The orchestrator's own cost: intents of N steps whose adapter does
//! nothing, through admission, claims, execution and outcome commits, against
//! the raw SQLite transaction rate measured in the same run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{Value, json};
use steward::adapters::{ActionSpec, Adapter, AdapterError, Catalog, Description, Reconciled};
use steward::config::{Durability, OrchestratorConfig, StoreConfig};
use steward::domain::{
    IdempotencyKey, Intent, IntentText, InvalidInput, Plan, PlannedStep, Provenance, Reach, RetryPolicy,
};
use steward::orchestrator::Runner;
use steward::policy::{Policy, PolicyHandle};
use steward::store::{Store, intents, now_millis};
use tokio_util::sync::CancellationToken;

use crate::sqlite_limit;
use crate::stats::round;

/// No-op steps are low risk and run without anyone's approval; the budget
/// and the breaker never interfere.
pub(crate) const POLICY: &str = r#"
default_risk = "high"
[levels.low]
mode = "auto"
[levels.medium]
mode = "review-after"
[levels.high]
mode = "approve-before"
[budgets]
actions_per_hour = 1000000000
[[rule]]
name = "no-op"
adapter = "noop"
risk = "low"
"#;

/// Intents submitted per transaction, as a front end that batches
/// concurrent submissions would.
const SUBMIT_BATCH: usize = 64;

pub(crate) struct Noop;

#[async_trait]
impl Adapter for Noop {
    fn describe(&self) -> Description {
        let spec = ActionSpec {
            name: "run",
            args_schema: json!({}),
            can_compensate: true,
            can_reconcile: true,
            destinations: vec![],
        };
        Description { name: "noop", actions: vec![spec] }
    }
    fn validate(&self, _: &str, _: &Value) -> Result<(), InvalidInput> {
        Ok(())
    }
    async fn execute(&self, _: &IdempotencyKey, _: &str, _: &Value, _reach: &Reach) -> Result<Value, AdapterError> {
        Ok(Value::Null)
    }
    async fn compensate(
        &self,
        _: &IdempotencyKey,
        _: &str,
        _: &Value,
        _: Option<&Value>,
        _reach: &Reach,
    ) -> Result<Value, AdapterError> {
        Ok(Value::Null)
    }
    async fn reconcile(&self, _: &IdempotencyKey, _: &str, _: &Value, _reach: &Reach) -> Reconciled {
        Reconciled::NotHappened
    }
}

async fn terminal_count(store: &Store) -> anyhow::Result<i64> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM intents WHERE state = 'succeeded'").fetch_one(store.reader()).await?;
    Ok(n)
}

pub async fn run(count: u32, steps: u32, durability: Durability) -> anyhow::Result<Value> {
    let limit = sqlite_limit::txn_per_s(durability, 2.0).await?;
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("bench.db"), &StoreConfig { durability, ..Default::default() }).await?;
    let catalog = Catalog::default().with(Arc::new(Noop), RetryPolicy::default());
    let policy = PolicyHandle::new(Policy::parse(POLICY)?);
    let config = OrchestratorConfig { max_in_flight: 512, batch: 512, ..Default::default() };
    let runner = Runner::new(store.clone(), catalog, config).with_policy(policy);
    let wake = runner.handle();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(runner.run(shutdown.clone()));
    let step = PlannedStep::parse("noop", "run", json!({}))?;
    let plan = Plan::new(vec![step; steps as usize])?;
    let start = Instant::now();
    let mut submitted = 0;
    while submitted < count as usize {
        let n = SUBMIT_BATCH.min(count as usize - submitted);
        let batch: Vec<Intent> = (0..n)
            .map(|_| {
                Intent::new(
                    IntentText::parse("bench").expect("valid"),
                    Provenance::operator("bench", "bench"),
                    Some(plan.clone()),
                    now_millis(),
                )
            })
            .collect();
        intents::create_many(&store, &batch).await?;
        wake.wake();
        submitted += n;
    }
    while terminal_count(&store).await? < count as i64 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    shutdown.cancel();
    running.await??;
    let mut latencies: Vec<i64> = sqlx::query_as::<_, (i64,)>("SELECT updated_at - created_at FROM intents")
        .fetch_all(store.reader())
        .await?
        .into_iter()
        .map(|(d,)| d)
        .collect();
    latencies.sort_unstable();
    let pct =
        |p: f64| latencies[((p / 100.0 * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len()) - 1] as f64;
    store.close().await;
    let per_s = count as f64 / elapsed;
    Ok(json!({
        "scenario": "orchestrator",
        "intents": count,
        "steps": steps,
        "durability": durability.as_str(),
        "per_s": round(per_s, 0),
        "p50_ms": pct(50.0),
        "p99_ms": pct(99.0),
        "sqlite_txn_per_s": round(limit, 0),
        "ratio": round(per_s / limit, 3),
    }))
}
