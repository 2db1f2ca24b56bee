//! Saved workflows against a running server, by how a run starts: over the
//! API (a retry with the same key starts nothing new), `/run` from chat, a
//! cron period across a restart (steward's clock driven by the test), and a
//! signed webhook.

#[path = "support/flows.rs"]
mod flows;
mod helpers;
#[path = "support/receiver.rs"]
mod receiver;

use flows::{db, rows, run, start, start_with, until, wait_for_runs};
use receiver::{Faults, Receiver};
use serde_json::{Value, json};
use steward::domain::{ManualClock, SharedClock, SystemClock};

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

#[tokio::test]
async fn a_run_over_the_api_is_an_intent_and_a_retried_key_starts_nothing_new() {
    let recv = Receiver::start(Faults::default(), 1).await;
    let app = start(tempfile::tempdir().unwrap(), SystemClock::shared(), &[("partner.toml", partner(&recv))]).await;
    let listed: Value = app.get("/v1/workflows").send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["items"][0]["name"], "notify-partner");
    assert_eq!(listed["items"][0]["params"][0]["required"], true);

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
    // One that only ever runs at a time (long past): not from chat.
    let once = "name = \"once\"\n[[triggers]]\nkind = \"at\"\nat = \"2020-01-01T00:00\"\n\
                [[steps]]\naction = \"note.write\"\nargs = { text = \"x\" }\n";
    let files = [("partner.toml", partner(&recv)), ("once.toml", once.to_owned())];
    let app = start(tempfile::tempdir().unwrap(), SystemClock::shared(), &files).await;
    let say = |key: &'static str, text: &'static str| {
        app.post("/v1/messages").header("idempotency-key", key).json(&json!({"text": text})).send()
    };
    let reply: Value =
        say("m-1", r#"/run notify-partner company="Acme Ltd" tier=gold"#).await.unwrap().json().await.unwrap();
    let text = reply["text"].as_str().unwrap();
    assert!(text.starts_with("Started workflow notify-partner as intent "), "{reply}");
    let id = text.trim_end_matches('.').rsplit(' ').next().unwrap().to_owned();
    assert_eq!((&reply["kind"], &reply["tier"], &reply["intent_id"]), (&json!("intent"), &json!(0), &json!(id)));
    let done = app.wait_for(&id, "succeeded").await;
    assert_eq!(done["steps"][0]["args"]["body"], json!({"company": "Acme Ltd", "tier": "gold"}));
    // The same message delivered again starts nothing new.
    let replayed: Value =
        say("m-1", r#"/run notify-partner company="Acme Ltd" tier=gold"#).await.unwrap().json().await.unwrap();
    assert!(replayed["text"].as_str().unwrap().contains(&id), "{replayed}");
    // A required argument not given is asked for; nothing starts yet.
    let missing: Value = say("m-2", "/run notify-partner").await.unwrap().json().await.unwrap();
    assert!(missing["text"].as_str().unwrap().contains("I need `company` (string)"), "{missing}");
    let listed: Value = say("m-3", "/workflows").await.unwrap().json().await.unwrap();
    assert!(listed["text"].as_str().unwrap().contains("notify-partner (company, [tier])"), "{listed}");
    let refused: Value = say("m-4", "/run once").await.unwrap().json().await.unwrap();
    assert!(refused["text"].as_str().unwrap().contains("not started from chat"), "{refused}");
    assert_eq!(app.count("SELECT COUNT(*) FROM intents").await, 1);
    assert_eq!(recv.tally().deliveries.len(), 1);
    app.stop().await;
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
    until("the scheduler's first tick", || async {
        helpers::count_in(&db, "SELECT COUNT(*) FROM workflow_state").await >= 1
    })
    .await;
    // Monday 09:00 in Berlin is 08:00 UTC.
    clock.set(at("2026-11-30T08:00:10Z"));
    wait_for_runs(&db, 1).await;
    let (id,): (String,) = rows(&db, "SELECT intent_id FROM workflow_runs").await.remove(0);
    let done = app.wait_for(&id, "succeeded").await;
    assert_eq!(done["steps"][0]["args"]["body"]["period"], "2026-11-30T08:00:00+00:00");
    let dir = app.stop_keeping_data().await;

    // Restarted within the same period: it is taken. The next Monday runs,
    // which shows the scheduler ticked after the restart.
    clock.set(at("2026-11-30T08:05:00Z"));
    let app = start(dir, clock.clone() as SharedClock, &files).await;
    clock.set(at("2026-12-07T08:00:10Z"));
    wait_for_runs(&db, 2).await;
    let periods: Vec<(String, bool)> = rows(&db, "SELECT key, catch_up FROM workflow_runs ORDER BY period_at").await;
    assert_eq!(
        periods,
        [
            ("cron:weekly-sync:cron:2026-11-30T09:00:00".to_owned(), false),
            ("cron:weekly-sync:cron:2026-12-07T09:00:00".to_owned(), false)
        ]
    );
    until("the second period's call", || async { recv.tally().deliveries.len() >= 2 }).await;
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
