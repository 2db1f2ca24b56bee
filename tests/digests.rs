//! The email adapter against a real SMTP server (aiosmtpd on loopback), and
//! schedules with the clock driven by the test: exactly once per period,
//! one catch-up after downtime, time zones and DST, empty digests skipped.

mod helpers;
#[path = "support/receiver.rs"]
mod receiver;
#[path = "support/smtp.rs"]
mod smtp;

use std::time::Duration;

use chrono::{DateTime, Utc};
use helpers::TestApp;
use serde_json::{Value, json};
use smtp::{SmtpSink, header};
use steward::config::{Config, ScheduleConfig, WhenEmpty};
use steward::domain::ManualClock;
use steward::schedules::{self, Firing};
use steward::store::Store;

/// Email runs unattended in these tests: the policy makes it low risk.
const POLICY: &str = r#"
default_risk = "low"
[levels.low]
mode = "auto"
[levels.medium]
mode = "auto"
[levels.high]
mode = "auto"
[[rule]]
name = "mail"
adapter = "email"
risk = "low"
"#;

fn with_email(c: &mut Config, sink: &SmtpSink, dir: &std::path::Path) {
    sink.wire(c);
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, POLICY).unwrap();
    c.policy.path = Some(policy);
}

async fn app_with(sink: &SmtpSink, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    TestApp::spawn_in(dir, |c| {
        with_email(c, sink, &path);
        adjust(c);
    })
    .await
}

