//! Hybrid search: BM25 (within the scopes searched) and nearest vectors,
//! fused by weighted scores (or reciprocal ranks), with more weight for a
//! message by someone the question names and, optionally, for recent
//! records; the same words said again are found once.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use sqlx::SqliteConnection;

use serde::Serialize;

use super::index::IndexFilter;
use super::rerank;
use super::{Contract, Memory, MemoryError};
use crate::domain::{MemoryKind, MemoryProvenance, Millis, Scope};
use crate::store::StoreError;
use crate::store::memory::{self as rows, Filter};

pub use super::fusion::{Fusion, Method};

#[derive(Debug, Clone, Default)]
pub struct Query {
    pub text: String,
    /// Restrict to these scopes (within what the reader may read).
    pub scopes: Vec<Scope>,
    pub kinds: Vec<MemoryKind>,
    pub since: Option<Millis>,
    pub until: Option<Millis>,
    pub limit: usize,
    /// The query's embedding, when the caller already has it (embed once).
    pub vector: Option<Vec<f32>>,
}

/// Which retrievers to use: both (hybrid), or one alone (for evaluation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Hybrid,
    Lexical,
    Vector,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Scores {
    /// BM25 (higher is better) and rank, when the words matched.
    pub bm25: Option<f64>,
    pub bm25_rank: Option<usize>,
    /// Cosine similarity and rank, when the vectors were near.
    pub vector: Option<f32>,
    pub vector_rank: Option<usize>,
    pub fused: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub id: String,
    pub text: String,
    pub kind: MemoryKind,
    pub scope: Scope,
    pub tags: Vec<String>,
    pub meta: serde_json::Value,
    pub provenance: MemoryProvenance,
    #[serde(serialize_with = "crate::domain::stamp::serialize")]
    pub created_at: Millis,
    /// When what it says happened.
    #[serde(serialize_with = "crate::domain::stamp::serialize")]
    pub occurred_at: Millis,
    pub archived: bool,
    pub scores: Scores,
}

impl Hit {
    pub(super) fn of(r: crate::domain::MemoryRecord, scores: Scores) -> Self {
        Hit {
            id: r.id,
            text: r.text,
            kind: r.kind,
            scope: r.scope,
            tags: r.tags,
            meta: r.meta,
            provenance: r.provenance,
            created_at: r.created_at,
            occurred_at: r.occurred_at,
            archived: r.archived_at.is_some(),
            scores,
        }
    }
}

/// Why a search used words alone.
pub const INDEX_UNAVAILABLE: &str = "vector index unavailable";
pub const EMBEDDER_UNAVAILABLE: &str = "embedding model unavailable";
pub const EMBEDDER_WARMING: &str = "embedding model warming up";

/// What a search found, best first, and, when it could not use the vector
/// index, why: the hits then come from words alone.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Found {
    pub hits: Vec<Hit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degraded: Option<&'static str>,
}

impl Found {
    /// As the API answers it: `{items, next_cursor, degraded?}`, the shape
    /// every list has (a search has one page).
    pub fn to_json(self) -> serde_json::Value {
        let mut out = serde_json::json!({"items": self.hits, "next_cursor": null});
        if let Some(why) = self.degraded {
            out["degraded"] = why.into();
        }
        out
    }
}

/// Ranks from 0, best first, where equal scores share a rank: the order a
/// retriever happens to return ties in must not change the fused result.
fn tied_ranks<T>(found: Vec<(String, T)>, score: impl Fn(&T) -> f64) -> Vec<(usize, (String, T))> {
    let mut out: Vec<(usize, (String, T))> = Vec::with_capacity(found.len());
    for (i, item) in found.into_iter().enumerate() {
        let rank = match out.last() {
            Some((r, (_, prev))) if score(prev) == score(&item.1) => *r,
            _ => i,
        };
        out.push((rank, item));
    }
    out
}

/// Stops a reader connection's statement once the search's deadline has
/// passed (SQLite checks the handler every few thousand steps). Dropping
/// the guard disarms the handler, even when the search itself is dropped
/// half-way, so the pooled connection never interrupts a later query.
struct Budget {
    armed: Arc<AtomicBool>,
}

