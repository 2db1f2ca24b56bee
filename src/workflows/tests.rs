//! Workflow files as an operator writes them, and scheduled runs with the
//! clock driven by the test: once per period, across a second process, one
//! catch-up after downtime, overlaps, pauses.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::*;
use crate::adapters::{Catalog, NoteAdapter};
use crate::domain::RetryPolicy;
use crate::store::Store;

pub(super) const REPORT: &str = r#"
name = "weekly-report"
description = "Notes the week's report for a client"

[params.client]
type = "string"
[params.recipients]
type = "list<email>"
default = ["ops@example.com"]
[params.big]
type = "number"
default = 0

[[triggers]]
kind = "cron"
cron = "0 9 * * 1"
timezone = "Europe/Berlin"
args = { client = "Acme" }

[[triggers]]
kind = "command"

[[steps]]
id = "note"
action = "note.write"
args = { text = "Weekly report for {{ params.client }} to {{ params.recipients | join(', ') }}" }

[[steps]]
id = "big"
action = "note.write"
if = "params.big > 100"
args = { text = "A big week: {{ params.big }}" }
"#;

pub(super) fn catalog(store: &Store) -> Catalog {
    Catalog::default()
        .with(Arc::new(NoteAdapter::new(store.clone())), RetryPolicy::default())
        .with(Arc::new(crate::adapters::WorkflowAdapter::new(store.clone())), RetryPolicy::default())
}

pub(super) fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

pub(super) fn parse(text: &str) -> Result<Workflow, DefinitionError> {
    let store_free = |adapter: &str, action: &str| {
        if adapter == "note" && action == "write" { Ok(()) } else { Err(format!("no `{adapter}.{action}`")) }
    };
    Workflow::parse(text, &store_free)
}

#[test]
fn a_workflow_file_reads_as_written() {
    let w = parse(REPORT).unwrap();
    assert_eq!(w.name, "weekly-report");
    assert_eq!(w.version.len(), 16);
    assert_eq!(w.triggers.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["cron", "command"]);
    assert_eq!(w.steps[1].condition.as_deref(), Some("params.big > 100"));
    assert_ne!(parse(&REPORT.replace("Weekly", "Monthly")).unwrap().version, w.version, "the version is the content");
    let given = json!({"client": "Globex", "recipients": "a@x.io, b@y.org"});
    let resolved = w.resolve(given.as_object().unwrap()).unwrap();
    assert_eq!(resolved["recipients"], json!(["a@x.io", "b@y.org"]));
    let missing = w.resolve(&serde_json::Map::new()).unwrap_err();
    assert!(missing.contains("`client` (string) is required"), "{missing}");
    let unknown = w.resolve(json!({"client": "x", "cleint": "y"}).as_object().unwrap()).unwrap_err();
    assert!(unknown.contains("`cleint` is no parameter"), "{unknown}");
}

#[test]
fn a_broken_file_is_refused_with_its_line_and_reason() {
    let refused = |text: &str| parse(text).unwrap_err();
    let e = refused(&REPORT.replace("action = \"note.write\"\nif", "action = \"note.erase\"\nif"));
    assert_eq!(e.line, Some(28), "the line of its `[[steps]]`: {e}");
    assert!(e.reason.contains("step `big`") && e.reason.contains("note.erase"), "{e}");
    let e = refused(&REPORT.replace("0 9 * * 1", "0 9 * *"));
    assert!(e.to_string().starts_with("line 14:") && e.reason.contains("5 fields"), "{e}");
    let e = refused(&REPORT.replace("{{ params.client }}", "{{ params.client "));
    assert!(e.reason.contains("step `note`, argument `text`"), "{e}");
    let e = refused(&REPORT.replace("type = \"number\"", "type = \"money\""));
    assert!(e.reason.contains("parameter `big`: unknown type"), "{e}");
    let e = refused(&REPORT.replace("timezone = \"Europe/Berlin\"", "timezone = \"Europe/Berlin\"\ncolor = \"red\""));
    assert!(e.reason.contains("unknown field `color`"), "{e}");
    let e = refused(&REPORT.replace("id = \"big\"", "id = \"note\""));
    assert!(e.reason.contains("unique"), "{e}");
    let e = refused(&REPORT.replace("args = { client = \"Acme\" }", "args = { customer = \"Acme\" }"));
    assert!(e.reason.contains("`customer`, which is no parameter"), "{e}");
    let e = refused(&REPORT.replace("kind = \"command\"", "kind = \"carrier-pigeon\""));
    assert!(e.reason.contains("unknown trigger kind"), "{e}");
}

