//! `[[schedules]]` digests run as built-in workflows, with the clock driven
//! by the test: exactly once per period across a restart and a second
//! process, one catch-up after downtime, one period per night across DST,
//! empty digests skipped or said in one line, and a database from before
//! digests were workflows sends no period twice.

#[path = "support/flows.rs"]
mod flows;
mod helpers;

use chrono::{DateTime, Utc};
use flows::{rows, until};
use helpers::TestApp;
use serde_json::Value;
use steward::config::{Config, ScheduleConfig, WhenEmpty};
use steward::domain::{ManualClock, SharedClock};
use steward::store::Store;
use steward::workflows::{Cause, Start, Started, scheduler};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn ms(s: &str) -> i64 {
    t(s).timestamp_millis()
}

fn morning(cron: &str, tz: &str, when_empty: WhenEmpty) -> ScheduleConfig {
    ScheduleConfig {
        name: "morning".into(),
        cron: cron.into(),
        timezone: tz.into(),
        destination: "log:digest".into(),
        when_empty,
    }
}

async fn serve(dir: tempfile::TempDir, clock: &std::sync::Arc<ManualClock>, s: &ScheduleConfig) -> TestApp {
    let s = s.clone();
    let app = TestApp::spawn_clocked(dir, clock.clone() as SharedClock, move |c| c.schedules.push(s)).await;
    until("the scheduler's first tick", || async {
        app.count("SELECT COUNT(*) FROM workflow_state WHERE workflow = 'digest-morning'").await >= 1
    })
    .await;
    app
}

async fn digests(app: &TestApp) -> Vec<Value> {
    let rows: Vec<(String,)> = rows(
        &app.dir.path().join("steward.db"),
        "SELECT payload FROM outbox WHERE destination = 'log:digest' ORDER BY created_at",
    )
    .await;
    rows.iter().map(|(p,)| serde_json::from_str(p).unwrap()).collect()
}

/// The digest runs so far: (key, catch-up, intent state).
async fn runs(app: &TestApp) -> Vec<(String, bool, Option<String>)> {
    rows(
        &app.dir.path().join("steward.db"),
        "SELECT r.key, r.catch_up, i.state FROM workflow_runs r LEFT JOIN intents i ON i.id = r.intent_id
         WHERE r.workflow = 'digest-morning' ORDER BY r.period_at",
    )
    .await
}

async fn wait_done(app: &TestApp, n: usize) -> Vec<(String, bool, Option<String>)> {
    until("the digest runs", || async {
        let r = runs(app).await;
        r.len() >= n && r.iter().all(|(_, _, s)| s.as_deref() == Some("succeeded"))
    })
    .await;
    runs(app).await
}

