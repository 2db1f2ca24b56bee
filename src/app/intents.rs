//! `steward intents list|show|cancel|retry`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{TimeZone, Utc};

use super::print_json;
use crate::api::views::{IntentPage, IntentView, StepView};
use crate::config::Config;
use crate::domain::{IntentId, IntentState};
use crate::orchestrator::control;
use crate::store::intents::{self, ListFilter};
use crate::store::{Store, audit};
use crate::telemetry::trail;

/// Opens the database the server uses; it must exist already, so a typo in
/// `--data-dir` does not silently create an empty one.
pub(super) async fn open_existing(config: &Config) -> anyhow::Result<Store> {
    let path = config.database_path();
    if !path.exists() {
        bail!("no database at {}: start `steward serve` once, or pass the right --data-dir", path.display());
    }
    Store::open(&path, &config.store).await.with_context(|| format!("cannot open {}", path.display()))
}

fn when(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms).single().map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_default()
}

pub async fn list(config: &Config, state: Option<IntentState>, limit: u32, json: bool) -> anyhow::Result<ExitCode> {
    let store = open_existing(config).await?;
    let found = intents::list(&store, &ListFilter { state, before: None, limit }).await?;
    if json {
        print_json(&IntentPage { items: found.iter().map(IntentView::from).collect(), next_cursor: None })?;
    } else if found.is_empty() {
        println!("no intents");
    } else {
        for i in &found {
            println!("{}  {:<17} {:<6} {}  {}", i.id, i.state, i.risk, when(i.created_at), i.text.as_str());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The most log lines `show --log` prints.
const MAX_LOG_LINES: usize = 500;

/// An intent, its steps and timeline; with `log` (a file `serve` wrote with
/// `log.format = "json"`), the log lines about it too.
pub async fn show(config: &Config, id: IntentId, json: bool, log: Option<&Path>) -> anyhow::Result<ExitCode> {
    let store = open_existing(config).await?;
    let intent = intents::get(&store, id).await?.with_context(|| format!("intent {id} not found"))?;
    let steps = intents::steps(&store, id).await?;
    let trail = audit::for_subject(store.reader(), &id.to_string()).await?;
    let lines = match log {
        Some(path) => {
            let file = std::fs::File::open(path).with_context(|| format!("cannot read the log {}", path.display()))?;
            Some(trail::about_intent(std::io::BufReader::new(file), &id.to_string(), MAX_LOG_LINES)?)
        }
        None => None,
    };
    if json {
        // As `GET /v1/intents/{id}` shows it, with the log lines beside.
        let mut view = IntentView::from(&intent);
        view.steps = Some(steps.iter().map(StepView::from).collect());
        view.audit = Some(trail.into_iter().map(Into::into).collect());
        let mut shown = serde_json::to_value(view)?;
        if let Some(lines) = &lines {
            shown["log"] = serde_json::json!(lines);
        }
        print_json(&shown)?;
        return Ok(ExitCode::SUCCESS);
    }
    let p = &intent.provenance;
    println!(
        "intent  {}\nstate   {} (risk {})\ntext    {}",
        intent.id,
        intent.state,
        intent.risk,
        intent.text.as_str()
    );
    println!(
        "from    {} via {}; agent {} {}; policy {}",
        p.actor, p.channel, p.agent, p.agent_version, p.policy_version
    );
    if let Some(reason) = &p.reason {
        println!("why     {reason}");
    }
    for s in &steps {
        println!(
            "step {}  {}.{}  {}  attempts {}",
            s.seq,
            s.planned.adapter.as_str(),
            s.planned.action.as_str(),
            s.state,
            s.attempts
        );
    }
    println!("timeline:");
    for r in &trail {
        println!("  #{:<6} {}  {:<16} by {}  {}", r.seq, when(r.at), r.action, r.actor, r.detail);
    }
    if let Some(lines) = &lines {
        println!("log ({} lines):", lines.len());
        for line in lines {
            println!("  {}", trail::render(line));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The actor the CLI's commands are recorded under.
const CLI_ACTOR: &str = "cli";

/// Cancel or retry run against the database; a running server's runner
/// picks the change up at its next look (within five seconds).
pub async fn cancel(config: &Config, id: IntentId) -> anyhow::Result<ExitCode> {
    let store = open_existing(config).await?;
    let state = control::cancel(&store, id, CLI_ACTOR).await?;
    println!("intent {id} is now {state}");
    Ok(ExitCode::SUCCESS)
}

pub async fn retry(config: &Config, id: IntentId) -> anyhow::Result<ExitCode> {
    let store = open_existing(config).await?;
    let state = control::retry(&store, id, CLI_ACTOR).await?;
    println!("intent {id} is now {state}");
    Ok(ExitCode::SUCCESS)
}
