//! The shipped workflows that wait for what has not happened yet, end to
//! end against the stand-ins: `onboard-client` (a welcome email, a
//! three-day wait, then a question answered from Telegram) and
//! `payment-failed` (a Stripe-signed webhook, a `wait_for` the invoice to
//! be paid, a question, and the reminder email on "yes"). steward's clock
//! is driven by the test.

#[path = "support/flows.rs"]
mod flows;
mod helpers;
#[path = "support/smtp.rs"]
mod smtp;
#[path = "support/telegram.rs"]
mod telegram;
#[path = "support/telegram_api.rs"]
mod telegram_api;
#[path = "support/telegram_app.rs"]
mod telegram_app;

use std::time::Duration;

use flows::{db, rows, until};
use helpers::TestApp;
use serde_json::{Value, json};
use smtp::{SmtpSink, header};
use steward::domain::{Clock, ManualClock, SharedClock};
use telegram::{FakeTelegram, Sent};
use telegram_app::{OP, wire};

fn shipped(name: &str) -> String {
    std::fs::read_to_string(format!("{}/workflows/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

async fn server(clock: &std::sync::Arc<ManualClock>, tg: &FakeTelegram, sink: &SmtpSink, file: &str) -> TestApp {
    let files = [(file, shipped(file))];
    flows::start_with(tempfile::tempdir().unwrap(), clock.clone() as SharedClock, &files, |c| {
        wire(c, tg, &[OP]);
        sink.wire(c);
        c.secrets.insert("stripe_webhook".into(), "whsec_test".to_owned().into());
    })
    .await
}

/// The question card sent to the operator, once it has its buttons.
async fn question(tg: &FakeTelegram, about: &str) -> Sent {
    tg.wait(20, "a question card", |t| {
        t.sent_to(OP).into_iter().find(|s| s.text.contains(about) && s.button("c0").is_some())
    })
    .await
}

/// A run's state and results, as the server keeps them.
async fn run_row(app: &TestApp, workflow: &str) -> Vec<(String, Option<String>, String)> {
    rows(
        &db(app),
        &format!(
            "SELECT key, ended, results FROM workflow_runs WHERE workflow = '{workflow}' AND outcome = 'started' \
             ORDER BY started_at, rowid"
        ),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboard_client_asks_after_three_days_and_a_yes_from_telegram_sends_the_follow_up() {
    let (tg, sink) = (FakeTelegram::start().await, SmtpSink::start("ok"));
    let clock = ManualClock::at(chrono::Utc::now().timestamp_millis());
    let app = server(&clock, &tg, &sink, "onboard-client.toml").await;
    tg.message(OP, r#"/run onboard-client email=ana@acme.example company="Acme Ltd" name=Ana"#);
    let welcome = sink.wait_for(1);
    assert_eq!(header(&welcome[0], "Subject").as_deref(), Some("Welcome aboard, Acme Ltd"));
    // The first part ends; the run then waits three days, as a row.
    let waiting = || async { rows::<(Option<i64>,)>(&db(&app), "SELECT resume_at FROM workflow_runs").await };
    until("the run to wait", || async { waiting().await.first().is_some_and(|(r,)| r.is_some()) }).await;
    let resume = waiting().await[0].0.expect("the wait is a timer row");
    assert!(resume >= clock.now() + 3 * 86_400_000 - 60_000, "three days out");
    assert!(tg.sent_to(OP).iter().all(|s| s.button("c0").is_none()), "no question before the wait is over");

    clock.advance(Duration::from_secs(3 * 86_400 + 1));
    let card = question(&tg, "Acme Ltd started three days ago").await;
    assert_eq!(card.buttons().len(), 3, "yes, no and details: {:?}", card.buttons());
    let press = tg.press(OP, &card, &card.button("c0").unwrap());
    let answer = tg.answer_to(press).await;
    assert!(answer["text"].as_str().unwrap().contains("Answered `yes`"), "{answer}");
    let mails = sink.wait_for(2);
    assert_eq!(header(&mails[1], "Subject").as_deref(), Some("How are things going, Ana?"));
    until("the run to end", || async {
        run_row(&app, "onboard-client").await.first().is_some_and(|(_, e, _)| e.as_deref() == Some("succeeded"))
    })
    .await;
    let (_, _, results) = run_row(&app, "onboard-client").await.remove(0);
    let results: Value = serde_json::from_str(&results).unwrap();
    assert_eq!(results["follow_up"]["answer"], "yes");
    assert_eq!(results["follow_up"]["by"], format!("telegram:{OP}"));
    // The card now says who answered; a second press changes nothing.
    let closed = tg.wait(20, "the closed card", |t| {
        t.sent().into_iter().find(|s| s.message_id == card.message_id && s.text.contains("Answered `yes`"))
    });
    assert!(closed.await.buttons().is_empty());
    let again = tg.press(OP, &card, &card.button("c1").unwrap());
    assert!(tg.answer_to(again).await["text"].as_str().unwrap().contains("Not decided"));
    assert_eq!(sink.messages().len(), 2, "one follow-up");
    app.stop().await;
}

fn stripe_signature(secret: &str, t: i64, body: &str) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn event(id: &str, kind: &str, invoice: &str) -> String {
    json!({"id": id, "type": kind, "data": {"object": {
        "id": invoice, "customer_email": format!("{invoice}@customer.example"), "amount_due": 4200, "currency": "eur"
    }}})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_failed_waits_for_the_payment_then_asks_and_sends_the_reminder_on_yes() {
    let (tg, sink) = (FakeTelegram::start().await, SmtpSink::start("ok"));
    let clock = ManualClock::at(chrono::Utc::now().timestamp_millis());
    let app = server(&clock, &tg, &sink, "payment-failed.toml").await;
    let deliver = |body: String| {
        let signature = stripe_signature("whsec_test", clock.now() / 1000, &body);
        reqwest::Client::new()
            .post(app.url("/hooks/payment-failed"))
            .header("stripe-signature", signature)
            .body(body)
            .send()
    };
    // Three invoices fail. One is paid within the day; one is left unpaid
    // and answered "yes"; one is left unpaid and not answered.
    for (evt, invoice) in [("evt_1", "in_paid"), ("evt_2", "in_yes"), ("evt_3", "in_silent")] {
        let res = deliver(event(evt, "invoice.payment_failed", invoice)).await.unwrap();
        assert_eq!(res.status(), 202, "started, waiting for the payment: {:?}", res.text().await);
    }
    let again = deliver(event("evt_2", "invoice.payment_failed", "in_yes")).await.unwrap();
    assert_eq!(again.status(), 200, "Stripe's redelivery starts nothing new");
    let paid = deliver(event("evt_4", "invoice.paid", "in_paid")).await.unwrap();
    assert_eq!(paid.status(), 200);
    assert_eq!(paid.json::<Value>().await.unwrap(), json!({"started": false, "woke": 1}));
    until("the paid invoice's run to end", || async {
        run_row(&app, "payment-failed").await[0].1.as_deref() == Some("succeeded")
    })
    .await;
    assert_eq!(run_row(&app, "payment-failed").await.len(), 3);

    clock.advance(Duration::from_secs(86_400 + 1));
    let card = question(&tg, "Invoice in_yes").await;
    assert!(card.text.contains("42.00 EUR"), "{}", card.text);
    let silent = question(&tg, "Invoice in_silent").await;
    assert!(tg.sent_to(OP).iter().all(|s| !s.text.contains("Invoice in_paid")), "the paid invoice is not asked about");
    let press = tg.press(OP, &card, &card.button("c0").unwrap());
    tg.answer_to(press).await;
    let mails = sink.wait_for(1);
    assert_eq!(header(&mails[0], "To").as_deref(), Some("in_yes@customer.example"));
    assert!(header(&mails[0], "Subject").unwrap().contains("in_yes"));

    // Nobody answers the other within three days: its default, "no".
    clock.advance(Duration::from_secs(3 * 86_400 + 1));
    let closed = tg.wait(20, "the unanswered card closed", |t| {
        t.sent().into_iter().find(|s| s.message_id == silent.message_id && s.text.contains("default `no`"))
    });
    closed.await;
    until("every run to end", || async {
        run_row(&app, "payment-failed").await.iter().all(|(_, e, _)| e.as_deref() == Some("succeeded"))
    })
    .await;
    let results: Vec<Value> =
        run_row(&app, "payment-failed").await.iter().map(|(_, _, r)| serde_json::from_str(r).unwrap()).collect();
    assert_eq!(results[0]["paid"]["body"]["type"], "invoice.paid");
    assert_eq!(results[0]["dun"], json!({"skipped": true}));
    assert_eq!(results[1]["dun"]["answer"], "yes");
    assert_eq!(results[2]["dun"], json!({"answer": "no", "by": "steward", "timed_out": true}));
    assert_eq!(sink.messages().len(), 1, "one reminder, to the one customer the operator chose");
    app.stop().await;
}

/// A question can be answered without its buttons: over the API (an
/// answer that is none of its choices is refused with them) and by a
/// typed `/answer ID CHOICE`; once answered, a second answer is stale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_is_answered_over_the_api_or_in_words_and_only_once() {
    let (tg, sink) = (FakeTelegram::start().await, SmtpSink::start("ok"));
    let clock = ManualClock::at(chrono::Utc::now().timestamp_millis());
    let app = server(&clock, &tg, &sink, "onboard-client.toml").await;
    tg.message(OP, r#"/run onboard-client email=bo@globex.example company=Globex name=Bo"#);
    sink.wait_for(1);
    until("the run to wait", || async {
        rows::<(Option<i64>,)>(&db(&app), "SELECT resume_at FROM workflow_runs")
            .await
            .first()
            .is_some_and(|(r,)| r.is_some())
    })
    .await;
    clock.advance(Duration::from_secs(3 * 86_400 + 1));
    question(&tg, "Globex started three days ago").await;
    let pending = app.get("/v1/approvals").send().await.unwrap().json::<Value>().await.unwrap();
    let id = pending["items"][0]["id"].as_str().unwrap().to_owned();
    let decide = |body: Value| app.post(&format!("/v1/approvals/{id}/decision")).json(&body).send();

    let maybe = decide(json!({"answer": "maybe"})).await.unwrap();
    assert_eq!(maybe.status(), 422);
    let why = maybe.json::<Value>().await.unwrap();
    assert!(why.to_string().contains("yes, no"), "the refusal names the choices: {why}");
    let approve = decide(json!({"decision": "approve"})).await.unwrap();
    assert_eq!(approve.status(), 422, "a question wants one of its choices, not approve");
    let both = decide(json!({"decision": "approve", "answer": "yes"})).await.unwrap();
    assert_eq!(both.status(), 422, "a decision or an answer, not both");
    let still = app.get("/v1/approvals").send().await.unwrap().json::<Value>().await.unwrap();
    assert_eq!(still["items"][0]["state"], "pending", "nothing refused changed it: {still}");

    tg.message(OP, &format!("/answer {id} No"));
    tg.wait(20, "the answer's reply", |t| t.sent_to(OP).into_iter().find(|s| s.text.contains("Answered `no`"))).await;
    until("the run to end", || async {
        run_row(&app, "onboard-client").await.first().is_some_and(|(_, e, _)| e.as_deref() == Some("succeeded"))
    })
    .await;
    let (_, _, results) = run_row(&app, "onboard-client").await.remove(0);
    let results: Value = serde_json::from_str(&results).unwrap();
    assert_eq!(results["follow_up"]["answer"], "no");
    assert_eq!(results["follow_up"]["by"], format!("telegram:{OP}"));
    let late = decide(json!({"answer": "yes"})).await.unwrap();
    assert_eq!(late.status(), 409, "answered already: {:?}", late.text().await);
    assert_eq!(sink.messages().len(), 1, "no follow-up on no, and none after the late yes");
    app.stop().await;
}
