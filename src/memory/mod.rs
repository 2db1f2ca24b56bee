//! Memory: everything worth keeping, with provenance, found by meaning and
//! by words. SQLite is the source of truth (records and their FTS5 index);
//! the vector index (embedded Qdrant or a Qdrant server) is derived, kept up
//! by [`Memory::index_pending`] (a record is marked indexed only once its
//! point is durable), checked against the rows at start by
//! [`Memory::reconcile`] and rebuilt by [`Memory::reindex`]: losing it, in
//! part or whole, loses nothing (invariant 9). Forgetting removes a record
//! from SQLite, FTS and the vector index alike, and audits the fact without
//! the content (invariant 10).

mod build;
pub mod contract;
pub mod embed;
pub mod eval;
pub mod import;
pub mod index;
mod rerank;
mod retention;
pub mod search;

use std::sync::Arc;

use serde_json::json;

pub use build::build;
pub use contract::Contract;
pub use embed::Embedder;
pub use index::VectorIndex;
pub use retention::Report as RetentionReport;
pub use search::{Fusion, Hit, Query, Scores};

use crate::domain::{InvalidInput, NewMemory, Scope};
use crate::store::audit::{self, Entry};
use crate::store::memory::Recorded;
use crate::store::{Store, StoreError, indexing, memory as rows};

#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    #[error("{0}")]
    Invalid(String),
    /// A write outside the writer's contract.
    #[error("not allowed to write to scope `{0}`")]
    Forbidden(String),
    #[error("embedding failed: {0}")]
    Embedding(String),
    #[error("vector index failed: {0}")]
    Index(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A search ran past `memory.search_budget_ms` and was cut off.
    #[error("the search took longer than its budget of {} ms and was cut off; use fewer or rarer words", .0.as_millis())]
    OverBudget(std::time::Duration),
}

/// How many records' points one look at the index checks.
const RECONCILE_PAGE: u32 = 512;
/// A batch up to this size is embedded before `add` returns (found by
/// meaning at once); a larger one is left to the indexer.
pub const INDEX_NOW: usize = 64;
/// How many records the indexer embeds at a time.
pub const INDEX_BATCH: u32 = 256;

/// How long a search may take unless `memory.search_budget_ms` says otherwise.
pub const DEFAULT_SEARCH_BUDGET: std::time::Duration = std::time::Duration::from_secs(1);

impl From<InvalidInput> for MemoryError {
    fn from(e: InvalidInput) -> Self {
        Self::Invalid(e.to_string())
    }
}

/// What [`Memory::add`] did.
#[derive(Debug, Clone)]
pub struct Added {
    /// Each record's id, in order, and whether it is new.
    pub records: Vec<Recorded>,
    /// A large batch's job: its records are embedded by the indexer, and
    /// [`indexing::job_progress`] says how far it got.
    pub job: Option<String>,
}

impl Added {
    pub fn ids(&self) -> Vec<String> {
        self.records.iter().map(|r| r.id.clone()).collect()
    }

    pub fn new_count(&self) -> usize {
        self.records.iter().filter(|r| r.new).count()
    }
}

#[derive(Clone)]
pub struct Memory {
    store: Store,
    embedder: Arc<dyn Embedder>,
    index: Arc<dyn VectorIndex>,
    time_weight: f64,
    /// How long one search may take before it is cut off.
    search_budget: std::time::Duration,
    fusion: Fusion,
    /// Held while records are embedded and indexed: no two tasks ever
    /// embed the same record.
    indexing: Arc<tokio::sync::Mutex<()>>,
    /// Wakes the background indexer (records are waiting).
    waiting: Arc<tokio::sync::Notify>,
}

impl Memory {
    pub fn new(store: Store, embedder: Arc<dyn Embedder>, index: Arc<dyn VectorIndex>, time_weight: f64) -> Self {
        Self {
            store,
            embedder,
            index,
            time_weight,
            search_budget: DEFAULT_SEARCH_BUDGET,
            fusion: Fusion::default(),
            indexing: Default::default(),
            waiting: Default::default(),
        }
    }

    /// Fuses the retrievers' rankings so.
    pub fn with_fusion(mut self, fusion: Fusion) -> Self {
        self.fusion = fusion;
        self
    }

