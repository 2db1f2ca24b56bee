//! Memory on a Qdrant server under faults, against a gRPC stand-in on
//! loopback (`support/qdrant.rs`, built from qdrant-client's own protobuf
//! types) and a closed port: what is committed is kept, forgetting is
//! durable, search degrades to words, lost and left-over points are
//! reconciled, workspaces keep to their own collections, a deleted
//! collection is made again, a wrong one is reported, and nothing from the
//! client reaches stdout.

mod helpers;
#[path = "support/qdrant.rs"]
mod qdrant;

use std::time::Duration;

use helpers::{TestApp, until};
use qdrant::FakeQdrant;
use serde_json::{Value, json};
use steward::config::{Config, QdrantMode};
use steward::domain::{ManualClock, MemoryKind, NewMemory, Scope, SharedClock};

fn on(url: String) -> impl FnOnce(&mut Config) {
    move |c: &mut Config| {
        c.qdrant.mode = QdrantMode::Server;
        c.qdrant.url = Some(url);
    }
}

/// The workspace's alias, from the id it keeps in its data directory.
fn alias_of(app: &TestApp) -> String {
    let id = std::fs::read_to_string(app.dir.path().join("workspace-id")).unwrap();
    format!("steward_{}", id.trim())
}

async fn remember(app: &TestApp, text: &str) -> String {
    let res = app.post("/v1/memory").json(&json!({"text": text})).send().await.unwrap();
    assert_eq!(res.status(), 201, "a committed record is a success");
    let body: Value = res.json().await.unwrap();
    body["ids"][0].as_str().unwrap().to_owned()
}

async fn search(app: &TestApp, query: &str) -> Value {
    let res = app.post("/v1/memory/search").json(&json!({"query": query, "limit": 5})).send().await.unwrap();
    assert_eq!(res.status(), 200, "search answers, with words alone if it must");
    res.json().await.unwrap()
}

async fn readyz(app: &TestApp) -> Value {
    app.get("/readyz").send().await.unwrap().json().await.unwrap()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// Faults 1, 2, 3 and 9: steward starts while the server is down; adds are
/// kept (201) and indexed once it is back; search answers from words and
/// says so; /readyz is degraded; a forget while it is down removes the
/// record at once and its point once the server is back.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_is_down_degrades_and_catches_up() {
    let fake = FakeQdrant::start().await;
    fake.refuse(true);
    let app = TestApp::spawn_with(on(fake.url())).await;
    let alias = alias_of(&app);
    let kept = remember(&app, "Globex pays invoices net 30").await;
    let forgotten = remember(&app, "Initech wants a weekly report").await;

    let found = search(&app, "Globex invoices").await;
    assert_eq!(found["degraded"], "vector index unavailable", "{found:#}");
    assert_eq!(found["items"][0]["id"], kept, "found by words: {found:#}");
    assert!(found["items"][0]["scores"]["vector"].is_null());
    let ready = readyz(&app).await;
    assert_eq!(ready["status"], "degraded", "{ready:#}");
    assert!(ready["checks"]["vector_index"].as_str().unwrap().starts_with("unavailable"), "{ready:#}");

    fake.refuse(false);
    until("both records indexed once the server is back", || async {
        sorted(fake.record_ids(&alias)) == sorted(vec![kept.clone(), forgotten.clone()])
    })
    .await;
    assert_eq!(readyz(&app).await["status"], "ready");
    let found = search(&app, "Globex invoices").await;
    assert!(found["degraded"].is_null() && found["items"][0]["scores"]["vector"].is_f64(), "{found:#}");

    // Down again: a forget is a success, and its point goes once it is back.
    fake.refuse(true);
    let res = app.delete(&format!("/v1/memory/{forgotten}")).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM memory WHERE id = '{forgotten}'")).await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM vector_deletes").await, 1, "the point's removal is queued");
    let later = remember(&app, "Umbrella Corp renews in May").await;
    fake.refuse(false);
    until("the forgotten point removed and the new one added", || async {
        sorted(fake.record_ids(&alias)) == sorted(vec![kept.clone(), later.clone()])
    })
    .await;
    until("the delete queue drained", || async { app.count("SELECT COUNT(*) FROM vector_deletes").await == 0 }).await;
    app.stop().await;
}

