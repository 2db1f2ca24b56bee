//! The approvals storm at any size, with the same code the test runs.

use serde_json::{Value, json};

use crate::stats::round;
use crate::storm;

pub async fn run(approvals: usize, presses: usize, seed: u64) -> anyhow::Result<Value> {
    let report = storm::run(&storm::Storm { approvals, presses, seed, workers: 8 }).await;
    Ok(json!({
        "scenario": "approvals",
        "approvals": report.approvals,
        "presses": report.presses,
        "decided": report.decided,
        "refused": report.refused,
        "ran": report.ran,
        "violations": report.violations,
        "p50_ms": round(report.p50_ms, 3),
        "p99_ms": round(report.p99_ms, 3),
    }))
}