    /// The store memory lives in.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The clock of the store memory lives in.
    pub fn clock(&self) -> &crate::domain::SharedClock {
        self.store.clock()
    }

    /// Cuts every search off after `budget`.
    pub fn with_search_budget(mut self, budget: std::time::Duration) -> Self {
        self.search_budget = budget;
        self
    }

    pub fn embedder(&self) -> &dyn Embedder {
        self.embedder.as_ref()
    }

    pub fn index(&self) -> &dyn VectorIndex {
        self.index.as_ref()
    }

    /// Writes records (all or none) if the writer may write their scopes.
    /// A small batch is embedded before this returns; a larger one is left
    /// to the indexer, with a job to ask how far it got. Returns each
    /// record's id, and whether it is new (a record whose source was taken
    /// in before adds nothing).
    pub async fn add(&self, records: &[NewMemory], writer: &Contract) -> Result<Added, MemoryError> {
        if let Some(r) = records.iter().find(|r| !writer.can_write(&r.scope)) {
            return Err(MemoryError::Forbidden(r.scope.as_str().to_owned()));
        }
        let mut tx = self.store.begin().await?;
        let mut out = Vec::with_capacity(records.len());
        for r in records {
            out.push(rows::record(&mut tx, r).await?);
        }
        let later = records.len() > INDEX_NOW;
        let job = if later {
            let new: Vec<String> = out.iter().filter(|r| r.new).map(|r| r.id.clone()).collect();
            Some(indexing::job(&mut tx, &new, self.store.now()).await?)
        } else {
            None
        };
        tx.commit().await.map_err(StoreError::from)?;
        if later {
            self.waiting.notify_one();
        } else {
            self.index_pending(INDEX_NOW as u32).await?;
        }
        Ok(Added { records: out, job })
    }

    /// Resolves when records may be waiting for their vectors (a large
    /// batch was added), for the background indexer.
    pub async fn records_waiting(&self) {
        self.waiting.notified().await
    }

