//! Commands said in words, with no model: "what's pending?", "reject the
//! last one", "cancel the intent I just made", "costs this week", "pause
//! all automations". A reference names what it found and waits for the
//! button that confirms it; nothing is decided on a guess.

mod helpers;

use helpers::TestApp;
use serde_json::{Value, json};

async fn say(app: &TestApp, text: &str) -> Value {
    let r = app.post("/v1/messages").json(&json!({"text": text})).send().await.unwrap();
    assert_eq!(r.status(), 200, "{text}");
    r.json().await.unwrap()
}

async fn press(app: &TestApp, said: &Value) -> Value {
    let token = said["buttons"][0]["token"].as_str().unwrap_or_else(|| panic!("no button: {said}"));
    let r = app.post("/v1/messages").json(&json!({"button": format!("m:{token}")})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// An intent the built-in policy holds for approval: a call to a host no
/// rule lists.
async fn held(app: &TestApp, what: &str) -> String {
    let plan =
        json!({"steps": [{"adapter": "webhook", "action": "call", "args": {"url": "https://hooks.example.net/x"}}]});
    let r = app.post("/v1/intents").json(&json!({"text": what, "plan": plan})).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    app.wait_for(&id, "awaiting_approval").await;
    id
}

#[tokio::test]
async fn commands_in_words_find_what_they_name_and_wait_for_the_confirming_press() {
    let app = TestApp::spawn().await;
    let first = held(&app, "call the partner hook").await;
    let second = held(&app, "call the billing hook").await;

    let o = say(&app, "what's pending?").await;
    assert_eq!(o["tier"], 0, "{o}");
    let text = o["text"].as_str().unwrap();
    assert!(text.contains("2 waiting") && text.contains("call the billing hook"), "{o}");

    // The newest is named, and nothing is decided before the press.
    let o = say(&app, "reject the last one").await;
    assert_eq!(o["tier"], 0, "{o}");
    assert!(o["text"].as_str().unwrap().contains("call the billing hook"), "{o}");
    assert_eq!(app.intent(&second).await["state"], "awaiting_approval");
    let pressed = press(&app, &o).await;
    assert!(pressed["text"].as_str().unwrap().to_lowercase().contains("reject"), "{pressed}");
    app.wait_for(&second, "cancelled").await;
    assert_eq!(app.intent(&first).await["state"], "awaiting_approval", "the other one is untouched");

    // "The intent I just made" is the asker's newest that can be cancelled.
    let o = say(&app, "please cancel the intent I just made").await;
    assert!(o["text"].as_str().unwrap().contains("call the partner hook"), "{o}");
    press(&app, &o).await;
    app.wait_for(&first, "cancelled").await;
    let o = say(&app, "cancel that").await;
    assert!(o["text"].as_str().unwrap().starts_with("You have no intent"), "{o}");
    assert!(o["buttons"].as_array().is_none_or(|b| b.is_empty()), "{o}");

    // Spend, with no model calls made: nothing, and never "$-0.0000".
    let o = say(&app, "what did I spend on models this week?").await;
    assert_eq!(o["tier"], 0, "{o}");
    assert!(o["text"].as_str().unwrap().contains("nothing spent"), "{o}");

    // A question that only mentions a command's words is still a question.
    let o = say(&app, "what's pending with the Acme invoice?").await;
    assert_ne!(o["text"].as_str().unwrap().split('\n').next(), Some("Nothing is waiting for you."), "{o}");
    app.stop().await;
}

#[tokio::test]
async fn all_automations_pause_and_resume_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path().join("workflows");
    std::fs::create_dir_all(&flows).unwrap();
    std::fs::write(
        flows.join("tidy.toml"),
        "name = \"tidy\"\ndescription = \"Tidy up\"\n[[triggers]]\nkind = \"cron\"\ncron = \"0 3 * * *\"\n\
         [[steps]]\naction = \"note.write\"\nargs = { text = \"tidied\" }\n",
    )
    .unwrap();
    let app = TestApp::spawn_in(dir, move |c| c.workflows.dir = flows).await;
    let o = say(&app, "pause all automations").await;
    assert!(o["text"].as_str().unwrap().starts_with("Paused 1 workflow(s): tidy"), "{o}");
    assert_eq!(app.count("SELECT COUNT(*) FROM workflow_state WHERE paused_at IS NOT NULL").await, 1);
    let o = say(&app, "resume automations").await;
    assert!(o["text"].as_str().unwrap().starts_with("Resumed 1"), "{o}");
    assert_eq!(app.count("SELECT COUNT(*) FROM workflow_state WHERE paused_at IS NOT NULL").await, 0);
    app.stop().await;
}

/// "Forget everything about Acme": what mentions Acme is shown and kept
/// until the press, which forgets exactly those records; what does not
/// mention it stays, and a press again forgets nothing more.
#[tokio::test]
async fn forgetting_about_a_subject_shows_what_goes_and_waits_for_the_press() {
    let app = TestApp::spawn().await;
    for text in ["Acme pays invoices net 45", "The Acme contact is Wile E.", "Globex pays net 30"] {
        app.call("/v1/memory", json!({"text": text})).await;
    }
    let count = |sql: &'static str| app.count(sql);
    let o = say(&app, "forget everything you know about Acme").await;
    assert_eq!(o["tier"], 0, "{o}");
    let text = o["text"].as_str().unwrap();
    assert!(text.contains("about “Acme”") && text.contains("Acme pays invoices net 45"), "{o}");
    assert_eq!(count("SELECT COUNT(*) FROM memory WHERE text LIKE '%Acme pays%'").await, 1, "nothing before the press");

    let done = press(&app, &o).await;
    assert!(done["text"].as_str().unwrap().starts_with("Forgotten:"), "{done}");
    assert_eq!(count("SELECT COUNT(*) FROM memory WHERE text LIKE '%Acme%' AND kind = 'note'").await, 0);
    assert_eq!(count("SELECT COUNT(*) FROM memory WHERE text = 'Globex pays net 30'").await, 1, "the rest stays");
    assert!(count("SELECT COUNT(*) FROM audit WHERE action = 'memory.forgotten'").await >= 2, "audited");
    let again = press(&app, &o).await;
    assert!(!again["text"].as_str().unwrap().starts_with("Forgotten"), "a button works once: {again}");

    let o = say(&app, "forget everything about Umbrella").await;
    assert!(o["text"].as_str().unwrap().starts_with("I have nothing about “Umbrella”"), "{o}");
    app.stop().await;
}
