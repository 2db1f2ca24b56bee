//! Workflows asked for in words, over `POST /v1/messages` with the local
//! embedding model: a request near a workflow's example phrases runs it
//! with the arguments its patterns read, a missing one is asked for (and
//! the next message answers it, or cancels), a question about the same
//! thing is not a request to run it, and the fast model's reading of an
//! argument is taken only when the request says it.

#[path = "support/flows.rs"]
mod flows;
mod helpers;
#[path = "support/openai.rs"]
mod openai;

use flows::db;
use helpers::TestApp;
use openai::{Reply, ScriptedLlm};
use serde_json::{Value, json};
use steward::domain::{SharedClock, SystemClock};

const ONBOARD: &str = include_str!("../workflows/onboard-client.toml");

/// Something else a request could be near.
const PUBLISH: &str = r#"
name = "publish-post"
description = "Publish a blog post and announce it"
[params.title]
type = "string"
[[triggers]]
kind = "command"
examples = ["publish the blog post", "publish {title} on the blog", "put the new article live on the blog"]
patterns = ['(?i:publish|post)\s+"(?P<title>[^"]+)"']
[[steps]]
action = "note.write"
args = { text = "Published {{ params.title }}" }
"#;

async fn start(files: &[(&str, &str)], adjust: impl FnOnce(&mut steward::config::Config)) -> TestApp {
    let files: Vec<(&str, String)> = files.iter().map(|(n, t)| (*n, (*t).to_owned())).collect();
    flows::start_with(tempfile::tempdir().unwrap(), SystemClock::shared() as SharedClock, &files, |c| {
        c.embedding.backend = steward::config::EmbeddingBackend::Minilm;
        // The welcome email needs an email adapter; these tests stop at the intent.
        c.email.host = Some("127.0.0.1".into());
        c.email.port = 9;
        c.email.security = steward::config::SmtpSecurity::None;
        c.email.from = Some("steward <steward@example.com>".into());
        adjust(c);
    })
    .await
}

async fn say(app: &TestApp, text: &str) -> Value {
    let r = app.post("/v1/messages").json(&json!({"text": text})).send().await.unwrap();
    assert_eq!(r.status(), 200, "{text}");
    r.json().await.unwrap()
}

async fn run_args(app: &TestApp, intent: &Value) -> Value {
    let sql = format!("SELECT args FROM workflow_runs WHERE intent_id = '{}'", intent.as_str().unwrap());
    serde_json::from_str(&helpers::text_in(&db(app), &sql).await).unwrap()
}

