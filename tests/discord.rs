//! The Discord channel: serenity connected to a REST and gateway stand-in on
//! loopback. Slash commands, answers with their sources, "I don't know",
//! mentions, button approvals with stale and foreign presses, a
//! collaborator's scope, a forced gateway reconnect, a 429 on message
//! create, an interaction that can no longer be answered, and workflows
//! and reminders offered and run from Discord.

#[path = "support/discord.rs"]
mod discord;
mod helpers;

use discord::{APP, CHANNEL, FakeDiscord, GUILD, token_of};
use helpers::TestApp;
use serde_json::{Value, json};
use steward::config::{Config, SecretString};

const OPERATOR: u64 = 100_000_000_000_000_001;
const COLLABORATOR: u64 = 100_000_000_000_000_002;

const POLICY: &str = r#"
default_risk = "high"
[levels.low]
mode = "auto"
[levels.medium]
mode = "auto"
[levels.high]
mode = "approve-before"
expiry_secs = 3600
reping_secs = 3600
[breaker]
failures = 1000
window_secs = 60
cooldown_secs = 60
"#;

fn wire(c: &mut Config, d: &FakeDiscord) {
    c.discord.token = Some(SecretString::from("discord-test-token"));
    c.discord.api_url = d.url();
    c.discord.application_id = Some(APP);
    c.discord.guild_ids = vec![GUILD];
    c.discord.allowed_users = vec![OPERATOR];
    c.notify.operator = vec![format!("discord:{CHANNEL}")];
    c.notify.retry.initial_ms = 20;
    c.notify.retry.max_ms = 2_000;
}

async fn app(d: &FakeDiscord, minilm: bool) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, POLICY).unwrap();
    let app = TestApp::spawn_in(dir, |c| {
        c.policy.path = Some(path);
        if minilm {
            c.embedding.backend = steward::config::EmbeddingBackend::Minilm;
        }
        wire(c, d);
    })
    .await;
    d.ready().await;
    app
}

async fn remember(app: &TestApp, text: &str, scope: &str) {
    let r = app.post("/v1/memory").json(&json!({"text": text, "scope": scope})).send().await.unwrap();
    assert_eq!(r.status(), 201);
}

/// The answer to an interaction: waits for its first write and returns the
/// body (the edited original, or a follow-up).
async fn answer(d: &FakeDiscord, interaction: &str) -> Value {
    let token = token_of(interaction);
    d.wait(30, "an answer", |d| d.answers(&token).first().map(|w| w.body.clone())).await
}

