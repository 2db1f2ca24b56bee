//! The Telegram channel against a Bot API stand-in on loopback: pairing and
//! strangers, approval cards from press to edited card, stale, duplicate and
//! foreign presses, the low-risk batch, long and HTML-hostile text, and the
//! webhook mode. Faults, conflicts, restarts and crashes: telegram_faults.rs.

mod helpers;
#[path = "support/telegram.rs"]
mod telegram;
#[path = "support/telegram_api.rs"]
mod telegram_api;
#[path = "support/telegram_app.rs"]
mod telegram_app;

use helpers::{TestApp, steward};
use serde_json::{Value, json};
use steward::config::SecretString;
use telegram::{FakeTelegram, Sent};
use telegram_app::*;

// The CLI runs while the server and the stand-in serve on other threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_lets_one_person_in_and_strangers_get_one_polite_refusal() {
    let tg = FakeTelegram::start().await;
    let app = app_in(tempfile::tempdir().unwrap(), &tg, &[]).await;
    let registered: Vec<String> = tg
        .wait(20, "setMyCommands", |t| Some(t.commands()).filter(|c| !c.is_empty()))
        .await
        .iter()
        .map(|c| c["command"].as_str().unwrap().to_owned())
        .collect();
    let all = ["help", "ask", "pending", "approve", "reject", "digest", "status", "undo", "answer", "workflows", "run"];
    for c in all.into_iter().chain(["remind", "reminders"]) {
        assert!(registered.iter().any(|r| r == c), "{c} registered: {registered:?}");
    }

    tg.message(STRANGER, "hello, who are you?");
    tg.message(STRANGER, "what did we decide about the secret plan?");
    let refusal = tg.nth_to(STRANGER, 1).await;
    assert!(refusal.text.contains("private assistant"), "{}", refusal.text);

    // A code from the CLI, used once.
    let code = pairing_code(&app, &tg);

    tg.message(501, "/start WRONG234");
    let wrong = tg.nth_to(501, 1).await;
    assert!(wrong.text.contains("wrong, used or expired"), "{}", wrong.text);
    tg.message(501, &format!("/start {code}"));
    let paired = tg.nth_to(501, 2).await;
    assert!(paired.text.contains("Paired: you are telegram:501"), "{}", paired.text);
    tg.message(502, &format!("/start {code}"));
    assert!(tg.nth_to(502, 1).await.text.contains("wrong, used or expired"), "a code works once");

    // The paired user now talks to steward.
    tg.message(501, "status");
    let status = tg.nth_to(501, 3).await;
    assert!(status.text.starts_with("Status"), "{}", status.text);

    // The stranger got exactly one refusal for two messages, and nothing
    // they sent reached reasoning or memory.
    tg.message(STRANGER, "third try");
    tg.wait(20, "the stranger's updates confirmed", |t| (t.unconfirmed() == 0).then_some(())).await;
    ask_paired(&tg).await;
    assert_eq!(tg.sent_to(STRANGER).len(), 1, "one polite refusal, not one per message");
    let dir = app.stop_keeping_data().await;
    let store = steward::store::Store::open(&dir.path().join("steward.db"), &Default::default()).await.unwrap();
    let (inbox,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM inbox WHERE actor IN ('telegram:666', 'telegram:502')")
        .fetch_one(store.reader())
        .await
        .unwrap();
    let (kept,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM inbox WHERE event IS NOT NULL AND actor IN ('telegram:666', 'telegram:502')",
    )
    .fetch_one(store.reader())
    .await
    .unwrap();
    let (remembered,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM memory WHERE text LIKE '%secret plan%' OR text LIKE '%who are you%'")
            .fetch_one(store.reader())
            .await
            .unwrap();
    assert_eq!((inbox, kept, remembered), (0, 0, 0));
    store.close().await;
}

/// Guarantee: a pairing code cannot be guessed by trying. A stranger gets
/// five tries in ten minutes, one "wrong code" reply however many they send,
/// one refusal past the limit (audited), and then nothing, even for a good
/// code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_attempts_are_limited_and_wrong_codes_answered_once() {
    let tg = FakeTelegram::start().await;
    let app = app_in(tempfile::tempdir().unwrap(), &tg, &[]).await;
    for i in 0..7 {
        tg.message(503, &format!("/start WRONG{i:03}"));
    }
    tg.wait(20, "the refusal", |t| t.sent_to(503).into_iter().find(|s| s.text.contains("Too many pairing attempts")))
        .await;
    let code = pairing_code(&app, &tg);
    tg.message(503, &format!("/start {code}"));
    tg.wait(20, "every update confirmed", |t| (t.unconfirmed() == 0).then_some(())).await;
    // Replies are queued before an update is confirmed: once nothing is
    // left to send, everything the stranger will ever get has been sent.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.count("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").await > 0 {
        assert!(std::time::Instant::now() < deadline, "the outbox never emptied");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let said: Vec<String> = tg.sent_to(503).into_iter().map(|s| s.text).collect();
    assert_eq!(said.len(), 2, "one wrong-code reply and one refusal: {said:#?}");
    assert!(said[0].contains("wrong, used or expired") && said[1].contains("Too many pairing attempts"));
    let dir = app.stop_keeping_data().await;
    let store = steward::store::Store::open(&dir.path().join("steward.db"), &Default::default()).await.unwrap();
    let (paired,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit WHERE action = 'pairing.limited'")
        .fetch_one(store.reader())
        .await
        .unwrap();
    assert_eq!(paired, 1);
    store.close().await;
}

/// A pairing code from `steward pair telegram`, which must not print the token.
fn pairing_code(app: &TestApp, tg: &FakeTelegram) -> String {
    let out = steward()
        .arg("--data-dir")
        .arg(app.dir.path())
        .args(["pair", "telegram"])
        .env("STEWARD_TELEGRAM__TOKEN", &tg.token)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!stdout.contains(&tg.token), "the token is not printed");
    stdout.lines().find_map(|l| l.strip_prefix("Pairing code: ")).unwrap().trim().to_owned()
}

