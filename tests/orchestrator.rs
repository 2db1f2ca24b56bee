//! The orchestrator end to end: the real server, webhook steps against a
//! real HTTP receiver on loopback.

mod helpers;
#[path = "support/receiver.rs"]
mod receiver;

use std::time::{Duration, Instant};

use helpers::TestApp;
use receiver::{Faults, Receiver};
use serde_json::{Value, json};

async fn app_for(recv: &Receiver) -> TestApp {
    let notify = format!("webhook:{}", recv.url("/notify"));
    TestApp::spawn_with(move |c| {
        c.adapters.webhook.timeout_ms = 300;
        c.adapters.webhook.retry.initial_ms = 10;
        c.adapters.webhook.retry.max_ms = 40;
        c.adapters.webhook.retry.max_attempts = 50;
        c.notify.operator = vec![notify];
        helpers::trust_loopback(c);
    })
    .await
}

async fn submit(app: &TestApp, steps: Vec<Value>, extra: Value) -> String {
    let mut body = json!({"text": "do the thing", "plan": {"steps": steps}});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let res = app.post("/v1/intents").json(&body).send().await.unwrap();
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

fn key(id: &str, seq: u32) -> String {
    format!("steward-{id}-{seq}")
}

fn actions(intent: &Value) -> Vec<String> {
    intent["audit"].as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn steps_run_in_order_once_each_with_their_keys() {
    let recv = Receiver::start(Faults::default(), 1).await;
    let app = app_for(&recv).await;
    let id = submit(&app, vec![recv.step(false), recv.step(false), recv.step(false)], json!({})).await;
    let intent = app.wait_for(&id, "succeeded").await;
    let tally = recv.tally();
    for seq in 0..3 {
        assert_eq!(tally.deliveries.get(&key(&id, seq)), Some(&1), "step {seq} delivered once");
    }
    assert_eq!(
        actions(&intent),
        [
            "intent.created",
            "intent.judged",
            "intent.state",
            "step.succeeded",
            "step.succeeded",
            "step.succeeded",
            "intent.state"
        ]
    );
    assert!(intent["steps"].as_array().unwrap().iter().all(|s| s["state"] == "succeeded"));
    app.stop().await;
}

#[tokio::test]
async fn a_step_that_fails_for_good_compensates_completed_steps_in_reverse() {
    let recv = Receiver::start(Faults::default(), 2).await;
    let app = app_for(&recv).await;
    let id = submit(&app, vec![recv.step(false), recv.step(false), recv.step(true)], json!({})).await;
    let intent = app.wait_for(&id, "compensated").await;
    let tally = recv.tally();
    assert_eq!(tally.undo_order, [format!("{}-compensate", key(&id, 1)), format!("{}-compensate", key(&id, 0))]);
    let states: Vec<_> = intent["steps"].as_array().unwrap().iter().map(|s| s["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["compensated", "compensated", "failed"]);
    assert_eq!(tally.deliveries.get(&key(&id, 2)), None, "a refused step is not counted as applied");
    app.stop().await;
}

#[tokio::test]
async fn transient_faults_and_rate_limits_are_retried_with_the_same_key() {
    let faults = Faults { server_error: 0.3, rate_limited: 0.3, hang_after_apply: 0.1, hang: Duration::from_secs(2) };
    let recv = Receiver::start(faults, 3).await;
    let app = app_for(&recv).await;
    let mut ids = vec![];
    for _ in 0..8 {
        ids.push(submit(&app, vec![recv.step(false), recv.step(false), recv.step(false)], json!({})).await);
    }
    for id in &ids {
        app.wait_for(id, "succeeded").await;
    }
    let tally = recv.tally();
    assert_eq!(tally.applied.len(), 24);
    assert_eq!(tally.resent_after_applied, 0, "an applied effect is never sent again");
    assert!(tally.deliveries.values().any(|n| *n > 1), "some deliveries were retried");
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(!metrics.contains("steward_step_retries_total 0"), "{metrics}");
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_outcome_needs_the_operator_and_is_never_resent_blindly() {
    let recv = Receiver::start(Faults::default(), 4).await;
    let app = app_for(&recv).await;
    let mut blackhole = recv.step_to("/hook/blackhole");
    blackhole["args"].as_object_mut().unwrap().remove("status_url");
    let id = submit(&app, vec![recv.step(false), blackhole], json!({})).await;
    let intent = app.wait_for(&id, "needs_attention").await;
    assert_eq!(intent["steps"][1]["state"], "unknown");
    assert!(actions(&intent).contains(&"step.unknown".to_owned()));
    // The operator is told, through the outbox, on the configured webhook.
    let deadline = Instant::now() + Duration::from_secs(10);
    while recv.tally().notices.is_empty() {
        assert!(Instant::now() < deadline, "the operator was never notified");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let notice = &recv.tally().notices[0];
    assert_eq!(notice["kind"], "needs_attention");
    assert_eq!(notice["intent_id"], id.as_str());
    // Nothing was resent on its own; the operator cancels and step 0 is undone.
    let res: Value = app.post(&format!("/v1/intents/{id}/cancel")).send().await.unwrap().json().await.unwrap();
    assert_eq!(res["state"], "compensating");
    app.wait_for(&id, "compensated").await;
    assert_eq!(recv.tally().undo_order, [format!("{}-compensate", key(&id, 0))]);
    app.stop().await;
}

#[tokio::test]
async fn cancelling_a_running_intent_undoes_what_ran_and_deadlines_are_honoured() {
    let recv = Receiver::start(Faults::default(), 5).await;
    let app = app_for(&recv).await;
    let id = submit(&app, vec![recv.step(false), recv.step_to("/hook/unavailable")], json!({})).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !recv.tally().applied.contains_key(&key(&id, 0)) {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let res = app.post(&format!("/v1/intents/{id}/cancel")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let intent = app.wait_for(&id, "compensated").await;
    assert_eq!(intent["steps"][0]["state"], "compensated");
    let again = app.post(&format!("/v1/intents/{id}/cancel")).send().await.unwrap();
    assert_eq!(again.status(), 409, "a finished intent cannot be cancelled");

    // A plan cannot make a step fail at once: a `within_secs` under the
    // minimum is refused when the plan is checked.
    let mut instant = recv.step_to("/hook/unavailable");
    instant["within_secs"] = json!(0);
    let body = json!({"text": "undo yourself", "plan": {"steps": [recv.step(false), instant]}});
    let refused = app.post("/v1/intents").json(&body).send().await.unwrap();
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("within_secs"));

    // A step that must succeed within 5 s (the minimum) fails for good after
    // it, and its intent unwinds; an intent deadline does the same for the
    // whole intent.
    let mut slow = recv.step_to("/hook/unavailable");
    slow["within_secs"] = json!(5);
    let by_step = submit(&app, vec![recv.step(false), slow], json!({})).await;
    let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(800)).to_rfc3339();
    let by_intent =
        submit(&app, vec![recv.step(false), recv.step_to("/hook/unavailable")], json!({"deadline": soon})).await;
    app.wait_for(&by_step, "compensated").await;
    let expired = app.wait_for(&by_intent, "compensated").await;
    assert!(expired["audit"].to_string().contains("deadline passed"), "{expired:#}");
    app.stop().await;
}
