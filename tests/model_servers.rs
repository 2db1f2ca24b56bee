//! steward against the OpenAI-compatible servers people run: the output
//! cap reaches a server that honours only `max_tokens` (llama.cpp's server,
//! Ollama, vLLM), one that wants only `max_completion_tokens` can be given
//! just that, a small model held to the role's schema by the server's
//! grammar answers in shape, and a model slower than the HTTP timeout
//! answers later.

mod helpers;
#[path = "support/openai.rs"]
mod openai;

use helpers::TestApp;
use openai::{Reply, ScriptedLlm};
use serde_json::{Value, json};
use steward::config::{MaxTokensField, OutputFormat};

#[tokio::test]
async fn the_output_cap_reaches_a_server_that_honours_only_max_tokens() {
    let llm = ScriptedLlm::start().await;
    llm.honour_only_max_tokens();
    // A long-winded answer: about 700 tokens.
    let long = json!({"kind": "action", "confidence": 0.9, "summary": "a note ".repeat(400),
        "step": {"adapter": "note", "action": "write", "args": {"text": "x"}}});
    for (field, capped) in
        [(MaxTokensField::Both, true), (MaxTokensField::MaxTokens, true), (MaxTokensField::MaxCompletionTokens, false)]
    {
        let app = TestApp::spawn_with(|c| {
            c.llm.fast.base_url = Some(llm.base_url());
            c.llm.fast.model = Some("scripted".into());
            c.llm.fast.timeout_secs = 5;
            c.llm.fast.max_tokens = 10;
            c.llm.fast.max_tokens_field = field;
        })
        .await;
        llm.push(Reply::Content(long.to_string()));
        let r =
            app.post("/v1/messages").json(&json!({"text": "write a note that the cap holds"})).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let sent = llm.requests().pop().unwrap();
        assert_eq!(sent["max_tokens"].as_u64(), capped.then_some(10), "{field:?}: {sent}");
        let current = matches!(field, MaxTokensField::Both | MaxTokensField::MaxCompletionTokens);
        assert_eq!(sent["max_completion_tokens"].as_u64(), current.then_some(10), "{field:?}");
        let costs: Value = app.get("/v1/costs").send().await.unwrap().json().await.unwrap();
        let out = costs["by_day"][0]["tokens_out"].as_i64().unwrap();
        if capped {
            assert!(out <= 10, "{field:?}: the server stopped at the cap, {out} tokens");
        } else {
            assert!(out > 600, "{field:?}: this server ignores max_completion_tokens, {out} tokens");
        }
        app.stop().await;
    }
}

/// A small model writes the shape the pipeline reads only when the server
/// holds it to the role's schema (`response_format: json_schema`, which
/// llama.cpp's server turns into a grammar): in JSON mode it writes a JSON
/// object of its own, and with no format prose. Each is asked as the tier
/// says, and only the schema's answer becomes the step asked for.
#[tokio::test]
async fn a_small_model_held_to_the_roles_schema_answers_in_shape() {
    let llm = ScriptedLlm::start().await;
    llm.write_like_a_small_model();
    let answer = json!({"kind": "action", "confidence": 0.9, "summary": "note it",
        "step": {"adapter": "note", "action": "write", "args": {"text": "schemas hold"}}});
    llm.respond_with(move |_| Reply::json(answer.clone()));
    for format in [OutputFormat::JsonSchema, OutputFormat::JsonObject, OutputFormat::None] {
        let app = TestApp::spawn_with(|c| {
            c.llm.fast.base_url = Some(llm.base_url());
            c.llm.fast.model = Some("scripted".into());
            c.llm.fast.response_format = format;
        })
        .await;
        let r = app.post("/v1/messages").json(&json!({"text": "jot down that schemas hold"})).send().await.unwrap();
        assert_eq!(r.status(), 200, "{format:?}");
        let sent = llm.requests().pop().unwrap();
        let asked = &sent["response_format"];
        let notes = "SELECT COUNT(*) FROM steps WHERE adapter = 'note' AND args LIKE '%schemas hold%'";
        match format {
            OutputFormat::JsonSchema => {
                assert_eq!(asked["type"], "json_schema", "{sent}");
                assert_eq!(asked["json_schema"]["name"], "executor", "{sent}");
                let required = asked["json_schema"]["schema"]["required"].to_string();
                assert!(["kind", "confidence", "step"].iter().all(|k| required.contains(k)), "{required}");
                assert_eq!(app.count("SELECT COUNT(*) FROM model_calls WHERE outcome = 'ok'").await, 1);
                assert_eq!(app.count(notes).await, 1, "the step the model wrote");
            }
            OutputFormat::JsonObject | OutputFormat::None => {
                let expected = (format == OutputFormat::JsonObject).then(|| json!({"type": "json_object"}));
                assert_eq!(asked, &expected.unwrap_or(Value::Null), "{format:?}: {sent}");
                let invalid = "SELECT COUNT(*) FROM model_calls WHERE outcome = 'invalid_output'";
                assert_eq!(app.count(invalid).await, 1, "{format:?}: the answer is not the shape read");
                assert_eq!(app.count(notes).await, 0, "{format:?}");
            }
        }
        app.stop().await;
    }
}

