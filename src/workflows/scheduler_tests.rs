//! The scheduler: each cron period once, one catch-up after downtime,
//! overlapping periods skipped or queued, paused workflows, and the
//! back-off of a recurring workflow that keeps failing.

use super::tests::{REPORT, catalog, t};
use super::*;
use crate::store::Store;

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
async fn a_queued_period_waits_for_the_last_run_and_then_runs() {
    let store = Store::in_memory().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let queued = REPORT.replace("cron = \"0 9 * * 1\"", "cron = \"0 9 * * 1\"\noverlap = \"queue\"");
    std::fs::write(dir.path().join("report.toml"), queued).unwrap();
    let lib = Library::load(Some(dir.path()), catalog(&store), Default::default());
    for at in ["2026-11-29T12:00:00Z", "2026-11-30T08:00:30Z"] {
        scheduler::tick(&store, &lib, t(at)).await.unwrap();
    }
    let fired = scheduler::tick(&store, &lib, t("2026-12-07T08:00:30Z")).await.unwrap();
    assert!(fired.len() == 1 && fired[0].waits, "it waits, nothing started: {fired:?}");
    assert_eq!(runs_of(&store).await.len(), 1, "and nothing is recorded for it");
    // The last run ends (its intent, and the run moved on to its end).
    let mut tx = store.begin().await.unwrap();
    sqlx::query("UPDATE intents SET state = 'succeeded'").execute(&mut *tx).await.unwrap();
    sqlx::query("UPDATE workflow_runs SET ended = 'succeeded'").execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    let fired = scheduler::tick(&store, &lib, t("2026-12-07T08:00:31Z")).await.unwrap();
    assert!(matches!(fired[0].started, Ok(Started::New(_))) && !fired[0].waits, "{fired:?}");
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