#[tokio::test]
async fn a_request_in_words_runs_its_workflow_and_what_is_missing_is_asked_for() {
    let app = start(&[("onboard-client.toml", ONBOARD), ("publish-post.toml", PUBLISH)], |_| {}).await;

    let o = say(&app, "Please onboard Globex Corporation, contact Hana at hana@globex.example").await;
    assert_eq!((o["kind"].as_str(), o["tier"].as_u64()), (Some("intent"), Some(1)), "{o}");
    assert_eq!(o["route"], "workflow:onboard-client", "{o}");
    let args = run_args(&app, &o["intent_id"]).await;
    assert_eq!(args, json!({"company": "Globex Corporation", "email": "hana@globex.example", "name": "Hana"}));

    let o = say(&app, "could you publish \"Ten years of steward\" on the blog?").await;
    assert_eq!(o["route"], "workflow:publish-post", "{o}");
    assert_eq!(run_args(&app, &o["intent_id"]).await, json!({"title": "Ten years of steward"}));

    // Nothing names the company or the address: each is asked for.
    let o = say(&app, "we have a new client to onboard").await;
    assert_eq!((o["kind"].as_str(), o["route"].as_str()), (Some("reply"), Some("workflow:onboard-client")), "{o}");
    assert!(o["text"].as_str().unwrap().contains("I need `company`"), "{o}");
    // A question on the side is read as itself; the question stays open.
    let o = say(&app, "when is the next invoice due?").await;
    assert!(!o["text"].as_str().unwrap().contains("onboard-client"), "{o}");
    assert_eq!(helpers::count_in(&db(&app), "SELECT COUNT(*) FROM arg_forms").await, 1);
    let o = say(&app, "Initech").await;
    assert!(o["text"].as_str().unwrap().contains("I need `email`"), "{o}");
    let o = say(&app, "peter at initech").await;
    assert!(o["text"].as_str().unwrap().starts_with("That will not do:"), "a wrong answer is asked again: {o}");
    let o = say(&app, "it's peter@initech.example").await;
    assert_eq!((o["kind"].as_str(), o["tier"].as_u64()), (Some("intent"), Some(0)), "{o}");
    let args = run_args(&app, &o["intent_id"]).await;
    assert_eq!(args, json!({"company": "Initech", "email": "peter@initech.example", "name": "there"}));
    // The question is closed: the next message is read as itself.
    let o = say(&app, "Initech").await;
    assert_ne!(o["route"], "workflow:onboard-client", "{o}");

    // `/run` with an argument missing asks for it the same way; "cancel" stops.
    let o = say(&app, "/run onboard-client company=Hooli").await;
    assert!(o["text"].as_str().unwrap().contains("I need `email`"), "{o}");
    let o = say(&app, "cancel").await;
    assert_eq!(o["text"], "Cancelled: workflow onboard-client was not started.");
    assert_eq!(helpers::count_in(&db(&app), "SELECT COUNT(*) FROM arg_forms").await, 0);

    // A request full of names no example knows is read by what it asks
    // for; and a new request while a question is open is not its answer.
    let o = say(&app, "publish Ten Years of Steward by Maria Lopez on the Acme blog").await;
    assert_eq!(o["route"], "workflow:publish-post", "{o}");
    assert!(o["text"].as_str().unwrap().contains("I need `title`"), "{o}");
    // Nor is a greeting: it is answered as one, and starts nothing.
    let o = say(&app, "good evening").await;
    assert_ne!(o["kind"], "intent", "a greeting is not the post's title: {o}");
    assert_eq!(helpers::count_in(&db(&app), "SELECT COUNT(*) FROM arg_forms").await, 0, "the question is dropped");
    let o = say(&app, "publish Ten Years of Steward by Maria Lopez on the Acme blog").await;
    assert!(o["text"].as_str().unwrap().contains("I need `title`"), "{o}");
    let o = say(&app, "onboard Bolt Studio (Priya Raman, Tomasz Nowak and Li Wei), contact priya@bolt.example").await;
    assert_eq!((o["kind"].as_str(), o["route"].as_str()), (Some("intent"), Some("workflow:onboard-client")), "{o}");
    let args = run_args(&app, &o["intent_id"]).await;
    assert_eq!((args["company"].as_str(), args["email"].as_str()), (Some("Bolt Studio"), Some("priya@bolt.example")));
    assert_eq!(helpers::count_in(&db(&app), "SELECT COUNT(*) FROM arg_forms").await, 0, "the title is no longer asked");

    // Nor is a sentence of another shape than the company's pattern reads
    // (a short reply would be taken: see "Initech" above).
    let o = say(&app, "we have a new client to onboard").await;
    assert!(o["text"].as_str().unwrap().contains("I need `company`"), "{o}");
    let o = say(&app, "put on record that Hugo returned the laptop").await;
    assert_ne!(o["route"], "workflow:onboard-client", "not the company's name: {o}");
    assert_eq!(helpers::count_in(&db(&app), "SELECT COUNT(*) FROM arg_forms").await, 0, "the question is dropped");

    // A question about onboarding, or a request for something else, runs nothing.
    for text in
        ["when did we onboard Globex Corporation?", "send the invoice to Umbrella", "show me the onboarding checklist"]
    {
        let o = say(&app, text).await;
        assert!(!o["route"].as_str().unwrap_or("").starts_with("workflow:"), "{text}: {o}");
    }
    assert_eq!(helpers::count_in(&db(&app), "SELECT COUNT(*) FROM workflow_runs").await, 4);
    app.stop().await;
}

/// No pattern reads these: the fast model does.
const BOOK_CALL: &str = r#"
name = "book-call"
description = "Book a call and note its topic"
[params.person]
type = "contact"
[params.topic]
type = "string"
[[triggers]]
kind = "command"
examples = ["book a call with {person}", "set up a call"]
[[steps]]
action = "note.write"
args = { text = "Call with {{ params.person }} about {{ params.topic }}" }
"#;

#[tokio::test]
async fn the_fast_model_fills_only_what_the_request_says() {
    let llm = ScriptedLlm::start().await;
    // The model reads the person right, and makes a topic up.
    llm.respond_with(|_| {
        Reply::json(json!({"kind": "action", "confidence": 0.9, "summary": "book",
            "step": {"adapter": "workflow", "action": "book-call", "args": {"person": "Jonas", "topic": "pricing"}}}))
    });
    let app = start(&[("book-call.toml", BOOK_CALL), ("onboard-client.toml", ONBOARD)], |c| {
        for tier in [&mut c.llm.fast, &mut c.llm.deep] {
            tier.base_url = Some(llm.base_url());
            tier.model = Some("scripted".into());
        }
    })
    .await;
    let o = say(&app, "book a call with Jonas").await;
    assert_eq!((o["tier"].as_u64(), o["route"].as_str()), (Some(2), Some("workflow:book-call")), "{o}");
    assert!(o["text"].as_str().unwrap().contains("I need `topic`"), "the invented topic is asked for: {o}");
    let form = helpers::text_in(&db(&app), "SELECT args FROM arg_forms").await;
    assert_eq!(serde_json::from_str::<Value>(&form).unwrap(), json!({"person": "Jonas"}));
    let asked = llm.requests();
    assert_eq!(asked.len(), 1, "one call of the fast model");
    let user = asked[0]["messages"][1]["content"].as_str().unwrap();
    assert!(user.contains("workflow.book-call(person: contact, topic: string)"), "{user}");
    let o = say(&app, "the renewal").await;
    assert_eq!(o["kind"], "intent", "{o}");
    // A workflow whose patterns declare what is missing asks without a model call.
    let o = say(&app, "we have a new client to onboard").await;
    assert_eq!((o["tier"].as_u64(), o["kind"].as_str()), (Some(1), Some("reply")), "{o}");
    assert_eq!(llm.requests().len(), 1);
    app.stop().await;
}
