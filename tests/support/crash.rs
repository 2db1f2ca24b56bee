//! The crash harness: `steward serve` as a child process, intents of three
//! webhook steps sent to a [`Receiver`], and SIGKILLs at seeded random moments
//! followed by restarts. Afterwards it counts what the guarantees forbid:
//! lost intents, effects applied twice, intents not terminal, and failed
//! intents whose completed steps were not undone.
//!
//! Used by `tests/crash.rs` (small) and `steward-bench crash` (large).
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{Value, json};

use super::receiver::{Faults, Receiver};

const TOKEN: &str = "crash-harness-token";

/// Webhooks to the receiver run without waiting for anyone, and the breaker
/// never trips: the harness fails every fifth intent on purpose.
const POLICY: &str = r#"
default_risk = "high"
[levels.low]
mode = "auto"
[levels.medium]
mode = "review-after"
[levels.high]
mode = "approve-before"
[breaker]
failures = 1000000
window_secs = 60
cooldown_secs = 1
[budgets]
actions_per_hour = 1000000
[[rule]]
name = "the receiver"
adapter = "webhook"
risk = "low"
"#;
const TERMINAL: [&str; 5] = ["succeeded", "failed", "compensated", "cancelled", "expired"];

#[derive(Debug, Clone)]
pub struct Plan {
    pub intents: usize,
    pub kills: usize,
    pub seed: u64,
    /// A receiver that sometimes answers 5xx, 429 or hangs.
    pub faults: bool,
    pub steward: PathBuf,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub intents: usize,
    pub kills: usize,
    pub lost: usize,
    /// Effects sent again after they had been applied.
    pub duplicate_effects: u32,
    /// Deliveries beyond the first per key, whatever they were answered.
    pub raw_duplicates: u32,
    pub not_terminal: usize,
    /// Intents that undid their steps but left an applied step not undone,
    /// or that failed without undoing.
    pub uncompensated: usize,
    pub by_state: BTreeMap<String, usize>,
    /// Steps found interrupted by a kill and reconciled at restart: proof
    /// that the kills landed mid-step.
    pub reconciled: usize,
    pub seconds: f64,
}

struct Serve {
    child: Child,
}

impl Serve {
    fn start(plan: &Plan, data: &std::path::Path, port: u16) -> Self {
        let policy = data.with_file_name("policy.toml");
        std::fs::write(&policy, POLICY).unwrap();
        let mut cmd = Command::new(&plan.steward);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("STEWARD_") {
                cmd.env_remove(k);
            }
        }
        let child = cmd
            .arg("--data-dir")
            .arg(data)
            .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
            .env("STEWARD_API_TOKEN", TOKEN)
            .env("STEWARD_LOG__FILTER", "error")
            .env("STEWARD_POLICY__PATH", &policy)
            // Restarts are the point here, not semantic search: skip loading the model.
            .env("STEWARD_EMBEDDING__BACKEND", "hash")
            .env("STEWARD_ADAPTERS__WEBHOOK__TIMEOUT_MS", "400")
            .env("STEWARD_ADAPTERS__WEBHOOK__RETRY__INITIAL_MS", "10")
            .env("STEWARD_ADAPTERS__WEBHOOK__RETRY__MAX_MS", "100")
            .env("STEWARD_ADAPTERS__WEBHOOK__RETRY__MAX_ATTEMPTS", "10000")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("steward starts");
        Self { child }
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_ready(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(Instant::now() < deadline, "steward did not become ready");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Submits intents `from..to` that have no id yet; stops at the first error
/// (the server is being killed) and leaves the rest for the next cycle.
async fn submit(client: reqwest::Client, base: String, bodies: Vec<(usize, Value)>) -> Vec<(usize, String)> {
    let mut acked = vec![];
    for (i, body) in bodies {
        let sent = client
            .post(format!("{base}/v1/intents"))
            .bearer_auth(TOKEN)
            .header("Idempotency-Key", format!("crash-{i}"))
            .json(&body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => match r.json::<Value>().await {
                Ok(v) => acked.push((i, v["id"].as_str().unwrap_or_default().to_owned())),
                Err(_) => break,
            },
            _ => break,
        }
    }
    acked
}

fn body(recv: &Receiver, i: usize) -> Value {
    // Every fifth intent's last step is refused for good, so it must unwind.
    let fails = i % 5 == 4;
    json!({"text": format!("crash intent {i}"), "plan": {"steps": [recv.step(false), recv.step(false), recv.step(fails)]}})
}

pub async fn run(plan: &Plan) -> Report {
    let started = Instant::now();
    let faults = if plan.faults {
        Faults { server_error: 0.1, rate_limited: 0.1, hang_after_apply: 0.05, hang: Duration::from_millis(1_500) }
    } else {
        Faults::default()
    };
    let recv = Receiver::start(faults, plan.seed).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let mut ids: HashMap<usize, String> = HashMap::new();
    let per_cycle = plan.intents.div_ceil(plan.kills.max(1)).max(1);
    let mut offered = 0;
    for cycle in 0..=plan.kills {
        let serve = Serve::start(plan, &data, port);
        wait_ready(&client, &base).await;
        let last = cycle == plan.kills;
        offered = if last { plan.intents } else { (offered + per_cycle).min(plan.intents) };
        let todo: Vec<(usize, Value)> =
            (0..offered).filter(|i| !ids.contains_key(i)).map(|i| (i, body(&recv, i))).collect();
        let submitting = tokio::spawn(submit(client.clone(), base.clone(), todo));
        if last {
            ids.extend(submitting.await.unwrap());
            wait_all_terminal(&client, &base, &ids).await;
            let report = check(plan, &client, &base, &ids, &recv, started).await;
            serve.kill();
            return report;
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..60))).await;
        serve.kill();
        ids.extend(submitting.await.unwrap());
    }
    unreachable!("the last cycle returns")
}

