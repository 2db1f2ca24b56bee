//! Memory: everything worth keeping, with provenance, found by meaning and
//! by words. SQLite is the source of truth (records and their FTS5 index);
//! the vector index (embedded Qdrant or a Qdrant server) is derived, kept up
//! by [`Memory::index_pending`] (a record is marked indexed only once its
//! point is durable), checked against the rows at start by
//! [`Memory::reconcile`] and rebuilt by [`Memory::reindex`]: losing it, in
//! part or whole, loses nothing (invariant 9). Forgetting removes a record
//! from SQLite, FTS and the vector index alike, and audits the fact without
//! the content (invariant 10).

pub mod build;
pub mod contract;
pub mod embed;
pub mod eval;
mod fusion;
pub mod import;
pub mod index;
mod rerank;
mod retention;
pub mod search;
mod vectors;

use std::sync::Arc;

use serde_json::json;

pub use build::build;
pub use contract::Contract;
pub use embed::Embedder;
pub use index::VectorIndex;
pub use retention::Report as RetentionReport;
pub use search::{Found, Fusion, Hit, Query, Scores};
pub use vectors::Reconciled;

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
    /// The embedding model is still loading.
    #[error("the embedding model is still loading")]
    Warming,
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
/// How long an add waits for its records' vectors before leaving them to
/// the indexer (a slow or hung index never holds an add past it).
const INDEX_NOW_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);
/// How long a forget waits for the index to drop the point before leaving
/// it queued.
const DELETE_NOW_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);
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
    /// What the last comparison of the index with the records found.
    reconciled: Arc<std::sync::Mutex<Option<Reconciled>>>,
    /// Where search times go.
    metrics: Arc<crate::telemetry::Metrics>,
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
            reconciled: Default::default(),
            metrics: Default::default(),
        }
    }

    /// Reports search times to `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<crate::telemetry::Metrics>) -> Self {
        self.metrics = metrics;
        self
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
        // Committed is kept: vectors follow, now or from the indexer once
        // the index (or the embedder) answers again; a failure here never
        // reports the add as failed, so no client adds it twice.
        if later {
            self.waiting.notify_one();
        } else {
            // A model still loading is waited for: the bound is the index's.
            let why = match self.embedder.warmed().await {
                Err(e) => Some(e.to_string()),
                Ok(()) => match tokio::time::timeout(INDEX_NOW_WITHIN, self.index_pending(INDEX_NOW as u32)).await {
                    Ok(Ok(_)) => None,
                    Ok(Err(e)) => Some(e.to_string()),
                    Err(_) => Some(format!("no answer within {} s", INDEX_NOW_WITHIN.as_secs())),
                },
            };
            if let Some(why) = why {
                tracing::warn!(error = %why, "records kept; their vectors follow once the vector index answers");
                self.waiting.notify_one();
            }
        }
        Ok(Added { records: out, job })
    }

    /// Resolves when records may be waiting for their vectors (a large
    /// batch was added), for the background indexer.
    pub async fn records_waiting(&self) {
        self.waiting.notified().await
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
        match tokio::time::timeout(DELETE_NOW_WITHIN, self.drain_vector_deletes()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "the vector index refused a delete; it is queued and will be retried")
            }
            Err(_) => tracing::warn!("the vector index was slow to delete; the delete is queued and will be retried"),
        }
        Ok(true)
    }

    /// The scopes that hold records, for contracts that read everything.
    pub async fn known_scopes(&self) -> Result<Vec<Scope>, MemoryError> {
        // From the per-(scope, kind) counts the triggers keep (migration
        // 0021): a few rows, where DISTINCT over the records reads them all.
        let rows: Vec<(String,)> = sqlx::query_as("SELECT DISTINCT scope FROM memory_stats WHERE n > 0")
            .fetch_all(self.store.reader())
            .await
            .map_err(StoreError::from)?;
        Ok(rows.into_iter().filter_map(|(s,)| Scope::parse(&s).ok()).collect())
    }
}
