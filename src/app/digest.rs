//! `steward schedules list`, `steward digest preview` and `steward digest send`.
//! A schedule runs as the built-in workflow `digest-NAME` (see
//! [`crate::schedules`]).

use std::process::ExitCode;

use anyhow::{anyhow, bail};
use chrono::Utc;
use chrono_tz::Tz;
use clap::ValueEnum;

use super::intents::open_existing;
use crate::config::Config;
use crate::digest::{self, render};
use crate::schedules::{self, Schedule};
use crate::workflows::Started;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Html,
    Telegram,
    Discord,
}

fn load(config: &Config) -> anyhow::Result<Vec<Schedule>> {
    schedules::parse(&config.schedules, &schedules::Available::from_config(config)).map_err(|e| anyhow!("{e}"))
}

fn pick<'a>(all: &'a [Schedule], name: Option<&str>) -> anyhow::Result<Option<&'a Schedule>> {
    match name {
        None => Ok(all.first()),
        Some(n) => match all.iter().find(|s| s.name == n) {
            Some(s) => Ok(Some(s)),
            None => {
                let known: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
                bail!(
                    "no schedule named `{n}`; configured: {}",
                    if known.is_empty() { "none".into() } else { known.join(", ") }
                )
            }
        },
    }
}

pub async fn list(config: &Config) -> anyhow::Result<ExitCode> {
    let all = load(config)?;
    if all.is_empty() {
        println!("no schedules configured (add [[schedules]] to steward.toml)");
        return Ok(ExitCode::SUCCESS);
    }
    let now = Utc::now();
    for s in &all {
        let mut t = now;
        let mut next = Vec::new();
        for _ in 0..3 {
            let Some(n) = s.next_after(t) else { break };
            next.push(n.format("%a %d %b %H:%M %Z").to_string());
            t = n.with_timezone(&Utc);
        }
        println!(
            "{}  `{}` {}  → {}  (workflow {})",
            s.name,
            s.timing.cron_text,
            s.timing.tz.name(),
            s.destination_text(),
            s.workflow_name()
        );
        println!("    next: {}", next.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the digest a schedule would send now (covering what happened
/// since its last run, or the last 24 hours). Changes nothing.
pub async fn preview(config: &Config, name: Option<&str>, format: Format) -> anyhow::Result<ExitCode> {
    let store = open_existing(config).await?;
    let all = load(config)?;
    let schedule = pick(&all, name)?;
    let (label, tz) = match schedule {
        Some(s) => (s.name.clone(), s.timing.tz),
        None => ("preview".to_owned(), Tz::UTC),
    };
    let now = Utc::now().timestamp_millis();
    let last: Option<i64> = sqlx::query_scalar("SELECT MAX(fired_at) FROM schedule_runs WHERE schedule = ?")
        .bind(&label)
        .fetch_one(store.reader())
        .await?;
    let d = digest::build(&store, &label, last.unwrap_or(now - 86_400_000), now, false).await?;
    let out = match format {
        _ if d.is_empty() => render::one_line(&d, tz) + "\n",
        Format::Text => render::text(&d, tz),
        Format::Html => render::html(&d, tz),
        Format::Telegram => render::telegram(&d, tz) + "\n",
        Format::Discord => serde_json::to_string_pretty(&render::discord(&d, tz))? + "\n",
    };
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// Sends a schedule's digest now: a run of its workflow, started by hand,
/// which a running server carries out.
pub async fn send(config: &Config, name: Option<&str>) -> anyhow::Result<ExitCode> {
    let store = open_existing(config).await?;
    let lib = super::workflows::library(config, &store)?;
    let all = load(config)?;
    let Some(schedule) = pick(&all, name)? else {
        bail!("no schedules configured: a digest needs a destination (add [[schedules]] to steward.toml)");
    };
    let w =
        lib.get(&schedule.workflow_name()).ok_or_else(|| anyhow!("the {} digest has no workflow", schedule.name))?;
    let how = match super::workflows::by_hand(&store, &lib, &w, Default::default()).await? {
        Started::New(id) | Started::Existing(Some(id)) => format!(" as intent {id}"),
        _ => String::new(),
    };
    store.close().await;
    println!(
        "queued the {} digest for {}{how} (workflow {}); a running `steward serve` delivers it",
        schedule.name,
        schedule.destination_text(),
        schedule.workflow_name()
    );
    Ok(ExitCode::SUCCESS)
}
