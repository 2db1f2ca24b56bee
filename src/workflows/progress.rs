//! A run goes on. When a run's current intent ends, its wait is over, or
//! the event it waits for arrives (or does not, in time), the next part is
//! rendered over everything the run has so far (`steps.ID`: each action's
//! result, each question's answer, each event's body) and written in one
//! transaction, conditional on the run not having moved meanwhile: a
//! second process, or a restart, never takes the same part twice. A part
//! is an ordinary intent, so the policy judges it as rendered, and it
//! waits for approval when its judgement says so.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::definition::Workflow;
use super::library::Library;
use super::run::{Origin, StartError, take, values};
use crate::domain::{IntentState, Millis, Notice, Outbound};
use crate::store::workflow_parts::{self as parts, Going, Progress};
use crate::store::{Store, StoreError, approvals, outbox, steps};

/// Runs taken per round.
const BATCH: u32 = 100;

/// Takes every run that can go on now; returns how many moved.
pub async fn advance(store: &Store, library: &Library) -> Result<usize, StoreError> {
    let now = store.now();
    let mut moved = 0;
    for run in parts::going(store.reader(), now, BATCH).await? {
        if one(store, library, run, now).await? {
            moved += 1;
        }
    }
    Ok(moved)
}

/// What an ended part gave, by step id.
async fn results_of(
    conn: &mut sqlx::SqliteConnection,
    run: &Going,
    into: &mut Map<String, Value>,
) -> Result<(), StoreError> {
    let Some(intent) = run.progress.current else { return Ok(()) };
    if run.progress.step_ids.is_empty() {
        // Taken before: the run waited since.
        return Ok(());
    }
    if let Some((answer, by)) = approvals::answer_of(conn, intent).await? {
        let id = run.progress.step_ids.first().cloned().unwrap_or_default();
        let timed_out = by.as_deref() == Some("steward");
        into.insert(id, json!({"answer": answer, "by": by, "timed_out": timed_out}));
        return Ok(());
    }
    let results = steps::results(conn, intent).await?;
    for (id, result) in run.progress.step_ids.iter().zip(results) {
        into.insert(id.clone(), json!({"result": result}));
    }
    Ok(())
}

/// The definition a run started with: the library's when it is the same
/// version, else the text kept when the run started.
async fn definition(store: &Store, library: &Library, run: &Going) -> Result<Result<Workflow, String>, StoreError> {
    if let Some(w) = library.get(&run.workflow).filter(|w| w.version == run.version) {
        return Ok(Ok(w));
    }
    let Some(text) = parts::version_text(store.reader(), &run.workflow, &run.version).await? else {
        return Ok(Err(format!("version {} of workflow {} is not kept", run.version, run.workflow)));
    };
    let catalog = library.catalog();
    Ok(Workflow::parse(&text, &|a: &str, b: &str| catalog.offers(a, b))
        .map_err(|e| format!("version {} of workflow {} no longer reads: {e}", run.version, run.workflow)))
}

/// Moves one run on, if nothing else did first.
async fn one(store: &Store, library: &Library, run: Going, now: Millis) -> Result<bool, StoreError> {
    let Some(cursor) = run.progress.cursor else { return Ok(false) };
    let expect = Some((cursor, run.progress.current));
    let mut tx = store.begin().await?;
    let mut results = run.progress.results.clone();
    let ended = |why: String| Progress { results: Map::new(), ended: Some(why), ..Default::default() };
    match run.state {
        Some(IntentState::Succeeded) | None => results_of(&mut tx, &run, &mut results).await?,
        Some(state) if state.is_terminal() => {
            // The part failed, was cancelled or expired: so did the run.
            let p = Progress { results, ..ended(state.as_str().to_owned()) };
            return finish(tx, &run, &p, expect).await;
        }
        // Still going (read before it moved on).
        Some(_) => return Ok(false),
    }
    if let Some(w) = &run.progress.wait {
        // Not woken by its event (that clears the wait): it timed out.
        results.insert(w.step.clone(), json!({"timed_out": true, "body": null}));
    }
    let workflow = match definition(store, library, &run).await? {
        Ok(w) => w,
        Err(why) => return fail(tx, &run, results, why, expect, now).await,
    };
    let Value::Object(params) = &run.args else {
        return fail(tx, &run, results, "no arguments".into(), expect, now).await;
    };
    let mut ctx = values(&workflow, params, &run.cause, &run.trigger, &run.key);
    ctx["steps"] = Value::Object(results.clone());
    let origin = Origin {
        workflow: &workflow,
        trigger: &run.trigger,
        actor: &run.actor,
        channel: "workflow",
        catch_up: run.catch_up,
    };
    match take(&mut tx, library.catalog(), &origin, &ctx, cursor, now).await {
        Ok(p) => finish(tx, &run, &p, expect).await,
        Err(StartError::Store(e)) => Err(e),
        Err(e) => fail(tx, &run, results, e.to_string(), expect, now).await,
    }
}

/// Writes the run's progress if it has not moved since it was read.
async fn finish(
    mut tx: crate::store::Tx,
    run: &Going,
    p: &Progress,
    expect: Option<(usize, Option<crate::domain::IntentId>)>,
) -> Result<bool, StoreError> {
    if !parts::progress(&mut tx, &run.key, p, expect).await? {
        // Someone else moved it: what was written here goes back.
        return Ok(false);
    }
    tx.commit().await?;
    match &p.ended {
        Some(how) => tracing::info!(workflow = %run.workflow, key = %run.key, ended = %how, "workflow run ended"),
        None => tracing::info!(workflow = %run.workflow, key = %run.key, cursor = ?p.cursor, "workflow run goes on"),
    }
    Ok(true)
}

/// The next part cannot be rendered (a template error over what came
/// back, a step the catalog no longer offers): the run ends failed, with
/// why, and the operator is told.
async fn fail(
    mut tx: crate::store::Tx,
    run: &Going,
    results: Map<String, Value>,
    why: String,
    expect: Option<(usize, Option<crate::domain::IntentId>)>,
    now: Millis,
) -> Result<bool, StoreError> {
    tracing::error!(workflow = %run.workflow, key = %run.key, error = %why, "a workflow run cannot go on");
    let notice = Outbound::Notice(Notice::Workflow {
        workflow: run.workflow.clone(),
        why: format!("run {} stopped: {why}", run.key),
    });
    outbox::enqueue(&mut tx, "operator", &notice, Some(&format!("workflow-stopped:{}", run.key)), now).await?;
    let p = Progress { results, ended: Some(format!("failed: {why}")), ..Default::default() };
    finish(tx, run, &p, expect).await
}

/// Moves runs on until `shutdown`: when woken (an intent ended, an event
/// arrived), at the next wait's end on the clock, or every few seconds.
pub async fn run(
    store: Store,
    library: Library,
    runner: crate::orchestrator::RunnerHandle,
    outbox: Arc<tokio::sync::Notify>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let woken = library.progress();
    loop {
        match advance(&store, &library).await {
            Ok(0) => {}
            Ok(_) => {
                runner.wake();
                outbox.notify_one();
                continue;
            }
            Err(e) => tracing::warn!(error = %e, "moving workflow runs on failed; will retry"),
        }
        let next = parts::next_resume(store.reader()).await.unwrap_or(None);
        let clock = store.clock();
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = woken.notified() => {}
            _ = crate::domain::idle(&**clock, next, Duration::from_millis(50), Duration::from_secs(5)) => {}
        }
    }
}