async fn states(client: &reqwest::Client, base: &str, ids: &HashMap<usize, String>) -> HashMap<usize, Option<Value>> {
    let mut out = HashMap::new();
    for (i, id) in ids {
        let r = client.get(format!("{base}/v1/intents/{id}")).bearer_auth(TOKEN).send().await.unwrap();
        out.insert(*i, if r.status().is_success() { Some(r.json::<Value>().await.unwrap()) } else { None });
    }
    out
}

async fn wait_all_terminal(client: &reqwest::Client, base: &str, ids: &HashMap<usize, String>) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let all = states(client, base, ids).await;
        let done =
            all.values().all(|v| v.as_ref().is_some_and(|v| TERMINAL.contains(&v["state"].as_str().unwrap_or(""))));
        if done {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn check(
    plan: &Plan,
    client: &reqwest::Client,
    base: &str,
    ids: &HashMap<usize, String>,
    recv: &Receiver,
    started: Instant,
) -> Report {
    let tally = recv.tally();
    let all = states(client, base, ids).await;
    let mut report = Report { intents: plan.intents, kills: plan.kills, ..Default::default() };
    report.lost = plan.intents - ids.len() + all.values().filter(|v| v.is_none()).count();
    report.duplicate_effects = tally.resent_after_applied;
    report.raw_duplicates = tally.deliveries.values().map(|n| n.saturating_sub(1)).sum();
    for (i, intent) in &all {
        let Some(intent) = intent else { continue };
        let state = intent["state"].as_str().unwrap_or("").to_owned();
        *report.by_state.entry(state.clone()).or_default() += 1;
        if !TERMINAL.contains(&state.as_str()) {
            report.not_terminal += 1;
        }
        let audit = intent["audit"].as_array().cloned().unwrap_or_default();
        report.reconciled +=
            audit.iter().filter(|r| r["action"].as_str().is_some_and(|a| a.ends_with("interrupted"))).count();
        let steps = intent["steps"].as_array().cloned().unwrap_or_default();
        report.reconciled += steps.iter().filter(|s| s["result"].get("reconciled").is_some()).count();
        let id = &ids[i];
        let applied: Vec<String> =
            (0..3).map(|s| format!("steward-{id}-{s}")).filter(|k| tally.applied.contains_key(k)).collect();
        let undone = applied.iter().all(|k| tally.undos.contains_key(&format!("{k}-compensate")));
        let must_unwind = i % 5 == 4;
        if (must_unwind && (state != "compensated" || !undone))
            || (state == "compensated" && !undone)
            || state == "failed" && !applied.is_empty()
        {
            report.uncompensated += 1;
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    report
}