#[tokio::test]
async fn a_period_runs_once_across_a_restart_and_a_second_process() {
    let clock = ManualClock::at(ms("2026-11-25T07:00:00Z"));
    let s = morning("0 8 * * *", "UTC", WhenEmpty::OneLine);
    let app = serve(tempfile::tempdir().unwrap(), &clock, &s).await;
    // The digest is a workflow like any other.
    let listed: Value = app.get("/v1/workflows").send().await.unwrap().json().await.unwrap();
    assert!(listed.to_string().contains("digest-morning"), "{listed}");
    clock.set(ms("2026-11-25T08:00:01Z"));
    let done = wait_done(&app, 1).await;
    assert_eq!(done[0].0, "cron:digest-morning:cron:2026-11-25T08:00:00");
    assert!(!done[0].1, "on time");
    until("the digest queued", || async { digests(&app).await.len() == 1 }).await;
    assert_eq!(digests(&app).await[0]["period"], "2026-11-25T08:00:00+00:00", "the message names its period");

    // Another process racing for the same period finds it taken.
    let db = app.dir.path().join("steward.db");
    let config = Config::defaults_in(app.dir.path());
    let store = Store::open(&db, &config.store).await.unwrap();
    let mut other = config.clone();
    other.schedules.push(s.clone());
    other.workflows.dir = app.dir.path().join("workflows");
    let (lib, _) =
        steward::app::workflows::load_library(&other, steward::app::catalog(&other, &store).unwrap()).unwrap();
    let w = lib.get("digest-morning").unwrap();
    let start = Start {
        workflow: &w,
        trigger: "cron",
        key: done[0].0.clone(),
        args: Default::default(),
        cause: Cause::Cron { period: "2026-11-25T08:00:00+00:00".into(), catch_up: false },
        actor: "scheduler".into(),
        channel: "workflow".into(),
        period: Some((ms("2026-11-25T08:00:00Z"), false)),
    };
    let again = steward::workflows::start(&store, lib.catalog(), &start).await.unwrap();
    assert!(matches!(again, Started::Existing(Some(_))), "{again:?}");
    store.close().await;

    // A restart in the same period runs nothing; the next day's period
    // runs, which shows the scheduler ticked after the restart.
    let dir = app.stop_keeping_data().await;
    clock.set(ms("2026-11-25T08:00:40Z"));
    let app = serve(dir, &clock, &s).await;
    clock.set(ms("2026-11-26T08:00:05Z"));
    let done = wait_done(&app, 2).await;
    assert_eq!(done.len(), 2, "{done:?}");
    until("the second digest queued", || async { digests(&app).await.len() == 2 }).await;
    let d = digests(&app).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM schedule_runs WHERE schedule = 'morning'").await, 2);
    // The second digest covers the day since the first, and not the first
    // digest's own run.
    assert!(d[1]["text"].as_str().unwrap().contains("nothing happened since"), "{}", d[1]);
    app.stop().await;
}

#[tokio::test]
async fn downtime_gives_one_catch_up_for_the_latest_missed_period() {
    let clock = ManualClock::at(ms("2026-11-25T00:30:00Z"));
    let s = morning("0 * * * *", "UTC", WhenEmpty::OneLine);
    let app = serve(tempfile::tempdir().unwrap(), &clock, &s).await;
    clock.set(ms("2026-11-25T01:00:05Z"));
    wait_done(&app, 1).await;
    let dir = app.stop_keeping_data().await;
    // Down from 01:10 to 05:10: four periods missed, one catch-up.
    clock.set(ms("2026-11-25T05:10:00Z"));
    let app = serve(dir, &clock, &s).await;
    let done = wait_done(&app, 2).await;
    let got: Vec<(&str, bool)> = done.iter().map(|(k, c, _)| (k.as_str(), *c)).collect();
    assert_eq!(
        got,
        [
            ("cron:digest-morning:cron:2026-11-25T01:00:00", false),
            ("cron:digest-morning:cron:2026-11-25T05:00:00", true)
        ]
    );
    until("the catch-up queued", || async { digests(&app).await.len() == 2 }).await;
    let d = digests(&app).await;
    assert_eq!(d[1]["catch_up"], true);
    assert!(d[1]["subject"].as_str().unwrap().starts_with("[catch-up]"), "{}", d[1]);
    app.stop().await;
}

/// The scheduler alone, ticked every five minutes through a night.
async fn scheduled_over(s: &ScheduleConfig, from: &str, to: &str) -> Vec<(String, bool)> {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::defaults_in(dir.path());
    config.schedules.push(s.clone());
    config.workflows.dir = dir.path().join("workflows");
    let store = Store::open(&config.database_path(), &config.store).await.unwrap();
    let (lib, _) =
        steward::app::workflows::load_library(&config, steward::app::catalog(&config, &store).unwrap()).unwrap();
    let mut now = t(from);
    while now <= t(to) {
        scheduler::tick(&store, &lib, now).await.unwrap();
        now += chrono::Duration::minutes(5);
    }
    let r = sqlx::query_as("SELECT key, catch_up FROM workflow_runs ORDER BY period_at")
        .fetch_all(store.reader())
        .await
        .unwrap();
    store.close().await;
    r
}