impl Budget {
    async fn arm(conn: &mut SqliteConnection, deadline: Instant) -> Result<Self, StoreError> {
        let armed = Arc::new(AtomicBool::new(true));
        let live = armed.clone();
        let mut handle = conn.lock_handle().await.map_err(StoreError::from)?;
        handle.set_progress_handler(2_000, move || !live.load(Ordering::Relaxed) || Instant::now() < deadline);
        Ok(Self { armed })
    }
}

impl Drop for Budget {
    fn drop(&mut self) {
        self.armed.store(false, Ordering::Relaxed);
    }
}

impl Memory {
    /// Word search within the search's time budget. It reads from the
    /// reader pool, so however long it runs it never holds the writer.
    async fn lexical(
        &self,
        text: &str,
        filter: &Filter,
        depth: u32,
        deadline: Instant,
    ) -> Result<Vec<(String, f64)>, MemoryError> {
        let mut conn = self.store.reader().acquire().await.map_err(StoreError::from)?;
        let budget = Budget::arm(&mut conn, deadline).await?;
        let found = rows::lexical(&mut conn, text, filter, depth).await;
        drop(budget);
        if let Ok(mut handle) = conn.lock_handle().await {
            handle.remove_progress_handler();
        }
        match found {
            Err(_) if Instant::now() >= deadline => Err(self.over_budget("word")),
            other => Ok(other?),
        }
    }

    fn over_budget(&self, part: &str) -> MemoryError {
        tracing::warn!(
            part,
            budget_ms = self.search_budget.as_millis() as u64,
            "a memory search ran over its budget and was cut off"
        );
        MemoryError::OverBudget(self.search_budget)
    }

    pub async fn search(&self, q: &Query, reader: &Contract) -> Result<Found, MemoryError> {
        let started = Instant::now();
        let found = self.search_with(q, reader, Mode::Hybrid).await;
        let degraded = match &found {
            Ok(f) if f.degraded.is_some() => "yes",
            Ok(_) => "no",
            Err(_) => "failed",
        };
        self.metrics.observe(
            "steward_memory_search_seconds",
            &[("degraded", degraded)],
            started.elapsed().as_secs_f64(),
        );
        found
    }

    /// Nearest points within the search's budget.
    async fn nearest(
        &self,
        q: &Query,
        f: &IndexFilter,
        depth: usize,
        deadline: Instant,
    ) -> Result<Vec<(String, f32)>, MemoryError> {
        let vector = match &q.vector {
            Some(v) => v.clone(),
            // A search does not wait for the model to load: words answer.
            None if self.embedder.warming() => return Err(MemoryError::Warming),
            None => self.embedder.embed(std::slice::from_ref(&q.text)).await?.pop().unwrap_or_default(),
        };
        let left = deadline.saturating_duration_since(Instant::now());
        tokio::time::timeout(left, self.index.search(vector, f, depth)).await.map_err(|_| self.over_budget("vector"))?
    }