async fn send(app: &TestApp, to: &str) -> String {
    let plan = json!({"steps": [{"adapter": "email", "action": "send",
        "args": {"to": to, "subject": "Renewal offer", "text": "Hello,\nplease find the offer attached."}}]});
    let r = app.post("/v1/intents").json(&json!({"text": "mail the offer", "plan": plan})).send().await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_send_keeps_its_message_id_across_a_retry() {
    let sink = SmtpSink::start("flaky");
    let app = app_with(&sink, |_| {}).await;
    let id = send(&app, "ops@example.com").await;
    let done = app.wait_for(&id, "succeeded").await;
    let got = sink.wait_for(2);
    assert_eq!(got.len(), 2, "the first attempt was deferred (451), the retry accepted");
    let want = format!("<steward-{id}-0@example.com>");
    assert_eq!(header(&got[0], "Message-ID").as_deref(), Some(want.as_str()));
    assert_eq!(header(&got[1], "Message-ID").as_deref(), Some(want.as_str()), "the same message, not a new one");
    assert_eq!(done["steps"][0]["result"]["message_id"], want.as_str());
    assert!(done["steps"][0]["result"]["accepted"].as_str().unwrap().contains("queued as sink-2"), "{done}");
    app.stop().await;
}

#[tokio::test]
async fn an_interrupted_send_is_unknown_and_never_resent() {
    let sink = SmtpSink::start("hang");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let clock = ManualClock::at(Utc::now().timestamp_millis());
    let app = TestApp::spawn_clocked(dir, clock.clone(), |c| with_email(c, &sink, &path)).await;
    let id = send(&app, "ops@example.com").await;
    let i = app.wait_for(&id, "needs_attention").await;
    assert_eq!(i["steps"][0]["state"], "unknown", "{i}");
    // A day later by steward's clock: no retry, no lease, nothing that
    // could send it again is left.
    clock.advance(Duration::from_secs(24 * 3600));
    assert_eq!(app.count(helpers::ARMED_STEP_TIMERS).await, 0, "no timer could resend it");
    let after = app.get(&format!("/v1/intents/{id}")).send().await.unwrap().json::<Value>().await.unwrap();
    assert_eq!(after["state"], "needs_attention", "{after}");
    assert_eq!(sink.messages().len(), 1, "not sent again blindly");
    app.stop().await;
}

#[tokio::test]
async fn an_auth_failure_is_reported_clearly_without_the_password() {
    let sink = SmtpSink::start("auth");
    let app = app_with(&sink, |c| {
        c.email.username = Some("steward".into());
        c.email.password = Some("wrong-password-91".into());
    })
    .await;
    let id = send(&app, "ops@example.com").await;
    let i = app.wait_for(&id, "failed").await;
    let error = i["steps"][0]["error"].as_str().unwrap();
    assert!(error.contains("refused the login of `steward`") && error.contains("email.password"), "{error}");
    assert!(!i.to_string().contains("wrong-password-91"));
    assert!(sink.messages().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn undoing_a_sent_email_sends_its_correction_as_a_reply() {
    let sink = SmtpSink::start("ok");
    let recv = receiver::Receiver::start(receiver::Faults::default(), 1).await;
    let app = app_with(&sink, |_| {}).await;
    let plan = json!({"steps": [
        {"adapter": "email", "action": "send", "args": {"to": "ops@example.com", "subject": "Price list",
            "text": "New prices attached.", "correction": {"text": "Please ignore the previous message."}}},
        {"adapter": "webhook", "action": "call", "args": {"url": recv.url("/hook/fail")}},
    ]});
    let r = app.post("/v1/intents").json(&json!({"text": "publish prices", "plan": plan})).send().await.unwrap();
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let i = app.wait_for(&id, "compensated").await;
    assert_eq!(i["steps"][0]["state"], "compensated", "{i}");
    let got = sink.wait_for(2);
    let original = header(&got[0], "Message-ID").unwrap();
    assert_eq!(header(&got[1], "In-Reply-To").as_deref(), Some(original.as_str()));
    assert_eq!(header(&got[1], "Subject").as_deref(), Some("Correction: Price list"));
    assert!(got[1].contains("Please ignore the previous message."));
    app.stop().await;
}

#[tokio::test]
async fn a_recipient_outside_the_allowed_domains_waits_for_approval() {
    let sink = SmtpSink::start("ok");
    // The built-in policy: email outside the listed domains is high risk.
    let app = app_with(&sink, |c| c.policy.path = None).await;
    let id = send(&app, "someone@elsewhere.example").await;
    let i = app.wait_for(&id, "awaiting_approval").await;
    assert_eq!(i["risk"], "high");
    assert!(sink.messages().is_empty());
    app.stop().await;
}

// ---- schedules, with the test's clock ----

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn schedule(cron: &str, tz: &str, when_empty: WhenEmpty) -> schedules::Schedule {
    let c = ScheduleConfig {
        name: "morning".into(),
        cron: cron.into(),
        timezone: tz.into(),
        destination: "log:digest".into(),
        when_empty,
    };
    schedules::parse(&[c], &schedules::Available::default()).unwrap().remove(0)
}

async fn store_in(dir: &std::path::Path) -> Store {
    let config = Config::defaults_in(dir);
    std::fs::create_dir_all(dir).unwrap();
    Store::open(&config.database_path(), &config.store).await.unwrap()
}

async fn runs(store: &Store) -> Vec<(String, bool, String)> {
    sqlx::query_as("SELECT period, catch_up, outcome FROM schedule_runs ORDER BY period_at")
        .fetch_all(store.reader())
        .await
        .unwrap()
}

async fn digests(store: &Store) -> Vec<Value> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT payload FROM outbox WHERE destination = 'log:digest' ORDER BY created_at")
            .fetch_all(store.reader())
            .await
            .unwrap();
    rows.iter().map(|(p,)| serde_json::from_str(p).unwrap()).collect()
}

#[tokio::test]
async fn a_period_fires_once_even_across_a_restart_and_a_second_process() {
    let dir = tempfile::tempdir().unwrap();
    let s = schedule("0 8 * * *", "UTC", WhenEmpty::OneLine);
    let store = store_in(dir.path()).await;
    assert!(schedules::tick(&store, &[s.clone()], t("2026-11-25T07:00:00Z")).await.unwrap().is_empty(), "first seen");
    let fired = schedules::tick(&store, &[s.clone()], t("2026-11-25T08:00:01Z")).await.unwrap();
    assert_eq!(fired.len(), 1);
    assert!(!fired[0].catch_up);
    // Ticking again in the same period fires nothing.
    assert!(schedules::tick(&store, &[s.clone()], t("2026-11-25T08:00:30Z")).await.unwrap().is_empty());
    // Another process racing for the same period is refused by the key.
    let p = s.next_after(t("2026-11-25T07:59:00Z")).unwrap();
    assert_eq!(
        schedules::fire(&store, &s, Some(p), false, t("2026-11-25T08:00:02Z")).await.unwrap().outcome,
        Firing::AlreadyFired
    );
    store.close().await;
    // A restart (the store reopened) finds the run recorded.
    let store = store_in(dir.path()).await;
    assert!(schedules::tick(&store, &[s.clone()], t("2026-11-25T08:00:40Z")).await.unwrap().is_empty());
    assert_eq!(runs(&store).await.len(), 1);
    assert_eq!(digests(&store).await.len(), 1, "one digest queued");
}

#[tokio::test]
async fn downtime_gives_one_catch_up_for_the_latest_missed_period() {
    let dir = tempfile::tempdir().unwrap();
    let s = schedule("0 * * * *", "UTC", WhenEmpty::OneLine);
    let store = store_in(dir.path()).await;
    schedules::tick(&store, &[s.clone()], t("2026-11-25T00:30:00Z")).await.unwrap();
    schedules::tick(&store, &[s.clone()], t("2026-11-25T01:00:05Z")).await.unwrap();
    // Down from 01:10 to 05:10: four periods missed, one catch-up.
    let fired = schedules::tick(&store, &[s.clone()], t("2026-11-25T05:10:00Z")).await.unwrap();
    assert_eq!(fired.len(), 1);
    assert!(fired[0].catch_up);
    assert_eq!(fired[0].period, "2026-11-25T05:00:00");
    let r = runs(&store).await;
    assert_eq!(
        r.iter().map(|(p, c, _)| (p.as_str(), *c)).collect::<Vec<_>>(),
        [("2026-11-25T01:00:00", false), ("2026-11-25T05:00:00", true)]
    );
    let d = digests(&store).await;
    assert_eq!(d.len(), 2);
    assert_eq!(d[1]["catch_up"], true);
    assert!(d[1]["subject"].as_str().unwrap().starts_with("[catch-up]"), "{}", d[1]);
}

#[tokio::test]
async fn daylight_saving_changes_give_one_period_per_night() {
    for (from, until) in
        [("2026-03-28T22:00:00Z", "2026-03-29T04:00:00Z"), ("2026-10-24T22:00:00Z", "2026-10-25T04:00:00Z")]
    {
        let dir = tempfile::tempdir().unwrap();
        let s = schedule("30 2 * * *", "Europe/Berlin", WhenEmpty::OneLine);
        let store = store_in(dir.path()).await;
        let mut now = t(from);
        while now <= t(until) {
            schedules::tick(&store, &[s.clone()], now).await.unwrap();
            now += chrono::Duration::minutes(5);
        }
        let r = runs(&store).await;
        assert_eq!(r.len(), 1, "{from}: {r:?}");
        assert!(!r[0].1, "on time, not a catch-up: {r:?}");
    }
    // A morning digest follows local time: 07:00 UTC in winter, 06:00 in summer.
    let s = schedule("0 8 * * *", "Europe/Berlin", WhenEmpty::OneLine);
    assert_eq!(s.next_after(t("2026-12-01T00:00:00Z")).unwrap().with_timezone(&Utc), t("2026-12-01T07:00:00Z"));
    assert_eq!(s.next_after(t("2026-06-01T00:00:00Z")).unwrap().with_timezone(&Utc), t("2026-06-01T06:00:00Z"));
}

#[tokio::test]
async fn an_empty_digest_is_skipped_or_one_line_as_configured() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path()).await;
    let skip = schedule("0 8 * * *", "UTC", WhenEmpty::Skip);
    schedules::tick(&store, &[skip.clone()], t("2026-11-25T07:00:00Z")).await.unwrap();
    let fired = schedules::tick(&store, &[skip], t("2026-11-25T08:00:01Z")).await.unwrap();
    assert_eq!(fired[0].outcome, Firing::Skipped);
    assert!(digests(&store).await.is_empty(), "nothing sent");
    assert_eq!(runs(&store).await[0].2, "skipped", "but the period is recorded: it will not fire again");

    let dir = tempfile::tempdir().unwrap();
    let store = store_in(dir.path()).await;
    let line = schedule("0 8 * * *", "UTC", WhenEmpty::OneLine);
    schedules::tick(&store, &[line.clone()], t("2026-11-25T07:00:00Z")).await.unwrap();
    schedules::tick(&store, &[line], t("2026-11-25T08:00:01Z")).await.unwrap();
    let d = digests(&store).await;
    assert_eq!(d.len(), 1);
    assert!(d[0]["text"].as_str().unwrap().contains("nothing happened since"), "{}", d[0]);
}