async fn submit(app: &TestApp, text: &str) -> String {
    let plan = json!({"steps": [{"adapter": "note", "action": "write", "args": {"text": text}}]});
    let res = app.post("/v1/intents").json(&json!({"text": text, "plan": plan})).send().await.unwrap();
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

async fn card_for(d: &FakeDiscord, text: &str) -> Value {
    d.wait(30, "the approval card", |d| {
        d.channel_messages()
            .into_iter()
            .find(|m| m["embeds"][0]["description"].as_str().is_some_and(|t| t.contains(text)))
    })
    .await
}

fn button(card: &Value, verb: &str) -> String {
    card["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|b| b["custom_id"].as_str().map(str::to_owned))
        .find(|c| c.starts_with(&format!("{verb}:")))
        .unwrap_or_else(|| panic!("no {verb} button on {card:#}"))
}

#[tokio::test]
async fn ask_cites_its_sources_mentions_work_and_unknowns_are_admitted() {
    let d = FakeDiscord::start().await;
    let app = app(&d, true).await;
    let registered = d
        .wait(30, "command registration", |d| {
            d.writes().into_iter().find(|w| w.method == "PUT" && w.path.ends_with(&format!("/guilds/{GUILD}/commands")))
        })
        .await;
    let names: Vec<&str> = registered.body.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ask", "pending", "digest", "remember", "workflows", "run", "remind", "reminders"]);

    remember(&app, "The office is moving to Lisbon in March, after the lease ends.", "public").await;
    let i = d.command(OPERATOR, "ask", Some(("question", "where is the office moving in March?")));
    let a = answer(&d, &i).await;
    let ack = d.writes().into_iter().find(|w| w.path.contains(&format!("/interactions/{i}/"))).expect("acknowledged");
    assert_eq!(ack.body["type"], 5, "deferred, then answered");
    assert!(a["content"].as_str().unwrap().contains("Lisbon"), "{a}");
    let sources = &a["embeds"][0];
    assert_eq!(sources["title"], "Sources", "{a}");
    let field = &sources["fields"][0];
    assert!(field["name"].as_str().unwrap().ends_with(" · api · http"), "who and channel: {field}");
    assert!(field["value"].as_str().unwrap().contains("Lisbon"), "a short quote: {field}");
    assert!(field["name"].as_str().unwrap().starts_with("20"), "a date: {field}");

    // A mention is a question too, answered in the channel.
    d.mention(OPERATOR, "where is the office moving in March?");
    let reply = d
        .wait(30, "the mention's reply", |d| {
            d.channel_messages().into_iter().find(|m| m["message_reference"]["message_id"].is_string())
        })
        .await;
    assert!(reply["content"].as_str().unwrap().contains("Lisbon"), "{reply}");
    assert_eq!(reply["embeds"][0]["title"], "Sources");

    // Nothing in memory answers this one: it says so.
    let i = d.command(COLLABORATOR, "ask", Some(("question", "what colour is the CEO's boat?")));
    let a = answer(&d, &i).await;
    assert!(a["content"].as_str().unwrap().starts_with("I don't know"), "{a}");
    assert!(a["embeds"].as_array().is_none_or(|e| e.is_empty()), "no invented sources: {a}");
    app.stop().await;
}

/// Guarantee: nothing said is lost after a crash. When steward dies after
/// keeping an interaction but before its acknowledgement reaches Discord,
/// Discord never saw the ack, and the interaction can no longer be answered
/// (editing its reply is 404 Unknown Webhook). The stand-in loses the ack
/// the same way; the answer must then reach the channel as a message.
#[tokio::test]
async fn an_interaction_that_can_no_longer_be_answered_is_answered_in_the_channel() {
    let d = FakeDiscord::start().await;
    let app = app(&d, false).await;
    d.lose_acks(true);
    let i = d.command(OPERATOR, "pending", None);
    let reply = d
        .wait(30, "the answer in the channel", |d| {
            d.channel_messages()
                .into_iter()
                .find(|m| m["content"].as_str().is_some_and(|c| c.contains("Nothing is waiting")))
        })
        .await;
    assert_eq!(reply["channel_id"], CHANNEL.to_string(), "{reply}");
    let tried = d.answers(&token_of(&i));
    assert_eq!(tried.len(), 1, "the reply was tried once, then the channel: {tried:?}");
    assert_eq!(d.channel_messages().len(), 1, "answered once");
    app.stop().await;
}

#[tokio::test]
async fn button_approvals_refuse_stale_and_foreign_presses() {
    let d = FakeDiscord::start().await;
    let app = app(&d, false).await;
    let id = submit(&app, "Pay the ACME invoice").await;
    let card = card_for(&d, "Pay the ACME invoice").await;
    assert_eq!(card["embeds"][0]["title"], "Approval needed · high risk");

    // Someone in the guild who may not decide.
    let foreign = d.press(COLLABORATOR, &card, &button(&card, "a"));
    let a = answer(&d, &foreign).await;
    assert_eq!(a["flags"], 64, "ephemeral");
    assert!(a["content"].as_str().unwrap().contains("not an approver"), "{a}");

    // Details expands the card in place.
    let card_id = card["id"].as_str().unwrap().to_owned();
    d.press(OPERATOR, &card, &button(&card, "d"));
    let expanded = d.wait(30, "details", |d| d.message(&card_id).filter(|m| m["embeds"][0]["fields"].is_array())).await;
    assert!(expanded["embeds"][0]["fields"][0]["value"].as_str().unwrap().contains("note.write"));

    let press = d.press(OPERATOR, &expanded, &button(&expanded, "a"));
    let a = answer(&d, &press).await;
    assert!(a["content"].as_str().unwrap().contains(&format!("Approved by discord:{OPERATOR}")), "{a}");
    let decided = d.wait(30, "the edited card", |d| d.message(&card_id).filter(|m| m["components"] == json!([]))).await;
    assert!(decided["embeds"][0]["footer"]["text"].as_str().unwrap().starts_with("✅ Approved by discord:"));
    app.wait_for(&id, "succeeded").await;

    let stale = d.press(OPERATOR, &expanded, &button(&expanded, "r"));
    let a = answer(&d, &stale).await;
    assert_eq!(a["flags"], 64);
    assert!(a["content"].as_str().unwrap().contains("already approved"), "{a}");

    // Decided elsewhere: the card is edited all the same.
    let second = submit(&app, "Renew the domain for five years").await;
    let card2 = card_for(&d, "Renew the domain").await;
    let approvals: Value = app.get("/v1/approvals").send().await.unwrap().json().await.unwrap();
    let a2 = approvals["items"].as_array().unwrap().iter().find(|a| a["intent_id"] == second).unwrap();
    let r = app
        .post(&format!("/v1/approvals/{}/decision", a2["id"].as_str().unwrap()))
        .json(&json!({"decision": "reject"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let id2 = card2["id"].as_str().unwrap().to_owned();
    let edited = d.wait(30, "the rejected card", |d| d.message(&id2).filter(|m| m["components"] == json!([]))).await;
    assert!(edited["embeds"][0]["footer"]["text"].as_str().unwrap().contains("Rejected by http:api"));
    app.stop().await;
}

#[tokio::test]
async fn a_collaborator_never_reads_the_operators_private_scope() {
    let d = FakeDiscord::start().await;
    let app = app(&d, true).await;
    remember(&app, "The salary budget for next year is 80k, keep it confidential.", "operator").await;
    remember(&app, "The team offsite is planned for the first week of June.", "public").await;

    let q = "what is the salary budget for next year?";
    let i = d.command(COLLABORATOR, "ask", Some(("question", q)));
    let a = answer(&d, &i).await;
    assert!(!a.to_string().contains("80k"), "leaked to a collaborator: {a}");
    let i = d.command(OPERATOR, "ask", Some(("question", q)));
    assert!(answer(&d, &i).await.to_string().contains("80k"), "the operator reads it");

    // The collaborator can read public records...
    let i = d.command(COLLABORATOR, "ask", Some(("question", "when is the team offsite?")));
    assert!(answer(&d, &i).await["content"].as_str().unwrap().contains("June"));
    // ...but not act, remember, or see what waits for the operator.
    let i = d.command(COLLABORATOR, "remember", Some(("text", "the budget is 1M")));
    let a = answer(&d, &i).await;
    assert!(a["content"].as_str().unwrap().starts_with("Only the operator"), "{a}");
    let i = d.command(COLLABORATOR, "pending", None);
    assert!(answer(&d, &i).await["content"].as_str().unwrap().contains("for the operator"));
    app.stop().await;
}

#[tokio::test]
async fn a_forced_reconnect_loses_no_interaction_and_a_429_is_retried() {
    let d = FakeDiscord::start().await;
    let app = app(&d, false).await;
    // The socket goes down with an interaction in flight: RESUME replays it.
    d.hold(true);
    let i = d.command(OPERATOR, "pending", None);
    d.force_reconnect();
    let a = answer(&d, &i).await;
    assert!(a["content"].as_str().unwrap().contains("Nothing is waiting"), "{a}");
    // Heartbeats are acknowledged (op 11), so the session stays up.
    d.wait(20, "a heartbeat", |d| (d.counts().2 >= 2).then_some(())).await;
    let (identifies, resumes, _) = d.counts();
    assert_eq!(identifies, 1, "resumed, not a new session");
    assert!(resumes >= 1, "resumes {resumes}");
    // The same interaction delivered again is answered once.
    d.redispatch(&i);
    let again = d.command(OPERATOR, "digest", None);
    answer(&d, &again).await;
    assert_eq!(d.answers(&token_of(&i)).len(), 1, "answered once");

    // A 429 on message create: the card still arrives, once.
    d.rate_limit_next_create(0.3);
    submit(&app, "Order new laptops").await;
    card_for(&d, "Order new laptops").await;
    let creates = d.writes().into_iter().filter(|w| w.method == "POST" && w.path.ends_with("/messages")).count();
    assert_eq!(creates, 2, "one limited, one delivered");
    assert_eq!(d.channel_messages().len(), 1);

    // A long answer is split within Discord's limits.
    for n in 0..12 {
        submit(&app, &format!("Request {n:02}: {}", "a long description of what to buy ".repeat(12))).await;
    }
    d.wait(30, "the cards", |d| (d.channel_messages().len() >= 13).then_some(())).await;
    let i = d.command(OPERATOR, "pending", None);
    let token = token_of(&i);
    let parts = d
        .wait(30, "the split answer", |d| {
            let a = d.answers(&token);
            a.iter().any(|w| w.body["content"].as_str().is_some_and(|c| c.contains("Answer with"))).then_some(a)
        })
        .await;
    assert!(parts.len() >= 2, "split in {} parts", parts.len());
    assert_eq!(parts[0].method, "PATCH", "the first part replaces the deferred answer");
    assert!(parts.iter().all(|p| p.body["content"].as_str().unwrap().chars().count() <= 2000));
    app.stop().await;
}

#[tokio::test]
async fn a_scheduled_digest_reaches_the_channel_as_an_embed() {
    let d = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_in(dir, |c| {
        wire(c, &d);
        c.schedules = vec![steward::config::ScheduleConfig {
            name: "pulse".into(),
            cron: "* * * * * *".into(),
            timezone: "UTC".into(),
            destination: format!("discord:{CHANNEL}"),
            when_empty: steward::config::WhenEmpty::OneLine,
        }];
    })
    .await;
    let m = d
        .wait(30, "a digest", |d| d.channel_messages().into_iter().find(|m| m["embeds"][0]["title"].is_string()))
        .await;
    assert!(m["embeds"][0]["title"].as_str().unwrap().contains("steward digest"), "{m}");
    app.stop().await;
}

/// Workflows and reminders from Discord: `/workflows` lists the saved ones
/// with a run button for one that needs no arguments, the button runs it
/// once, `/run` and `/reminders` are read by the command grammar, and so is
/// what follows a mention.
#[tokio::test]
async fn workflows_and_reminders_are_offered_and_run_from_discord() {
    let d = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path().join("workflows");
    std::fs::create_dir_all(&flows).unwrap();
    std::fs::write(
        flows.join("daily-close.toml"),
        r#"
name = "daily-close"
description = "Note that the day is closed"
[[triggers]]
kind = "command"
[[steps]]
action = "note.write"
args = { text = "Day closed" }
"#,
    )
    .unwrap();
    let app = TestApp::spawn_in(dir, |c| {
        c.workflows.dir = flows;
        wire(c, &d);
    })
    .await;
    d.ready().await;
    let runs = || app.count("SELECT COUNT(*) FROM workflow_runs WHERE workflow = 'daily-close'");

    let i = d.command(OPERATOR, "workflows", None);
    assert!(answer(&d, &i).await["content"].as_str().unwrap().contains("below"));
    let menu = d
        .wait(30, "the workflows menu", |d| {
            d.channel_messages().into_iter().find(|m| m["content"].as_str().is_some_and(|t| t.contains("daily-close")))
        })
        .await;
    let run = button(&menu, "m");
    let pressed = d.press(OPERATOR, &menu, &run);
    let said = answer(&d, &pressed).await;
    assert!(said["content"].as_str().unwrap().contains("daily-close"), "{said}");
    let again = d.press(OPERATOR, &menu, &run);
    answer(&d, &again).await;
    assert_eq!(runs().await, 1, "a menu's button runs it once");

    let i = d.command(OPERATOR, "run", Some(("workflow", "daily-close")));
    let started = answer(&d, &i).await;
    assert!(started["content"].as_str().unwrap().contains("daily-close"), "{started}");
    assert_eq!(runs().await, 2, "/run is the command grammar's");

    let i = d.command(OPERATOR, "reminders", None);
    let listed = answer(&d, &i).await;
    assert!(listed["content"].as_str().unwrap().to_lowercase().contains("reminder"), "{listed}");

    // What follows a mention is typed text: `status` is the command.
    d.mention(OPERATOR, "status");
    let reply = d
        .wait(30, "the mention's reply", |d| {
            d.channel_messages().into_iter().find(|m| m["message_reference"]["message_id"].is_string())
        })
        .await;
    let text = reply["content"].as_str().unwrap();
    assert!(!text.starts_with("Commands:"), "status, not the help: {text}");
    app.stop().await;
}

/// Guarantee: an answer from Discord is read only up to a size limit. A
/// send whose answer is over it is given up with the reason (the message
/// may have gone out, so it is never sent twice), and the outbox goes on.
#[tokio::test]
async fn an_answer_over_the_size_limit_is_not_read_and_the_outbox_goes_on() {
    let d = FakeDiscord::start().await;
    let app = app(&d, false).await;
    d.oversize_next_create(9 << 20);
    submit(&app, "Order new chairs").await;
    submit(&app, "Order new desks").await;
    card_for(&d, "Order new desks").await;
    let failed = "SELECT COUNT(*) FROM outbox WHERE state = 'failed' AND last_error LIKE '%over 8388608 bytes%'";
    helpers::until("the oversized send given up", || async { app.count(failed).await == 1 }).await;
    let creates =
        |d: &FakeDiscord| d.writes().iter().filter(|w| w.method == "POST" && w.path.ends_with("/messages")).count();
    assert_eq!(creates(&d), 2, "the oversized create was not sent again");
    app.stop().await;
}