    /// Embeds and indexes up to `batch` records that have no vector yet.
    /// Returns how many it indexed.
    pub async fn index_pending(&self, batch: u32) -> Result<usize, MemoryError> {
        let _only_one = self.indexing.lock().await;
        // A delete the index refuses stays queued; indexing goes on.
        let deleted = self.drain_vector_deletes().await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the vector index refused queued deletes; retrying later");
            0
        });
        let pending = indexing::unindexed(self.store.reader(), batch).await?;
        if pending.is_empty() {
            return Ok(deleted);
        }
        let texts: Vec<String> = pending.iter().map(|p| p.text.clone()).collect();
        let vectors = self.embedder.embed(&texts).await?;
        let points = pending
            .iter()
            .zip(vectors)
            .map(|(p, vector)| index::Point {
                id: p.id.clone(),
                vector,
                scope: p.scope.clone(),
                kind: p.kind.clone(),
                occurred_at: p.occurred_at,
            })
            .collect();
        self.index.upsert(points).await?;
        let ids: Vec<String> = pending.into_iter().map(|p| p.id).collect();
        let mut tx = self.store.begin().await?;
        indexing::mark_indexed(&mut tx, &ids, self.store.now()).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(ids.len())
    }

    /// Finds live records marked indexed whose point the index does not
    /// have (lost in a crash before it was durable, or with an index that
    /// was deleted or replaced) and marks them to be embedded again: run
    /// at start, so vectors stay derived with no command. Returns how many.
    pub async fn reconcile(&self) -> Result<usize, MemoryError> {
        let (mut after, mut lost) = (0, 0);
        loop {
            let page = indexing::indexed_after(self.store.reader(), after, RECONCILE_PAGE).await?;
            let Some((last, _)) = page.last() else { break };
            after = *last;
            let ids: Vec<String> = page.into_iter().map(|(_, id)| id).collect();
            let missing = self.index.missing(&ids).await?;
            if !missing.is_empty() {
                let mut tx = self.store.begin().await?;
                lost += indexing::unindex(&mut tx, &missing).await? as usize;
                tx.commit().await.map_err(StoreError::from)?;
            }
        }
        if lost > 0 {
            tracing::warn!(records = lost, "the vector index lacked records marked indexed; embedding them again");
        }
        Ok(lost)
    }

    /// Empties the vector index and marks every live record to be embedded
    /// again, with a job to ask how far that got. Under the indexer's lock:
    /// no batch in flight can mark a record indexed whose point was cleared.
    async fn restart_index(&self) -> Result<(String, u64), MemoryError> {
        let _only_one = self.indexing.lock().await;
        self.index.clear().await?;
        let mut tx = self.store.begin().await?;
        let ids = indexing::unindex_all(&mut tx).await?;
        let job = indexing::job(&mut tx, &ids, self.store.now()).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok((job, ids.len() as u64))
    }

    /// Rebuilds the vector index in the background (the indexer embeds
    /// every record again, while search goes on with words): the job to
    /// ask how far it got, and how many records it has.
    pub async fn reindex_later(&self) -> Result<(String, u64), MemoryError> {
        let started = self.restart_index().await?;
        self.waiting.notify_one();
        Ok(started)
    }

    /// Rebuilds the vector index from SQLite. `progress(done, total)` is
    /// called after each batch.
    pub async fn reindex(&self, mut progress: impl FnMut(u64, u64)) -> Result<usize, MemoryError> {
        let (_, total) = self.restart_index().await?;
        let mut done = 0;
        loop {
            let n = self.index_pending(INDEX_BATCH).await?;
            if n == 0 {
                return Ok(done);
            }
            done += n;
            progress(done as u64, total);
        }
    }

    /// Forgets a record everywhere: SQLite and FTS, and every copy of its
    /// text steward keeps elsewhere (inbox, outbox, approval requests, the
    /// ledger, notes), in one transaction with an audit row that keeps no
    /// content; then the vector index. Returns false if there was no such
    /// record.
    pub async fn forget(&self, id: &str, actor: &str) -> Result<bool, MemoryError> {
        index::point_id(id)?;
        let mut tx = self.store.begin().await?;
        let text: Option<(String,)> = sqlx::query_as("SELECT text FROM memory WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        let Some(scope) = rows::delete(&mut tx, id).await? else { return Ok(false) };
        let copies = match &text {
            Some((text,)) => crate::store::scrub::copies_of(&mut tx, text).await?,
            None => Default::default(),
        };
        crate::store::vector_deletes::queue(&mut tx, &[id.to_owned()], self.store.now()).await?;
        let detail = json!({"record": id, "scope": scope, "copies_scrubbed": copies.total()});
        audit::append(
            &mut tx,
            self.store.now(),
            &Entry { actor, action: "memory.forgotten", subject: Some(id), detail },
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        // Forgotten: SQLite is the truth, and search never shows a point
        // without its row. The point itself goes now, or, should the index
        // refuse, on a later round of the indexer.
        if let Err(e) = self.drain_vector_deletes().await {
            tracing::warn!(error = %e, "the vector index refused a delete; it is queued and will be retried");
        }
        Ok(true)
    }

    /// Removes queued points from the vector index; each leaves the queue
    /// only once the index confirmed it. Returns how many went.
    pub async fn drain_vector_deletes(&self) -> Result<usize, MemoryError> {
        let ids = crate::store::vector_deletes::queued(self.store.reader(), 256).await?;
        if ids.is_empty() {
            return Ok(0);
        }
        self.index.delete(&ids).await?;
        let mut tx = self.store.begin().await?;
        crate::store::vector_deletes::done(&mut tx, &ids).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(ids.len())
    }

    /// The scopes that hold records, for contracts that read everything.
    pub async fn known_scopes(&self) -> Result<Vec<Scope>, MemoryError> {
        let rows: Vec<(String,)> = sqlx::query_as("SELECT DISTINCT scope FROM memory")
            .fetch_all(self.store.reader())
            .await
            .map_err(StoreError::from)?;
        Ok(rows.into_iter().filter_map(|(s,)| Scope::parse(&s).ok()).collect())
    }

    pub async fn stats(&self) -> Result<serde_json::Value, MemoryError> {
        let mut s = rows::stats(self.store.reader()).await?;
        s["vectors"] = self.index.count().await?.into();
        s["embedder"] = self.embedder.name().into();
        s["index"] = self.index.name().into();
        Ok(s)
    }
}
