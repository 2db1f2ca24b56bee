//! Saved workflows against a running server: a run over the API is an
//! intent that calls a real HTTP receiver; a retry with the same key starts
//! nothing new; `/run` from chat; a cron period runs once across a restart,
//! with steward's clock driven by the test.

mod helpers;
#[path = "support/receiver.rs"]
mod receiver;

use std::path::Path;

use helpers::TestApp;
use receiver::{Faults, Receiver};
use serde_json::{Value, json};
use steward::domain::{Clock, ManualClock, SharedClock, SystemClock};

/// Every webhook runs unattended here: the tests are about workflows.
const POLICY: &str = r#"
default_risk = "low"
[levels.low]
mode = "auto"
[levels.medium]
mode = "auto"
[levels.high]
mode = "auto"
"#;

fn partner(recv: &Receiver) -> String {
    format!(
        r#"
name = "notify-partner"
description = "Tells a partner's system about a new client"

[params.company]
type = "string"
[params.tier]
type = "string"
default = "standard"

[[triggers]]
kind = "command"

[[steps]]
id = "call"
action = "webhook.call"
args = {{ url = "{}", body = {{ company = "{{{{ params.company }}}}", tier = "{{{{ params.tier }}}}" }} }}
"#,
        recv.url("/hook/ok")
    )
}

fn weekly(recv: &Receiver) -> String {
    format!(
        r#"
name = "weekly-sync"
description = "Every Monday at 09:00 Berlin time"

[[triggers]]
kind = "cron"
cron = "0 9 * * 1"
timezone = "Europe/Berlin"

[[steps]]
action = "webhook.call"
args = {{ url = "{}", body = {{ period = "{{{{ trigger.period }}}}" }} }}
"#,
        recv.url("/hook/ok")
    )
}

async fn start(dir: tempfile::TempDir, clock: SharedClock, files: &[(&str, String)]) -> TestApp {
    start_with(dir, clock, files, |_| {}).await
}

/// A server with these workflow files, the all-auto policy, and `adjust`.
async fn start_with(
    dir: tempfile::TempDir,
    clock: SharedClock,
    files: &[(&str, String)],
    adjust: impl FnOnce(&mut steward::config::Config),
) -> TestApp {
    let flows = dir.path().join("workflows");
    std::fs::create_dir_all(&flows).unwrap();
    for (name, text) in files {
        std::fs::write(flows.join(name), text).unwrap();
    }
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, POLICY).unwrap();
    TestApp::spawn_clocked(dir, clock, move |c| {
        c.workflows.dir = flows;
        c.policy.path = Some(policy);
        c.adapters.webhook.retry.initial_ms = 10;
        adjust(c);
    })
    .await
}

async fn run(app: &TestApp, name: &str, key: &str, args: Value) -> reqwest::Response {
    app.post(&format!("/v1/workflows/{name}/runs"))
        .header("idempotency-key", key)
        .json(&json!({"args": args}))
        .send()
        .await
        .unwrap()
}

fn db(app: &TestApp) -> std::path::PathBuf {
    app.dir.path().join("steward.db")
}

#[tokio::test]
async fn a_run_over_the_api_is_an_intent_and_a_retried_key_starts_nothing_new() {
    let recv = Receiver::start(Faults::default(), 1).await;
    let app = start(tempfile::tempdir().unwrap(), SystemClock::shared(), &[("partner.toml", partner(&recv))]).await;
    let listed: Value = app.get("/v1/workflows").send().await.unwrap().json().await.unwrap();
    assert_eq!(listed[0]["name"], "notify-partner");
    assert_eq!(listed[0]["params"][0]["required"], true);

    let res = run(&app, "notify-partner", "k-1", json!({"company": "Acme"})).await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    let id = body["intent_id"].as_str().unwrap().to_owned();
    let done = app.wait_for(&id, "succeeded").await;
    assert_eq!(done["steps"][0]["args"]["body"], json!({"company": "Acme", "tier": "standard"}));
    assert_eq!(recv.tally().deliveries.get(&format!("steward-{id}-0")), Some(&1));

    let again = run(&app, "notify-partner", "k-1", json!({"company": "Acme"})).await;
    assert_eq!(again.status(), 200, "a retried key is the same run");
    assert_eq!(again.json::<Value>().await.unwrap()["intent_id"], id.as_str());
    assert_eq!(run(&app, "notify-partner", "k-1", json!({"company": "Initech"})).await.status(), 409);
    let bad = run(&app, "notify-partner", "k-2", json!({"compnay": "Acme"})).await;
    assert_eq!(bad.status(), 422);
    let why = bad.text().await.unwrap();
    assert!(why.contains("`compnay` is no parameter") && why.contains("`company` (string) is required"), "{why}");
    assert_eq!(run(&app, "no-such-flow", "k-3", json!({})).await.status(), 404);
    assert_eq!(app.count("SELECT COUNT(*) FROM intents").await, 1, "one run, one intent");
    let runs =
        app.count("SELECT COUNT(*) FROM workflow_runs WHERE workflow = 'notify-partner' AND version != ''").await;
    assert_eq!(runs, 1);
    app.stop().await;
}

