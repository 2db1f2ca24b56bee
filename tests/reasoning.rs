//! The reasoning tiers against the real server, with a scripted
//! OpenAI-compatible server on loopback standing in for both models.
//! The tests assert which tier answered, what was recorded and what the
//! model was asked, never the model's wording.

mod helpers;
#[path = "support/openai.rs"]
mod openai;

use std::time::Duration;

use helpers::TestApp;
use openai::{Reply, ScriptedLlm};
use serde_json::{Value, json};
use steward::config::Config;
use steward::reasoning::roles::Roles;

/// Tier 1's thresholds are cosine similarities of the local model; the
/// tests that answer from memory use it (CI installs it).
fn minilm(c: &mut Config) {
    c.embedding.backend = steward::config::EmbeddingBackend::Minilm;
}

fn with_models(c: &mut Config, llm: &ScriptedLlm) {
    for tier in [&mut c.llm.fast, &mut c.llm.deep] {
        tier.base_url = Some(llm.base_url());
        tier.model = Some("scripted".into());
        tier.timeout_secs = 5;
    }
}

async fn say(app: &TestApp, text: &str) -> Value {
    say_as(app, text, None, None).await
}

async fn say_as(app: &TestApp, text: &str, actor: Option<&str>, key: Option<&str>) -> Value {
    let mut req = app.post("/v1/messages").json(&json!({"text": text, "actor": actor}));
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200, "{text}");
    r.json().await.unwrap()
}

async fn remember(app: &TestApp, text: &str, scope: &str) -> String {
    let r = app.post("/v1/memory").json(&json!({"text": text, "scope": scope})).send().await.unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["ids"][0].as_str().unwrap().to_owned()
}

async fn costs(app: &TestApp) -> Value {
    app.get("/v1/costs").send().await.unwrap().json().await.unwrap()
}

fn version(role: &str) -> String {
    Roles::builtin().get(role).version.clone()
}

fn note_step(text: &str) -> Value {
    json!({"adapter": "note", "action": "write", "args": {"text": text}})
}

#[tokio::test]
async fn commands_routes_and_memory_answers_cost_no_model_call() {
    let llm = ScriptedLlm::start().await;
    let app = TestApp::spawn_with(|c| {
        with_models(c, &llm);
        minilm(c);
    })
    .await;

    let o = say(&app, "status").await;
    assert_eq!((o["tier"].as_u64(), o["kind"].as_str()), (Some(0), Some("reply")));
    assert!(o["text"].as_str().unwrap().contains("Approvals waiting: 0"), "{o}");
    assert_eq!(say(&app, "/pending").await["tier"], 0);
    assert!(say(&app, "/approve").await["text"].as_str().unwrap().starts_with("Usage:"));

    let o = say(&app, "remember that the VAT number of the company is DE998877").await;
    assert_eq!(o["tier"], 0, "{o}");
    // Commands said in words are read at tier 0; paraphrases beyond those
    // sentences are routed at tier 1.
    let o = say(&app, "give me a status update").await;
    assert_eq!(o["tier"], 0, "{o}");
    assert!(o["text"].as_str().unwrap().contains("Approvals waiting: 0"), "{o}");
    let o = say(&app, "is anything broken at the moment").await;
    assert_eq!((o["tier"].as_u64(), o["route"].as_str()), (Some(1), Some("status")), "{o}");
    let o = say(&app, "thanks a lot").await;
    assert_eq!((o["tier"].as_u64(), o["route"].as_str()), (Some(1), Some("thanks")), "{o}");

    // A fact in memory answers a question, with its citation.
    let id = remember(&app, "Invoice INV-2041 for ACME is due on the 14th of December.", "operator").await;
    let o = say(&app, "when is invoice INV-2041 due?").await;
    assert_eq!((o["tier"].as_u64(), o["kind"].as_str()), (Some(1), Some("reply")), "{o}");
    let cite = &o["citations"][0];
    assert_eq!(cite["id"], id.as_str());
    assert_eq!((cite["who"].as_str(), cite["channel"].as_str()), (Some("api"), Some("http")));
    assert!(cite["date"].as_str().unwrap().starts_with("20") && cite["quote"].as_str().unwrap().contains("INV-2041"));
    // The remembered fact is found the same way.
    let o = say(&app, "what is the VAT number of the company?").await;
    assert!(o["text"].as_str().unwrap().contains("DE998877"), "{o}");

    assert_eq!(llm.calls(), 0, "no model was needed");
    assert_eq!(costs(&app).await["calls"], 0);
    app.stop().await;
}

