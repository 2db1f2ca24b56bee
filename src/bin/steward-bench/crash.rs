//! The large crash run, with the same harness the tests use.

use serde_json::Value;

use crate::crash_harness;

pub async fn run(intents: usize, kills: usize, seed: u64, faults: bool) -> anyhow::Result<Value> {
    let steward = std::env::current_exe()?.with_file_name("steward");
    anyhow::ensure!(steward.is_file(), "{} not found: build it first (cargo build --release)", steward.display());
    let plan = crash_harness::Plan { intents, kills, seed, faults, steward };
    let report = crash_harness::run(&plan).await;
    let mut v = serde_json::to_value(&report)?;
    v["scenario"] = "crash".into();
    v["seed"] = seed.into();
    v["faults"] = faults.into();
    Ok(v)
}
