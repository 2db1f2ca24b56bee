//! Embedded Qdrant (qdrant-edge) in the data directory: the default. Its
//! calls are synchronous, so they run on the blocking pool.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use qdrant_edge::{
    AnyVariants, Condition, Distance, EdgeConfig, EdgeShard, EdgeVectorParams, FieldCondition, Filter, Match,
    NamedQuery, Payload, PointId, PointInsertOperations, PointOperations, QueryEnum, Range, SearchRequest,
    UpdateOperation, VectorStructPersisted, WithPayloadInterface,
};
use qdrant_edge::{CountRequest, PointStructPersisted, VectorPersisted};
use serde_json::json;

use super::{COLLECTION, IndexFilter, Point, VectorIndex, point_id, record_id};
use crate::memory::MemoryError;

pub struct EdgeIndex {
    /// The shard; `clear` replaces it whole, hence the lock. A std lock:
    /// it is only taken on the blocking pool, never across an await.
    shard: Arc<RwLock<Option<EdgeShard>>>,
    dims: usize,
}

fn edge_error(e: impl std::fmt::Display) -> MemoryError {
    MemoryError::Index(format!("embedded qdrant: {e}"))
}

fn config(dims: usize) -> EdgeConfig {
    let mut config = EdgeConfig::default();
    config.vectors =
        HashMap::from([(COLLECTION.to_owned(), EdgeVectorParams::builder(dims, Distance::Cosine).build())]);
    config
}

fn open(path: &Path, dims: usize) -> Result<EdgeShard, MemoryError> {
    std::fs::create_dir_all(path).map_err(edge_error)?;
    match EdgeShard::load(path, Some(config(dims))) {
        Ok(shard) => Ok(shard),
        Err(_) => EdgeShard::new(path, config(dims)).map_err(edge_error),
    }
}

fn filter(f: &IndexFilter) -> Filter {
    let mut must = vec![Condition::Field(FieldCondition::new_match(
        "scope".try_into().expect("a valid key"),
        Match::new_any(AnyVariants::Strings(f.scopes.iter().cloned().collect())),
    ))];
    if !f.kinds.is_empty() {
        must.push(Condition::Field(FieldCondition::new_match(
            "kind".try_into().expect("a valid key"),
            Match::new_any(AnyVariants::Strings(f.kinds.iter().cloned().collect())),
        )));
    }
    if f.since.is_some() || f.until.is_some() {
        let range = Range {
            gte: f.since.map(|v| (v as f64).into()),
            lt: f.until.map(|v| (v as f64).into()),
            gt: None,
            lte: None,
        };
        must.push(Condition::Field(FieldCondition::new_range("created_at".try_into().expect("a valid key"), range)));
    }
    Filter { must: Some(must), ..Default::default() }
}

impl EdgeIndex {
    /// Opens (or creates) the shard under `dir`.
    pub fn open(dir: &Path, dims: usize) -> Result<Self, MemoryError> {
        let shard = open(dir, dims)?;
        Ok(Self { shard: Arc::new(RwLock::new(Some(shard))), dims })
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&EdgeShard) -> Result<T, MemoryError> + Send + 'static,
    ) -> Result<T, MemoryError> {
        let slot = self.shard.clone();
        tokio::task::spawn_blocking(move || {
            let guard = slot.read().map_err(|_| edge_error("lock poisoned"))?;
            let shard = guard.as_ref().ok_or_else(|| edge_error("the shard is closed"))?;
            f(shard)
        })
        .await
        .map_err(edge_error)?
    }

    /// Changes the shard alone (no search or other change beside it), and
    /// makes the change durable before it returns: the embedded shard
    /// replays no log when it opens, so what is not flushed to its
    /// segments is lost with the process.
    async fn change(
        &self,
        f: impl FnOnce(&EdgeShard) -> Result<(), MemoryError> + Send + 'static,
    ) -> Result<(), MemoryError> {
        let slot = self.shard.clone();
        tokio::task::spawn_blocking(move || {
            let guard = slot.write().map_err(|_| edge_error("lock poisoned"))?;
            let shard = guard.as_ref().ok_or_else(|| edge_error("the shard is closed"))?;
            f(shard)?;
            shard.flush();
            Ok(())
        })
        .await
        .map_err(edge_error)?
    }

    fn path(&self) -> Result<PathBuf, MemoryError> {
        let guard = self.shard.read().map_err(|_| edge_error("lock poisoned"))?;
        Ok(guard.as_ref().ok_or_else(|| edge_error("the shard is closed"))?.path().to_owned())
    }
}

