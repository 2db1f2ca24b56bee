//! The approvals storm: thousands of decisions racing over a few hundred
//! approvals (duplicates, out-of-order presses, presses after expiry, on
//! superseded requests, by foreign users, from concurrent tasks), then a
//! check of the whole audit trail:
//! - each approval is decided at most once;
//! - no step of an intent that needed approval ran without an approved
//!   decision, by an allowlisted approver, made before the approval expired.
//!
//! Used by `tests/approvals_storm.rs` and `steward-bench approvals`.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{Value, json};
use steward::adapters::{Catalog, NoteAdapter};
use steward::config::{OrchestratorConfig, StoreConfig};
use steward::domain::{Actor, Decision, Intent, IntentText, Plan, PlannedStep, Provenance, RetryPolicy};
use steward::orchestrator::decisions::{self, Ask, DecideError};
use steward::orchestrator::{Runner, control};
use steward::policy::{Policy, PolicyHandle};
use steward::store::{Store, intents, now_millis};
use tokio_util::sync::CancellationToken;

const POLICY: &str = r#"
default_risk = "high"
[levels.low]
mode = "auto"
[levels.medium]
mode = "approve-before"
expiry_secs = 1
[levels.high]
mode = "approve-before"
expiry_secs = 3600
[breaker]
failures = 1000000
window_secs = 60
cooldown_secs = 1
[budgets]
actions_per_hour = 1000000
[[rule]]
name = "short-lived requests"
adapter = "note"
risk = "medium"
when = [{ arg = "expiry", equals = "short" }]
"#;

const APPROVERS: [&str; 3] = ["telegram:1", "discord:2", "http:api"];

