//! Reminders from Telegram, end to end with no model: a one-time reminder
//! said in the chat it came from when its time comes, a repeating one each
//! period once, `/reminders` and cancelling, and a redelivered message that
//! sets nothing new. steward's clock is driven by the test.

#[path = "support/flows.rs"]
mod flows;
mod helpers;
#[path = "support/telegram.rs"]
mod telegram;
#[path = "support/telegram_api.rs"]
mod telegram_api;
#[path = "support/telegram_app.rs"]
mod telegram_app;

use std::time::Duration;

use flows::{db, until};
use steward::domain::{ManualClock, SharedClock};
use telegram::FakeTelegram;
use telegram_app::{OP, ask, wire};

/// Wednesday 2026-12-02 10:30 in Berlin.
const WEDNESDAY: i64 = 1_796_203_800_000;

async fn reminders_said(tg: &FakeTelegram, what: &str) -> usize {
    tg.sent_to(OP).iter().filter(|s| s.text.contains(&format!("Reminder: {what}"))).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_are_said_in_their_chat_once_per_time_and_can_be_cancelled() {
    let tg = FakeTelegram::start().await;
    let clock = ManualClock::at(WEDNESDAY);
    let app = flows::start_with(tempfile::tempdir().unwrap(), clock.clone() as SharedClock, &[], |c| {
        wire(c, &tg, &[OP]);
        c.workflows.timezone = "Europe/Berlin".into();
    })
    .await;
    let set = ask(&tg, "remind me in 2 hours to send the quote").await;
    assert!(set.text.contains("Wed 2 Dec 2026 12:30 (Europe/Berlin): send the quote"), "{}", set.text);
    let weekly = ask(&tg, "every Monday at 8 remind me to review the pipeline").await;
    assert!(weekly.text.contains("every `0 8 * * 1`, next Mon 7 Dec 2026 08:00"), "{}", weekly.text);
    let refused = ask(&tg, "remind me sometime to relax").await;
    assert!(refused.text.starts_with("No reminder set:"), "{}", refused.text);
    // The same message delivered again sets nothing new.
    let update = tg.message(OP, "remind me tomorrow at 9 to call Bob");
    tg.wait(20, "the answer", |t| t.sent_to(OP).into_iter().find(|s| s.text.contains("call Bob"))).await;
    tg.redeliver(update);
    let listed = ask(&tg, "/reminders").await;
    assert!(listed.text.starts_with("Your reminders (3):"), "{}", listed.text);
    assert_eq!(helpers::count_in(&db(&app), "SELECT COUNT(*) FROM reminders").await, 3);

    // Two hours later: said once, in the chat it came from.
    clock.advance(Duration::from_secs(2 * 3600 + 1));
    until("the reminder", || async { reminders_said(&tg, "send the quote").await == 1 }).await;

    // Cancel tomorrow's; Monday 08:00 comes, and the week after.
    let id = listed.text.lines().find(|l| l.contains("call Bob")).and_then(|l| l.split_whitespace().nth(1)).unwrap();
    let cancelled = ask(&tg, &format!("/reminders cancel {id}")).await;
    assert_eq!(cancelled.text, "Cancelled the reminder: call Bob.");
    clock.set(WEDNESDAY + (4 * 24 + 21) * 3_600_000 + 30 * 60_000 + 1_000); // Mon 7 Dec 08:00:01
    until("Monday's reminder", || async { reminders_said(&tg, "review the pipeline").await == 1 }).await;
    clock.advance(Duration::from_secs(7 * 86_400));
    until("the next Monday's", || async { reminders_said(&tg, "review the pipeline").await == 2 }).await;
    let runs =
        helpers::count_in(&db(&app), "SELECT COUNT(*) FROM workflow_runs WHERE workflow LIKE 'reminder-%'").await;
    assert_eq!(runs, 3, "one run per reminder said, none for the cancelled one");
    assert_eq!(reminders_said(&tg, "call Bob").await, 0);
    assert_eq!(reminders_said(&tg, "send the quote").await, 1);
    app.stop().await;
}
