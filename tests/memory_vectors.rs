//! Vectors are derived (invariant 9), even across a crash: `steward serve`
//! is SIGKILLed at several points after a fact is remembered, and after the
//! restart each fact is found by meaning, with no command run.

mod helpers;

use std::time::{Duration, Instant};

use helpers::ServeProcess;
use serde_json::{Value, json};

/// Facts, and a question about each that shares none of its words.
const FACTS: [(&str, &str); 3] = [
    ("The Lisbon office opens its doors in March.", "when does the Portugal branch start?"),
    ("Globex settles invoices thirty days after receipt.", "how long until that client pays a bill?"),
    ("Priya prefers calls before noon on weekdays.", "what hour suits her for a phone meeting?"),
];

async fn search(serve: &ServeProcess, query: &str) -> Vec<Value> {
    let found = serve.call("/v1/memory/search", json!({"query": query, "limit": 3})).await;
    found["items"].as_array().cloned().unwrap_or_default()
}

/// Waits (30 s at most) until the query's best hit is `fact`, found by its
/// vector, and returns that hit.
async fn found_by_meaning(serve: &ServeProcess, query: &str, fact: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let hits = search(serve, query).await;
        if let Some(hit) = hits.first().filter(|h| h["text"] == fact && h["scores"]["vector"].is_f64()) {
            return hit.clone();
        }
        assert!(Instant::now() < deadline, "{fact:?} is not found by meaning for {query:?}: {hits:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Guarantee: a fact remembered before a SIGKILL is found by meaning
/// after the restart: killed the moment the remember was answered, once
/// the fact was found by meaning, and while a message's record waited for
/// the background indexer.
#[tokio::test(flavor = "multi_thread")]
async fn facts_are_found_by_meaning_after_a_sigkill_at_any_point() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let envs = [("STEWARD_API_TOKEN", helpers::TOKEN), ("STEWARD_EMBEDDING__BACKEND", "minilm")];
    let kill = |mut serve: ServeProcess| {
        serve.signal("KILL");
        serve.wait_exit();
    };

    // 1. Killed the moment the remember is answered.
    let serve = ServeProcess::start(&data, &envs);
    let added = serve.call("/v1/memory", json!({"text": FACTS[0].0})).await;
    assert!(added["ids"][0].is_string(), "{added}");
    kill(serve);

    // 2. Killed once the fact is found by meaning.
    let serve = ServeProcess::start(&data, &envs);
    serve.call("/v1/memory", json!({"text": FACTS[1].0})).await;
    found_by_meaning(&serve, FACTS[1].1, FACTS[1].0).await;
    kill(serve);

    // 3. Killed while a request's record waits for the background indexer
    // (recorded with its intent, embedded later).
    let serve = ServeProcess::start(&data, &envs);
    serve.call("/v1/memory", json!({"text": FACTS[2].0})).await;
    let said = serve.call("/v1/messages", json!({"text": "send the signed lease to the notary"})).await;
    assert_eq!(said["kind"], "intent", "{said}");
    kill(serve);

    let serve = ServeProcess::start(&data, &envs);
    for (fact, query) in FACTS {
        found_by_meaning(&serve, query, fact).await;
    }
    let request =
        found_by_meaning(&serve, "pass the rental agreement to the legal clerk", "send the signed lease to the notary")
            .await;
    assert_eq!(request["kind"], "command", "{request}");
}
