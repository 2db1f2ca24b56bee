//! `steward memory add|search|forget|reindex|stats`. These open the memory
//! directly, so they lock the data directory: with `steward serve` running,
//! use the HTTP API instead.

use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{TimeZone, Utc};
use indicatif::{ProgressBar, ProgressStyle};

use super::intents::open_existing;
use super::{lock_data_dir, print_json};
use crate::config::Config;
use crate::domain::{MemoryKind, MemoryProvenance, NewMemory, Scope};
use crate::memory::{self, Contract, Memory, Query};

async fn open(config: &Config) -> anyhow::Result<(Memory, std::fs::File)> {
    let lock = lock_data_dir(config).context("stop `steward serve` first, or use its HTTP API (/v1/memory)")?;
    let store = open_existing(config).await?;
    Ok((memory::build(config, &store).await?, lock))
}

fn when(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms).single().map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default()
}

pub async fn add(
    config: &Config,
    text: &str,
    kind: MemoryKind,
    scope: &str,
    tags: Vec<String>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let (memory, _lock) = open(config).await?;
    let provenance = MemoryProvenance { actor: "cli".into(), channel: "cli".into(), ..Default::default() };
    let mut record = NewMemory::new(kind, text, Scope::parse(scope)?, provenance, memory.clock().now())?;
    record.tags = tags;
    let ids = memory.add(&[record], &Contract::operator()).await?;
    if json {
        print_json(&serde_json::json!({"ids": ids}))?;
    } else {
        println!("remembered {}", ids[0]);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn search(config: &Config, query: Query, json: bool) -> anyhow::Result<ExitCode> {
    let (memory, _lock) = open(config).await?;
    let hits = memory.search(&query, &Contract::operator()).await?;
    if json {
        print_json(&hits)?;
    } else if hits.is_empty() {
        println!("nothing found");
    } else {
        for h in &hits {
            println!(
                "{}  {}  {:<14} {:<10} {:.4}  {}",
                h.id,
                when(h.created_at),
                h.kind,
                h.scope.as_str(),
                h.scores.fused,
                h.text
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Forgets one record by id, or every record matching a query (after
/// showing them, only with `--yes`).
pub async fn forget(config: &Config, id: Option<&str>, query: Option<&str>, yes: bool) -> anyhow::Result<ExitCode> {
    let (memory, _lock) = open(config).await?;
    let ids: Vec<String> = match (id, query) {
        (Some(id), None) => vec![id.to_owned()],
        (None, Some(q)) => {
            let hits = memory
                .search(&Query { text: q.to_owned(), limit: 100, ..Default::default() }, &Contract::operator())
                .await?;
            let matching: Vec<_> = hits.into_iter().filter(|h| h.scores.bm25.is_some()).collect();
            if !yes {
                for h in &matching {
                    println!("{}  {}", h.id, h.text);
                }
                println!("{} records match; run again with --yes to forget them", matching.len());
                return Ok(ExitCode::SUCCESS);
            }
            matching.into_iter().map(|h| h.id).collect()
        }
        _ => bail!("give a record id, or --query with words to match"),
    };
    let mut forgotten = 0;
    for id in &ids {
        if memory.forget(id, "cli").await? {
            forgotten += 1;
        } else if ids.len() == 1 {
            bail!("no memory record {id}");
        }
    }
    println!("forgot {forgotten} record(s)");
    Ok(ExitCode::SUCCESS)
}

pub async fn reindex(config: &Config) -> anyhow::Result<ExitCode> {
    let (memory, _lock) = open(config).await?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} records ({per_sec}, {eta} left)").expect("a valid template"),
    );
    let done = memory
        .reindex(|done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
        .await?;
    bar.finish_and_clear();
    println!("reindexed {done} records with {} into {}", memory.embedder().name(), memory.index().name());
    Ok(ExitCode::SUCCESS)
}

pub async fn stats(config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let (memory, _lock) = open(config).await?;
    let s = memory.stats().await?;
    if json {
        print_json(&s)?;
    } else {
        println!("{}", serde_json::to_string_pretty(&s)?);
    }
    Ok(ExitCode::SUCCESS)
}
