//! What memory answers with: statements, notes and what happened, never
//! the questions people asked (those stay searchable as questions), and
//! with no model an honest "I don't know for sure" instead of a to-do.
//! Over the API, with the local MiniLM model.

mod helpers;
#[path = "support/openai.rs"]
mod openai;

use helpers::TestApp;
use openai::{Reply, ScriptedLlm};
use serde_json::{Value, json};
use steward::config::Config;

fn minilm(c: &mut Config) {
    c.embedding.backend = steward::config::EmbeddingBackend::Minilm;
}

async fn say(app: &TestApp, text: &str) -> Value {
    let o = app.call("/v1/messages", json!({"text": text})).await;
    assert!(o["text"].is_string(), "{text}: {o}");
    o
}

fn cited(o: &Value) -> Vec<String> {
    o["citations"].as_array().map_or(vec![], |c| c.iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect())
}

async fn kinds(app: &TestApp) -> Vec<(String, String)> {
    let query = json!({"query": "Globex France capital payment terms", "kinds": ["message"], "limit": 50});
    let rows = app.call("/v1/memory/search", query).await;
    let rows = rows["items"].as_array().cloned().unwrap_or_default();
    rows.iter().map(|h| (h["kind"].as_str().unwrap().to_owned(), h["text"].as_str().unwrap().to_owned())).collect()
}

/// Guarantee: asking the same question twice never cites the first
/// asking, and a question no record answers creates no intent.
#[tokio::test]
async fn a_question_asked_twice_is_answered_from_facts_not_from_its_first_asking() {
    let app = TestApp::spawn_with(minilm).await;
    let fact = app.call("/v1/memory", json!({"text": "Globex pays net 30 on every invoice."})).await["ids"][0]
        .as_str()
        .unwrap()
        .to_owned();

    let first = say(&app, "what are the Globex payment terms?").await;
    assert_eq!(cited(&first), std::slice::from_ref(&fact), "{first}");
    let again = say(&app, "What are the payment terms of Globex?").await;
    assert_eq!(cited(&again), std::slice::from_ref(&fact), "the fact, never the earlier question: {again}");

    // Nothing answers this one, twice over: neither answer quotes the
    // question back, and neither is a to-do.
    for _ in 0..2 {
        let o = say(&app, "what's the capital of France?").await;
        assert_eq!((o["kind"].as_str(), o["tier"].as_u64()), (Some("reply"), Some(1)), "{o}");
        let text = o["text"].as_str().unwrap();
        assert!(text.starts_with("I don't know"), "{text}");
        assert!(!text.to_lowercase().contains("capital"), "the question is no answer to itself: {text}");
        assert!(cited(&o).is_empty(), "{o}");
    }
    // Requests for information are questions too, with no model.
    for q in ["give me a summary of today", "what's pending?", "list the open invoices"] {
        let o = say(&app, q).await;
        assert_eq!(o["kind"], "reply", "{q}: {o}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM intents").await, 0, "no question became an intent");

    // The questions are kept, as questions: "what did I ask …" finds them.
    let kept = kinds(&app).await;
    assert!(kept.iter().any(|(k, t)| k == "question" && t.contains("capital of France")), "{kept:?}");
    assert!(kept.iter().all(|(k, _)| k == "question"), "{kept:?}");
    let o = say(&app, "what did I ask about France?").await;
    assert!(o["text"].as_str().unwrap().contains("capital of France"), "{o}");
    app.stop().await;
}

/// The researcher is never shown an earlier asking of the question as a
/// record to answer from, nor the message it answers.
#[tokio::test]
async fn the_model_is_shown_facts_not_earlier_questions() {
    let llm = ScriptedLlm::start().await;
    let app = TestApp::spawn_with(|c| {
        minilm(c);
        for tier in [&mut c.llm.fast, &mut c.llm.deep] {
            tier.base_url = Some(llm.base_url());
            tier.model = Some("scripted".into());
            tier.timeout_secs = 5;
        }
    })
    .await;
    app.call("/v1/memory", json!({"text": "The office lease ends in June; the landlord wants a 5% raise."})).await;
    for _ in 0..2 {
        llm.push(Reply::json(json!({"answer": null, "confidence": 0.1, "citations": []})));
    }
    let question = "did the lawyer send back the signed NDA from Initech";
    say(&app, &format!("{question}?")).await;
    say(&app, &format!("{question} yet?")).await;
    assert_eq!(llm.calls(), 2, "both were researched");
    let shown = llm.user_message(1);
    assert!(shown.starts_with("Question: "), "{shown}");
    let records = shown.split_once("Records:").map(|(_, r)| r).unwrap_or_default();
    assert!(!records.contains("lawyer"), "the earlier asking is not a record to answer from: {shown}");
    app.stop().await;
}