/// A round trip through the paired user's chat, so everything queued before
/// has been delivered.
async fn ask_paired(tg: &FakeTelegram) {
    let before = tg.sent_to(501).len();
    tg.message(501, "help");
    tg.nth_to(501, before + 1).await;
}

#[tokio::test]
async fn an_approval_goes_from_card_to_press_to_edited_card() {
    let tg = FakeTelegram::start().await;
    let app = app(&tg).await;
    let hostile = "Pay <b>ACME & Sons</i> now <unclosed & \"quoted\"";
    let id = submit(&app, hostile, "big").await;
    let card = tg.nth_to(OP, 1).await;
    assert!(card.text.contains("Approval needed") && card.text.contains(hostile), "shown verbatim: {}", card.text);
    assert_eq!(card.parse_mode.as_deref(), Some("HTML"));
    let buttons = card.buttons();
    assert_eq!(buttons.iter().map(|b| &b[..2]).collect::<Vec<_>>(), ["a:", "r:", "d:"]);
    assert!(buttons.iter().all(|b| b.len() <= 64));

    // Details expands the card in place and keeps the decision buttons.
    let press = tg.press(OP, &card, &card.button("d").unwrap());
    tg.answer_to(press).await;
    let expanded = card_where(&tg, card.message_id, "the expanded card", |s| s.text.contains("Details")).await;
    assert!(expanded.text.contains("note.write"), "{}", expanded.text);
    assert!(expanded.button("a").is_some() && expanded.button("d").is_none());

    // Approve: the presser is told, the card shows who and when, buttons go.
    let press = tg.press(OP, &expanded, &expanded.button("a").unwrap());
    let answer = tg.answer_to(press).await;
    assert!(answer["text"].as_str().unwrap().contains("Approved by telegram:4242"), "{answer}");
    let decided = card_where(&tg, card.message_id, "the decided card", |s| s.text.contains("✅ Approved")).await;
    assert!(decided.text.contains("by telegram:4242 at 20"), "{}", decided.text);
    assert!(decided.buttons().is_empty(), "no buttons once decided");
    app.wait_for(&id, "succeeded").await;

    // A stale press on the old card changes nothing and says why.
    let stale = tg.press(OP, &expanded, &expanded.button("r").unwrap());
    let answer = tg.answer_to(stale).await;
    assert!(answer["text"].as_str().unwrap().contains("already approved by telegram:4242"), "{answer}");
    // The same press delivered again is the same event: no second answer.
    tg.redeliver(press);
    tg.wait(20, "the redelivery confirmed", |t| (t.unconfirmed() == 0).then_some(())).await;
    ask(&tg, "status").await;
    let cq = tg.callback_id(press);
    let answers = tg.answers().into_iter().filter(|a| a["callback_query_id"] == cq).count();
    assert_eq!(answers, 1, "a redelivered press is answered once");
    assert_eq!(app.intent(&id).await["state"], "succeeded");

    // A foreign press: someone not allowed presses Approve on a new card.
    // Counted before the submit: its card may be sent before the 201 comes.
    let before = tg.sent_to(OP).len();
    let second = submit(&app, "Wire 900 EUR to a new supplier", "big").await;
    let card2 = tg
        .wait(20, "the second card", |t| t.sent_to(OP).into_iter().skip(before).find(|s| s.text.contains("Wire 900")))
        .await;
    let foreign = tg.press(STRANGER, &card2, &card2.button("a").unwrap());
    let answer = tg.answer_to(foreign).await;
    assert!(answer["text"].as_str().unwrap().contains("not an approver"), "{answer}");
    assert_eq!(approval_of(&app, &second).await["state"], "pending", "a foreign press changes nothing");

    // A decision from another channel edits the card too.
    let a = approval_of(&app, &second).await;
    let r = app
        .post(&format!("/v1/approvals/{}/decision", a["id"].as_str().unwrap()))
        .json(&json!({"decision": "reject"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let edited =
        card_where(&tg, card2.message_id, "the card rejected elsewhere", |s| s.text.contains("❌ Rejected")).await;
    assert!(edited.text.contains("by http:api") && edited.buttons().is_empty(), "{}", edited.text);

    // An expired request: its card says so, and a late press is refused.
    let third = submit(&app, "Quick note that expires", "quick").await;
    let card3 =
        tg.wait(20, "the expiring card", |t| t.sent_to(OP).into_iter().find(|s| s.text.contains("Quick note"))).await;
    card_where(&tg, card3.message_id, "the expired card", |s| s.text.contains("⌛ Expired")).await;
    let late = tg.press(OP, &card3, &card3.first_button("a").unwrap());
    let answer = tg.answer_to(late).await;
    assert!(answer["text"].as_str().unwrap().starts_with("Not decided"), "{answer}");
    assert_ne!(app.intent(&third).await["state"], "succeeded");
    app.stop().await;
}

#[tokio::test]
async fn the_low_risk_batch_button_approves_what_its_presser_saw() {
    let tg = FakeTelegram::start().await;
    let app = app(&tg).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(submit(&app, &format!("small thing {i}"), "small").await);
        tg.nth_to(OP, i + 1).await;
    }
    let third = tg.nth_to(OP, 3).await;
    let batch = third.button("L").expect("an Approve all button once several low-risk requests wait");
    let label = third.reply_markup.as_ref().unwrap()["inline_keyboard"][1][0]["text"].as_str().unwrap().to_owned();
    assert_eq!(label, "Approve all 3 low-risk");
    // One more arrives after the card was drawn: the press leaves it alone.
    let later = submit(&app, "small thing later", "small").await;
    tg.nth_to(OP, 4).await;
    let press = tg.press(OP, &third, &batch);
    let answer = tg.answer_to(press).await;
    assert!(answer["text"].as_str().unwrap().starts_with("Approved 3 low-risk requests"), "{answer}");
    for id in &ids {
        app.wait_for(id, "succeeded").await;
    }
    let waiting = approval_of(&app, &later).await;
    assert_eq!(waiting["state"], "pending");
    // The typed command decides too, and its card follows.
    let reply = ask(&tg, &format!("/reject@steward_test_bot {}", waiting["id"].as_str().unwrap())).await;
    assert!(reply.text.starts_with("Rejected by telegram:4242"), "{}", reply.text);
    let later_card = tg.nth_to(OP, 4).await;
    card_where(&tg, later_card.message_id, "the rejected card", |s| s.text.contains("❌ Rejected")).await;
    app.stop().await;
}

#[tokio::test]
async fn long_and_hostile_text_arrives_whole_and_escaped() {
    let tg = FakeTelegram::start().await;
    let app = app(&tg).await;
    // Twenty pending requests with long, markup-laden summaries make a
    // /pending answer far over Telegram's 4,096 characters.
    for i in 0..20 {
        let text = format!("Request {i:02}: <b>bold & <i>unmatched tags</b> {}", "lorem ipsum dolor ".repeat(20));
        submit(&app, &text, "big").await;
    }
    tg.wait(30, "twenty cards", |t| (t.sent_to(OP).len() >= 20).then_some(())).await;
    let before = tg.sent_to(OP).len();
    tg.message(OP, "/pending");
    let parts = tg
        .wait(20, "the split answer", |t| {
            let new: Vec<Sent> = t.sent_to(OP).into_iter().skip(before).collect();
            new.iter().any(|s| s.text.contains("Answer with: approve ID")).then_some(new)
        })
        .await;
    assert!(parts.len() >= 2, "split into {} parts", parts.len());
    assert!(parts.iter().all(|p| p.text.encode_utf16().count() <= 4096));
    let whole = parts.iter().map(|p| p.text.as_str()).collect::<Vec<_>>().join("\n");
    for i in 0..20 {
        assert!(
            whole.contains(&format!("Request {i:02}: <b>bold & <i>unmatched tags</b>")),
            "request {i} shown verbatim"
        );
    }
    assert!(parts[0].text.starts_with("20 waiting"), "in order: {}", &parts[0].text[..40]);
    app.stop().await;
}

#[tokio::test]
async fn webhook_mode_takes_updates_with_the_secret_only() {
    let tg = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_in(dir, |c| {
        wire(c, &tg, &[OP]);
        c.telegram.mode = steward::config::TelegramMode::Webhook;
        c.telegram.webhook_url = Some("https://steward.example/telegram/webhook".into());
        c.telegram.webhook_secret = Some(SecretString::from("hook-secret-1"));
    })
    .await;
    let hook = tg.wait(20, "setWebhook", |t| t.calls("setWebhook").pop()).await;
    assert_eq!(hook["secret_token"], "hook-secret-1");
    let post = |secret: &'static str, update: Value| {
        reqwest::Client::new()
            .post(app.url("/telegram/webhook"))
            .header("X-Telegram-Bot-Api-Secret-Token", secret)
            .json(&update)
            .send()
    };
    let update = |id: i64, text: &str| {
        json!({"update_id": id, "message": {"message_id": id, "date": 1_700_000_000,
            "from": {"id": OP, "is_bot": false, "first_name": "Op"},
            "chat": {"id": OP, "type": "private", "first_name": "Op"}, "text": text}})
    };
    assert_eq!(post("wrong", update(9001, "status")).await.unwrap().status(), 401);
    assert_eq!(post("hook-secret-1", update(9001, "status")).await.unwrap().status(), 200);
    assert_eq!(
        post("hook-secret-1", update(9001, "status")).await.unwrap().status(),
        200,
        "a redelivery is accepted..."
    );
    let reply = tg.nth_to(OP, 1).await;
    assert!(reply.text.starts_with("Status"));
    assert_eq!(post("hook-secret-1", update(9002, "help")).await.unwrap().status(), 200);
    assert!(tg.nth_to(OP, 2).await.text.starts_with("Commands:"));
    assert_eq!(tg.sent_to(OP).len(), 2, "...and answered once");
    assert!(tg.calls("getUpdates").is_empty(), "no polling in webhook mode");
    app.stop().await;
}

#[tokio::test]
async fn a_scheduled_digest_reaches_the_chat_as_html() {
    let tg = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_in(dir, |c| {
        wire(c, &tg, &[OP]);
        c.schedules = vec![steward::config::ScheduleConfig {
            name: "pulse".into(),
            cron: "* * * * * *".into(),
            timezone: "UTC".into(),
            destination: format!("telegram:{OP}"),
            when_empty: steward::config::WhenEmpty::OneLine,
        }];
    })
    .await;
    let digest =
        tg.wait(20, "a digest", |t| t.sent_to(OP).into_iter().find(|s| s.text.contains("steward digest"))).await;
    assert_eq!(digest.parse_mode.as_deref(), Some("HTML"));
    app.stop().await;
}