#[tokio::test]
async fn daylight_saving_changes_give_one_period_per_night() {
    let s = morning("30 2 * * *", "Europe/Berlin", WhenEmpty::OneLine);
    for (from, to, day) in [
        ("2026-03-28T22:00:00Z", "2026-03-29T04:00:00Z", "2026-03-29"),
        ("2026-10-24T22:00:00Z", "2026-10-25T04:00:00Z", "2026-10-25"),
    ] {
        let r = scheduled_over(&s, from, to).await;
        assert_eq!(r.len(), 1, "{from}: {r:?}");
        assert!(r[0].0.contains(day) && !r[0].1, "one period that night, on time: {r:?}");
    }
}

#[tokio::test]
async fn an_empty_digest_is_skipped_or_one_line_as_configured() {
    let clock = ManualClock::at(ms("2026-11-25T07:00:00Z"));
    let app = serve(tempfile::tempdir().unwrap(), &clock, &morning("0 8 * * *", "UTC", WhenEmpty::Skip)).await;
    clock.set(ms("2026-11-25T08:00:01Z"));
    wait_done(&app, 1).await;
    let ledger: Vec<(String,)> =
        rows(&app.dir.path().join("steward.db"), "SELECT outcome FROM schedule_runs WHERE schedule = 'morning'").await;
    assert_eq!(ledger, [("skipped".to_owned(),)], "recorded, and nothing sent");
    assert!(digests(&app).await.is_empty());
    app.stop().await;

    let clock = ManualClock::at(ms("2026-11-25T07:00:00Z"));
    let app = serve(tempfile::tempdir().unwrap(), &clock, &morning("0 8 * * *", "UTC", WhenEmpty::OneLine)).await;
    clock.set(ms("2026-11-25T08:00:01Z"));
    wait_done(&app, 1).await;
    until("the one-line digest", || async { digests(&app).await.len() == 1 }).await;
    let d = digests(&app).await;
    assert!(d[0]["text"].as_str().unwrap().contains("nothing happened since"), "{}", d[0]);
    app.stop().await;
}

/// A data directory from before digests ran as workflows: the schedule had
/// fired this morning's period. Nothing is sent twice, and a period missed
/// while steward was being upgraded runs once, as a catch-up.
#[tokio::test]
async fn history_from_before_workflows_sends_no_period_twice() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::defaults_in(dir.path());
    let s = morning("0 8 * * *", "UTC", WhenEmpty::OneLine);
    config.schedules.push(s.clone());
    config.workflows.dir = dir.path().join("workflows");
    let store = Store::open(&config.database_path(), &config.store).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    sqlx::query("INSERT INTO schedules (name, first_seen) VALUES ('morning', ?)")
        .bind(ms("2026-11-01T00:00:00Z"))
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO schedule_runs (schedule, period, period_at, fired_at, catch_up, outcome, destination)
         VALUES ('morning', '2026-11-25T08:00:00', ?, ?, 0, 'sent', 'log:digest')",
    )
    .bind(ms("2026-11-25T08:00:00Z"))
    .bind(ms("2026-11-25T08:00:01Z"))
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let (lib, schedules) =
        steward::app::workflows::load_library(&config, steward::app::catalog(&config, &store).unwrap()).unwrap();
    steward::workflows::digests::adopt(&store, &schedules).await.unwrap();
    let fired = scheduler::tick(&store, &lib, t("2026-11-25T09:30:00Z")).await.unwrap();
    assert!(fired.is_empty(), "this morning's period fired before the upgrade: {fired:?}");
    // Down over the next two mornings: the latest runs once, late.
    let fired = scheduler::tick(&store, &lib, t("2026-11-27T10:00:00Z")).await.unwrap();
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].key, "cron:digest-morning:cron:2026-11-27T08:00:00");
    assert!(fired[0].catch_up);
    // Adopting again (a restart) changes nothing.
    steward::workflows::digests::adopt(&store, &schedules).await.unwrap();
    assert!(scheduler::tick(&store, &lib, t("2026-11-27T10:05:00Z")).await.unwrap().is_empty());
    store.close().await;
}
