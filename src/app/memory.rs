//! `steward memory add|search|forget|reindex|stats`. They work on memory
//! directly, or, while `steward serve` holds the data directory, through
//! its API (`memory_access`).

use std::process::ExitCode;

use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use super::memory_access::Access;
use super::print_json;
use crate::config::Config;
use crate::domain::{MemoryKind, MemoryProvenance, NewMemory, Scope};
use crate::memory::Query;

/// What `memory add` may say beside the text.
pub struct Extra {
    pub tags: Vec<String>,
    /// A JSON object.
    pub meta: Option<String>,
    /// RFC 3339, or a date (midnight UTC).
    pub occurred_at: Option<String>,
}

/// A time given on the command line: RFC 3339, or a date (midnight UTC).
fn parse_time(s: &str) -> anyhow::Result<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    let day = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
        anyhow::anyhow!("--occurred-at `{s}`: give an RFC 3339 time (2026-03-01T09:30:00Z) or a date (2026-03-01)")
    })?;
    Ok(day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc().timestamp_millis())
}

pub async fn add(
    config: &Config,
    text: &str,
    kind: MemoryKind,
    scope: &str,
    extra: Extra,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let meta = match extra.meta.as_deref().map(serde_json::from_str::<serde_json::Value>) {
        None => None,
        Some(Ok(m)) if m.is_object() => Some(m),
        Some(_) => anyhow::bail!("--meta must be a JSON object, such as '{{\"source\": \"email\"}}'"),
    };
    let occurred_at = extra.occurred_at.as_deref().map(parse_time).transpose()?;
    let access = Access::open(config).await?;
    let (actor, channel) = MemoryProvenance::CLI;
    let provenance = MemoryProvenance { actor: actor.into(), channel: channel.into(), ..Default::default() };
    let mut record = NewMemory::new(kind, text, Scope::parse(scope)?, provenance, access.now())?;
    record.tags = extra.tags;
    record.occurred_at = occurred_at;
    if let Some(meta) = meta {
        record.meta = meta;
    }
    let (ids, _) = access.add(&[record]).await?;
    if json {
        print_json(&serde_json::json!({"ids": ids}))?;
    } else {
        println!("remembered {}", ids[0]);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn search(config: &Config, query: Query, json: bool) -> anyhow::Result<ExitCode> {
    let found = Access::open(config).await?.search(&query).await?;
    let hits = found["items"].as_array().cloned().unwrap_or_default();
    if let Some(why) = found["degraded"].as_str().filter(|_| !json) {
        eprintln!("note: {why}; these were found by words alone");
    }
    if json {
        print_json(&found)?;
    } else if hits.is_empty() {
        println!("nothing found");
    } else {
        for h in &hits {
            let s = |k: &str| h[k].as_str().unwrap_or_default().to_owned();
            println!(
                "{}  {}  {:<14} {:<10} {:.4}  {}",
                s("id"),
                h["occurred_at"].as_str().and_then(|t| t.get(..10)).unwrap_or_default(),
                s("kind"),
                s("scope"),
                h["scores"]["fused"].as_f64().unwrap_or(0.0),
                s("text")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Forgets one record by id, or every record matching a query (after
/// showing them, only with `--yes`).
pub async fn forget(config: &Config, id: Option<&str>, query: Option<&str>, yes: bool) -> anyhow::Result<ExitCode> {
    let access = Access::open(config).await?;
    let ids: Vec<String> = match (id, query) {
        (Some(id), None) => vec![id.to_owned()],
        (None, Some(q)) => {
            let found = access.search(&Query { text: q.to_owned(), limit: 100, ..Default::default() }).await?;
            let hits = found["items"].as_array().cloned().unwrap_or_default();
            let matching: Vec<&Value> = hits.iter().filter(|h| h["scores"]["bm25"].is_f64()).collect();
            if !yes {
                for h in &matching {
                    println!("{}  {}", h["id"].as_str().unwrap_or_default(), h["text"].as_str().unwrap_or_default());
                }
                println!("{} records match; run again with --yes to forget them", matching.len());
                return Ok(ExitCode::SUCCESS);
            }
            matching.iter().filter_map(|h| h["id"].as_str().map(str::to_owned)).collect()
        }
        _ => bail!("give a record id, or --query with words to match"),
    };
    let mut forgotten = 0;
    for id in &ids {
        if access.forget(id, "cli").await? {
            forgotten += 1;
        } else if ids.len() == 1 {
            bail!("no memory record {id}");
        }
    }
    println!("forgot {forgotten} record(s)");
    Ok(ExitCode::SUCCESS)
}

/// Rebuilds the vector index, here or, while `steward serve` runs, by the
/// server's own indexer (whose job this follows until it is done).
pub async fn reindex(config: &Config) -> anyhow::Result<ExitCode> {
    let access = Access::open(config).await?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} records ({per_sec}, {eta} left)").expect("a valid template"),
    );
    let Some(memory) = access.local() else {
        let (job, records) = access
            .reindex_served(|done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })
            .await?;
        bar.finish_and_clear();
        println!("reindexed {records} records by the running server (job {job})");
        return Ok(ExitCode::SUCCESS);
    };
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
    let s = Access::open(config).await?.stats().await?;
    if json {
        print_json(&s)?;
    } else {
        println!("{}", serde_json::to_string_pretty(&s)?);
    }
    Ok(ExitCode::SUCCESS)
}
