//! What the Telegram tests share: the operator, a policy with every level
//! approve-before, and the server wired to the Bot API stand-in.
#![allow(dead_code)]

use serde_json::{Value, json};
use steward::config::{Config, SecretString};

use crate::helpers::TestApp;
use crate::telegram::{FakeTelegram, Sent};

/// The operator's Telegram user id (a private chat has the same id).
pub const OP: i64 = 4242;
pub const STRANGER: i64 = 666;

pub const POLICY: &str = r#"
default_risk = "high"
[levels.low]
mode = "approve-before"
expiry_secs = 3600
reping_secs = 3600
[levels.medium]
mode = "approve-before"
expiry_secs = 4
reping_secs = 3600
[levels.high]
mode = "approve-before"
expiry_secs = 3600
reping_secs = 3600
[breaker]
failures = 1000
window_secs = 60
cooldown_secs = 60
[[rule]]
name = "small notes"
adapter = "note"
risk = "low"
when = [{ arg = "text", equals = "small" }]
[[rule]]
name = "quick notes"
adapter = "note"
risk = "medium"
when = [{ arg = "text", equals = "quick" }]
"#;

pub fn wire(c: &mut Config, tg: &FakeTelegram, allowed: &[i64]) {
    c.telegram.token = Some(SecretString::from(tg.token.clone()));
    c.telegram.api_url = tg.url();
    c.telegram.allowed_users = allowed.to_vec();
    c.telegram.poll_timeout_secs = 2;
    c.notify.operator = vec![format!("telegram:{OP}")];
    c.notify.retry.initial_ms = 20;
    c.notify.retry.max_ms = 2_000;
}

pub async fn app_in(dir: tempfile::TempDir, tg: &FakeTelegram, allowed: &[i64]) -> TestApp {
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, POLICY).unwrap();
    TestApp::spawn_in(dir, |c| {
        c.policy.path = Some(path);
        wire(c, tg, allowed);
    })
    .await
}

pub async fn app(tg: &FakeTelegram) -> TestApp {
    app_in(tempfile::tempdir().unwrap(), tg, &[OP]).await
}

pub async fn submit(app: &TestApp, text: &str, note: &str) -> String {
    let plan = json!({"steps": [{"adapter": "note", "action": "write", "args": {"text": note}}]});
    let res = app.post("/v1/intents").json(&json!({"text": text, "plan": plan})).send().await.unwrap();
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

pub async fn approval_of(app: &TestApp, intent: &str) -> Value {
    let mut all: Value = app.get("/v1/approvals").send().await.unwrap().json().await.unwrap();
    let all: Vec<Value> = serde_json::from_value(all["items"].take()).unwrap();
    all.into_iter().find(|a| a["intent_id"] == intent).expect("an approval for the intent")
}

/// Waits until the card shown as message `id` satisfies `f`.
pub async fn card_where(tg: &FakeTelegram, id: i64, what: &str, f: impl Fn(&Sent) -> bool) -> Sent {
    tg.wait(20, what, |t| t.sent().into_iter().find(|s| s.message_id == id && f(s))).await
}

/// Sends `text` as the operator and returns the reply (the next message).
pub async fn ask(tg: &FakeTelegram, text: &str) -> Sent {
    let before = tg.sent_to(OP).len();
    tg.message(OP, text);
    tg.nth_to(OP, before + 1).await
}