#[tokio::test]
async fn cached_answers_are_dropped_when_a_cited_record_changes_and_never_cross_readers() {
    let app = TestApp::spawn_with(|c| {
        minilm(c);
        c.reasoning.cache_similarity = 0.85;
        c.http.bridge_actors = vec!["discord:77".into()];
    })
    .await;
    let id = remember(&app, "The Atlas launch moved to March because the payment provider is late.", "operator").await;
    let first = say(&app, "why did the Atlas launch move?").await;
    assert_eq!((first["tier"].as_u64(), first["cached"].as_bool()), (Some(1), Some(false)), "{first}");
    // The same question again: the exact cache (tier 0).
    let again = say(&app, "Why did the Atlas launch move").await;
    assert_eq!((again["tier"].as_u64(), again["cached"].as_bool()), (Some(0), Some(true)), "{again}");
    assert_eq!(again["citations"], first["citations"]);
    // A near paraphrase: the semantic cache (tier 1).
    let near = say(&app, "why did the Atlas launch move to March?").await;
    assert_eq!((near["tier"].as_u64(), near["cached"].as_bool()), (Some(1), Some(true)), "{near}");

    // A collaborator asking the same is not served the operator's answer.
    let theirs = say_as(&app, "why did the Atlas launch move?", Some("discord:77"), None).await;
    assert_eq!(theirs["cached"], false, "{theirs}");
    assert!(theirs["citations"].as_array().is_none_or(|c| c.is_empty()), "{theirs}");
    assert!(theirs["text"].as_str().unwrap().starts_with("I don't know"), "{theirs}");

    // The cited record is forgotten: the cache must not answer from it.
    assert_eq!(app.delete(&format!("/v1/memory/{id}")).send().await.unwrap().status(), 204);
    let after = say(&app, "why did the Atlas launch move?").await;
    assert_eq!(after["cached"], false, "{after}");
    assert!(!after.to_string().contains(&id), "{after}");
    app.stop().await;
}

#[tokio::test]
async fn a_one_step_action_is_extracted_by_the_fast_model_and_records_its_role() {
    let llm = ScriptedLlm::start().await;
    let app = TestApp::spawn_with(|c| with_models(c, &llm)).await;
    llm.push(Reply::json(json!({"kind": "action", "confidence": 0.92, "summary": "a note about the printer",
                                 "step": note_step("The printer is fixed.")})));
    let o = say(&app, "write a note saying the printer is fixed").await;
    assert_eq!(
        (o["tier"].as_u64(), o["kind"].as_str(), o["route"].as_str()),
        (Some(2), Some("intent"), Some("note")),
        "{o}"
    );
    let text = o["text"].as_str().unwrap();
    assert!(text.contains("low risk (notes are harmless): it runs now"), "the policy's judgement: {text}");
    let id = o["intent_id"].as_str().unwrap();
    let done = app.wait_for(id, "succeeded").await;
    assert_eq!(done["agent"], "executor");
    assert_eq!(done["agent_version"], version("executor"));
    assert_eq!(done["steps"][0]["args"]["text"], "The printer is fixed.");

    // The model was asked with the catalog and the request, once.
    assert_eq!(llm.calls(), 1);
    let asked = llm.user_message(0);
    assert!(asked.contains("note.write(text: string)") && asked.contains("printer is fixed"), "{asked}");
    let ledger = costs(&app).await;
    assert_eq!(ledger["calls"], 1);
    assert_eq!(ledger["by_day"][0]["tier"], 2);
    app.stop().await;
}

#[tokio::test]
async fn a_goal_goes_to_the_planner_and_an_invalid_plan_gets_one_repair() {
    let llm = ScriptedLlm::start().await;
    let app = TestApp::spawn_with(|c| with_models(c, &llm)).await;
    // The fast model sees several steps: escalate.
    llm.push(Reply::json(json!({"kind": "goal", "confidence": 0.9, "summary": "two notes"})));
    // The planner's first plan uses an adapter that does not exist …
    llm.push(Reply::json(json!({"summary": "fax it", "steps": [{"adapter": "fax", "action": "send", "args": {}}]})));
    // … its repair is valid.
    llm.push(Reply::json(json!({"summary": "two notes", "steps": [note_step("one"), note_step("two")]})));
    let o = say(&app, "file the supplier contract and log that it was filed").await;
    assert_eq!((o["tier"].as_u64(), o["kind"].as_str()), (Some(3), Some("intent")), "{o}");
    let escalations = o["escalations"].to_string();
    assert!(escalations.contains("multi-step goal") || escalations.contains("goal"), "{escalations}");
    let id = o["intent_id"].as_str().unwrap();
    let done = app.wait_for(id, "succeeded").await;
    assert_eq!(done["steps"].as_array().unwrap().len(), 2);
    assert_eq!(
        (done["agent"].as_str(), done["agent_version"].as_str()),
        (Some("planner"), Some(version("planner").as_str()))
    );
    assert_eq!(llm.calls(), 3);
    let repair = llm.user_message(2);
    assert!(repair.contains("refused") && repair.contains("fax"), "the repair names the errors: {repair}");
    app.stop().await;
}

