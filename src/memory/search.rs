//! Hybrid search: BM25 over FTS5 and nearest vectors, fused by reciprocal
//! rank (RRF), with optional extra weight for recent records.

use std::collections::HashMap;

use serde::Serialize;

use super::index::IndexFilter;
use super::{Contract, Memory, MemoryError};
use crate::domain::{MemoryKind, MemoryProvenance, Millis, Scope};
use crate::store::memory::{self as rows, Filter};
use crate::store::now_millis;

/// RRF's constant: ranks deep in either list still count, a little.
const RRF_K: f64 = 60.0;

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
    pub created_at: Millis,
    pub archived: bool,
    pub scores: Scores,
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

impl Memory {
    pub async fn search(&self, q: &Query, reader: &Contract) -> Result<Vec<Hit>, MemoryError> {
        self.search_with(q, reader, Mode::Hybrid).await
    }

    pub async fn search_with(&self, q: &Query, reader: &Contract, mode: Mode) -> Result<Vec<Hit>, MemoryError> {
        let known = if reader.reads_everything() && q.scopes.is_empty() { self.known_scopes().await? } else { vec![] };
        let scopes = reader.readable(&q.scopes, &known);
        let limit = q.limit.clamp(1, 100);
        if scopes.is_empty() || q.text.trim().is_empty() {
            return Ok(vec![]);
        }
        let depth = (limit * 4).max(50);
        let filter = Filter { scopes: scopes.clone(), kinds: q.kinds.clone(), since: q.since, until: q.until };
        let mut scores: HashMap<String, Scores> = HashMap::new();
        if mode != Mode::Vector {
            for (rank, (id, s)) in
                rows::lexical(self.store.reader(), &q.text, &filter, depth as u32).await?.into_iter().enumerate()
            {
                let e = scores.entry(id).or_default();
                e.bm25 = Some(s);
                e.bm25_rank = Some(rank + 1);
                e.fused += 1.0 / (RRF_K + rank as f64 + 1.0);
            }
        }
        if mode != Mode::Lexical {
            let vector = match &q.vector {
                Some(v) => v.clone(),
                None => self.embedder.embed(std::slice::from_ref(&q.text)).await?.pop().unwrap_or_default(),
            };
            let f = IndexFilter {
                scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
                kinds: q.kinds.iter().map(|k| k.as_str().to_owned()).collect(),
                since: q.since,
                until: q.until,
            };
            for (rank, (id, s)) in tied_ranks(self.index.search(vector, &f, depth).await?, |s| f64::from(*s)) {
                let e = scores.entry(id).or_default();
                e.vector = Some(s);
                e.vector_rank = Some(rank + 1);
                e.fused += 1.0 / (RRF_K + rank as f64 + 1.0);
            }
        }
        let ids: Vec<String> = scores.keys().cloned().collect();
        let now = now_millis();
        let mut hits: Vec<Hit> = rows::get_many(self.store.reader(), &ids)
            .await?
            .into_iter()
            // Defence in depth: a stale vector point never leaks a record the
            // reader may not see, or one that no longer exists.
            .filter(|r| reader.can_read(&r.scope) && scopes.contains(&r.scope))
            .map(|r| {
                let mut s = scores.remove(&r.id).unwrap_or_default();
                if self.time_weight > 0.0 {
                    let age_days = (now - r.created_at).max(0) as f64 / 86_400_000.0;
                    s.fused *= 1.0 + self.time_weight * (-age_days / 30.0).exp();
                }
                Hit {
                    id: r.id,
                    text: r.text,
                    kind: r.kind,
                    scope: r.scope,
                    tags: r.tags,
                    meta: r.meta,
                    provenance: r.provenance,
                    created_at: r.created_at,
                    archived: r.archived_at.is_some(),
                    scores: s,
                }
            })
            .collect();
        hits.sort_by(|a, b| {
            b.scores
                .fused
                .total_cmp(&a.scores.fused)
                .then_with(|| b.created_at.cmp(&a.created_at))
                .then_with(|| a.id.cmp(&b.id))
        });
        hits.truncate(limit);
        Ok(hits)
    }
}
