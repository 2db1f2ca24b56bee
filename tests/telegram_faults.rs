//! The Telegram channel when things go wrong: 429, 500, slow answers and
//! refused HTML on send with no message lost and the order kept; a 409
//! polling conflict reported and outlasted; a restart and a real crash in
//! the middle of a conversation.

mod helpers;
#[path = "support/openai.rs"]
mod openai;
#[path = "support/telegram.rs"]
mod telegram;
#[path = "support/telegram_api.rs"]
mod telegram_api;
#[path = "support/telegram_app.rs"]
mod telegram_app;

use std::time::Duration;

use helpers::{TOKEN, TestApp, steward};
use openai::{Reply, ScriptedLlm};
use serde_json::Value;
use telegram::{FakeTelegram, Fault};
use telegram_app::*;

#[tokio::test]
async fn faults_on_send_lose_no_message_and_keep_the_order() {
    let tg = FakeTelegram::start().await;
    tg.fault("sendMessage", Fault::TooMany(1));
    tg.fault("sendMessage", Fault::ServerError);
    tg.fault("sendMessage", Fault::Slow(Duration::from_secs(2)));
    tg.fault("sendMessage", Fault::BadHtml);
    tg.fault("getUpdates", Fault::Slow(Duration::from_secs(1)));
    let app = app(&tg).await;
    let asks = ["help", "status", "pending", "remember that the <b>alarm</b> code & gate code differ", "digest"];
    for a in asks {
        tg.message(OP, a);
    }
    let replies = tg.wait(60, "five replies", |t| Some(t.sent_to(OP)).filter(|s| s.len() >= 5)).await;
    // In order, one each.
    assert!(replies[0].text.starts_with("Commands:"), "{}", replies[0].text);
    assert!(replies[1].text.starts_with("Status"), "{}", replies[1].text);
    assert!(replies[2].text.contains("Nothing is waiting"), "{}", replies[2].text);
    assert!(replies[3].text.starts_with("Noted"), "{}", replies[3].text);
    // A refused format was sent again as plain text.
    assert!(replies.iter().any(|r| r.parse_mode.is_none()), "one reply fell back to plain text");
    ask(&tg, "status").await;
    assert_eq!(tg.sent_to(OP).len(), 6, "no reply was sent twice");
    // Six delivered, and one failed attempt each for the 429, the 500 and
    // the refused HTML (the slow answer succeeded).
    assert_eq!(tg.calls("sendMessage").len(), 9, "each fault retried once");
    let at = tg.call_times("sendMessage");
    assert!(at[1] - at[0] >= Duration::from_secs(1), "the retry waited for retry_after: {:?}", at[1] - at[0]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polling_conflict_is_reported_and_ends_by_itself() {
    let tg = FakeTelegram::start().await;
    for _ in 0..4 {
        tg.fault("getUpdates", Fault::Conflict);
    }
    let app = app(&tg).await;
    let ready = |app: &TestApp| {
        let url = app.url("/readyz");
        async move { reqwest::get(url).await.unwrap().json::<Value>().await.unwrap() }
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let r = ready(&app).await;
        if r["status"] == "degraded" {
            assert_eq!(r["channels"]["telegram"]["state"], "conflict", "{r}");
            assert!(r["channels"]["telegram"]["detail"].as_str().unwrap().contains("409"), "{r}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never reported: {r}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // doctor reads what the server reported.
    let out = steward()
        .arg("--data-dir")
        .arg(app.dir.path())
        .args(["doctor", "--json"])
        .env("STEWARD_TELEGRAM__TOKEN", &tg.token)
        .env("STEWARD_TELEGRAM__API_URL", tg.url())
        .env("STEWARD_HTTP__TOKEN", TOKEN)
        .output()
        .unwrap();
    let checks: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let t = checks.iter().find(|c| c["part"] == "telegram").unwrap();
    assert_eq!(t["status"], "error", "{t}");
    assert!(t["detail"].as_str().unwrap().contains("409"), "{t}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&tg.token));

    // The other instance goes away: polling resumes without a restart.
    let reply = ask(&tg, "status").await;
    assert!(reply.text.starts_with("Status"));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while ready(&app).await["status"] != "ready" {
        assert!(std::time::Instant::now() < deadline, "never recovered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn a_restart_in_the_middle_of_a_conversation_loses_and_repeats_nothing() {
    let tg = FakeTelegram::start().await;
    let app = app(&tg).await;
    let first = ask(&tg, "help").await;
    assert!(first.text.starts_with("Commands:"));
    // Several at once; stop while they are being handled.
    let asks = ["status", "pending", "remember that the boiler was serviced in May", "digest", "status"];
    let updates: Vec<i64> = asks.iter().map(|a| tg.message(OP, a)).collect();
    tg.nth_to(OP, 2).await;
    let dir = app.stop_keeping_data().await;
    let app = app_in(dir, &tg, &[OP]).await;
    let replies = tg.wait(30, "every reply", |t| Some(t.sent_to(OP)).filter(|s| s.len() >= 6)).await;
    assert!(replies[1].text.starts_with("Status"), "{}", replies[1].text);
    assert!(replies[2].text.contains("Nothing is waiting"), "{}", replies[2].text);
    assert!(replies[3].text.starts_with("Noted") || replies[3].text.contains("handled already"), "{}", replies[3].text);
    // Redelivered updates create nothing new.
    for u in updates {
        tg.redeliver(u);
    }
    tg.wait(20, "the redeliveries confirmed", |t| (t.unconfirmed() == 0).then_some(())).await;
    ask(&tg, "help").await;
    assert_eq!(tg.sent_to(OP).len(), 7, "one reply per message, none repeated");
    let dir = app.stop_keeping_data().await;
    let store = steward::store::Store::open(&dir.path().join("steward.db"), &Default::default()).await.unwrap();
    let (notes,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM memory WHERE text LIKE '%boiler was serviced%'")
        .fetch_one(store.reader())
        .await
        .unwrap();
    assert_eq!(notes, 1, "remembered once");
    store.close().await;
}

/// A real crash: `steward serve` is SIGKILLed while a burst of messages is
/// being answered. After the restart every message has its answer, in
/// order, and nothing was done twice. (The Bot API has no idempotency key:
/// a reply that Telegram took in the instant before the kill, before its
/// confirmation was written down, may be sent once more; nothing else can.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_conversation_loses_nothing_and_does_nothing_twice() {
    let tg = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("steward.toml");
    std::fs::write(
        &config,
        format!(
            "[embedding]\nbackend = \"hash\"\n[notify]\noperator = [\"telegram:{OP}\"]\n\
             [telegram]\napi_url = \"{}\"\nallowed_users = [{OP}]\npoll_timeout_secs = 2\n",
            tg.url()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let envs = [
        ("STEWARD_CONFIG", config.to_str().unwrap()),
        ("STEWARD_API_TOKEN", TOKEN),
        ("STEWARD_TELEGRAM__TOKEN", tg.token.as_str()),
    ];
    // Telegram answers slowly, so the kill lands with answers still queued
    // and one in flight.
    for _ in 0..40 {
        tg.fault("sendMessage", Fault::Slow(Duration::from_millis(150)));
    }
    let mut first = helpers::ServeProcess::start(&data, &envs);
    let asks: Vec<String> = (0..12).map(|n| format!("remember that crate {n:02} holds the spare cables")).collect();
    for a in &asks {
        tg.message(OP, a);
    }
    tg.nth_to(OP, 2).await;
    first.signal("KILL");
    first.wait_exit();
    assert!(tg.sent_to(OP).len() < asks.len(), "the kill landed mid-conversation");
    let _second = helpers::ServeProcess::start(&data, &envs);
    let replies = tg.wait(60, "every answer", |t| Some(t.sent_to(OP)).filter(|s| s.len() >= asks.len())).await;
    assert!(replies.iter().all(|r| r.text.starts_with("Noted") || r.text.contains("handled already")), "{replies:?}");
    assert!(replies.len() <= asks.len() + 1, "at most the one in flight at the kill is repeated: {}", replies.len());
    drop(_second);
    let store = steward::store::Store::open(&data.join("steward.db"), &Default::default()).await.unwrap();
    for n in 0..12 {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM memory WHERE text LIKE ?")
            .bind(format!("%crate {n:02} holds%"))
            .fetch_one(store.reader())
            .await
            .unwrap();
        assert_eq!(count, 1, "crate {n:02} remembered exactly once");
    }
    let (open,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM inbox WHERE event IS NOT NULL AND done_at IS NULL")
        .fetch_one(store.reader())
        .await
        .unwrap();
    assert_eq!(open, 0, "every kept event was handled");
    store.close().await;
}

/// An unreachable Bot API: reported as an error, retried with backoff, and
/// the token (part of every Bot API URL) appears in no report.
#[tokio::test]
async fn an_unreachable_api_is_reported_without_the_token() {
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let tg = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_in(dir, |c| {
        wire(c, &tg, &[OP]);
        c.telegram.api_url = url;
    })
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let body = loop {
        let body = reqwest::get(app.url("/readyz")).await.unwrap().text().await.unwrap();
        if body.contains("getUpdates failed") {
            break body;
        }
        assert!(std::time::Instant::now() < deadline, "never reported: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(body.contains("\"degraded\""), "{body}");
    assert!(!body.contains(&tg.token) && !body.contains("TEST-token"), "the token leaked: {body}");
    app.stop().await;
}

/// One worker per chat: a chat whose request waits on a slow model does not
/// hold up another chat's answer.
#[tokio::test]
async fn a_slow_chat_does_not_hold_up_another() {
    let tg = FakeTelegram::start().await;
    let llm = ScriptedLlm::start().await;
    llm.respond_with(|_| Reply::Delay(Duration::from_secs(3), Box::new(Reply::Content("not json".into()))));
    let other: i64 = 4343;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_in(dir, |c| {
        wire(c, &tg, &[OP, other]);
        for tier in [&mut c.llm.fast, &mut c.llm.deep] {
            tier.base_url = Some(llm.base_url());
            tier.model = Some("scripted".into());
            tier.timeout_secs = 10;
        }
    })
    .await;
    tg.message(OP, "book a table for two at Luigi's tomorrow at eight");
    tg.wait(20, "the model to be asked", |_| (llm.calls() > 0).then_some(())).await;
    tg.message(other, "status");
    let reply = tg.nth_to(other, 1).await;
    assert!(reply.text.starts_with("Status"), "{}", reply.text);
    assert!(tg.sent_to(OP).is_empty(), "the other chat was answered while this one waited on the model");
    tg.nth_to(OP, 1).await;
    app.stop().await;
}

/// Guarantee: an answer from the Bot API is read only up to a size limit.
/// A batch over it is asked for again in smaller batches; one update that
/// alone is over it is skipped, so polling goes on; a send whose answer is
/// over it is given up, not sent again, and the outbox goes on.
#[tokio::test]
async fn answers_over_the_size_limit_are_not_read_and_wedge_nothing() {
    let tg = FakeTelegram::start().await;
    let app = app(&tg).await;
    let first = ask(&tg, "help").await;
    assert!(first.text.starts_with("Commands:"), "{}", first.text);
    // 9 MiB of text in one update (Telegram's own limit is 4,096).
    let huge = tg.message(OP, &format!("remember {}", "a".repeat(9 << 20)));
    let reply = ask(&tg, "status").await;
    assert!(reply.text.starts_with("Status"), "{}", reply.text);
    assert_eq!(tg.sent_to(OP).len(), 2, "the oversized update was never answered: it was not read");
    let limits: Vec<u64> = tg.calls("getUpdates").iter().filter_map(|p| p["limit"].as_u64()).collect();
    assert!(limits.contains(&1), "asked for fewer, down to one: {limits:?}");
    assert_eq!(limits.last(), Some(&100), "and full batches once it is skipped: {limits:?}");
    let kept =
        app.count(&format!("SELECT COUNT(*) FROM inbox WHERE channel = 'telegram' AND external_id = '{huge}'")).await;
    assert_eq!(kept, 0, "the oversized update was not kept");

    // A send whose answer is oversized: tried once, given up.
    let sends = tg.calls("sendMessage").len();
    tg.fault("sendMessage", Fault::Huge(9 << 20));
    tg.message(OP, "pending");
    tg.wait(20, "the oversized send", |t| (t.calls("sendMessage").len() > sends).then_some(())).await;
    let next = ask(&tg, "status").await;
    assert!(next.text.starts_with("Status"), "the outbox goes on: {}", next.text);
    // Failed for good, so never sent again.
    let failed = "SELECT COUNT(*) FROM outbox WHERE state = 'failed' AND last_error LIKE '%more than 8388608 bytes%'";
    helpers::until("the oversized send given up", || async { app.count(failed).await == 1 }).await;
    assert_eq!(tg.calls("sendMessage").len(), sends + 2, "the oversized send was not sent again");
    app.stop().await;
}