/// A closed port: steward starts, keeps what it is given and answers
/// searches from words.
#[tokio::test]
async fn a_closed_port_is_a_degraded_index_not_a_failure() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let app = TestApp::spawn_with(on(format!("http://127.0.0.1:{port}"))).await;
    let id = remember(&app, "the boiler service is due in October").await;
    let found = search(&app, "boiler service").await;
    assert_eq!(found["degraded"], "vector index unavailable");
    assert_eq!(found["items"][0]["id"], id);
    let stats: Value = app.get("/v1/memory/stats").send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["records"], 1, "{stats:#}");
    assert!(stats["vectors"].is_null() && stats["index_status"].as_str().unwrap().starts_with("unavailable"));
    app.stop().await;
}

/// A slow server: search answers within its budget from words alone and
/// says so, and an add is still a success.
#[tokio::test(flavor = "multi_thread")]
async fn a_slow_server_never_holds_a_search_past_its_budget() {
    let fake = FakeQdrant::start().await;
    let app = TestApp::spawn_with(|c| {
        on(fake.url())(c);
        c.memory.search_budget_ms = 300;
    })
    .await;
    let id = remember(&app, "the courier comes on Tuesdays").await;
    fake.delay(Duration::from_millis(1_500));
    let started = std::time::Instant::now();
    let found = search(&app, "courier Tuesdays").await;
    assert!(started.elapsed() < Duration::from_millis(1_400), "cut off at the budget: {:?}", started.elapsed());
    assert_eq!(found["degraded"], "vector index unavailable", "{found:#}");
    assert_eq!(found["items"][0]["id"], id);
    remember(&app, "the courier also comes on Fridays").await;
    fake.delay(Duration::ZERO);
    app.stop().await;
}

/// Fault 4: points acknowledged and then lost are found by the periodic
/// comparison (every 5 minutes by the clock) and embedded again; a point
/// whose record is gone is removed; stats show the gap meanwhile. Pointed
/// at an empty server, every record is embedded again.
#[tokio::test(flavor = "multi_thread")]
async fn lost_points_are_found_and_left_over_points_removed() {
    let fake = FakeQdrant::start().await;
    let clock = ManualClock::at(chrono::Utc::now().timestamp_millis());
    let shared: SharedClock = clock.clone();
    let app = TestApp::spawn_clocked(tempfile::tempdir().unwrap(), shared, on(fake.url())).await;
    let alias = alias_of(&app);
    let first = remember(&app, "the lease ends in June").await;
    until("indexed", || async { fake.record_ids(&alias).len() == 1 }).await;
    fake.lose(true);
    let lost = remember(&app, "the van's MOT is in August").await;
    fake.lose(false);
    let stray = ulid::Ulid::new();
    fake.put(&alias, uuid::Uuid::from_u128(stray.0), vec![0.5; 384]);
    let stats: Value = app.get("/v1/memory/stats").send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["indexed"], 2, "{stats:#}");
    assert_eq!(stats["vectors"], 2, "one lost, one left over: {stats:#}");

    clock.advance(Duration::from_secs(6 * 60));
    until("the lost point back and the stray one gone", || async {
        sorted(fake.record_ids(&alias)) == sorted(vec![first.clone(), lost.clone()])
    })
    .await;
    let stats: Value = app.get("/v1/memory/stats").send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["vector_gap"], 0, "{stats:#}");
    assert_eq!(stats["last_reconcile"]["orphans"], 1, "{stats:#}");
    assert!(stats["last_reconcile"]["missing"].as_u64().unwrap() >= 1, "{stats:#}");

    // The same workspace pointed at an empty server.
    let dir = app.stop_keeping_data().await;
    let empty = FakeQdrant::start().await;
    let app = TestApp::spawn_in(dir, on(empty.url())).await;
    until("every record embedded again on the new server", || async {
        sorted(empty.record_ids(&alias)) == sorted(vec![first.clone(), lost.clone()])
    })
    .await;
    app.stop().await;
}