/// A model slower than the HTTP timeout: the request answers 202 with the
/// message's id, the work goes on, `GET /v1/messages/{id}` gives the answer,
/// and retries (while it works, and after) never call the model again.
#[tokio::test]
async fn a_slow_model_answers_later_and_a_retry_never_calls_it_again() {
    let llm = ScriptedLlm::start().await;
    let app = TestApp::spawn_with(|c| {
        c.llm.fast.base_url = Some(llm.base_url());
        c.llm.fast.model = Some("scripted".into());
        c.llm.fast.timeout_secs = 30;
        c.http.request_timeout_secs = 2;
    })
    .await;
    app.call("/v1/memory", json!({"text": "The Hartmann Properties lease ends in June 2027."})).await;
    llm.respond_with(|request| {
        let asked = request["messages"][1]["content"].as_str().unwrap_or("").to_owned();
        let id = asked
            .split_once("Records:")
            .and_then(|(_, r)| r.lines().find_map(|l| serde_json::from_str::<Value>(l).ok()))
            .and_then(|r| r["id"].as_str().map(str::to_owned));
        let answer =
            json!({"answer": "June 2027.", "confidence": 0.9, "citations": id.into_iter().collect::<Vec<_>>()});
        Reply::Delay(std::time::Duration::from_secs(3), Box::new(Reply::json(answer)))
    });
    let ask = || {
        app.post("/v1/messages")
            .header("Idempotency-Key", "slow-1")
            .json(&json!({"text": "so when exactly do we have to leave the Hartmann Properties office?"}))
    };
    let r = ask().send().await.unwrap();
    assert_eq!(r.status(), 202, "answered within the HTTP timeout, not 408");
    let pending: Value = r.json().await.unwrap();
    assert_eq!(pending["id"], "slow-1", "{pending}");
    // A retry while the model works joins the work.
    assert_eq!(ask().send().await.unwrap().status(), 202);
    // Waiting for it by its id.
    let r = app.get("/v1/messages/slow-1?wait=30").send().await.unwrap();
    let r = if r.status() == 202 { app.get("/v1/messages/slow-1?wait=30").send().await.unwrap() } else { r };
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["text"], "June 2027.", "{answer}");
    // Done: a retry is answered from the inbox.
    let again: Value = ask().send().await.unwrap().json().await.unwrap();
    assert_eq!(again["text"], "June 2027.", "{again}");
    assert_eq!(llm.calls(), 1, "the model was asked once");
    assert_eq!(app.get("/v1/messages/never-sent").send().await.unwrap().status(), 404);
    app.stop().await;
}

/// Whether any number in `v` is -0.
fn has_negative_zero(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Number(n) => n.as_f64().is_some_and(|f| f == 0.0 && f.is_sign_negative()),
        serde_json::Value::Array(a) => a.iter().any(has_negative_zero),
        serde_json::Value::Object(o) => o.values().any(has_negative_zero),
        _ => false,
    }
}

