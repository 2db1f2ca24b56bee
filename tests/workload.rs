//! The labelled workload through the reasoning tiers (`steward-bench
//! tiers`), with floors under what it measured: most requests need no model,
//! the tier that answers is the labelled one, and tiering spends far fewer
//! tokens than sending everything to the planner.

use std::process::Command;

use serde_json::Value;

#[test]
fn the_workload_is_answered_at_the_cheapest_tier() {
    let out =
        Command::new(env!("CARGO_BIN_EXE_steward-bench")).args(["tiers", "--embedder", "minilm"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let figures: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = |k: &str| figures[k].as_f64().unwrap_or_else(|| panic!("{k} missing: {figures}"));
    assert!(f("requests") >= 500.0, "{figures}");
    assert!(f("no_llm_fraction") >= 0.6, "{figures}");
    assert!(f("routing_accuracy") >= 0.95, "{figures}");
    // The target is 5×; what the pipeline reaches is in the closing note.
    assert!(f("token_ratio") >= 3.5, "{figures}");
    let by_tier = &figures["by_tier"];
    assert!(
        ["0", "1", "2", "3"].iter().all(|t| by_tier[t].as_u64().unwrap() > 0),
        "every tier is exercised: {figures}"
    );
}