    pub async fn search_with(&self, q: &Query, reader: &Contract, mode: Mode) -> Result<Found, MemoryError> {
        let known = if reader.reads_everything() && q.scopes.is_empty() { self.known_scopes().await? } else { vec![] };
        let scopes = reader.readable(&q.scopes, &known);
        let limit = q.limit.clamp(1, 100);
        if scopes.is_empty() || q.text.trim().is_empty() {
            return Ok(Found::default());
        }
        let mut degraded = None;
        let depth = self.fusion.depth.max(limit);
        let filter = Filter {
            scopes: scopes.clone(),
            kinds: q.kinds.clone(),
            since: q.since,
            until: q.until,
            all_scopes: !known.is_empty(),
        };
        let mut scores: HashMap<String, Scores> = HashMap::new();
        let deadline = Instant::now() + self.search_budget;
        let f = IndexFilter {
            scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            kinds: q.kinds.iter().map(|k| k.as_str().to_owned()).collect(),
            since: q.since,
            until: q.until,
        };
        // Words and vectors at once: a search costs the slower of the two.
        let by_words = async {
            match mode {
                Mode::Vector => Ok(vec![]),
                _ => self.lexical(&q.text, &filter, depth as u32, deadline).await,
            }
        };
        let by_meaning = async {
            match mode {
                Mode::Lexical => Ok(vec![]),
                _ => self.nearest(q, &f, depth, deadline).await,
            }
        };
        let (by_words, by_meaning) = tokio::join!(by_words, by_meaning);
        let by_words = by_words?;
        let best = by_words.first().map_or(0.0, |(_, s)| *s);
        for (rank, (id, s)) in by_words.into_iter().enumerate() {
            let e = scores.entry(id).or_default();
            e.bm25 = Some(s);
            e.bm25_rank = Some(rank + 1);
            e.fused += self.fusion.share(self.fusion.lexical, s, best, rank);
        }
        let by_meaning = match by_meaning {
            Ok(found) => found,
            // Words alone, said so, rather than no answer: the index (or
            // the embedder) is down, or too slow today.
            Err(e) if mode == Mode::Hybrid => {
                tracing::warn!(error = %e, "memory search fell back to words alone");
                degraded = Some(match e {
                    MemoryError::Warming => EMBEDDER_WARMING,
                    MemoryError::Embedding(_) => EMBEDDER_UNAVAILABLE,
                    _ => INDEX_UNAVAILABLE,
                });
                vec![]
            }
            Err(e) => return Err(e),
        };
        let best = by_meaning.first().map_or(0.0, |(_, s)| f64::from(*s));
        for (rank, (id, s)) in tied_ranks(by_meaning, |s| f64::from(*s)) {
            let e = scores.entry(id).or_default();
            e.vector = Some(s);
            e.vector_rank = Some(rank + 1);
            e.fused += self.fusion.share(self.fusion.vector, f64::from(s), best, rank);
        }
        let ids: Vec<String> = scores.keys().cloned().collect();
        let now = self.store.now();
        let mut hits: Vec<Hit> = rows::get_many(self.store.reader(), &ids)
            .await?
            .into_iter()
            // Defence in depth: a stale vector point never leaks a record the
            // reader may not see, or one that no longer exists.
            .filter(|r| reader.can_read(&r.scope) && scopes.contains(&r.scope))
            .map(|r| {
                let mut s = scores.remove(&r.id).unwrap_or_default();
                if self.time_weight > 0.0 {
                    let age_days = (now - r.occurred_at).max(0) as f64 / 86_400_000.0;
                    s.fused *= 1.0 + self.time_weight * (-age_days / 30.0).exp();
                }
                Hit::of(r, s)
            })
            .collect();
        if mode == Mode::Hybrid {
            rerank::named_speakers(&mut hits, &q.text, self.fusion.speaker);
            rerank::neighbours(self.store.reader(), &mut hits, self.fusion.neighbour, reader, &scopes).await?;
        }
        hits.sort_by(|a, b| {
            b.scores
                .fused
                .total_cmp(&a.scores.fused)
                .then_with(|| b.occurred_at.cmp(&a.occurred_at))
                .then_with(|| a.id.cmp(&b.id))
        });
        rerank::one_of_each(&mut hits);
        hits.truncate(limit);
        Ok(Found { hits, degraded })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// A statement costly enough to need many VM steps.
    const SLOW: &str =
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000) SELECT COUNT(*) FROM n";

    /// Guarantee: a search cannot hold a reader past its budget, and the
    /// budget never outlives the search: the pooled connection runs the
    /// next query in full.
    #[tokio::test]
    async fn a_statement_past_the_budget_is_cut_off_and_the_connection_recovers() {
        let store = Store::in_memory().await.unwrap();
        let mut conn = store.reader().acquire().await.unwrap();
        let budget = Budget::arm(&mut conn, Instant::now()).await.unwrap();
        let cut = sqlx::query_scalar::<_, i64>(SLOW).fetch_one(&mut *conn).await;
        assert!(cut.is_err(), "interrupted: {cut:?}");
        drop(budget);
        let whole: i64 = sqlx::query_scalar(SLOW).fetch_one(&mut *conn).await.unwrap();
        assert_eq!(whole, 2_000_000, "a disarmed budget interrupts nothing");
    }
}