/// Fault 5: two workspaces on one server each have their own collection;
/// one's rebuild moves its alias to a new collection and drops its old
/// one, and the other's points are untouched.
#[tokio::test(flavor = "multi_thread")]
async fn workspaces_sharing_a_server_never_touch_each_other() {
    let fake = FakeQdrant::start().await;
    let one = TestApp::spawn_with(on(fake.url())).await;
    let two = TestApp::spawn_with(on(fake.url())).await;
    let (a1, a2) = (alias_of(&one), alias_of(&two));
    assert_ne!(a1, a2);
    let r1 = remember(&one, "workspace one: the office cat is called Miso").await;
    let r2 = remember(&two, "workspace two: the printer jams on A3").await;
    until("both indexed", || async {
        fake.record_ids(&a1) == vec![r1.clone()] && fake.record_ids(&a2) == vec![r2.clone()]
    })
    .await;
    let before = fake.aliases()[&a1].clone();
    let other = fake.aliases()[&a2].clone();

    let res = one.post("/v1/memory/reindex").send().await.unwrap();
    assert_eq!(res.status(), 202);
    let job: Value = res.json().await.unwrap();
    let job = job["job"].as_str().unwrap().to_owned();
    until("the rebuild done", || async {
        let at: Value = one.get(&format!("/v1/memory/jobs/{job}")).send().await.unwrap().json().await.unwrap();
        at["done"] == true && fake.aliases()[&a1] != before
    })
    .await;
    assert_eq!(fake.record_ids(&a1), vec![r1.clone()], "the rebuilt collection holds the record");
    let all = fake.collections();
    assert!(!all.contains_key(&before), "the old collection is dropped");
    assert_eq!(fake.aliases()[&a2], other, "the other workspace's alias is untouched");
    assert_eq!(fake.record_ids(&a2), vec![r2.clone()], "and so are its points");
    let found = search(&one, "office cat").await;
    assert!(found["items"][0]["scores"]["vector"].is_f64(), "{found:#}");
    one.stop().await;
    two.stop().await;
}

/// Search goes on from the old collection while a rebuild fills the new
/// one, and the switch is one alias change.
#[tokio::test(flavor = "multi_thread")]
async fn search_keeps_its_vectors_during_a_rebuild() {
    use steward::memory::{self, Contract, Query};
    let fake = FakeQdrant::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::defaults_in(dir.path());
    config.embedding.backend = steward::config::EmbeddingBackend::Hash;
    on(fake.url())(&mut config);
    let store = steward::store::Store::open(&config.database_path(), &config.store).await.unwrap();
    let memory = memory::build(&config, &store).await.unwrap();
    let records: Vec<_> = ["Hooli ships on Fridays", "Pied Piper compresses files"]
        .into_iter()
        .map(|t| {
            let by = steward::domain::MemoryProvenance::default();
            NewMemory::new(MemoryKind::Note, t, Scope::parse("operator").unwrap(), by, 0).unwrap()
        })
        .collect();
    memory.add(&records, &Contract::operator()).await.unwrap();
    let q = Query { text: "Hooli ships".into(), limit: 3, ..Default::default() };
    let alias = std::fs::read_to_string(dir.path().join("workspace-id")).unwrap();
    let alias = format!("steward_{}", alias.trim());
    let before = fake.aliases()[&alias].clone();

    memory.reindex_later().await.unwrap();
    let during = memory.search(&q, &Contract::operator()).await.unwrap();
    assert!(during.degraded.is_none() && during.hits[0].scores.vector.is_some(), "{during:?}");
    assert_eq!(fake.aliases()[&alias], before, "the alias stays until the rebuild is done");
    while memory.index_pending(memory::INDEX_BATCH).await.unwrap() > 0 {}
    assert_ne!(fake.aliases()[&alias], before);
    let after = memory.search(&q, &Contract::operator()).await.unwrap();
    assert!(after.hits[0].scores.vector.is_some(), "{after:?}");
    assert_eq!(fake.record_ids(&alias).len(), 2);
    store.close().await;
}

/// Fault 6: a collection deleted while steward runs is made again, and
/// every record is embedded into it.
#[tokio::test(flavor = "multi_thread")]
async fn a_collection_deleted_at_run_time_is_made_again_and_refilled() {
    let fake = FakeQdrant::start().await;
    let app = TestApp::spawn_with(on(fake.url())).await;
    let alias = alias_of(&app);
    let first = remember(&app, "the alarm code changes monthly").await;
    until("indexed", || async { fake.record_ids(&alias).len() == 1 }).await;
    fake.drop_collection(&alias);
    assert!(fake.behind(&alias).is_none());
    let second = remember(&app, "the spare key is with the neighbour").await;
    until("both records in the collection made again", || async {
        sorted(fake.record_ids(&alias)) == sorted(vec![first.clone(), second.clone()])
    })
    .await;
    let found = search(&app, "alarm code").await;
    assert!(found["degraded"].is_null() && found["items"][0]["scores"]["vector"].is_f64(), "{found:#}");
    app.stop().await;
}