#[tokio::test]
async fn a_run_renders_its_steps_and_leaves_out_those_whose_condition_is_false() {
    let store = Store::in_memory().await.unwrap();
    let w = parse(REPORT).unwrap();
    let start = |key: &str, args: serde_json::Value| Start {
        workflow: &w,
        trigger: "command",
        key: key.into(),
        args: args.as_object().unwrap().clone(),
        cause: run::Cause::Command { channel: "telegram".into() },
        actor: "telegram:1".into(),
        channel: "telegram".into(),
        period: None,
    };
    let cat = catalog(&store);
    let Started::New(id) = run::start(&store, &cat, &start("k1", json!({"client": "Globex"}))).await.unwrap() else {
        panic!("a new run")
    };
    let steps = crate::store::intents::steps(&store, id).await.unwrap();
    assert_eq!(steps.len(), 1, "the big-week step is left out");
    assert_eq!(steps[0].planned.args["text"], "Weekly report for Globex to ops@example.com");
    let intent = crate::store::intents::get(&store, id).await.unwrap().unwrap();
    assert_eq!(intent.provenance.agent, "workflow:weekly-report");
    assert_eq!(intent.provenance.agent_version, w.version);
    // The same key again: the same run, nothing new.
    let again = run::start(&store, &cat, &start("k1", json!({"client": "Globex"}))).await.unwrap();
    assert_eq!(again, Started::Existing(Some(id)));
    let other = run::start(&store, &cat, &start("k1", json!({"client": "Initech"}))).await;
    assert!(matches!(other, Err(StartError::Conflict(_))), "the key with other arguments");
    let bad = run::start(&store, &cat, &start("k2", json!({"client": "x", "big": "lots"}))).await;
    assert!(matches!(&bad, Err(StartError::Invalid(why)) if why.contains("`big`")), "{bad:?}");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM intents").fetch_one(store.reader()).await.unwrap();
    assert_eq!(n, 1, "neither a replay, a conflict nor bad arguments made an intent");
}

#[tokio::test]
async fn a_changed_file_replaces_the_version_in_force_and_a_broken_one_does_not() {
    let store = Store::in_memory().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.toml");
    std::fs::write(&path, REPORT).unwrap();
    let lib = Library::load(Some(dir.path()), catalog(&store), Default::default());
    let first = lib.get("weekly-report").unwrap().version;
    std::fs::write(&path, REPORT.replace("Weekly", "Monthly")).unwrap();
    lib.reload();
    let second = lib.get("weekly-report").unwrap().version;
    assert_ne!(first, second);
    std::fs::write(&path, REPORT.replace("[[steps]]", "[[stepz]]")).unwrap();
    lib.reload();
    assert_eq!(lib.get("weekly-report").unwrap().version, second, "the version in force stays");
    let refused = lib.refused();
    assert_eq!(refused.len(), 1);
    assert!(refused[0].1.line.is_some(), "{}", refused[0].1);
    std::fs::remove_file(&path).unwrap();
    lib.reload();
    assert!(lib.all().is_empty(), "a removed file takes its workflow with it");
}

#[test]
fn a_webhook_trigger_names_its_secret_and_scheme() {
    let hooked = REPORT.replace(
        "[[triggers]]\nkind = \"command\"",
        "[[triggers]]\nkind = \"webhook\"\nscheme = \"github\"\nsecret = \"gh\"\nargs = { client = \"{{ trigger.body.repository.name }}\" }",
    );
    let w = parse(&hooked).unwrap();
    let TriggerKind::Webhook { scheme, secret, .. } = &w.triggers[1].kind else { panic!("a webhook trigger") };
    assert_eq!((scheme, secret.as_str()), (&hooks::Scheme::Github, "gh"));
    let e = parse(&hooked.replace("secret = \"gh\"\n", "")).unwrap_err();
    assert!(e.reason.contains("needs `secret`"), "{e}");
    let e = parse(&hooked.replace("github", "paypal")).unwrap_err();
    assert!(e.reason.contains("unknown signature scheme"), "{e}");
    let e = parse(&hooked.replace("scheme = \"github\"", "cron = \"0 * * * *\"")).unwrap_err();
    assert!(e.reason.contains("only what its kind uses"), "{e}");
}

