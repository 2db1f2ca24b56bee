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
pub use server::{ServerIndex, ServerSettings};

use super::MemoryError;

/// The embedded index's vector name.
pub const COLLECTION: &str = "steward_memory";

/// The file in the data directory that keeps the workspace's id.
const WORKSPACE_FILE: &str = "workspace-id";

/// The server alias of the workspace in `data_dir`: `configured` when set,
/// or `steward_` and an id made once and kept in the data directory, so
/// two workspaces sharing a Qdrant server never share a collection.
pub fn workspace_alias(data_dir: &std::path::Path, configured: Option<&str>) -> Result<String, MemoryError> {
    if let Some(name) = configured {
        let ok = !name.is_empty()
            && name.len() <= 200
            && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
            && !name.contains("--");
        if !ok {
            return Err(MemoryError::Invalid(format!(
                "qdrant.collection `{name}`: use 1 to 200 letters, digits, `_` or single `-`"
            )));
        }
        return Ok(name.to_owned());
    }
    let path = data_dir.join(WORKSPACE_FILE);
    let io = |e: std::io::Error| MemoryError::Invalid(format!("the workspace id in {}: {e}", path.display()));
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let id = text.trim();
            Ulid::from_string(id).map_err(|_| {
                MemoryError::Invalid(format!(
                    "{} does not hold a workspace id (a ULID); remove it to make a new one, whose index is then rebuilt",
                    path.display()
                ))
            })?;
            Ok(format!("steward_{}", id.to_lowercase()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir).map_err(io)?;
            let id = Ulid::new().to_string().to_lowercase();
            let tmp = data_dir.join(format!(".{WORKSPACE_FILE}.{id}"));
            std::fs::write(&tmp, format!("{id}\n")).map_err(io)?;
            // Another process may have made one first: theirs stands.
            match std::fs::hard_link(&tmp, &path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(e)),
            }
            let _ = std::fs::remove_file(&tmp);
            workspace_alias(data_dir, None)
        }
        Err(e) => Err(io(e)),
    }
}

/// Whether the index can be used, for `/readyz`, `doctor` and stats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexHealth {
    Ok,
    /// The server cannot be reached: search uses words alone meanwhile.
    Unavailable(String),
    /// Its vectors do not fit the embedder: `memory reindex` rebuilds it.
    Mismatch(String),
}

impl IndexHealth {
    pub fn is_ok(&self) -> bool {
        matches!(self, Self::Ok)
    }

    /// One line: `ok`, or what is wrong.
    pub fn describe(&self) -> String {
        match self {
            Self::Ok => "ok".into(),
            Self::Unavailable(why) => format!("unavailable: {why}"),
            Self::Mismatch(why) => format!("mismatch: {why}"),
        }
    }
}

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
    /// A page of the ids of the points held, from `from` (the first page
    /// when `None`), and where the next page starts: for finding points
    /// whose records are gone. An index that cannot list them returns none.
    async fn ids_from(&self, from: Option<String>, limit: usize) -> Result<(Vec<String>, Option<String>), MemoryError> {
        let _ = (from, limit);
        Ok((vec![], None))
    }
    /// Starts a rebuild: new points go to an empty index, which
    /// [`finish_rebuild`](Self::finish_rebuild) makes the one searched.
    async fn begin_rebuild(&self) -> Result<(), MemoryError>;
    /// Ends a rebuild once every record has its point again (nothing when
    /// none runs).
    async fn finish_rebuild(&self) -> Result<(), MemoryError> {
        Ok(())
    }
    /// Whether the index was found empty, made anew, since this was last
    /// asked: then every record needs its vector again.
    fn take_emptied(&self) -> bool {
        false
    }
    /// Whether it can be used now (asked of the server, briefly).
    async fn health(&self) -> IndexHealth {
        IndexHealth::Ok
    }
    /// Where its points are, for stats and doctor.
    fn describe(&self) -> String {
        self.name().to_owned()
    }
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
