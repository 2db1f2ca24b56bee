//! Where the memory commands (and `import`) work: on memory itself, with
//! the data directory locked, or, while `steward serve` holds it, through
//! the running server's API; so they work either way, with no lock error.

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::intents::open_existing;
use super::lock_data_dir;
use super::remote::Remote;
use crate::config::Config;
use crate::domain::{Millis, NewMemory, Scope};
use crate::memory::{self, Contract, INDEX_BATCH, Memory, Query};

pub enum Access {
    Local { memory: Memory, _lock: std::fs::File },
    Served(Remote),
}

fn rfc3339(ms: Millis) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339()
}

/// A record as `POST /v1/memory` takes it.
fn body(m: &NewMemory) -> Value {
    json!({
        "text": m.text, "kind": m.kind.as_str(), "scope": m.scope.as_str(), "tags": m.tags, "meta": m.meta,
        "why": m.provenance.why, "occurred_at": m.occurred_at.map(rfc3339), "source_id": m.source_id,
        "author": m.provenance.actor, "via": m.provenance.channel,
    })
}

impl Access {
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        match lock_data_dir(config) {
            Ok(lock) => {
                let store = open_existing(config).await?;
                Ok(Self::Local { memory: memory::build(config, &store).await?, _lock: lock })
            }
            Err(locked) => Remote::find(config).map(Self::Served).map_err(|e| e.context(locked)),
        }
    }

    /// Memory itself, for what only works on it (a reindex with progress).
    pub fn local(&self) -> Option<&Memory> {
        match self {
            Self::Local { memory, .. } => Some(memory),
            Self::Served(_) => None,
        }
    }

    pub fn now(&self) -> Millis {
        match self {
            Self::Local { memory, .. } => memory.clock().now(),
            Self::Served(_) => Utc::now().timestamp_millis(),
        }
    }

    /// Adds records (all or none): their ids, and how many are new.
    pub async fn add(&self, records: &[NewMemory]) -> anyhow::Result<(Vec<String>, usize)> {
        match self {
            Self::Local { memory, .. } => {
                let added = memory.add(records, &Contract::operator()).await?;
                Ok((added.ids(), added.new_count()))
            }
            Self::Served(remote) => {
                let sent = json!({"records": records.iter().map(body).collect::<Vec<_>>()});
                let got = remote.post("/v1/memory", &sent).await?;
                let ids: Vec<String> = serde_json::from_value(got["ids"].clone()).context("the server's answer")?;
                Ok((ids, got["added"].as_u64().unwrap_or(0) as usize))
            }
        }
    }

    /// What a search found, as `POST /v1/memory/search` answers:
    /// `{items, next_cursor, degraded?}`, best first.
    pub async fn search(&self, q: &Query) -> anyhow::Result<Value> {
        match self {
            // A command waits for the model: it has no warm-up to ride out.
            Self::Local { memory, .. } => {
                memory.embedder().warmed().await?;
                Ok(memory.search(q, &Contract::operator()).await?.to_json())
            }
            Self::Served(remote) => {
                let body = json!({
                    "query": q.text, "scopes": q.scopes, "kinds": q.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
                    "limit": q.limit, "since": q.since.map(rfc3339), "until": q.until.map(rfc3339),
                });
                remote.post("/v1/memory/search", &body).await
            }
        }
    }

    /// Forgets a record; false when there was none.
    pub async fn forget(&self, id: &str, actor: &str) -> anyhow::Result<bool> {
        match self {
            Self::Local { memory, .. } => Ok(memory.forget(id, actor).await?),
            Self::Served(remote) => remote.delete(&format!("/v1/memory/{id}")).await,
        }
    }

    /// The records of `scope` whose source id begins with `prefix`.
    pub async fn sourced_under(&self, scope: &Scope, prefix: &str) -> anyhow::Result<Vec<(String, String)>> {
        match self {
            Self::Local { memory, .. } => {
                Ok(crate::store::memory::sourced_under(memory.store().reader(), scope, prefix).await?)
            }
            Self::Served(remote) => {
                let body = json!({"scope": scope.as_str(), "prefix": prefix});
                let found = remote.post("/v1/memory/sources", &body).await?;
                Ok(serde_json::from_value(found).context("the server's answer")?)
            }
        }
    }

    pub async fn stats(&self) -> anyhow::Result<Value> {
        match self {
            Self::Local { memory, .. } => Ok(memory.stats().await?),
            Self::Served(remote) => remote.get("/v1/memory/stats").await,
        }
    }

    /// Has the running server rebuild its vector index, and follows the
    /// job until every record has its vector again: `progress(done,
    /// total)` after each look. Returns the job and how many records.
    pub async fn reindex_served(&self, mut progress: impl FnMut(u64, u64)) -> anyhow::Result<(String, u64)> {
        let Self::Served(remote) = self else { anyhow::bail!("no server is running") };
        let started = remote.post("/v1/memory/reindex", &json!({})).await?;
        let job = started["job"].as_str().context("the server's answer has no job")?.to_owned();
        loop {
            let at = remote.get(&format!("/v1/memory/jobs/{job}")).await?;
            let (done, total) = (at["indexed"].as_u64().unwrap_or(0), at["records"].as_u64().unwrap_or(0));
            progress(done, total);
            if at["done"] == true {
                return Ok((job, total));
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }

    /// Waits until what was added can be found by meaning. The server's
    /// indexer does that on its own.
    pub async fn settle(&self, mut tick: impl FnMut()) -> anyhow::Result<()> {
        if let Self::Local { memory, .. } = self {
            while memory.index_pending(INDEX_BATCH).await? > 0 {
                tick();
            }
        }
        Ok(())
    }
}
