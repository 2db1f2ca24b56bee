//! A Qdrant server over gRPC (qdrant-client), for memory beyond one machine.
//!
//! steward reads and writes through an alias, one per workspace
//! ([`super::workspace_alias`]). The collection behind it is made on first
//! use, with payload indexes on scope, kind and created_at, and checked
//! against the embedder (size and distance) before it is used. A rebuild
//! fills a new collection while search goes on from the old one, then moves
//! the alias to it in one request and drops the old one: no other
//! workspace's data is touched. The server may be down when steward starts,
//! or go away and come back: every call finds the collection again, and one
//! deleted under steward is made anew (empty, which [`VectorIndex::take_emptied`]
//! reports, so every record is embedded again).

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use qdrant_client::qdrant::{
    ChangeAliases, Condition, DeletePointsBuilder, Filter, GetPointsBuilder, PointId, PointStruct, PointsIdsList,
    QueryPointsBuilder, Range, ScrollPointsBuilder, UpsertPointsBuilder, collections_client::CollectionsClient,
    point_id::PointIdOptions,
};
use qdrant_client::{Qdrant, QdrantError};
use serde_json::json;
use tonic::transport::{Channel, ClientTlsConfig};

mod collections;

use super::{IndexFilter, IndexHealth, Point, VectorIndex, point_id, record_id};
use crate::memory::MemoryError;

/// Where the server is, and how collections are made on it.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub url: String,
    pub api_key: Option<String>,
    /// The alias steward reads and writes through.
    pub alias: String,
    pub shard_number: Option<u32>,
    pub replication_factor: Option<u32>,
    pub write_consistency_factor: Option<u32>,
}

/// What steward knows of the server's collections.
#[derive(Debug, Default)]
struct State {
    /// The collection behind the alias, once found (or made) and checked.
    live: Option<String>,
    /// Why the live collection cannot be used (its vectors do not fit).
    mismatch: Option<String>,
    /// A rebuild's new collection, filled before the alias moves to it.
    building: Option<String>,
    /// A collection was made anew, empty, since this was last asked.
    emptied: bool,
    /// The last failure to reach the server; cleared by the next success.
    unreachable: Option<String>,
    /// Builds left behind by a rebuild that never finished were dropped.
    swept: bool,
}

pub struct ServerIndex {
    client: Qdrant,
    /// For what qdrant-client only offers one step at a time: several
    /// alias changes applied together.
    channel: Channel,
    settings: ServerSettings,
    dims: usize,
    state: Mutex<State>,
    /// Held while the collection is looked up or made: two calls never
    /// make two.
    finding: tokio::sync::Mutex<()>,
}

/// Any failure, with what the server said; a missing collection is told
/// apart, since it is made again.
enum Failure {
    Gone(String),
    Other(String),
}

fn failure(e: QdrantError) -> Failure {
    match &e {
        QdrantError::ResponseError { status } if status.code() == tonic::Code::NotFound => {
            Failure::Gone(status.message().to_owned())
        }
        QdrantError::ResponseError { status } => Failure::Other(format!("{:?}: {}", status.code(), status.message())),
        _ => Failure::Other(e.to_string()),
    }
}

fn server_error(why: impl std::fmt::Display) -> MemoryError {
    MemoryError::Index(format!("qdrant server: {why}"))
}

fn point_ids(ids: &[String]) -> Result<Vec<PointId>, MemoryError> {
    ids.iter().map(|id| point_id(id).map(|u| PointId::from(u.to_string()))).collect()
}

fn record_of(id: Option<PointId>) -> Option<String> {
    match id.and_then(|id| id.point_id_options) {
        Some(PointIdOptions::Uuid(u)) => u.parse().ok().map(record_id),
        _ => None,
    }
}

