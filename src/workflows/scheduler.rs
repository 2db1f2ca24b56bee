//! Scheduled triggers: every cron period and every `at` time runs exactly
//! once. The run's key is (workflow, trigger, period) and its row commits
//! with its intent, so a restart, or a second process, finds the period
//! taken. After downtime only the latest missed period runs, marked as a
//! catch-up. A period that comes while the last run still goes is skipped
//! (`overlap = "skip"`, recorded) or waits for it (`"queue"`).

use chrono::{DateTime, Utc};

use super::definition::{Overlap, Trigger, TriggerKind, Workflow};
use super::library::Library;
use super::run::{self, Cause, Start, StartError, Started};
use crate::domain::{Millis, Notice, Outbound};
use crate::schedules::{Timing, utc};
use crate::store::workflows::{self, NewRun};
use crate::store::{Store, StoreError, outbox};

/// How late a period may run before it counts as a catch-up.
const GRACE_MS: i64 = 120_000;
/// Failed runs in a row after which a recurring trigger backs off.
pub const FAILURES_BEFORE_BACKOFF: u32 = 3;
/// The most periods skipped between two tries while backing off.
const MAX_BACKOFF_PERIODS: u32 = 32;
/// What a skip while backing off says, first.
const BACKING_OFF: &str = "backing off";
/// What a period whose run could not start says, first: a failure too.
const NOT_STARTED: &str = "could not start";

/// Whether a recurring trigger should skip this period, from its runs
/// newest first (outcome, why skipped, intent state): after
/// [`FAILURES_BEFORE_BACKOFF`] failed runs in a row it skips 1, then 2, 4 …
/// (at most 32) periods between tries. A run that succeeds ends it. Returns
/// the failures in a row and the periods still to skip before the next try.
pub fn backoff(recent: &[(String, Option<String>, Option<String>)]) -> Option<(u32, u32)> {
    let (mut skipped, mut failures) = (0u32, 0u32);
    for (outcome, note, state) in recent {
        let backing_off = note.as_deref().is_some_and(|n| n.starts_with(BACKING_OFF));
        match (outcome.as_str(), state.as_deref()) {
            ("skipped", _) if backing_off && failures == 0 => skipped += 1,
            ("skipped", _) if note.as_deref().is_some_and(|n| n.starts_with(NOT_STARTED)) => failures += 1,
            ("skipped", _) => {}
            ("started", Some("failed" | "compensated" | "needs_attention")) => failures += 1,
            _ => break,
        }
    }
    if failures < FAILURES_BEFORE_BACKOFF {
        return None;
    }
    let wait = 2u32.saturating_pow(failures - FAILURES_BEFORE_BACKOFF).min(MAX_BACKOFF_PERIODS);
    (skipped < wait).then_some((failures, wait - skipped))
}

/// What one scheduled trigger did at a tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fired {
    pub workflow: String,
    pub trigger: String,
    pub key: String,
    pub catch_up: bool,
    pub started: Result<Started, String>,
    /// The period waits for the last run to end (`overlap = "queue"`):
    /// nothing started yet, and it is due again at the next tick.
    pub waits: bool,
}

/// The next time any scheduled trigger is due after `now`.
pub fn next_due(library: &Library, now: DateTime<Utc>) -> Option<Millis> {
    library
        .scheduled()
        .iter()
        .flat_map(|w| w.triggers.iter())
        .filter_map(|t| match &t.kind {
            TriggerKind::Cron { timing, .. } => timing.next_after(now).map(|p| p.timestamp_millis()),
            TriggerKind::At { at } if *at > now => Some(at.timestamp_millis()),
            _ => None,
        })
        .min()
}

/// Runs every scheduled trigger that came due since it last ran.
pub async fn tick(store: &Store, library: &Library, now: DateTime<Utc>) -> Result<Vec<Fired>, StoreError> {
    let paused = workflows::paused(store.reader()).await?;
    library.set_reminders(super::reminders::scheduled(store, library.catalog()).await?);
    let mut fired = Vec::new();
    for w in library.scheduled().iter().filter(|w| !paused.contains(&w.name)) {
        let since = {
            let mut tx = store.begin().await?;
            let since = workflows::due_since(&mut tx, &w.name, now.timestamp_millis()).await?;
            tx.commit().await?;
            since
        };
        for t in &w.triggers {
            if let Some(f) = due(store, library, w, t, since, now).await? {
                fired.push(f);
            }
        }
    }
    Ok(fired)
}