#[tokio::test]
async fn a_webhook_trigger_whose_secret_is_not_configured_is_refused() {
    let store = Store::in_memory().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let hooked =
        REPORT.replace("[[triggers]]\nkind = \"command\"", "[[triggers]]\nkind = \"webhook\"\nsecret = \"stripe\"");
    std::fs::write(dir.path().join("report.toml"), hooked).unwrap();
    let lib = Library::load(Some(dir.path()), catalog(&store), Default::default());
    assert!(lib.all().is_empty());
    assert!(lib.refused()[0].1.reason.contains("STEWARD_SECRETS__STRIPE"), "{}", lib.refused()[0].1);
    let secrets = crate::adapters::Secrets::new([("stripe".to_owned(), "whsec".to_owned().into())].into());
    assert_eq!(Library::load(Some(dir.path()), catalog(&store), secrets).all().len(), 1);
}

const FOLLOW_UP: &str = r#"
name = "follow-up"
[params.day]
type = "date"
[[steps]]
action = "note.write"
args = { text = "Welcome" }
[[steps]]
wait = "3d"
[[steps]]
wait = "1h"
[[steps]]
action = "note.write"
args = { text = "How is it going?" }
[[steps]]
wait_until = "{{ params.day }}T09:00"
timezone = "Europe/Berlin"
[[steps]]
action = "note.write"
args = { text = "Renewal day" }
"#;

#[tokio::test]
async fn a_wait_becomes_the_timer_of_the_step_after_it() {
    let w = parse(FOLLOW_UP).unwrap();
    assert_eq!(w.steps.iter().map(|s| s.describe()).collect::<Vec<_>>()[1], "wait 3d");
    let store = Store::in_memory().await.unwrap();
    let ctx = json!({"params": {"day": "2027-01-15"}});
    let now = t("2026-12-01T00:00:00Z").timestamp_millis();
    let steps = render::first_intent(&w, &ctx, &catalog(&store), now).unwrap();
    assert_eq!(steps.len(), 3, "waits are no steps of their own");
    assert_eq!((steps[0].wait_secs, steps[0].not_before), (None, None));
    assert_eq!(steps[1].wait_secs, Some(3 * 86_400 + 3600), "waits in a row add up");
    assert_eq!(steps[2].not_before, Some(t("2027-01-15T08:00:00Z").timestamp_millis()));
    let far = json!({"params": {"day": "2029-01-15"}});
    assert!(render::first_intent(&w, &far, &catalog(&store), now).unwrap_err().contains("more than a year"));

    let refused = |text: &str| parse(text).unwrap_err().to_string();
    let tail = FOLLOW_UP.rsplit_once("[[steps]]").unwrap().0;
    assert!(refused(tail).contains("the last step is a wait"), "{}", refused(tail));
    assert!(refused(&FOLLOW_UP.replace("wait = \"3d\"", "wait = \"3 days\"")).contains("not a duration"));
    let both = FOLLOW_UP.replace("wait = \"1h\"", "wait = \"1h\"\naction = \"note.write\"");
    assert!(refused(&both).contains("a step is one of"), "{}", refused(&both));
}

#[tokio::test]
async fn for_each_renders_one_child_plan_per_item() {
    let each = r#"
name = "greet-all"
[params.names]
type = "list<string>"
[[steps]]
action = "note.write"
for_each = "params.names"
as = "who"
args = { text = "Hello {{ who }} ({{ index }})" }
"#;
    let w = parse(each).unwrap();
    let store = Store::in_memory().await.unwrap();
    let ctx = json!({"params": {"names": ["Ana", "Bo"]}});
    let steps = render::first_intent(&w, &ctx, &catalog(&store), 0).unwrap();
    assert_eq!((steps[0].adapter.as_str(), steps[0].action.as_str()), ("workflow", "fan_out"));
    let fan: crate::adapters::workflow::FanOut = serde_json::from_value(steps[0].args.clone()).unwrap();
    assert_eq!(fan.children.len(), 2);
    assert_eq!(fan.children[1].plan.steps()[0].args["text"], "Hello Bo (1)");
    let none = json!({"params": {"names": []}});
    assert!(render::first_intent(&w, &none, &catalog(&store), 0).unwrap_err().contains("1 to"));
    let refused = |text: &str| parse(text).unwrap_err().reason;
    assert!(refused(&each.replace("as = \"who\"", "as = \"params\"")).contains("new lowercase name"));
    assert!(refused(&each.replace("for_each = \"params.names\"\n", "")).contains("`as` goes with `for_each`"));
}