impl ServerIndex {
    /// A client for the server; nothing is asked of it yet, so steward
    /// starts while the server is down. The client's version check is
    /// skipped: it prints to stdout, which `--json` output cannot have.
    pub fn new(settings: ServerSettings, dims: usize) -> Result<Self, MemoryError> {
        let client = Qdrant::from_url(&settings.url)
            .api_key(settings.api_key.clone())
            .skip_compatibility_check()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| server_error(format!("qdrant.url {}: {e}", settings.url)))?;
        let mut endpoint = Channel::from_shared(settings.url.clone())
            .map_err(|e| server_error(format!("qdrant.url {}: {e}", settings.url)))?
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(30));
        if settings.url.starts_with("https://") {
            endpoint = endpoint.tls_config(ClientTlsConfig::new().with_native_roots()).map_err(server_error)?;
        }
        let channel = endpoint.connect_lazy();
        Ok(Self { client, channel, settings, dims, state: Mutex::default(), finding: Default::default() })
    }

    /// Applies alias changes in one request, so no search ever finds the
    /// alias missing.
    async fn change_aliases(&self, change: ChangeAliases) -> Result<(), QdrantError> {
        let mut request = tonic::Request::new(change);
        if let Some(key) = &self.settings.api_key {
            let key =
                key.parse().map_err(|_| QdrantError::ConversionError("qdrant.api_key is not a valid header".into()))?;
            request.metadata_mut().insert("api-key", key);
        }
        let mut client = CollectionsClient::new(self.channel.clone());
        client.update_aliases(request).await.map(|_| ()).map_err(|status| QdrantError::ResponseError { status })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Notes how a call went: a success clears an outage, a missing
    /// collection is looked up again by the next call.
    fn observe<T>(&self, result: Result<T, QdrantError>) -> Result<T, MemoryError> {
        match result {
            Ok(v) => {
                self.state().unreachable = None;
                Ok(v)
            }
            Err(e) => match failure(e) {
                Failure::Gone(why) => {
                    let mut s = self.state();
                    s.live = None;
                    s.mismatch = None;
                    Err(server_error(format!("the collection is gone ({why}); it is made again")))
                }
                Failure::Other(why) => {
                    self.state().unreachable = Some(why.clone());
                    Err(server_error(why))
                }
            },
        }
    }
}

fn filter(f: &IndexFilter) -> Filter {
    let mut must = vec![Condition::matches("scope", f.scopes.clone())];
    if !f.kinds.is_empty() {
        must.push(Condition::matches("kind", f.kinds.clone()));
    }
    if f.since.is_some() || f.until.is_some() {
        let range = Range { gte: f.since.map(|v| v as f64), lt: f.until.map(|v| v as f64), ..Default::default() };
        must.push(Condition::range("created_at", range));
    }
    Filter::must(must)
}

#[async_trait]
impl VectorIndex for ServerIndex {
    fn name(&self) -> &str {
        "server"
    }

    async fn upsert(&self, points: Vec<Point>) -> Result<(), MemoryError> {
        let target = self.target().await?;
        let points = points
            .into_iter()
            .map(|p| {
                let payload = json!({"scope": p.scope, "kind": p.kind, "created_at": p.occurred_at});
                let payload = qdrant_client::Payload::try_from(payload).map_err(server_error)?;
                Ok(PointStruct::new(PointId::from(point_id(&p.id)?.to_string()), p.vector, payload))
            })
            .collect::<Result<Vec<_>, MemoryError>>()?;
        self.observe(self.client.upsert_points(UpsertPointsBuilder::new(target, points).wait(true)).await)?;
        Ok(())
    }

    async fn delete(&self, ids: &[String]) -> Result<(), MemoryError> {
        let ids = point_ids(ids)?;
        // From the live collection whatever it holds, and from a rebuild's.
        let (live, _) = self.resolve().await?;
        let building = self.state().building.clone();
        for name in std::iter::once(live).chain(building) {
            let request = DeletePointsBuilder::new(name).points(PointsIdsList { ids: ids.clone() }).wait(true);
            self.observe(self.client.delete_points(request).await)?;
        }
        Ok(())
    }

    async fn search(&self, vector: Vec<f32>, f: &IndexFilter, limit: usize) -> Result<Vec<(String, f32)>, MemoryError> {
        if f.scopes.is_empty() || vector.len() != self.dims {
            return Ok(vec![]);
        }
        let live = self.live().await?;
        let request = QueryPointsBuilder::new(live).query(vector).filter(filter(f)).limit(limit as u64);
        let found = self.observe(self.client.query(request).await)?;
        Ok(found.result.into_iter().filter_map(|p| record_of(p.id).map(|id| (id, p.score))).collect())
    }