#[tokio::test]
async fn a_plan_that_fails_twice_is_never_run_and_goes_to_the_operator() {
    let llm = ScriptedLlm::start().await;
    let app = TestApp::spawn_with(|c| with_models(c, &llm)).await;
    llm.push(Reply::json(json!({"kind": "goal", "confidence": 0.9})));
    llm.push(Reply::Content("Sure! Here is the plan: {\"steps\": []}".into()));
    llm.push(Reply::json(
        json!({"summary": "bad", "steps": [{"adapter": "note", "action": "write", "args": {"txt": 1}}]}),
    ));
    let o = say(&app, "reorganise the whole shared drive and tell everyone").await;
    assert_eq!((o["kind"].as_str(), o["intent_state"].as_str()), (Some("intent"), Some("needs_attention")), "{o}");
    let i = app.intent(o["intent_id"].as_str().unwrap()).await;
    assert!(i["steps"].as_array().unwrap().is_empty(), "nothing was planned, nothing runs: {i}");
    assert!(o["text"].as_str().unwrap().contains("failed its checks twice"), "{o}");
    let calls = app.get("/v1/costs").send().await.unwrap().json::<Value>().await.unwrap();
    assert_eq!(calls["calls"], 3);
    // A retry has nothing to run: refused, clearly.
    let r = app.post(&format!("/v1/intents/{}/retry", o["intent_id"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(r.status(), 409);
    app.stop().await;
}

/// Guarantee: a model server cannot make steward read without end. An
/// answer over the limit is refused unread, counted, and the request goes
/// on to the operator; the next answer is read as usual.
#[tokio::test]
async fn a_model_answer_over_the_size_limit_is_refused_not_read() {
    let llm = ScriptedLlm::start().await;
    let app = TestApp::spawn_with(|c| {
        with_models(c, &llm);
        c.llm.deep.base_url = None;
    })
    .await;
    let over = steward::reasoning::llm::MAX_ANSWER_BYTES + 1024;
    llm.push(Reply::Garbage(format!("{{\"pad\": \"{}\"}}", "x".repeat(over))));
    let o = say(&app, "jot down that the server talks too much").await;
    assert_eq!(o["intent_state"], "needs_attention", "{o}");
    let refused = "SELECT COUNT(*) FROM model_calls WHERE outcome = 'invalid_output' AND detail LIKE '%larger than%'";
    assert_eq!(app.count(refused).await, 1, "counted, with the reason");
    let action = Reply::json(json!({"kind": "action", "confidence": 0.9, "summary": "n", "step": note_step("x")}));
    llm.push(action);
    assert_eq!(say(&app, "make a note that the server calmed down").await["tier"], 2);
    app.stop().await;
}

#[tokio::test]
async fn model_faults_are_retried_or_counted_and_never_crash() {
    let llm = ScriptedLlm::start().await;
    let app = TestApp::spawn_with(|c| {
        with_models(c, &llm);
        c.llm.fast.timeout_secs = 1;
        c.llm.deep.base_url = None;
    })
    .await;
    let action = Reply::json(json!({"kind": "action", "confidence": 0.9, "summary": "n", "step": note_step("x")}));
    // 429 and 500 are retried; the request still succeeds at tier 2.
    llm.push(Reply::Status { code: 429, retry_after: Some(0) });
    llm.push(action.clone());
    assert_eq!(say(&app, "make a note that the rate limit passed").await["tier"], 2);
    llm.push(Reply::Status { code: 500, retry_after: None });
    llm.push(action.clone());
    assert_eq!(say(&app, "make a note that the server recovered").await["tier"], 2);
    assert_eq!(llm.calls(), 4);

    // Garbage, truncated JSON, wrong types and a timeout: counted, and the
    // request goes to the operator (the deep tier is not configured).
    for (reply, outcome) in [
        (Reply::Garbage("<html>gateway</html>".into()), "invalid_output"),
        (Reply::Truncated("{\"kind\": \"action\", \"confid".into()), "invalid_output"),
        (Reply::json(json!({"kind": "action", "confidence": "very"})), "invalid_output"),
        (Reply::Delay(Duration::from_secs(3), Box::new(action.clone())), "timeout"),
    ] {
        llm.push(reply);
        let o = say(&app, "jot down that the faults were handled").await;
        assert_eq!(
            (o["kind"].as_str(), o["intent_state"].as_str()),
            (Some("intent"), Some("needs_attention")),
            "{outcome}: {o}"
        );
        assert!(o["text"].as_str().unwrap().contains("no deep model is configured"), "{o}");
        let ledger = costs(&app).await;
        let failed: i64 =
            ledger["by_day"].as_array().unwrap().iter().map(|l| l["failed_calls"].as_i64().unwrap()).sum();
        assert!(failed >= 1, "{outcome} is counted: {ledger}");
    }
    let metrics = app.get("/metrics").send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("steward_model_calls_total{tier=\"2\",outcome=\"invalid_output\"} 3"), "{metrics}");
    assert!(metrics.contains("steward_model_calls_total{tier=\"2\",outcome=\"timeout\"} 1"), "{metrics}");
    app.stop().await;
}

#[tokio::test]
async fn without_a_model_a_request_waits_for_the_operator_and_says_why() {
    let app = TestApp::spawn().await;
    let o = say(&app, "send the quarterly numbers to the accountant").await;
    assert_eq!((o["kind"].as_str(), o["intent_state"].as_str()), (Some("intent"), Some("needs_attention")), "{o}");
    let text = o["text"].as_str().unwrap();
    assert!(text.contains("no fast model is configured") && text.contains("llm.fast.base_url"), "{text}");
    // Not an error, and the operator is told through the outbox.
    let i = app.intent(o["intent_id"].as_str().unwrap()).await;
    assert!(i["audit"].to_string().contains("no fast model"), "{i}");
    // A question with no answer in memory and no model is no to-do: it is
    // told so, and nothing waits for the operator.
    let q = say(&app, "what did the lawyer say about the lease?").await;
    assert_eq!(q["kind"], "reply", "{q}");
    assert!(q["text"].as_str().unwrap().starts_with("I don't know"), "{q}");
    assert_eq!(app.count("SELECT COUNT(*) FROM intents").await, 1, "only the request to act is an intent");
    app.stop().await;
}

#[tokio::test]
async fn a_spent_budget_skips_the_models() {
    let llm = ScriptedLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    let text = steward::policy::DEFAULT.replace("model_spend_per_day = 5.0", "model_spend_per_day = 0.001");
    std::fs::write(&policy, text).unwrap();
    let app = TestApp::spawn_in(dir, |c| {
        with_models(c, &llm);
        c.policy.path = Some(policy);
        // Priced so one call spends the day's budget.
        c.llm.prices.insert(
            "scripted".into(),
            steward::config::Price { input_per_mtok: 100.0, output_per_mtok: 100.0, cached_input_per_mtok: None },
        );
    })
    .await;
    llm.push(Reply::json(json!({"kind": "action", "confidence": 0.9, "summary": "n", "step": note_step("first")})));
    assert_eq!(say(&app, "make a note that this is the first").await["tier"], 2);
    let ledger = costs(&app).await;
    assert!(ledger["spent_today_usd"].as_f64().unwrap() >= 0.001, "{ledger}");
    let o = say(&app, "make a note that this is the second").await;
    assert_eq!(o["intent_state"], "needs_attention", "{o}");
    assert!(o["text"].as_str().unwrap().contains("budget is spent"), "{o}");
    assert_eq!(llm.calls(), 1, "no call past the budget");
    app.stop().await;
}

#[tokio::test]
async fn a_redelivered_message_is_answered_from_the_inbox_without_reasoning_again() {
    let llm = ScriptedLlm::start().await;
    let app = TestApp::spawn_with(|c| {
        with_models(c, &llm);
        c.http.bridge_actors = vec!["slack:U1".into()];
    })
    .await;
    llm.push(Reply::json(json!({"kind": "action", "confidence": 0.9, "summary": "n", "step": note_step("once")})));
    let first = say_as(&app, "make a note that this happens once", None, Some("update-41")).await;
    let again = say_as(&app, "make a note that this happens once", None, Some("update-41")).await;
    assert_eq!(again["kind"], "duplicate");
    assert_eq!(again["intent_id"], first["intent_id"]);
    assert_eq!(llm.calls(), 1);
    // Guarantee: a replay is bound to who sent what. The same key with
    // another body, or from another identity, is a conflict: never the
    // first sender's answer.
    let reuse = |body: Value| app.post("/v1/messages").header("Idempotency-Key", "update-41").json(&body).send();
    let other_text = reuse(json!({"text": "make a note that something else happens"})).await.unwrap();
    assert_eq!(other_text.status(), 409);
    let other_actor = reuse(json!({"text": "make a note that this happens once", "actor": "slack:U1"})).await.unwrap();
    assert_eq!(other_actor.status(), 409);
    assert!(!other_actor.text().await.unwrap().contains(first["intent_id"].as_str().unwrap()));
    assert_eq!(llm.calls(), 1);
    let remembered = say_as(&app, "remember that the door code is 4711", None, Some("update-42")).await;
    let twice = say_as(&app, "remember that the door code is 4711", None, Some("update-42")).await;
    assert_eq!((remembered["kind"].as_str(), twice["kind"].as_str()), (Some("reply"), Some("duplicate")));
    let found: Value = app
        .post("/v1/memory/search")
        .json(&json!({"query": "door code 4711"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["items"].as_array().unwrap().iter().filter(|h| h["kind"] == "note").count(), 1, "{found}");
    app.stop().await;
}

#[tokio::test]
async fn an_idle_server_makes_no_model_calls() {
    let llm = ScriptedLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, steward::policy::DEFAULT).unwrap();
    let app = TestApp::spawn_in(dir, |c| {
        with_models(c, &llm);
        c.policy.path = Some(policy);
        c.policy.reload_secs = 1;
        // A digest every second: its schedule fires, builds, queues.
        c.schedules.push(steward::config::ScheduleConfig {
            name: "every-second".into(),
            cron: "* * * * * *".into(),
            timezone: "UTC".into(),
            destination: "log:digest".into(),
            when_empty: steward::config::WhenEmpty::OneLine,
        });
    })
    .await;
    // Several periods of every timer the server has: the schedule's, the
    // runner's and the outbox's rounds, approval expiry and re-pings, the
    // policy reload, the memory indexer.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let store = steward::store::Store::open(&app.dir.path().join("steward.db"), &Default::default()).await.unwrap();
    let fired: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM schedule_runs").fetch_one(store.reader()).await.unwrap();
    assert!(fired >= 3, "the schedule fired {fired} times");
    assert_eq!(llm.calls(), 0);
    assert_eq!(costs(&app).await["calls"], 0);
    app.stop().await;
}

#[tokio::test]
async fn a_malformed_role_file_is_refused_with_the_file_and_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let prompts = dir.path().join("prompts");
    std::fs::create_dir(&prompts).unwrap();
    for (name, text) in [("planner", "+++\nname = \"planner\"\ntier = \"deep\"\n+++\nPlan."), ("qa", "no front matter")]
    {
        std::fs::write(prompts.join(format!("{name}.md")), text).unwrap();
    }
    std::fs::write(dir.path().join("steward.toml"), format!("[reasoning]\nprompts_dir = \"{}\"\n", prompts.display()))
        .unwrap();
    let out = helpers::run_in(dir.path(), &["agents", "list"]);
    assert_eq!(out.status.code(), Some(2));
    let err = helpers::stderr(&out);
    assert!(err.contains("planner.md") && err.contains("timeout_secs"), "{err}");

    let empty = tempfile::tempdir().unwrap();
    let ok = helpers::run_in(empty.path(), &["agents", "list", "--json"]);
    let roles: Value = serde_json::from_slice(&ok.stdout).unwrap();
    let planner = roles.as_array().unwrap().iter().find(|r| r["name"] == "planner").unwrap();
    assert_eq!(planner["version"], version("planner"));
}

/// Guarantee: the cost ledger tells the truth. A model call that outlasts
/// its HTTP request (answered 202 before the model is done) still costs
/// money, so it still leaves its ledger row.
#[tokio::test]
async fn a_model_call_cut_off_by_the_request_timeout_is_still_recorded() {
    let llm = ScriptedLlm::start().await;
    let app = TestApp::spawn_with(|c| {
        with_models(c, &llm);
        c.http.request_timeout_secs = 1;
    })
    .await;
    let slow = Reply::json(json!({"kind": "action", "confidence": 0.9, "summary": "n", "step": note_step("late")}));
    llm.push(Reply::Delay(Duration::from_millis(2_500), Box::new(slow)));
    let r = app.post("/v1/messages").json(&json!({"text": "make a note that this is slow"})).send().await.unwrap();
    assert_eq!(r.status(), 202, "the request answered before the model did, and the work went on");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let calls = costs(&app).await["calls"].as_i64().unwrap_or(0);
        if calls == 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the cut-off call left no ledger row");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.stop().await;
}