async fn due(
    store: &Store,
    library: &Library,
    w: &Workflow,
    t: &Trigger,
    since: Millis,
    now: DateTime<Utc>,
) -> Result<Option<Fired>, StoreError> {
    let now_ms = now.timestamp_millis();
    let last = workflows::last_period(store.reader(), &w.name, &t.name).await?;
    let after = last.unwrap_or(since).max(since);
    let (period_ms, key, catch_up, overlap) = match &t.kind {
        TriggerKind::Cron { timing, overlap } => {
            let Some((period, missed)) = timing.latest_due(utc(after), now) else { return Ok(None) };
            let late = now_ms - period.timestamp_millis() > GRACE_MS;
            let key = format!("cron:{}:{}:{}", w.name, t.name, Timing::period_key(&period));
            (period.timestamp_millis(), key, missed > 1 || late, *overlap)
        }
        TriggerKind::At { at } => {
            let at_ms = at.timestamp_millis();
            if at_ms > now_ms || at_ms <= after {
                return Ok(None);
            }
            (at_ms, format!("at:{}:{}:{at_ms}", w.name, t.name), now_ms - at_ms > GRACE_MS, Overlap::Queue)
        }
        TriggerKind::Command(_) | TriggerKind::Webhook { .. } => return Ok(None),
    };
    let mut fired = Fired {
        workflow: w.name.clone(),
        trigger: t.name.clone(),
        key: key.clone(),
        catch_up,
        started: Ok(Started::Existing(None)),
        waits: false,
    };
    if matches!(t.kind, TriggerKind::Cron { .. }) {
        let recent = workflows::recent(store.reader(), &w.name, &t.name, 200).await?;
        if let Some((failures, left)) = backoff(&recent) {
            let why =
                format!("{BACKING_OFF}: {failures} runs failed in a row; {left} period(s) skipped before the next try");
            let mut tx = store.begin().await?;
            skip(&mut tx, w, t, &key, period_ms, catch_up, &why, now_ms).await?;
            let told = format!(
                "{failures} scheduled runs failed in a row, so it backs off: {left} period(s) are skipped before \
                 the next try. `steward workflows runs {}` shows what failed; a run that succeeds ends the back-off.",
                w.name
            );
            let notice = Outbound::Notice(Notice::Workflow { workflow: w.name.clone(), why: told });
            let once = format!("workflow-backoff:{}:{}:{failures}", w.name, t.name);
            outbox::enqueue(&mut tx, "operator", &notice, Some(&once), now_ms).await?;
            tx.commit().await?;
            tracing::warn!(workflow = %w.name, trigger = %t.name, failures, left, "a recurring workflow keeps failing; backing off");
            fired.started = Ok(Started::Skipped(why));
            return Ok(Some(fired));
        }
    }
    let mut tx = store.begin().await?;
    if workflows::running(&mut tx, &w.name).await? {
        if overlap == Overlap::Queue {
            // Still due at the next tick; runs once the last run ended.
            fired.waits = true;
            return Ok(Some(fired));
        }
        let why = "the last run was still going (overlap = \"skip\")";
        skip(&mut tx, w, t, &key, period_ms, catch_up, why, now_ms).await?;
        tx.commit().await?;
        tracing::info!(workflow = %w.name, trigger = %t.name, %key, "workflow period skipped: the last run is still going");
        fired.started = Ok(Started::Skipped(why.into()));
        return Ok(Some(fired));
    }
    drop(tx);
    let start = Start {
        workflow: w,
        trigger: &t.name,
        key: key.clone(),
        args: serde_json::Map::new(),
        cause: match t.kind {
            TriggerKind::At { .. } => Cause::At { period: utc(period_ms).to_rfc3339(), catch_up },
            _ => Cause::Cron { period: utc(period_ms).to_rfc3339(), catch_up },
        },
        actor: "scheduler".into(),
        channel: "workflow".into(),
        period: Some((period_ms, catch_up)),
    };
    fired.started = match run::start(store, library.catalog(), &start).await {
        Ok(started) => Ok(started),
        Err(StartError::Store(e)) => return Err(e),
        Err(e) => {
            // The period is taken, with why; the operator is told once.
            let why = e.to_string();
            tracing::error!(workflow = %w.name, trigger = %t.name, %key, error = %why, "a scheduled workflow run could not start");
            let mut tx = store.begin().await?;
            skip(&mut tx, w, t, &key, period_ms, catch_up, &format!("{NOT_STARTED}: {why}"), now_ms).await?;
            let notice = Outbound::Notice(Notice::Workflow {
                workflow: w.name.clone(),
                why: format!("the run for {key} could not start: {why}"),
            });
            outbox::enqueue(&mut tx, "operator", &notice, Some(&format!("workflow-failed:{key}")), now_ms).await?;
            tx.commit().await?;
            Err(why)
        }
    };
    Ok(Some(fired))
}

#[allow(clippy::too_many_arguments)]
async fn skip(
    conn: &mut sqlx::SqliteConnection,
    w: &Workflow,
    t: &Trigger,
    key: &str,
    period_ms: Millis,
    catch_up: bool,
    why: &str,
    now_ms: Millis,
) -> Result<(), StoreError> {
    let args = serde_json::Value::Object(serde_json::Map::new());
    let run = NewRun {
        key,
        workflow: &w.name,
        version: &w.version,
        trigger: &t.name,
        intent_id: None,
        args: &args,
        actor: "scheduler",
        period_at: Some(period_ms),
        catch_up,
        skipped: Some(why),
        cause: &serde_json::Value::Null,
        at: now_ms,
    };
    workflows::record(conn, &run).await.map(drop)
}

/// Runs scheduled triggers until `shutdown`, then wakes the runner and the
/// outbox.
pub async fn run(
    store: Store,
    library: Library,
    runner: crate::orchestrator::RunnerHandle,
    outbox: std::sync::Arc<tokio::sync::Notify>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let (at, from) = (&store, &library);
    // Whether the last tick left a period waiting for a run to end: then
    // it is due now, and the next tick comes after a short pause rather
    // than at the next period.
    let waiting = std::sync::atomic::AtomicBool::new(false);
    let flag = &waiting;
    let fire = |now| async move {
        let fired = tick(at, from, now).await?;
        flag.store(fired.iter().any(|f| f.waits), std::sync::atomic::Ordering::Relaxed);
        Ok(fired.iter().any(|f| !f.waits))
    };
    let wake = || {
        runner.wake();
        outbox.notify_one();
    };
    let next = |now: DateTime<Utc>| match waiting.load(std::sync::atomic::Ordering::Relaxed) {
        true => Some(now.timestamp_millis()),
        false => next_due(&library, now),
    };
    let nudge = library.nudge();
    crate::schedules::keep_ticking(&**store.clock(), "running scheduled workflows", shutdown, fire, next, wake, nudge)
        .await;
}
