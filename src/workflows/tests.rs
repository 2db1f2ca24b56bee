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

const REPORT: &str = r#"
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

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

async fn runs_of(store: &Store) -> Vec<(String, String, bool)> {
    sqlx::query_as("SELECT key, outcome, catch_up FROM workflow_runs ORDER BY period_at, rowid")
        .fetch_all(store.reader())
        .await
        .unwrap()
}

#[tokio::test]
async fn each_cron_period_runs_once_and_downtime_yields_one_catch_up() {
    let store = Store::in_memory().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("report.toml"), REPORT).unwrap();
    let lib = Library::load(Some(dir.path()), catalog(&store), Default::default());
    assert_eq!(lib.all().len(), 1, "{:?}", lib.refused());
    // First seen on a Sunday: nothing from before is due.
    assert!(scheduler::tick(&store, &lib, t("2026-11-29T12:00:00Z")).await.unwrap().is_empty());
    // Monday 09:00 Berlin is 08:00 UTC.
    let fired = scheduler::tick(&store, &lib, t("2026-11-30T08:00:30Z")).await.unwrap();
    assert_eq!(fired.len(), 1);
    assert!(matches!(fired[0].started, Ok(Started::New(_))) && !fired[0].catch_up);
    // The same period again, and a second process with its own library:
    // the period is taken.
    assert!(scheduler::tick(&store, &lib, t("2026-11-30T08:01:00Z")).await.unwrap().is_empty());
    let other = Library::load(Some(dir.path()), catalog(&store), Default::default());
    assert!(scheduler::tick(&store, &other, t("2026-11-30T08:02:00Z")).await.unwrap().is_empty());
    // Three Mondays missed (the last run still going is no matter here:
    // the intent never ran, so mark it done).
    let mut tx = store.begin().await.unwrap();
    sqlx::query("UPDATE intents SET state = 'succeeded'").execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    let fired = scheduler::tick(&store, &lib, t("2026-12-21T10:00:00Z")).await.unwrap();
    assert_eq!(fired.len(), 1, "only the latest missed period");
    assert!(fired[0].catch_up);
    assert_eq!(fired[0].key, "cron:weekly-report:cron:2026-12-21T09:00:00");
    assert_eq!(runs_of(&store).await.len(), 2);
}

#[tokio::test]
async fn an_overlapping_period_is_skipped_and_a_paused_workflow_misses_its_periods() {
    let store = Store::in_memory().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("report.toml"), REPORT).unwrap();
    let lib = Library::load(Some(dir.path()), catalog(&store), Default::default());
    scheduler::tick(&store, &lib, t("2026-11-29T12:00:00Z")).await.unwrap();
    scheduler::tick(&store, &lib, t("2026-11-30T08:00:30Z")).await.unwrap();
    // Its intent has not ended a week later: the next period is skipped.
    let fired = scheduler::tick(&store, &lib, t("2026-12-07T08:00:30Z")).await.unwrap();
    assert!(matches!(&fired[0].started, Ok(Started::Skipped(why)) if why.contains("still going")), "{fired:?}");
    let runs = runs_of(&store).await;
    assert_eq!(runs.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(), ["started", "skipped"]);
    // Paused over the next Monday; resumed after it: that Monday never runs.
    let mut tx = store.begin().await.unwrap();
    sqlx::query("UPDATE intents SET state = 'succeeded'").execute(&mut *tx).await.unwrap();
    crate::store::workflows::set_paused(&mut tx, "weekly-report", true, t("2026-12-10T00:00:00Z").timestamp_millis())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(scheduler::tick(&store, &lib, t("2026-12-14T08:00:30Z")).await.unwrap().is_empty());
    let mut tx = store.begin().await.unwrap();
    crate::store::workflows::set_paused(&mut tx, "weekly-report", false, t("2026-12-15T00:00:00Z").timestamp_millis())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(scheduler::tick(&store, &lib, t("2026-12-15T00:00:01Z")).await.unwrap().is_empty());
    let fired = scheduler::tick(&store, &lib, t("2026-12-21T08:00:30Z")).await.unwrap();
    assert_eq!(fired.len(), 1);
    assert_eq!(runs_of(&store).await.len(), 3);
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

#[test]
fn a_recurring_workflow_that_keeps_failing_backs_off_more_each_time() {
    let row = |outcome: &str, note: Option<&str>, state: Option<&str>| {
        (outcome.to_owned(), note.map(str::to_owned), state.map(str::to_owned))
    };
    let failed = row("started", None, Some("failed"));
    let ok = row("started", None, Some("succeeded"));
    let waited = row("skipped", Some("backing off: 3 runs failed in a row"), None);
    let overlap = row("skipped", Some("the last run was still going"), None);
    let broken = row("skipped", Some("could not start: `client` is required"), None);
    assert_eq!(scheduler::backoff(&[failed.clone(), failed.clone()]), None, "two failures: try again");
    assert_eq!(scheduler::backoff(&[failed.clone(), overlap.clone(), failed.clone(), broken.clone()]), Some((3, 1)));
    assert_eq!(
        scheduler::backoff(&[waited.clone(), failed.clone(), failed.clone(), failed.clone()]),
        None,
        "skipped one: try"
    );
    let four = [failed.clone(), waited.clone(), failed.clone(), failed.clone(), failed.clone()];
    assert_eq!(scheduler::backoff(&four), Some((4, 2)), "a fourth failure: skip two");
    assert_eq!(scheduler::backoff(&[&[waited.clone()], &four[..]].concat()), Some((4, 1)));
    assert_eq!(scheduler::backoff(&[ok, failed.clone(), failed.clone(), failed.clone()]), None, "a success ends it");
    let many: Vec<_> = std::iter::repeat_n(failed, 40).collect();
    assert_eq!(scheduler::backoff(&many), Some((40, 32)), "at most 32 periods between tries");
}

#[tokio::test]
async fn a_scheduled_run_that_cannot_start_is_recorded_and_told_then_backs_off() {
    let store = Store::in_memory().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The cron trigger sets no client, which is required: every run fails to start.
    std::fs::write(dir.path().join("report.toml"), REPORT.replace("args = { client = \"Acme\" }", "")).unwrap();
    let lib = Library::load(Some(dir.path()), catalog(&store), Default::default());
    scheduler::tick(&store, &lib, t("2026-11-29T12:00:00Z")).await.unwrap();
    let mondays = ["2026-11-30", "2026-12-07", "2026-12-14", "2026-12-21", "2026-12-28"];
    for day in mondays {
        scheduler::tick(&store, &lib, t(&format!("{day}T08:00:30Z"))).await.unwrap();
    }
    let notes: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT outcome, note FROM workflow_runs ORDER BY period_at")
            .fetch_all(store.reader())
            .await
            .unwrap();
    let said: Vec<&str> = notes.iter().map(|(_, n)| n.as_deref().unwrap_or("").split(':').next().unwrap()).collect();
    assert_eq!(said, ["could not start", "could not start", "could not start", "backing off", "could not start"]);
    let told: Vec<String> =
        sqlx::query_scalar("SELECT payload FROM outbox WHERE destination = 'operator' ORDER BY rowid")
            .fetch_all(store.reader())
            .await
            .unwrap();
    assert_eq!(told.iter().filter(|p| p.contains("could not start")).count(), 4, "each failed period is told");
    assert_eq!(told.iter().filter(|p| p.contains("backs off")).count(), 1, "and the back-off, once");
}
