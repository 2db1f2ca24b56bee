//! Vector indexes hold one point per live memory record, keyed by the
//! record's id (a ULID, as a UUID) with the same payload (scope, kind, time)
//! in every backend. They are derived data: SQLite is the source of truth,
//! and `steward memory reindex` rebuilds them.

mod edge;
mod server;

use async_trait::async_trait;
use ulid::Ulid;
use uuid::Uuid;

pub use edge::EdgeIndex;
pub use server::ServerIndex;

use super::MemoryError;

/// The collection (server) or vector (edge) name.
pub const COLLECTION: &str = "steward_memory";

#[derive(Debug, Clone)]
pub struct Point {
    pub id: String,
    pub vector: Vec<f32>,
    pub scope: String,
    pub kind: String,
    /// When what the record says happened (its `occurred_at`), kept under
    /// the payload key `created_at`, for the date filters.
    pub occurred_at: i64,
}

/// What a vector search may see: any of `scopes`, any of `kinds` (all when
/// empty), created within `[since, until)`.
#[derive(Debug, Clone, Default)]
pub struct IndexFilter {
    pub scopes: Vec<String>,
    pub kinds: Vec<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
}

#[async_trait]
pub trait VectorIndex: Send + Sync {
    fn name(&self) -> &str;
    async fn upsert(&self, points: Vec<Point>) -> Result<(), MemoryError>;
    async fn delete(&self, ids: &[String]) -> Result<(), MemoryError>;
    /// Nearest points first, as (record id, similarity).
    async fn search(
        &self,
        vector: Vec<f32>,
        filter: &IndexFilter,
        limit: usize,
    ) -> Result<Vec<(String, f32)>, MemoryError>;
    async fn count(&self) -> Result<usize, MemoryError>;
    /// Of these record ids, the ones the index has no point for.
    async fn missing(&self, ids: &[String]) -> Result<Vec<String>, MemoryError>;
    /// Drops every point (before a rebuild).
    async fn clear(&self) -> Result<(), MemoryError>;
    /// Housekeeping after many writes (building the embedded index's HNSW
    /// graph); a server does its own.
    async fn maintain(&self) -> Result<(), MemoryError> {
        Ok(())
    }
}

/// The point id of a record: its ULID's 128 bits as a UUID.
pub fn point_id(record_id: &str) -> Result<Uuid, MemoryError> {
    let ulid =
        Ulid::from_string(record_id).map_err(|_| MemoryError::Invalid(format!("`{record_id}` is not a memory id")))?;
    Ok(Uuid::from_u128(ulid.0))
}

/// The record id of a point.
pub fn record_id(point: Uuid) -> String {
    Ulid(point.as_u128()).to_string()
}