/// The ledger is complete: a call is on it while it runs (the prompt's
/// tokens counted here, the output cap as the most it may cost), and one
/// that times out keeps estimated tokens, marked as estimates; an empty
/// ledger sums to 0, never -0.
#[tokio::test]
async fn every_call_is_on_the_ledger_with_estimates_marked() {
    let llm = ScriptedLlm::start().await;
    let app = TestApp::spawn_with(|c| {
        c.llm.fast.base_url = Some(llm.base_url());
        c.llm.fast.model = Some("scripted".into());
        c.llm.fast.timeout_secs = 2;
        c.llm.fast.max_tokens = 300;
        c.llm.prices.insert(
            "scripted".into(),
            steward::config::Price { input_per_mtok: 1.0, output_per_mtok: 2.0, cached_input_per_mtok: None },
        );
    })
    .await;
    let empty = app.get("/v1/costs").send().await.unwrap().text().await.unwrap();
    // A value, not a date ("2026-12-01" holds "-0" too).
    assert!(!empty.contains(":-0") && !has_negative_zero(&serde_json::from_str(&empty).unwrap()), "{empty}");

    let answer = json!({"kind": "action", "confidence": 0.9, "summary": "note it",
        "step": {"adapter": "note", "action": "write", "args": {"text": "x"}}});
    llm.push(Reply::Delay(std::time::Duration::from_secs(5), Box::new(Reply::json(answer))));
    let asking = tokio::spawn({
        let request = app.post("/v1/messages").json(&json!({"text": "write a note that the ledger holds"}));
        async move { request.send().await.unwrap().status() }
    });
    helpers::until("the call is on the ledger while it runs", || async {
        app.count("SELECT COUNT(*) FROM model_calls WHERE outcome = 'in_flight' AND estimated = 1 AND tokens_out = 300")
            .await
            == 1
    })
    .await;
    asking.await.unwrap();
    helpers::until("the call timed out", || async {
        app.count("SELECT COUNT(*) FROM model_calls WHERE outcome = 'timeout'").await == 1
    })
    .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM model_calls").await, 1, "one row per call");
    let costs: Value = app.get("/v1/costs").send().await.unwrap().json().await.unwrap();
    let line = &costs["by_day"][0];
    assert_eq!(line["estimated_calls"], 1, "{costs}");
    assert_eq!(line["tokens_out"], 300, "the cap, as the server may go on to it: {costs}");
    assert!(line["tokens_in"].as_i64().unwrap() > 0, "the prompt counted here: {costs}");
    assert!(costs["cost_usd"].as_f64().unwrap() > 0.0, "{costs}");
    // The same figures reach /metrics, by tier.
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let tier = line["tier"].as_i64().map_or_else(|| "2".to_owned(), |t| t.to_string());
    let out = format!("steward_model_tokens_total{{tier=\"{tier}\",kind=\"completion\"}} 300\n");
    assert!(metrics.contains(&out), "{metrics}");
    assert!(metrics.contains("# TYPE steward_model_cost_usd_total counter"), "{metrics}");
    app.stop().await;
}

/// Prompt caching: the role's prompt and catalog come before the request,
/// so two requests share a prefix the server caches. The ledger keeps the
/// cached tokens apart and prices them at the cached-input price, and
/// `/metrics` shows them.
#[tokio::test]
async fn prompt_tokens_served_from_the_cache_are_recorded_and_priced_apart() {
    let llm = ScriptedLlm::start().await;
    llm.cache_prefixes(0, 1);
    let price =
        steward::config::Price { input_per_mtok: 1000.0, output_per_mtok: 0.0, cached_input_per_mtok: Some(100.0) };
    let app = TestApp::spawn_with(|c| {
        c.llm.fast.base_url = Some(llm.base_url());
        c.llm.fast.model = Some("scripted".into());
        c.llm.prices.insert("scripted".into(), price);
    })
    .await;
    let answer = json!({"kind": "action", "confidence": 0.9, "summary": "note it",
        "step": {"adapter": "note", "action": "write", "args": {"text": "x"}}});
    for text in ["write a note that the first prefix is cold", "write a note that the second prefix is warm"] {
        llm.push(Reply::json(answer.clone()));
        let r = app.post("/v1/messages").json(&json!({ "text": text })).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM model_calls").await, 2);
    let row = |column: &str, n: usize| format!("SELECT {column} FROM model_calls ORDER BY at, id LIMIT 1 OFFSET {n}");
    let (in0, cached0) = (app.count(&row("tokens_in", 0)).await, app.count(&row("tokens_cached", 0)).await);
    let (in1, cached1) = (app.count(&row("tokens_in", 1)).await, app.count(&row("tokens_cached", 1)).await);
    assert_eq!(cached0, 0, "nothing was cached before the first call");
    assert!(cached1 > in1 / 2 && cached1 < in1, "the prompt and catalog are the shared prefix: {cached1} of {in1}");
    let costs: Value = app.get("/v1/costs").send().await.unwrap().json().await.unwrap();
    assert_eq!(costs["by_day"][0]["tokens_cached"], cached1, "{costs}");
    let want = ((in0 + in1 - cached1) as f64 * 1000.0 + cached1 as f64 * 100.0) / 1e6;
    let cost = costs["cost_usd"].as_f64().unwrap();
    assert!((cost - want).abs() < 1e-9, "cached tokens at the cached price: {cost} against {want}");
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let tier = costs["by_day"][0]["tier"].as_i64().unwrap();
    assert!(
        metrics.contains(&format!("steward_model_prompt_tokens_cached_total{{tier=\"{tier}\"}} {cached1}\n")),
        "{metrics}"
    );
    app.stop().await;
}