/// Cluster settings are passed when the collection is made.
#[tokio::test]
async fn cluster_settings_shape_the_collection() {
    let fake = FakeQdrant::start().await;
    let app = TestApp::spawn_with(|c| {
        on(fake.url())(c);
        c.qdrant.shard_number = Some(3);
        c.qdrant.replication_factor = Some(2);
        c.qdrant.write_consistency_factor = Some(2);
    })
    .await;
    remember(&app, "three nodes hold this").await;
    let made = fake.behind(&alias_of(&app)).expect("a collection behind the alias");
    assert_eq!(made.created.shard_number, Some(3));
    assert_eq!(made.created.replication_factor, Some(2));
    assert_eq!(made.created.write_consistency_factor, Some(2));
    assert_eq!(made.size, 384);
    let mut fields = made.indexed_fields.clone();
    fields.sort();
    assert_eq!(fields, ["created_at", "kind", "scope"]);
    app.stop().await;
}

fn steward_in(dir: &std::path::Path, url: &str, args: &[&str]) -> std::process::Output {
    helpers::steward()
        .args(["--data-dir", dir.to_str().unwrap()])
        .args(args)
        .env("STEWARD_QDRANT__MODE", "server")
        .env("STEWARD_QDRANT__URL", url)
        .env("STEWARD_QDRANT__COLLECTION", "shared_memory")
        .env("STEWARD_EMBEDDING__BACKEND", "hash")
        .output()
        .unwrap()
}

/// Faults 7 and 8: a collection whose vectors do not fit is an error in
/// `doctor`, with the fix; `memory reindex` rebuilds it behind the alias;
/// and a server claiming another version prints nothing to stdout, so
/// `--json` output parses.
#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_collection_is_reported_and_reindex_fixes_it() {
    let fake = FakeQdrant::start().await;
    fake.claim_version("0.1.0");
    fake.make("shared_memory", 8, None);
    let dir = tempfile::tempdir().unwrap();
    let (path, url) = (dir.path().to_owned(), fake.url());
    let run = move |args: &'static [&'static str]| {
        let (path, url) = (path.clone(), url.clone());
        tokio::task::spawn_blocking(move || steward_in(&path, &url, args))
    };

    // The database comes from a first start, on the embedded index.
    drop(helpers::ServeProcess::start(dir.path(), &[("STEWARD_EMBEDDING__BACKEND", "hash")]));
    let doctor = run(&["doctor", "--json"]).await.unwrap();
    let checks: Value = serde_json::from_slice(&doctor.stdout).expect("doctor --json is JSON alone on stdout");
    let q = checks.as_array().unwrap().iter().find(|c| c["part"] == "qdrant").unwrap().clone();
    assert_eq!(q["status"], "error", "{q:#}");
    assert!(q["detail"].as_str().unwrap().contains("size 8"), "{q:#}");
    assert!(q["fix"].as_str().unwrap().contains("memory reindex"), "{q:#}");
    assert_eq!(doctor.status.code(), Some(1));

    let added = run(&["memory", "add", "the fix is a rebuild", "--json"]).await.unwrap();
    assert!(added.status.success(), "a record is kept whatever the index: {}", helpers::stderr(&added));
    serde_json::from_slice::<Value>(&added.stdout).expect("JSON alone on stdout");
    let rebuilt = run(&["memory", "reindex"]).await.unwrap();
    assert!(rebuilt.status.success(), "{}", helpers::stderr(&rebuilt));
    let behind = fake.behind("shared_memory").expect("an alias now");
    assert_eq!(behind.size, 384);
    assert_eq!(behind.points.len(), 1);

    let stats = run(&["memory", "stats", "--json"]).await.unwrap();
    let stats: Value = serde_json::from_slice(&stats.stdout).expect("stats --json is JSON alone on stdout");
    assert_eq!(stats["vectors"], 1, "{stats:#}");
    let doctor = run(&["doctor", "--json"]).await.unwrap();
    let checks: Value = serde_json::from_slice(&doctor.stdout).unwrap();
    let q = checks.as_array().unwrap().iter().find(|c| c["part"] == "qdrant").unwrap().clone();
    assert_eq!(q["status"], "ok", "{q:#}");
}
