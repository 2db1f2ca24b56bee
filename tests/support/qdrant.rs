//! A Qdrant server stand-in over gRPC on 127.0.0.1, built from the
//! `qdrant-client` crate's own protobuf types: collections with one
//! unnamed vector, aliases (changed atomically), points with payload, exact
//! cosine search with keyword and range filters, scroll, count. What steward
//! never calls answers `unimplemented`.
//!
//! Faults: `refuse` (every call is `unavailable`, as a server that is
//! down), `delay` (every call waits first), `lose` (upserts are
//! acknowledged and dropped, as points lost in a crash), and
//! `drop_collection` (deleted under steward). It can also claim another
//! server version, and says which collections were created with what.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use qdrant_client::qdrant as q;
use qdrant_client::qdrant::collections_server::CollectionsServer;
use qdrant_client::qdrant::points_server::PointsServer;
use qdrant_client::qdrant::qdrant_server::QdrantServer;
use tonic::Status;

// The gRPC services, answering from the world above.
#[path = "qdrant_services.rs"]
mod services;

#[derive(Debug, Clone, Default)]
pub struct Stored {
    pub vector: Vec<f32>,
    pub payload: HashMap<String, q::Value>,
}

#[derive(Debug, Clone, Default)]
pub struct Collection {
    pub size: u64,
    pub distance: i32,
    /// How it was asked for (shard number, replication, ...).
    pub created: q::CreateCollection,
    pub indexed_fields: Vec<String>,
    /// By point id (a UUID string), in id order as Qdrant scrolls.
    pub points: BTreeMap<String, Stored>,
}

#[derive(Default)]
struct World {
    collections: HashMap<String, Collection>,
    aliases: HashMap<String, String>,
}

#[derive(Clone, Default)]
pub struct FakeQdrant {
    world: Arc<Mutex<World>>,
    refuse: Arc<AtomicBool>,
    lose: Arc<AtomicBool>,
    delay_ms: Arc<AtomicU64>,
    version: Arc<Mutex<String>>,
    pub addr: Option<SocketAddr>,
}

impl FakeQdrant {
    /// Starts on a free port of 127.0.0.1; it stops with the test's runtime.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut me = Self::default();
        *me.version.lock().unwrap() = "1.18.0".into();
        me.addr = Some(listener.local_addr().unwrap());
        let serving = me.clone();
        tokio::spawn(async move {
            let incoming = tonic::transport::server::TcpIncoming::from(listener);
            tonic::transport::Server::builder()
                .add_service(CollectionsServer::new(serving.clone()))
                .add_service(PointsServer::new(serving.clone()))
                .add_service(QdrantServer::new(serving))
                .serve_with_incoming(incoming)
                .await
                .unwrap();
        });
        me
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr.unwrap())
    }

    pub fn refuse(&self, on: bool) {
        self.refuse.store(on, Ordering::SeqCst);
    }

    pub fn lose(&self, on: bool) {
        self.lose.store(on, Ordering::SeqCst);
    }

    pub fn delay(&self, by: Duration) {
        self.delay_ms.store(by.as_millis() as u64, Ordering::SeqCst);
    }

    pub fn claim_version(&self, v: &str) {
        *self.version.lock().unwrap() = v.into();
    }

    /// Makes a collection as another client would (an alias too, if given).
    pub fn make(&self, name: &str, size: u64, alias: Option<&str>) {
        let mut w = self.world.lock().unwrap();
        let c = Collection { size, distance: q::Distance::Cosine as i32, ..Default::default() };
        w.collections.insert(name.into(), c);
        if let Some(a) = alias {
            w.aliases.insert(a.into(), name.into());
        }
    }

    /// Deletes a collection (and its aliases) under steward.
    pub fn drop_collection(&self, name_or_alias: &str) {
        let mut w = self.world.lock().unwrap();
        let name = w.aliases.get(name_or_alias).cloned().unwrap_or_else(|| name_or_alias.to_owned());
        w.collections.remove(&name);
        w.aliases.retain(|_, c| *c != name);
    }

    /// Puts a point straight into a collection (or an alias's), as another
    /// writer would.
    pub fn put(&self, name_or_alias: &str, id: uuid::Uuid, vector: Vec<f32>) {
        let mut w = self.world.lock().unwrap();
        let name = w.aliases.get(name_or_alias).cloned().unwrap_or_else(|| name_or_alias.to_owned());
        let c = w.collections.get_mut(&name).expect("a collection");
        c.points.insert(id.to_string(), Stored { vector, payload: HashMap::new() });
    }

    pub fn collections(&self) -> HashMap<String, Collection> {
        self.world.lock().unwrap().collections.clone()
    }

    pub fn aliases(&self) -> HashMap<String, String> {
        self.world.lock().unwrap().aliases.clone()
    }

    /// The collection behind an alias.
    pub fn behind(&self, alias: &str) -> Option<Collection> {
        let w = self.world.lock().unwrap();
        w.aliases.get(alias).and_then(|c| w.collections.get(c)).cloned()
    }

    /// The point ids behind an alias, as record ids (ULIDs).
    pub fn record_ids(&self, alias: &str) -> Vec<String> {
        self.behind(alias)
            .map(|c| {
                c.points.keys().map(|u| ulid::Ulid(u.parse::<uuid::Uuid>().unwrap().as_u128()).to_string()).collect()
            })
            .unwrap_or_default()
    }

    async fn gate(&self) -> Result<(), Status> {
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        if self.refuse.load(Ordering::SeqCst) {
            return Err(Status::unavailable("the stand-in refuses: server down"));
        }
        Ok(())
    }

    /// Runs `f` on the collection `name` (or the one an alias names).
    fn on<T>(&self, name: &str, f: impl FnOnce(&mut Collection) -> T) -> Result<T, Status> {
        let mut w = self.world.lock().unwrap();
        let name = w.aliases.get(name).cloned().unwrap_or_else(|| name.to_owned());
        match w.collections.get_mut(&name) {
            Some(c) => Ok(f(c)),
            None => Err(Status::not_found(format!("Collection `{name}` doesn't exist!"))),
        }
    }
}