#[tokio::test]
async fn the_operator_starts_a_workflow_from_chat_once_per_message() {
    let recv = Receiver::start(Faults::default(), 2).await;
    let app = start(tempfile::tempdir().unwrap(), SystemClock::shared(), &[("partner.toml", partner(&recv))]).await;
    let say = |key: &'static str, text: &'static str| {
        app.post("/v1/messages").header("idempotency-key", key).json(&json!({"text": text})).send()
    };
    let reply: Value =
        say("m-1", r#"/run notify-partner company="Acme Ltd" tier=gold"#).await.unwrap().json().await.unwrap();
    let text = reply["text"].as_str().unwrap();
    assert!(text.starts_with("Started workflow notify-partner as intent "), "{reply}");
    let id = text.trim_end_matches('.').rsplit(' ').next().unwrap().to_owned();
    let done = app.wait_for(&id, "succeeded").await;
    assert_eq!(done["steps"][0]["args"]["body"], json!({"company": "Acme Ltd", "tier": "gold"}));
    // The same message delivered again starts nothing new.
    let replayed: Value =
        say("m-1", r#"/run notify-partner company="Acme Ltd" tier=gold"#).await.unwrap().json().await.unwrap();
    assert!(replayed["text"].as_str().unwrap().contains(&id), "{replayed}");
    let missing: Value = say("m-2", "/run notify-partner").await.unwrap().json().await.unwrap();
    assert!(missing["text"].as_str().unwrap().contains("`company` (string) is required"), "{missing}");
    let listed: Value = say("m-3", "/workflows").await.unwrap().json().await.unwrap();
    assert!(listed["text"].as_str().unwrap().contains("notify-partner (company, [tier])"), "{listed}");
    assert_eq!(app.count("SELECT COUNT(*) FROM intents").await, 1);
    assert_eq!(recv.tally().deliveries.len(), 1);
    app.stop().await;
}

async fn wait_for_runs(db: &Path, n: i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while helpers::count_in(db, "SELECT COUNT(*) FROM workflow_runs").await < n {
        assert!(std::time::Instant::now() < deadline, "{n} runs never came");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_cron_period_runs_once_across_a_restart() {
    let recv = Receiver::start(Faults::default(), 3).await;
    let at = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap().timestamp_millis();
    // Sunday: the workflow is first seen; nothing from before is due.
    let clock = ManualClock::at(at("2026-11-29T12:00:00Z"));
    let files = [("weekly.toml", weekly(&recv))];
    let app = start(tempfile::tempdir().unwrap(), clock.clone() as SharedClock, &files).await;
    let db = db(&app);
    // The scheduler has seen the workflow on Sunday before the clock moves.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while helpers::count_in(&db, "SELECT COUNT(*) FROM workflow_state").await < 1 {
        assert!(std::time::Instant::now() < deadline, "the scheduler never ticked");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Monday 09:00 in Berlin is 08:00 UTC.
    clock.set(at("2026-11-30T08:00:10Z"));
    wait_for_runs(&db, 1).await;
    let id: String = {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", db.display())).await.unwrap();
        sqlx::query_scalar("SELECT intent_id FROM workflow_runs").fetch_one(&mut c).await.unwrap()
    };
    let done = app.wait_for(&id, "succeeded").await;
    assert_eq!(done["steps"][0]["args"]["body"]["period"], "2026-11-30T08:00:00+00:00");
    let dir = app.stop_keeping_data().await;

    // Restarted within the same period: it is taken. The next Monday runs,
    // which shows the scheduler ticked after the restart.
    clock.set(at("2026-11-30T08:05:00Z"));
    let app = start(dir, clock.clone() as SharedClock, &files).await;
    clock.set(at("2026-12-07T08:00:10Z"));
    wait_for_runs(&db, 2).await;
    let periods: Vec<(String, bool)> = {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", db.display())).await.unwrap();
        sqlx::query_as("SELECT key, catch_up FROM workflow_runs ORDER BY period_at").fetch_all(&mut c).await.unwrap()
    };
    assert_eq!(
        periods,
        [
            ("cron:weekly-sync:cron:2026-11-30T09:00:00".to_owned(), false),
            ("cron:weekly-sync:cron:2026-12-07T09:00:00".to_owned(), false)
        ]
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while recv.tally().deliveries.len() < 2 {
        assert!(std::time::Instant::now() < deadline, "the second period never ran");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(recv.tally().deliveries.values().all(|n| *n == 1), "each period's effect once");
    app.stop().await;
}

fn payment_failed(recv: &Receiver) -> String {
    format!(
        r#"
name = "payment-failed"
description = "Stripe says a payment failed: tell billing"

[params.customer]
type = "email"

[[triggers]]
kind = "webhook"
scheme = "stripe"
secret = "stripe_hook"
args = {{ customer = "{{{{ trigger.body.data.object.customer_email }}}}" }}

[[steps]]
action = "webhook.call"
args = {{ url = "{}", body = {{ customer = "{{{{ params.customer }}}}", event = "{{{{ trigger.delivery }}}}" }} }}
"#,
        recv.url("/hook/ok")
    )
}

fn stripe_signature(secret: &str, t: i64, body: &str) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn a_signed_webhook_starts_one_run_and_a_bad_signature_starts_nothing() {
    let recv = Receiver::start(Faults::default(), 4).await;
    let files = [("payment.toml", payment_failed(&recv))];
    let app = start_with(tempfile::tempdir().unwrap(), SystemClock::shared(), &files, |c| {
        c.secrets.insert("stripe_hook".into(), "whsec_test".to_owned().into());
    })
    .await;
    let body = r#"{"id":"evt_1","type":"invoice.payment_failed","data":{"object":{"customer_email":"ana@acme.io"}}}"#;
    let now = chrono::Utc::now().timestamp();
    let deliver = |signature: Option<String>, body: &'static str| {
        let mut req = reqwest::Client::new().post(app.url("/hooks/payment-failed")).body(body);
        if let Some(s) = signature {
            req = req.header("stripe-signature", s);
        }
        req.send()
    };
    let res = deliver(Some(stripe_signature("whsec_test", now, body)), body).await.unwrap();
    assert_eq!(res.status(), 202);
    let id = res.json::<Value>().await.unwrap()["intent_id"].as_str().unwrap().to_owned();
    let done = app.wait_for(&id, "succeeded").await;
    assert_eq!(done["steps"][0]["args"]["body"], json!({"customer": "ana@acme.io", "event": "evt_1"}));
    // Stripe delivers it again, signed anew: the same run.
    let again = deliver(Some(stripe_signature("whsec_test", now + 5, body)), body).await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["intent_id"], id.as_str());
    // Forged, unsigned, stale: 401, and nothing starts.
    let forged = r#"{"id":"evt_2","type":"invoice.payment_failed","data":{"object":{"customer_email":"eve@evil.io"}}}"#;
    for signature in [
        Some(stripe_signature("not-the-secret", now, forged)),
        None,
        Some(stripe_signature("whsec_test", now - 3600, forged)),
    ] {
        let res = deliver(signature, forged).await.unwrap();
        assert_eq!(res.status(), 401);
        assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "bad_signature");
    }
    let none = reqwest::Client::new().post(app.url("/hooks/notify-partner")).body("{}").send().await.unwrap();
    assert_eq!(none.status(), 404);
    assert_eq!(app.count("SELECT COUNT(*) FROM intents").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM workflow_runs").await, 1);
    assert_eq!(recv.tally().deliveries.len(), 1);
    app.stop().await;
}

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
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let said = |t: &receiver::Tally| t.notices.iter().filter(|n| n.to_string().contains("Invoices sent: 12.")).count();
    while said(&recv.tally()) == 0 {
        assert!(std::time::Instant::now() < deadline, "the operator was never told");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
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
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while recv.tally().deliveries.get(&format!("steward-{id}-0")).is_none() {
        assert!(std::time::Instant::now() < deadline, "the welcome never went");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
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
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while recv.tally().deliveries.get(&format!("steward-{id}-0")).is_none() {
        assert!(std::time::Instant::now() < deadline, "the welcome never went");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // Killed while the follow-up waits.
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
