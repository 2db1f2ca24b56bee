//! Saved workflows against a running server, by what their steps do: a
//! `notify` message once, a `wait` held on steward's clock and across a
//! kill, and `for_each` child runs, each effect once.

#[path = "support/flows.rs"]
mod flows;
mod helpers;
#[path = "support/receiver.rs"]
mod receiver;

use flows::{POLICY, run, start, start_with, until};
use receiver::{Faults, Receiver};
use serde_json::{Value, json};
use steward::domain::{Clock, ManualClock, SharedClock, SystemClock};

#[tokio::test]
async fn a_notify_step_tells_the_operator_once() {
    let recv = Receiver::start(Faults::default(), 5).await;
    let flow = r#"
name = "invoices-done"
description = "Says the invoice run is done"
[params.count]
type = "number"
[[triggers]]
kind = "command"
[[steps]]
action = "notify.send"
args = { text = "Invoices sent: {{ params.count }}." }
"#;
    let operator = format!("webhook:{}", recv.url("/notify"));
    let app = start_with(tempfile::tempdir().unwrap(), SystemClock::shared(), &[("done.toml", flow.into())], |c| {
        c.notify.operator = vec![operator];
    })
    .await;
    let res = run(&app, "invoices-done", "n-1", json!({"count": 12})).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["intent_id"].as_str().unwrap().to_owned();
    app.wait_for(&id, "succeeded").await;
    let said = |t: &receiver::Tally| t.notices.iter().filter(|n| n.to_string().contains("Invoices sent: 12.")).count();
    until("the operator's notice", || async { said(&recv.tally()) > 0 }).await;
    assert_eq!(said(&recv.tally()), 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE dedup_key LIKE 'steward-%'").await, 1);
    app.stop().await;
}

fn onboarding(recv: &Receiver, wait: &str) -> String {
    format!(
        r#"
name = "onboard"
description = "Welcome now, follow up later"
[[triggers]]
kind = "command"
[[steps]]
id = "welcome"
action = "webhook.call"
args = {{ url = "{url}", body = {{ say = "welcome" }} }}
[[steps]]
wait = "{wait}"
[[steps]]
id = "follow-up"
action = "webhook.call"
args = {{ url = "{url}", body = {{ say = "how is it going?" }} }}
"#,
        url = recv.url("/hook/ok")
    )
}

#[tokio::test]
async fn a_wait_holds_the_next_step_until_the_clock_passes_it() {
    let recv = Receiver::start(Faults::default(), 6).await;
    let clock = ManualClock::at(chrono::Utc::now().timestamp_millis());
    let app =
        start(tempfile::tempdir().unwrap(), clock.clone() as SharedClock, &[("onboard.toml", onboarding(&recv, "3d"))])
            .await;
    let id = run(&app, "onboard", "o-1", json!({})).await.json::<Value>().await.unwrap()["intent_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The welcome's outcome commits, and with it the follow-up's timer.
    until("the follow-up's timer", || async { app.intent(&id).await["steps"][1]["next_attempt_at"].is_i64() }).await;
    assert_eq!(recv.tally().deliveries.get(&format!("steward-{id}-0")), Some(&1));
    let waiting = app.intent(&id).await;
    assert_eq!(waiting["state"], "running", "{waiting}");
    assert_eq!(waiting["steps"][1]["state"], "pending");
    assert_eq!(waiting["steps"][1]["wait_secs"], 259_200);
    let timer = waiting["steps"][1]["next_attempt_at"].as_i64().unwrap();
    assert!(timer >= clock.now() + 259_200_000 - 60_000, "the follow-up is a timer three days out");
    clock.advance(std::time::Duration::from_secs(3 * 86_400));
    app.wait_for(&id, "succeeded").await;
    assert_eq!(recv.tally().deliveries.get(&format!("steward-{id}-1")), Some(&1));
    app.stop().await;
}

/// Guarantee: a wait survives the process being killed, and what follows
/// it runs once.
#[tokio::test]
async fn a_wait_across_a_kill_resumes_and_runs_once() {
    let recv = Receiver::start(Faults::default(), 7).await;
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path().join("workflows");
    std::fs::create_dir_all(&flows).unwrap();
    std::fs::write(flows.join("onboard.toml"), onboarding(&recv, "2s")).unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, POLICY).unwrap();
    let (flows, policy) = (flows.display().to_string(), policy.display().to_string());
    let envs = [
        ("STEWARD_API_TOKEN", helpers::TOKEN),
        ("STEWARD_WORKFLOWS__DIR", flows.as_str()),
        ("STEWARD_POLICY__PATH", policy.as_str()),
    ];
    let data = dir.path().join("data");
    let serve = helpers::ServeProcess::start(&data, &envs);
    let started = serve.call("/v1/workflows/onboard/runs", json!({"args": {}})).await;
    let id = started["intent_id"].as_str().unwrap().to_owned();
    // Killed while the follow-up waits: the welcome's outcome committed,
    // the follow-up's timer armed.
    until("the follow-up's timer", || async { serve.intent(&id).await["steps"][1]["next_attempt_at"].is_i64() }).await;
    serve.signal("KILL");
    drop(serve);
    let serve = helpers::ServeProcess::start(&data, &envs);
    let done = serve.wait_for(&id, "succeeded").await;
    assert_eq!(done["steps"][1]["state"], "succeeded");
    assert_eq!(recv.tally().deliveries.get(&format!("steward-{id}-0")), Some(&1));
    assert_eq!(recv.tally().deliveries.get(&format!("steward-{id}-1")), Some(&1), "the follow-up once");
}

/// The shipped `monthly-invoices`: 50 clients, 50 child runs, each billing
/// call once with its own key.
#[tokio::test]
async fn for_each_starts_one_child_run_per_item_and_each_effect_once() {
    let recv = Receiver::start(Faults::default(), 8).await;
    let shipped =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/workflows/monthly-invoices.toml")).unwrap();
    let app = start(tempfile::tempdir().unwrap(), SystemClock::shared(), &[("monthly.toml", shipped)]).await;
    let clients: Vec<String> = (0..50).map(|i| format!("Client {i:02}")).collect();
    let res =
        run(&app, "monthly-invoices", "m-1", json!({"clients": clients, "billing_url": recv.url("/hook/ok")})).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.unwrap()["intent_id"].as_str().unwrap().to_owned();
    let parent = app.wait_for(&id, "succeeded").await;
    assert_eq!(parent["steps"][0]["action"], "fan_out");
    let children = parent["steps"][0]["result"]["children"].as_array().unwrap().clone();
    assert_eq!(children.len(), 50);
    for child in &children {
        app.wait_for(child.as_str().unwrap(), "succeeded").await;
    }
    let tally = recv.tally();
    let billed: Vec<_> =
        children.iter().map(|c| tally.deliveries.get(&format!("steward-{}-0", c.as_str().unwrap()))).collect();
    assert!(billed.iter().all(|n| *n == Some(&1)), "each client billed once: {billed:?}");
    assert_eq!(app.count("SELECT COUNT(*) FROM workflow_runs WHERE trigger = 'for_each:invoice'").await, 50);
    let first = app.intent(children[0].as_str().unwrap()).await;
    assert_eq!(first["steps"][0]["args"]["body"]["client"], "Client 00");
    app.stop().await;
}