/// A real crash: `steward serve` fires a scheduled email digest, the SMTP
/// server takes the message but its answer never comes, and steward is
/// SIGKILLed while it waits. After the restart the send is `unknown` for the
/// operator to decide: not sent again, and the period not fired again.
#[tokio::test]
async fn a_digest_interrupted_by_a_crash_is_neither_resent_nor_refired() {
    use chrono::{Datelike, Timelike};
    let sink = SmtpSink::start("hang");
    let dir = tempfile::tempdir().unwrap();
    let at = Utc::now() + chrono::Duration::seconds(4);
    let cron = format!("{} {} {} {} {} *", at.second(), at.minute(), at.hour(), at.day(), at.month());
    std::fs::write(dir.path().join("policy.toml"), POLICY).unwrap();
    let config = dir.path().join("steward.toml");
    std::fs::write(
        &config,
        format!(
            "[policy]\npath = \"{}\"\n[embedding]\nbackend = \"hash\"\n\
             [email]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"none\"\nfrom = \"steward@example.com\"\ntimeout_secs = 60\n\
             [[schedules]]\nname = \"morning\"\ncron = \"{cron}\"\ndestination = \"email:ops@example.com\"\nwhen_empty = \"one_line\"\n",
            dir.path().join("policy.toml").display(),
            sink.port
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let envs = [("STEWARD_CONFIG", config.to_str().unwrap()), ("STEWARD_API_TOKEN", helpers::TOKEN)];
    let mut first = helpers::ServeProcess::start(&data, &envs);
    sink.wait_for(1);
    // The message is in and its answer never comes: steward is waiting on
    // a running step when it is killed.
    let db = data.join("steward.db");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while helpers::count_in(&db, "SELECT COUNT(*) FROM steps WHERE state = 'running'").await == 0 {
        assert!(std::time::Instant::now() < deadline, "the send never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.signal("KILL");
    first.wait_exit();

    let second = helpers::ServeProcess::start(&data, &envs);
    let client = reqwest::Client::new();
    let url = format!("http://{}/v1/intents?state=needs_attention", second.addr);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let page: Value = loop {
        let page: Value = client.get(&url).bearer_auth(helpers::TOKEN).send().await.unwrap().json().await.unwrap();
        if page["items"].as_array().is_some_and(|i| !i.is_empty()) {
            break page;
        }
        assert!(std::time::Instant::now() < deadline, "the interrupted send never reached the operator");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(page["items"][0]["text"].as_str().unwrap().contains("morning digest"), "{page}");
    assert_eq!(helpers::count_in(&db, helpers::ARMED_STEP_TIMERS).await, 0, "no timer could resend it");
    assert_eq!(sink.messages().len(), 1, "never resent");
    let runs = helpers::run_in(dir.path(), &["--config", config.to_str().unwrap(), "schedules", "list"]);
    assert!(helpers::stdout(&runs).contains("morning"), "{}", helpers::stderr(&runs));
    drop(second);
}

#[tokio::test]
async fn digest_preview_reads_a_populated_workspace_exceptions_first() {
    let app = TestApp::spawn().await;
    let plan =
        json!({"steps": [{"adapter": "note", "action": "write", "args": {"text": "Globex signed the renewal"}}]});
    let r =
        app.post("/v1/intents").json(&json!({"text": "note that Globex signed", "plan": plan})).send().await.unwrap();
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    app.wait_for(&id, "succeeded").await;
    // No model is configured: this one waits for the operator.
    let o: Value = app
        .post("/v1/messages")
        .json(&json!({"text": "send the Q3 numbers to the accountant"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(o["intent_state"], "needs_attention");
    // The same digest from chat, at tier 0.
    let chat: Value =
        app.post("/v1/messages").json(&json!({"text": "/digest"})).send().await.unwrap().json().await.unwrap();
    assert_eq!(chat["tier"], 0);
    assert!(chat["text"].as_str().unwrap().contains("NEEDS YOU (1)"), "{chat}");
    let dir = app.stop_keeping_data().await;

    let config = dir.path().join("steward.toml");
    std::fs::write(&config, "[[schedules]]\nname = \"evening\"\ncron = \"0 18 * * *\"\ntimezone = \"Europe/Berlin\"\ndestination = \"log:digest\"\n").unwrap();
    let run = |args: &[&str]| {
        helpers::steward().arg("--data-dir").arg(dir.path()).arg("--config").arg(&config).args(args).output().unwrap()
    };
    let out = run(&["digest", "preview"]);
    let text = helpers::stdout(&out);
    assert!(out.status.success(), "{}", helpers::stderr(&out));
    let (needs, done) = (text.find("NEEDS YOU (1)").unwrap(), text.find("DONE (").unwrap());
    assert!(needs < done, "exceptions first:\n{text}");
    assert!(text.contains("send the Q3 numbers") && text.contains("note that Globex signed"), "{text}");
    assert!(text.contains("CET"), "in the schedule's zone:\n{text}");
    let html = helpers::stdout(&run(&["digest", "preview", "--format", "telegram"]));
    assert!(html.starts_with("<b>steward digest: evening"), "{html}");
    let unknown = run(&["digest", "preview", "--schedule", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(helpers::stderr(&unknown).contains("no schedule named `nope`; configured: evening"));
    let sent = run(&["digest", "send"]);
    assert!(helpers::stdout(&sent).contains("queued the evening digest for log:digest"), "{}", helpers::stderr(&sent));
    let listed = helpers::stdout(&run(&["schedules", "list"]));
    assert!(listed.contains("evening") && listed.contains("next:") && listed.contains("18:00"), "{listed}");
}