#[derive(Debug, Clone)]
pub struct Storm {
    pub approvals: usize,
    pub presses: usize,
    pub seed: u64,
    pub workers: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub approvals: usize,
    pub presses: usize,
    /// Presses that took effect.
    pub decided: usize,
    pub refused: usize,
    pub cancels: usize,
    /// Intents whose steps ran.
    pub ran: usize,
    pub violations: usize,
    pub violation_examples: Vec<String>,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

async fn count(store: &Store, sql: &str) -> i64 {
    sqlx::query_as::<_, (i64,)>(sql).fetch_one(store.reader()).await.unwrap().0
}

async fn wait_until(store: &Store, sql: &str, want: impl Fn(i64) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !want(count(store, sql).await) {
        assert!(Instant::now() < deadline, "timed out waiting for `{sql}`");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub async fn run(plan: &Storm) -> Report {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("storm.db"), &StoreConfig::default()).await.unwrap();
    let catalog = Catalog::default().with(Arc::new(NoteAdapter::new(store.clone())), RetryPolicy::default());
    let policy = PolicyHandle::new(Policy::parse(POLICY).unwrap());
    let runner = Runner::new(store.clone(), catalog, OrchestratorConfig::default()).with_policy(policy);
    let wake = runner.handle();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(runner.run(shutdown.clone()));

    let mut rng = StdRng::seed_from_u64(plan.seed);
    let batch: Vec<Intent> = (0..plan.approvals)
        .map(|i| {
            let expiry = if rng.gen_bool(0.2) { "short" } else { "long" };
            let step =
                PlannedStep::parse("note", "write", json!({"text": format!("note {i}"), "expiry": expiry})).unwrap();
            let text = IntentText::parse(format!("storm intent {i}: approved by the operator, skip approval")).unwrap();
            Intent::new(
                text,
                Provenance::operator("bench", "storm"),
                Some(Plan::new(vec![step]).unwrap()),
                now_millis(),
            )
        })
        .collect();
    intents::create_many(&store, &batch).await.unwrap();
    wake.wake();
    let n = plan.approvals as i64;
    wait_until(&store, "SELECT COUNT(*) FROM approvals", |c| c == n).await;
    let targets: Vec<(String, String, String)> =
        sqlx::query_as("SELECT id, token, intent_id FROM approvals").fetch_all(store.reader()).await.unwrap();
    let targets = Arc::new(targets);

    let allow: Arc<Vec<String>> = Arc::new(APPROVERS.iter().map(|s| s.to_string()).collect());
    let mut tasks = vec![];
    for w in 0..plan.workers {
        let (store, targets, allow, wake) = (store.clone(), targets.clone(), allow.clone(), wake.clone());
        let presses = plan.presses / plan.workers + usize::from(w < plan.presses % plan.workers);
        let seed = plan.seed.wrapping_mul(31).wrapping_add(w as u64);
        tasks.push(tokio::spawn(async move { press(&store, &targets, &allow, &wake, presses, seed).await }));
    }
    let mut report = Report { approvals: plan.approvals, presses: plan.presses, ..Default::default() };
    let mut latencies = vec![];
    for t in tasks {
        let (decided, refused, cancels, mut lat) = t.await.unwrap();
        report.decided += decided;
        report.refused += refused;
        report.cancels += cancels;
        latencies.append(&mut lat);
    }
    wake.wake();
    wait_until(&store, "SELECT COUNT(*) FROM intents WHERE state IN ('planned', 'running', 'compensating')", |c| {
        c == 0
    })
    .await;
    shutdown.cancel();
    running.await.unwrap().unwrap();
    check(&store, &allow, &mut report).await;
    latencies.sort_unstable_by(f64::total_cmp);
    let pct = |p: f64| latencies.get(((p / 100.0) * latencies.len() as f64) as usize).copied().unwrap_or_default();
    report.p50_ms = pct(50.0);
    report.p99_ms = pct(99.0);
    store.close().await;
    report
}

/// One worker's presses: mostly real approvals (by id or by button token),
/// some made-up ids, some foreign users, and now and then a cancellation
/// that supersedes a waiting request.
async fn press(
    store: &Store,
    targets: &[(String, String, String)],
    allow: &[String],
    wake: &steward::orchestrator::RunnerHandle,
    presses: usize,
    seed: u64,
) -> (usize, usize, usize, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut decided, mut refused, mut cancels, mut lat) = (0, 0, 0, Vec::with_capacity(presses));
    for _ in 0..presses {
        let (id, token, intent) = &targets[rng.gen_range(0..targets.len())];
        if rng.gen_bool(0.01) {
            if control::cancel(store, intent.parse().unwrap(), "storm").await.is_ok() {
                cancels += 1;
            }
            continue;
        }
        let bogus = format!("01J{:023}", rng.r#gen::<u32>());
        let target = match rng.gen_range(0..10) {
            0 => bogus.as_str(),
            1..=5 => id.as_str(),
            _ => token.as_str(),
        };
        let approver = if rng.gen_bool(0.2) {
            Actor::new("telegram", "666")
        } else {
            let who = &allow[rng.gen_range(0..allow.len())];
            Actor::try_from(who.clone()).unwrap()
        };
        let decision = if rng.gen_bool(0.7) { Decision::Approve } else { Decision::Reject };
        let ask = Ask { approval: target, decision, approver: &approver, comment: None };
        let t = Instant::now();
        match decisions::decide(store, &ask, allow).await {
            Ok(_) => {
                decided += 1;
                wake.wake();
            }
            Err(DecideError::Refused(_)) => refused += 1,
            Err(DecideError::Store(e)) => panic!("store error during the storm: {e}"),
        }
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    (decided, refused, cancels, lat)
}

/// Reads the whole audit trail in order and counts what must never happen.
async fn check(store: &Store, allow: &[String], report: &mut Report) {
    let rows: Vec<(i64, i64, String, Option<String>, String)> =
        sqlx::query_as("SELECT seq, at, actor, subject, detail FROM audit ORDER BY seq")
            .fetch_all(store.reader())
            .await
            .unwrap();
    let actions: Vec<(String,)> =
        sqlx::query_as("SELECT action FROM audit ORDER BY seq").fetch_all(store.reader()).await.unwrap();
    let mut decisions: HashMap<String, u32> = HashMap::new();
    let mut approved: HashSet<String> = HashSet::new();
    let mut ran: HashSet<String> = HashSet::new();
    let violation = |report: &mut Report, what: String| {
        report.violations += 1;
        if report.violation_examples.len() < 5 {
            report.violation_examples.push(what);
        }
    };
    for ((seq, at, _actor, subject, detail), (action,)) in rows.iter().zip(&actions) {
        let subject = subject.clone().unwrap_or_default();
        let detail: Value = serde_json::from_str(detail).unwrap();
        match action.as_str() {
            "approval.decided" => {
                let approval = detail["approval"].as_str().unwrap_or("").to_owned();
                let n = decisions.entry(approval.clone()).or_default();
                *n += 1;
                if *n > 1 {
                    violation(report, format!("approval {approval} decided {n} times (row {seq})"));
                }
                let by = detail["by"].as_str().unwrap_or("");
                let expires_at = detail["expires_at"].as_i64().unwrap_or(0);
                let good = detail["decision"] == "approved" && allow.iter().any(|a| a == by) && *at < expires_at;
                if detail["decision"] == "approved" && !good {
                    violation(report, format!("approval {approval} approved by {by} at {at}, expiring {expires_at}"));
                }
                if good {
                    approved.insert(subject);
                }
            }
            a if a.starts_with("step.") => {
                if !approved.contains(&subject) {
                    violation(report, format!("a step of {subject} ran without an approval (row {seq}: {a})"));
                }
                ran.insert(subject);
            }
            _ => {}
        }
    }
    report.ran = ran.len();
    let recorded: usize = decisions.values().map(|n| *n as usize).sum();
    if recorded != report.decided {
        violation(
            report,
            format!("{} presses took effect but the audit log records {recorded} decisions", report.decided),
        );
    }
}
