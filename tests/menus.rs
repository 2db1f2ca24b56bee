//! Menus from Telegram: `/workflows` offers a run button for each workflow
//! chat can start with no arguments, `/reminders` a cancel button for each
//! reminder. A button does what it was offered for once, for the person it
//! was offered to: a second press, a press by someone else, or a press of
//! another person's button over the API does nothing.

#[path = "support/flows.rs"]
mod flows;
mod helpers;
#[path = "support/telegram.rs"]
mod telegram;
#[path = "support/telegram_api.rs"]
mod telegram_api;
#[path = "support/telegram_app.rs"]
mod telegram_app;

use flows::db;
use serde_json::{Value, json};
use steward::domain::{SharedClock, SystemClock};
use telegram::{FakeTelegram, Sent};
use telegram_app::{OP, STRANGER, ask, wire};

const CLOSE: &str = r#"
name = "daily-close"
description = "Note that the day is closed"
[[triggers]]
kind = "command"
[[steps]]
action = "note.write"
args = { text = "Day closed" }
"#;

/// Needs an argument: listed, with no button.
const GREET: &str = r#"
name = "greet"
description = "Note a greeting"
[params.who]
type = "string"
[[triggers]]
kind = "command"
[[steps]]
action = "note.write"
args = { text = "Hello {{ params.who }}" }
"#;

/// The keyboard's buttons: (label, data).
fn buttons(s: &Sent) -> Vec<(String, String)> {
    let rows = s.reply_markup.as_ref().and_then(|m| m["inline_keyboard"].as_array().cloned()).unwrap_or_default();
    rows.iter()
        .flat_map(|r| r.as_array().cloned().unwrap_or_default())
        .map(|b| (b["text"].as_str().unwrap().to_owned(), b["callback_data"].as_str().unwrap().to_owned()))
        .collect()
}

/// Presses `data` under `menu` as `user`; the next message to `user`.
async fn press(tg: &FakeTelegram, user: i64, menu: &Sent, data: &str) -> Sent {
    let before = tg.sent_to(user).len();
    let update = tg.press(user, menu, data);
    tg.answer_to(update).await;
    tg.nth_to(user, before + 1).await
}

async fn runs(app: &helpers::TestApp) -> i64 {
    helpers::count_in(&db(app), "SELECT COUNT(*) FROM workflow_runs WHERE workflow = 'daily-close'").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn menu_buttons_do_what_they_offer_once_for_whom_they_were_offered() {
    let tg = FakeTelegram::start().await;
    let files = [("daily-close.toml", CLOSE.to_owned()), ("greet.toml", GREET.to_owned())];
    let app = flows::start_with(tempfile::tempdir().unwrap(), SystemClock::shared() as SharedClock, &files, |c| {
        wire(c, &tg, &[OP]);
    })
    .await;

    let menu = ask(&tg, "/workflows").await;
    let offered = buttons(&menu);
    assert_eq!(offered.len(), 1, "a button only for what needs no argument: {offered:?}");
    let (label, run) = offered[0].clone();
    assert_eq!(label, "▶ Run daily-close");
    assert!(run.starts_with("m:") && run.len() == 34, "{run}");

    let started = press(&tg, OP, &menu, &run).await;
    assert!(started.text.starts_with("Started workflow daily-close as intent "), "{}", started.text);
    assert_eq!(runs(&app).await, 1);
    // Pressed again (a double tap, an old message): nothing more.
    let again = press(&tg, OP, &menu, &run).await;
    assert_eq!(again.text, "That button was used already.");
    // Someone who may not act is refused, and nothing runs.
    let before = tg.answers().len();
    tg.press(STRANGER, &menu, &run);
    tg.wait(20, "the refusal", |t| (t.answers().len() > before).then_some(())).await;
    assert_eq!(runs(&app).await, 1);

    // A fresh list offers a fresh button; over the API it is not the
    // operator's Telegram identity, so it is someone else's.
    let fresh = buttons(&ask(&tg, "/workflows").await)[0].1.clone();
    assert_ne!(fresh, run);
    let r = app.post("/v1/messages").json(&json!({"button": fresh})).send().await.unwrap();
    let o: Value = r.json().await.unwrap();
    assert_eq!(o["text"], "That button was offered to someone else.", "{o}");
    assert_eq!(runs(&app).await, 1);
    // The API gets its own buttons, and may press them.
    let o: Value =
        app.post("/v1/messages").json(&json!({"text": "/workflows"})).send().await.unwrap().json().await.unwrap();
    let mine = o["buttons"][0]["token"].as_str().unwrap();
    let data = format!("m:{mine}");
    let o: Value = app.post("/v1/messages").json(&json!({"button": data})).send().await.unwrap().json().await.unwrap();
    assert_eq!(o["kind"], "intent", "{o}");
    assert_eq!(runs(&app).await, 2);

    // Reminders: a cancel button each.
    ask(&tg, "remind me tomorrow at 9 to call Bob").await;
    ask(&tg, "remind me in 3 hours to send the quote").await;
    let list = ask(&tg, "/reminders").await;
    let offered = buttons(&list);
    assert_eq!(offered.len(), 2, "{offered:?}");
    let (_, cancel) = offered.iter().find(|(l, _)| l == "✖ Cancel: call Bob").cloned().unwrap();
    let done = press(&tg, OP, &list, &cancel).await;
    assert_eq!(done.text, "Cancelled the reminder: call Bob.");
    let left = ask(&tg, "/reminders").await;
    assert!(left.text.starts_with("Your reminders (1):") && left.text.contains("send the quote"), "{}", left.text);
    app.stop().await;
}