    async fn count(&self) -> Result<usize, MemoryError> {
        let target = self.target().await?;
        let request = qdrant_client::qdrant::CountPointsBuilder::new(target).exact(true);
        let n = self.observe(self.client.count(request).await)?;
        Ok(n.result.map_or(0, |r| r.count as usize))
    }

    async fn missing(&self, ids: &[String]) -> Result<Vec<String>, MemoryError> {
        let target = self.target().await?;
        let request = GetPointsBuilder::new(target, point_ids(ids)?).with_payload(false).with_vectors(false);
        let found = self.observe(self.client.get_points(request).await)?;
        let found: std::collections::HashSet<String> =
            found.result.into_iter().filter_map(|p| record_of(p.id)).collect();
        Ok(ids.iter().filter(|id| !found.contains(id.as_str())).cloned().collect())
    }

    async fn ids_from(&self, from: Option<String>, limit: usize) -> Result<(Vec<String>, Option<String>), MemoryError> {
        let target = self.target().await?;
        let mut request = ScrollPointsBuilder::new(target).limit(limit as u32).with_payload(false).with_vectors(false);
        if let Some(from) = from {
            request = request.offset(PointId::from(point_id(&from)?.to_string()));
        }
        let page = self.observe(self.client.scroll(request).await)?;
        let ids = page.result.into_iter().filter_map(|p| record_of(p.id)).collect();
        Ok((ids, page.next_page_offset.and_then(|id| record_of(Some(id)))))
    }

    async fn begin_rebuild(&self) -> Result<(), MemoryError> {
        let (live, _) = self.resolve().await?;
        let previous = self.state().building.take();
        if let Some(old) = previous.filter(|b| *b != live) {
            let _ = self.client.delete_collection(old.as_str()).await;
        }
        let fresh = self.create().await?;
        tracing::info!(collection = %fresh, "rebuilding the memory index into a new collection");
        self.state().building = Some(fresh);
        Ok(())
    }

    async fn finish_rebuild(&self) -> Result<(), MemoryError> {
        let building = self.state().building.clone();
        let Some(built) = building else { return Ok(()) };
        let (old, _) = self.resolve().await?;
        self.point_alias(&built, old == self.settings.alias).await?;
        if old != self.settings.alias {
            self.observe(self.client.delete_collection(old.as_str()).await)?;
        }
        tracing::info!(collection = %built, "the rebuilt memory index is live");
        let mut s = self.state();
        s.live = Some(built);
        s.mismatch = None;
        s.building = None;
        Ok(())
    }

    fn take_emptied(&self) -> bool {
        std::mem::take(&mut self.state().emptied)
    }

    async fn health(&self) -> IndexHealth {
        match tokio::time::timeout(Duration::from_secs(2), self.resolve()).await {
            Err(_) => IndexHealth::Unavailable("the Qdrant server did not answer within 2 s".into()),
            Ok(Err(e)) => IndexHealth::Unavailable(e.to_string()),
            Ok(Ok((_, Some(why)))) => IndexHealth::Mismatch(why),
            Ok(Ok((_, None))) => match self.observe(self.client.health_check().await) {
                Ok(_) => IndexHealth::Ok,
                Err(e) => IndexHealth::Unavailable(e.to_string()),
            },
        }
    }

    fn describe(&self) -> String {
        let s = self.state();
        let at = match (&s.live, &s.building) {
            (Some(live), Some(b)) => format!("alias {} → {live} (rebuilding into {b})", self.settings.alias),
            (Some(live), None) => format!("alias {} → {live}", self.settings.alias),
            (None, _) => format!("alias {} (not yet found)", self.settings.alias),
        };
        match &s.unreachable {
            Some(why) => format!("{at} on {}; the last call failed: {why}", self.settings.url),
            None => format!("{at} on {}", self.settings.url),
        }
    }
}