#[async_trait]
impl VectorIndex for EdgeIndex {
    fn name(&self) -> &str {
        "edge"
    }

    async fn upsert(&self, points: Vec<Point>) -> Result<(), MemoryError> {
        let points = points
            .into_iter()
            .map(|p| {
                let payload = json!({"scope": p.scope, "kind": p.kind, "created_at": p.occurred_at});
                let serde_json::Value::Object(map) = payload else { unreachable!("a JSON object") };
                Ok(PointStructPersisted {
                    id: PointId::Uuid(point_id(&p.id)?),
                    vector: VectorStructPersisted::Named(HashMap::from([(
                        COLLECTION.to_owned(),
                        VectorPersisted::Dense(p.vector),
                    )])),
                    payload: Some(Payload::from(map)),
                })
            })
            .collect::<Result<Vec<_>, MemoryError>>()?;
        let op = PointOperations::UpsertPoints(PointInsertOperations::PointsList(points));
        self.change(move |shard| shard.update(UpdateOperation::PointOperation(op)).map_err(edge_error)).await
    }

    async fn delete(&self, ids: &[String]) -> Result<(), MemoryError> {
        let ids = ids.iter().map(|id| point_id(id).map(PointId::Uuid)).collect::<Result<Vec<_>, _>>()?;
        let op = PointOperations::DeletePoints { ids };
        self.change(move |shard| shard.update(UpdateOperation::PointOperation(op)).map_err(edge_error)).await
    }

    async fn missing(&self, ids: &[String]) -> Result<Vec<String>, MemoryError> {
        let points = ids.iter().map(|id| point_id(id).map(PointId::Uuid)).collect::<Result<Vec<_>, _>>()?;
        let found = self
            .with(move |shard| {
                let found =
                    shard.retrieve(&points, Some(WithPayloadInterface::Bool(false)), None).map_err(edge_error)?;
                Ok(found
                    .into_iter()
                    .filter_map(|p| match p.id {
                        PointId::Uuid(u) => Some(record_id(u)),
                        PointId::NumId(_) => None,
                    })
                    .collect::<std::collections::HashSet<String>>())
            })
            .await?;
        Ok(ids.iter().filter(|id| !found.contains(id.as_str())).cloned().collect())
    }

    async fn search(&self, vector: Vec<f32>, f: &IndexFilter, limit: usize) -> Result<Vec<(String, f32)>, MemoryError> {
        if f.scopes.is_empty() || vector.len() != self.dims {
            return Ok(vec![]);
        }
        let filter = filter(f);
        self.with(move |shard| {
            let request = SearchRequest {
                query: QueryEnum::Nearest(NamedQuery { query: vector.into(), using: Some(COLLECTION.to_owned()) }),
                filter: Some(filter),
                params: None,
                limit,
                offset: 0,
                with_payload: Some(WithPayloadInterface::Bool(false)),
                with_vector: None,
                score_threshold: None,
            };
            let found = shard.search(request).map_err(edge_error)?;
            Ok(found
                .into_iter()
                .filter_map(|p| match p.id {
                    PointId::Uuid(u) => Some((record_id(u), p.score)),
                    PointId::NumId(_) => None,
                })
                .collect())
        })
        .await
    }

    async fn count(&self) -> Result<usize, MemoryError> {
        self.with(|shard| shard.count(CountRequest { filter: None, exact: true }).map_err(edge_error)).await
    }

    async fn maintain(&self) -> Result<(), MemoryError> {
        self.change(|shard| shard.optimize().map(|_| ()).map_err(edge_error)).await
    }

    /// The embedded index has one process to serve: a rebuild empties it
    /// and fills it again.
    async fn begin_rebuild(&self) -> Result<(), MemoryError> {
        let path = self.path()?;
        let dims = self.dims;
        let slot = self.shard.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = slot.write().map_err(|_| edge_error("lock poisoned"))?;
            drop(guard.take());
            std::fs::remove_dir_all(&path).map_err(edge_error)?;
            *guard = Some(open(&path, dims)?);
            Ok(())
        })
        .await
        .map_err(edge_error)?
    }
}
