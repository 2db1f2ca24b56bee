//! `steward agents list` and `steward costs`.

use std::process::ExitCode;

use anyhow::anyhow;
use chrono::{DateTime, Utc};

use super::intents::open_existing;
use super::print_json;
use crate::api::ask::summarise;
use crate::config::Config;
use crate::policy::PolicyHandle;
use crate::reasoning::load_roles;

/// The roles in force: name, tier, version and contract. A malformed role
/// file is refused with the file and the reason.
pub fn agents(config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let roles = load_roles(&config.reasoning).map_err(|e| anyhow!("{e}"))?;
    if json {
        print_json(&roles.all().collect::<Vec<_>>())?;
        return Ok(ExitCode::SUCCESS);
    }
    let source = match &config.reasoning.prompts_dir {
        Some(dir) => format!("from {}", dir.display()),
        None => "built in".to_owned(),
    };
    println!("roles ({source}):");
    for r in roles.all() {
        let scopes = |s: &[crate::domain::Scope]| {
            if s.is_empty() { "-".to_owned() } else { s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",") }
        };
        println!(
            "  {:<11} {:?} tier  version {}  timeout {} s\n              adapters [{}]  reads [{}]  writes [{}]\n              {}",
            r.name,
            format!("{:?}", r.tier).to_lowercase(),
            r.version,
            r.timeout.as_secs(),
            r.adapters.join(", "),
            scopes(&r.memory_read),
            scopes(&r.memory_write),
            r.description
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Model spend by day, tier and model since `since` (default: 7 days).
pub async fn costs(config: &Config, since: Option<DateTime<Utc>>, json: bool) -> anyhow::Result<ExitCode> {
    let store = open_existing(config).await?;
    let policy = PolicyHandle::load(config.policy.path.as_deref(), crate::adapters::policy_vocabulary())
        .map_err(|(path, e)| anyhow!("policy file {} refused: {e}", path.display()))?;
    let costs = summarise(&store, since, policy.get().budgets.model_spend_per_day).await?;
    if json {
        print_json(&costs)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "since {}: {} model calls, ${:.4}; today ${:.4} of ${:.2} budget",
        costs.since.format("%Y-%m-%d %H:%M UTC"),
        costs.calls,
        costs.cost_usd,
        costs.spent_today_usd,
        costs.budget_per_day_usd
    );
    if costs.by_day.is_empty() {
        println!("no model calls");
    }
    for l in &costs.by_day {
        println!(
            "  {}  tier {}  {:<24} {:>5} calls ({} failed, {} estimated)  {:>8} in ({} cached) {:>8} out  ${:.4}  p50 {} ms",
            l.day,
            l.tier,
            l.model,
            l.calls,
            l.failed_calls,
            l.estimated_calls,
            l.tokens_in,
            l.tokens_cached,
            l.tokens_out,
            l.cost_usd,
            l.p50_latency_ms
        );
    }
    Ok(ExitCode::SUCCESS)
}