fn uuid_of(id: &q::PointId) -> Option<String> {
    match &id.point_id_options {
        Some(q::point_id::PointIdOptions::Uuid(u)) => Some(u.clone()),
        Some(q::point_id::PointIdOptions::Num(n)) => Some(n.to_string()),
        None => None,
    }
}

fn point_id(uuid: &str) -> q::PointId {
    q::PointId::from(uuid.to_owned())
}

/// A dense vector, as new clients send it or, deprecated, as older ones did.
#[allow(deprecated)]
fn dense(v: &q::Vector) -> Vec<f32> {
    match &v.vector {
        Some(q::vector::Vector::Dense(d)) => d.data.clone(),
        _ => v.data.clone(),
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let n = norm(a) * norm(b);
    if n == 0.0 { 0.0 } else { dot / n }
}

fn text_of(v: Option<&q::Value>) -> Option<String> {
    match v.and_then(|v| v.kind.as_ref()) {
        Some(q::value::Kind::StringValue(s)) => Some(s.clone()),
        _ => None,
    }
}

fn number_of(v: Option<&q::Value>) -> Option<f64> {
    match v.and_then(|v| v.kind.as_ref()) {
        Some(q::value::Kind::IntegerValue(n)) => Some(*n as f64),
        Some(q::value::Kind::DoubleValue(n)) => Some(*n),
        _ => None,
    }
}

/// Whether a point's payload passes a filter's `must` field conditions
/// (keyword matches and numeric ranges: what steward sends).
fn passes(filter: Option<&q::Filter>, payload: &HashMap<String, q::Value>) -> bool {
    let Some(filter) = filter else { return true };
    filter.must.iter().all(|c| match &c.condition_one_of {
        Some(q::condition::ConditionOneOf::Field(f)) => {
            let value = payload.get(&f.key);
            let matched = match f.r#match.as_ref().and_then(|m| m.match_value.as_ref()) {
                Some(q::r#match::MatchValue::Keyword(k)) => text_of(value).as_deref() == Some(k.as_str()),
                Some(q::r#match::MatchValue::Keywords(ks)) => text_of(value).is_some_and(|t| ks.strings.contains(&t)),
                None => true,
                Some(_) => false,
            };
            let ranged = match &f.range {
                Some(r) => number_of(value).is_some_and(|n| {
                    r.gte.is_none_or(|g| n >= g)
                        && r.gt.is_none_or(|g| n > g)
                        && r.lt.is_none_or(|l| n < l)
                        && r.lte.is_none_or(|l| n <= l)
                }),
                None => true,
            };
            matched && ranged
        }
        _ => false,
    })
}
