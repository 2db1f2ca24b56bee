//! The email adapter against a real SMTP server (aiosmtpd on loopback), a
//! scheduled email digest interrupted by a crash, and `digest preview` /
//! `digest send`. How schedules run is `digest_schedules.rs`.

mod helpers;
#[path = "support/receiver.rs"]
mod receiver;
#[path = "support/smtp.rs"]
mod smtp;

use std::time::Duration;

use chrono::Utc;
use helpers::TestApp;
use serde_json::{Value, json};
use smtp::{SmtpSink, header};
use steward::config::Config;
use steward::domain::ManualClock;

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

/// A scheduled email digest is composed, then sent as email, which the
/// policy judges as email; with `when_empty = "skip"` a day with nothing in
/// it sends no mail at all.
#[tokio::test]
async fn a_scheduled_email_digest_is_skipped_when_empty_and_mailed_when_not() {
    let sink = SmtpSink::start("ok");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let at = |s: &str| s.parse::<chrono::DateTime<Utc>>().unwrap().timestamp_millis();
    let clock = ManualClock::at(at("2026-11-25T07:00:00Z"));
    let app = TestApp::spawn_clocked(dir, clock.clone(), |c| {
        with_email(c, &sink, &path);
        c.schedules.push(steward::config::ScheduleConfig {
            name: "evening".into(),
            cron: "0 8 * * *".into(),
            timezone: "UTC".into(),
            destination: "email:ops@example.com".into(),
            when_empty: steward::config::WhenEmpty::Skip,
        });
    })
    .await;
    let runs = "SELECT COUNT(*) FROM workflow_runs WHERE workflow = 'digest-evening' AND ended = 'succeeded'";
    helpers::until("the first tick", || async { app.count("SELECT COUNT(*) FROM workflow_state").await >= 1 }).await;
    clock.set(at("2026-11-25T08:00:01Z"));
    helpers::until("the empty day's run", || async { app.count(runs).await >= 1 }).await;
    assert!(sink.messages().is_empty(), "nothing happened: no mail");

    let plan = json!({"steps": [{"adapter": "note", "action": "write", "args": {"text": "Globex signed"}}]});
    let r =
        app.post("/v1/intents").json(&json!({"text": "note that Globex signed", "plan": plan})).send().await.unwrap();
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    app.wait_for(&id, "succeeded").await;
    clock.set(at("2026-11-26T08:00:01Z"));
    helpers::until("the digest mail", || async { !sink.messages().is_empty() }).await;
    let mail = sink.messages();
    assert_eq!(header(&mail[0], "To").as_deref(), Some("ops@example.com"));
    assert!(header(&mail[0], "Subject").unwrap().contains("evening"), "{}", mail[0]);
    assert!(mail[0].contains("note that Globex signed"), "{}", mail[0]);
    helpers::until("the second run", || async { app.count(runs).await >= 2 }).await;
    assert_eq!(sink.messages().len(), 1);
    app.stop().await;
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
