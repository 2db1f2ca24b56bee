//! steward's guarantees under hostile input, against the real server and a
//! real HTTP receiver on loopback. Each test names the guarantee it holds:
//! nothing risky runs without approval, nothing panics or wedges, and the
//! API token does not lend anyone's identity.

mod helpers;
#[path = "support/receiver.rs"]
mod receiver;

use std::time::{Duration, Instant};

use helpers::{TestApp, run_in, stderr, stdout};
use receiver::{Faults, Receiver};
use serde_json::{Value, json};

async fn submit(app: &TestApp, steps: Vec<Value>) -> String {
    let body = json!({"text": "do the thing", "plan": {"steps": steps}});
    let res = app.post("/v1/intents").json(&body).send().await.unwrap();
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

fn call(url: String, extra: Value) -> Value {
    let mut args = json!({ "url": url });
    args.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    json!({"adapter": "webhook", "action": "call", "args": args})
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn unreadable_retry_after_values_fall_back_to_the_retry_policy_and_never_panic() {
    let recv = Receiver::start(Faults::default(), 1).await;
    let app = TestApp::spawn_with(|c| {
        c.adapters.webhook.retry.initial_ms = 10;
        c.adapters.webhook.retry.max_ms = 50;
        helpers::trust_loopback(c);
    })
    .await;
    let mut ids = vec![];
    for value in ["NaN", "-1", "inf", "1e999", "soon", "99999999999999999999"] {
        let path = format!("/hook/retry-after/{}", urlencode(value));
        ids.push((value, submit(&app, vec![call(recv.url(&path), json!({}))]).await));
    }
    for (value, id) in &ids {
        if *value == "99999999999999999999" {
            // Honoured, but cut to the longest wait steward accepts: the
            // step waits; it does not fail, and nothing overflows.
            let deadline = Instant::now() + Duration::from_secs(5);
            while app.intent(id).await["steps"][0]["state"] != "retry_scheduled" {
                assert!(Instant::now() < deadline, "{value}: {:#}", app.intent(id).await);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            continue;
        }
        let intent = app.wait_for(id, "succeeded").await;
        assert_eq!(intent["steps"][0]["attempts"], 2, "{value}: retried once, by the policy");
    }
    // The runner is whole: shutdown does not hang on a lost step slot.
    tokio::time::timeout(Duration::from_secs(20), app.stop()).await.expect("shutdown completes");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'.' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn a_nan_retry_after_from_a_notify_destination_does_not_stop_the_outbox() {
    let recv = Receiver::start(Faults::default(), 2).await;
    let notify = format!("webhook:{}", recv.url("/notify/retry-after/NaN"));
    let app = TestApp::spawn_with(move |c| c.notify.operator = vec![notify]).await;
    // Under the built-in policy a call to this machine waits for approval,
    // and the approval request is a notice for the operator.
    for n in 0..2 {
        let id = submit(&app, vec![call(recv.url("/hook/ok"), json!({}))]).await;
        app.wait_for(&id, "awaiting_approval").await;
        wait_until("the notice", || recv.tally().notices.len() > n).await;
    }
    assert_eq!(recv.tally().notices_refused, 2, "each notice was refused once with Retry-After: NaN");
    assert!(recv.tally().notices.iter().all(|n| n["kind"] == "approval_request"));
    app.stop().await;
}

#[tokio::test]
async fn calls_to_internal_addresses_wait_for_approval_under_the_builtin_policy() {
    let recv = Receiver::start(Faults::default(), 3).await;
    let app = TestApp::spawn().await;
    let local = submit(&app, vec![call(recv.url("/hook/ok"), json!({}))]).await;
    let shown = app.wait_for(&local, "awaiting_approval").await;
    assert_eq!(shown["risk"], "high", "{shown:#}");
    let metadata = submit(&app, vec![call("http://169.254.169.254/latest/meta-data".into(), json!({}))]).await;
    app.wait_for(&metadata, "awaiting_approval").await;
    assert!(recv.tally().deliveries.is_empty(), "nothing ran");
    app.stop().await;
}

#[tokio::test]
async fn every_destination_of_a_call_is_judged_not_only_its_url() {
    let recv = Receiver::start(Faults::default(), 4).await;
    let app = TestApp::spawn_with(helpers::trust_loopback).await;
    // The call itself goes to a listed host; its undo and its status check
    // go to the cloud metadata service. Either one holds it for approval.
    let undo = json!({"compensate": {"url": "http://169.254.169.254/latest/api/token"}});
    let status = json!({"status_url": "http://169.254.169.254/{key}"});
    for extra in [undo, status] {
        let id = submit(&app, vec![call(recv.url("/hook/ok"), extra.clone())]).await;
        let shown = app.wait_for(&id, "awaiting_approval").await;
        assert_eq!(shown["risk"], "high", "{extra}: {shown:#}");
    }
    // The same call with only listed destinations is reviewed after, as before.
    let fine = submit(&app, vec![recv.step(false)]).await;
    app.wait_for(&fine, "succeeded").await;
    assert!(recv.tally().undos.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_redirect_is_reported_not_followed() {
    let recv = Receiver::start(Faults::default(), 5).await;
    let app = TestApp::spawn_with(helpers::trust_loopback).await;
    let id = submit(&app, vec![call(recv.url("/hook/redirect"), json!({}))]).await;
    let intent = app.wait_for(&id, "failed").await;
    let error = intent["steps"][0]["error"].as_str().unwrap();
    assert!(error.contains("307") && error.contains("does not follow redirects"), "{error}");
    let key = format!("steward-{id}-0");
    assert_eq!(recv.tally().deliveries.get(&key), Some(&1), "asked once");
    assert!(recv.tally().applied.is_empty(), "the redirect target was never called");
    app.stop().await;
}

#[tokio::test]
async fn a_request_that_cannot_be_built_is_refused_when_the_plan_is_checked() {
    let app = TestApp::spawn_with(helpers::trust_loopback).await;
    let cases = [
        (json!({"headers": {"bad header": "x"}}), "header name"),
        (json!({"headers": {"X-Ok": "line\nbreak"}}), "header value"),
        (json!({"headers": {"Idempotency-Key": "mine"}}), "sets this header itself"),
        (json!({"method": "TRACE"}), "is not one of"),
    ];
    for (extra, why) in cases {
        let body = json!({"text": "x", "plan": {"steps": [call("http://127.0.0.1:9/x".into(), extra.clone())]}});
        let res = app.post("/v1/intents").json(&body).send().await.unwrap();
        assert_eq!(res.status(), 422, "{extra}");
        let text = res.text().await.unwrap();
        assert!(text.contains(why), "{extra}: {text}");
    }
    let listed: Value = app.get("/v1/intents").send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(0), "nothing was created: {listed}");
    app.stop().await;
}

#[tokio::test]
async fn the_api_token_cannot_speak_as_an_approver_or_an_unlisted_identity() {
    let app = TestApp::spawn_with(|c| {
        c.approvals.approvers = vec!["telegram:42".into()];
        c.http.bridge_actors = vec!["slack:U7".into(), "telegram:42".into()];
    })
    .await;
    let say = |actor: &str| {
        app.post("/v1/messages").json(&json!({"text": "remember that the safe code is 1234", "actor": actor})).send()
    };
    for refused in ["telegram:42", "discord:9"] {
        let res = say(refused).await.unwrap();
        assert_eq!(res.status(), 403, "{refused}");
        assert!(res.text().await.unwrap().contains("bridge_actors"));
    }
    let found = app.call("/v1/memory/search", json!({"query": "safe code"})).await;
    assert!(!found.to_string().contains("1234"), "a refused actor changed nothing: {found}");
    // A listed bridge identity speaks as a collaborator: it may not act.
    let bridged: Value = say("slack:U7").await.unwrap().json().await.unwrap();
    assert_eq!(bridged["kind"], "reply", "{bridged}");
    assert!(bridged["intent_id"].is_null());
    app.stop().await;
}

#[test]
fn policy_check_refuses_names_no_adapter_has() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.toml");
    let text = steward::policy::DEFAULT.replace(
        "name = \"webhooks change things elsewhere\"\nadapter = \"webhook\"",
        "name = \"webhooks change things elsewhere\"\nadapter = \"webhok\"",
    );
    std::fs::write(&file, &text).unwrap();
    let out = run_in(dir.path(), &["policy", "check", file.to_str().unwrap()]);
    assert_ne!(out.status.code(), Some(0), "{}", stdout(&out));
    let line = text.lines().position(|l| l.contains("webhok")).unwrap() + 1;
    let err = stderr(&out);
    assert!(err.contains(&format!("line {line}")) && err.contains("no adapter `webhok`"), "{err}");
}

/// Guarantee: someone other than the operator cannot flood steward. Past
/// the limit they get one polite refusal (audited), then nothing; the
/// operator is never limited.
#[tokio::test]
async fn people_other_than_the_operator_are_rate_limited_with_one_refusal() {
    let app = TestApp::spawn_with(|c| {
        c.http.bridge_actors = vec!["slack:U9".into()];
        c.reasoning.messages_per_minute = 5;
    })
    .await;
    let say =
        |actor: Option<&str>| app.post("/v1/messages").json(&json!({"text": "hello there", "actor": actor})).send();
    for _ in 0..5 {
        assert_eq!(say(Some("slack:U9")).await.unwrap().status(), 200);
    }
    let refused = say(Some("slack:U9")).await.unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.text().await.unwrap().contains("faster than I can take them"));
    let again = say(Some("slack:U9")).await.unwrap();
    assert_eq!(again.status(), 429);
    assert!(!again.text().await.unwrap().contains("faster than I can take them"), "told once per burst");
    for _ in 0..10 {
        assert_eq!(say(None).await.unwrap().status(), 200, "the operator is never limited");
    }
    let limited = app.count("SELECT COUNT(*) FROM audit WHERE action = 'rate.limited'").await;
    assert_eq!(limited, 1, "the refusal is audited once");
    app.stop().await;
}

/// Guarantee: secrets stay secret. A plan names a secret; the value goes
/// into the request when the step runs and nowhere else: not the intent,
/// its audit trail, the outbox, the database. A credential written into a
/// plan is refused, with how to name one instead.
#[tokio::test]
async fn a_plan_names_secrets_and_never_holds_their_values() {
    let recv = Receiver::start(Faults::default(), 6).await;
    let app = TestApp::spawn_with(|c| {
        helpers::trust_loopback(c);
        c.secrets.insert("receiver".into(), "s3cr3t-v4lue-77".to_owned().into());
    })
    .await;
    let named = json!({"headers": {"Authorization": {"$secret": "receiver", "prefix": "Bearer "}}});
    let id = submit(&app, vec![call(recv.url("/hook/ok"), named)]).await;
    let shown = app.wait_for(&id, "succeeded").await;
    assert_eq!(recv.tally().authorization, ["Bearer s3cr3t-v4lue-77"], "the value was sent");
    assert!(!shown.to_string().contains("s3cr3t"), "{shown:#}");

    for (extra, why) in [
        (json!({"headers": {"Authorization": "Bearer abcdefgh12345678"}}), "$secret"),
        (json!({"headers": {"X-Api-Key": "anything-at-all"}}), "$secret"),
        (json!({"body": {"key": "sk_live_4eC39HqLyjWDarjtT1zdp7dc"}}), "$secret"),
        (json!({"headers": {"Authorization": {"$secret": "nope"}}}), "no secret named `nope`"),
    ] {
        let body = json!({"text": "x", "plan": {"steps": [call(recv.url("/hook/ok"), extra.clone())]}});
        let res = app.post("/v1/intents").json(&body).send().await.unwrap();
        assert_eq!(res.status(), 422, "{extra}");
        let text = res.text().await.unwrap();
        assert!(text.contains(why) && !text.contains("s3cr3t"), "{extra}: {text}");
    }
    let dir = app.stop_keeping_data().await;
    let mut stored = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            stored.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(!String::from_utf8_lossy(&stored).contains("s3cr3t"), "the value reached a file in the data directory");
}

/// Guarantee: undo tells the truth. A step whose adapter has no undo is not
/// "compensated": the intent ends needing the operator, the step says what
/// to reverse by hand, retrying (which would repeat it) is refused, and the
/// operator's cancel closes it once done by hand.
#[tokio::test]
async fn a_step_that_cannot_be_undone_is_left_to_the_operator_not_called_compensated() {
    let recv = Receiver::start(Faults::default(), 7).await;
    let app = TestApp::spawn_with(helpers::trust_loopback).await;
    let no_undo = call(recv.url("/hook/ok"), json!({}));
    let id = submit(&app, vec![no_undo, recv.step(true)]).await;
    let intent = app.wait_for(&id, "needs_attention").await;
    assert_eq!(intent["steps"][0]["state"], "not_undone", "{intent:#}");
    let error = intent["steps"][0]["error"].as_str().unwrap();
    assert!(error.contains("reverse it by hand") && error.contains(&recv.url("/hook/ok")), "{error}");
    let retry = app.post(&format!("/v1/intents/{id}/retry")).send().await.unwrap();
    assert_eq!(retry.status(), 409, "a retry would send it again");
    let cancel = app.post(&format!("/v1/intents/{id}/cancel")).send().await.unwrap();
    assert_eq!(cancel.status(), 200);
    app.wait_for(&id, "cancelled").await;
    assert_eq!(recv.tally().applied.len(), 1, "it ran once, and only once");
    app.stop().await;
}

/// Guarantee: forget means forget. Forgetting what was remembered also
/// scrubs every copy of its text: what the message said in the inbox, the
/// reply that echoed it, anything queued with it.
#[tokio::test]
async fn forgetting_a_record_scrubs_every_copy_of_its_text() {
    let app = TestApp::spawn().await;
    let said =
        app.call("/v1/messages", json!({"text": "remember that the vault code is 998877 behind the painting"})).await;
    assert_eq!(said["kind"], "reply", "{said}");
    let found = app.call("/v1/memory/search", json!({"query": "vault code 998877"})).await;
    let ids: Vec<String> =
        found["items"].as_array().unwrap().iter().map(|h| h["id"].as_str().unwrap().to_owned()).collect();
    assert!(!ids.is_empty(), "{found}");
    for id in &ids {
        assert_eq!(app.delete(&format!("/v1/memory/{id}")).send().await.unwrap().status(), 204);
    }
    for (table, column) in
        [("inbox", "payload"), ("inbox", "reply"), ("outbox", "payload"), ("memory", "text"), ("audit", "detail")]
    {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE instr(coalesce({column}, ''), '998877') > 0");
        assert_eq!(app.count(&sql).await, 0, "{table}.{column} still holds the forgotten text");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM vector_deletes").await, 0, "the vector index confirmed the deletes");
    app.stop().await;
}
