//! Workflow runs and each workflow's state (due since, paused).

use sha2::{Digest, Sha256};
use sqlx::{SqliteConnection, SqlitePool};

use super::StoreError;
use crate::domain::{IntentId, IntentState, Millis};

/// A run as recorded when it starts (or is skipped).
#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    pub key: &'a str,
    pub workflow: &'a str,
    pub version: &'a str,
    pub trigger: &'a str,
    pub intent_id: Option<IntentId>,
    pub args: &'a serde_json::Value,
    pub actor: &'a str,
    pub period_at: Option<Millis>,
    pub catch_up: bool,
    /// `None` for a started run; why, for a skipped one.
    pub skipped: Option<&'a str>,
    /// What started it, as its templates see it.
    pub cause: &'a serde_json::Value,
    pub at: Millis,
}

/// What recording a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    New,
    /// The key ran before, with the same arguments: its intent, if any.
    Existing(Option<IntentId>),
}

fn hash(args: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(args.to_string().as_bytes()))
}

/// Records a run under its key, in the caller's transaction. The same key
/// again is `Existing`; with other arguments it is a conflict.
pub async fn record(conn: &mut SqliteConnection, run: &NewRun<'_>) -> Result<Recorded, StoreError> {
    let args_hash = hash(run.args);
    let inserted = sqlx::query(
        "INSERT INTO workflow_runs (key, workflow, version, trigger, intent_id, current, args, args_hash, actor,
                                    period_at, catch_up, outcome, note, started_at, cause, ended)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, CASE WHEN ?12 IS NULL THEN NULL
                 ELSE 'skipped' END) ON CONFLICT (key) DO NOTHING",
    )
    .bind(run.key)
    .bind(run.workflow)
    .bind(run.version)
    .bind(run.trigger)
    .bind(run.intent_id.map(|i| i.to_string()))
    .bind(run.args.to_string())
    .bind(&args_hash)
    .bind(run.actor)
    .bind(run.period_at)
    .bind(run.catch_up)
    .bind(if run.skipped.is_some() { "skipped" } else { "started" })
    .bind(run.skipped)
    .bind(run.at)
    .bind(run.cause.to_string())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Recorded::New);
    }
    let (intent, earlier_hash, workflow): (Option<String>, String, String) =
        sqlx::query_as("SELECT intent_id, args_hash, workflow FROM workflow_runs WHERE key = ?")
            .bind(run.key)
            .fetch_one(&mut *conn)
            .await?;
    if earlier_hash != args_hash || workflow != run.workflow {
        return Err(StoreError::IdempotencyConflict(run.key.to_owned()));
    }
    let intent = intent.map(|i| i.parse().map_err(|e| StoreError::corrupt("workflow_runs", e))).transpose()?;
    Ok(Recorded::Existing(intent))
}

/// Whether a run was recorded under `key`, and its intent if it has one.
pub async fn started(conn: &mut SqliteConnection, key: &str) -> Result<Option<Option<IntentId>>, StoreError> {
    let row: Option<(Option<String>,)> = sqlx::query_as("SELECT intent_id FROM workflow_runs WHERE key = ?")
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|(id,)| id.map(|i| i.parse().map_err(|e| StoreError::corrupt("workflow_runs", e))).transpose()).transpose()
}

/// A run's state, over `workflow_runs r` joined with its current intent
/// `i`: how it ended, or that it waits, or its current intent's state.
const RUN_STATE: &str = "CASE WHEN r.ended IS NOT NULL THEN r.ended \
     WHEN r.wait_step IS NOT NULL OR r.resume_at IS NOT NULL THEN 'waiting' \
     WHEN r.cursor IS NOT NULL AND i.state = 'succeeded' THEN 'running' \
     ELSE i.state END";

/// A recorded run, with its state.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct Run {
    pub key: String,
    pub workflow: String,
    pub version: String,
    pub trigger: String,
    pub intent_id: Option<String>,
    /// The run's state now: its current intent's, `waiting`, or how it
    /// ended (`skipped` for a skipped run).
    pub state: Option<String>,
    /// The intent running now (a later part of the run, or its question).
    pub current: Option<String>,
    pub args: sqlx::types::Json<serde_json::Value>,
    pub actor: String,
    #[serde(serialize_with = "crate::domain::stamp::serialize_option")]
    pub period_at: Option<Millis>,
    pub catch_up: bool,
    /// `started` or `skipped`; `note` says why a run was skipped.
    pub outcome: String,
    pub note: Option<String>,
    #[serde(serialize_with = "crate::domain::stamp::serialize")]
    pub started_at: Millis,
}

/// A workflow's latest runs, newest first.
pub async fn runs(pool: &SqlitePool, workflow: &str, limit: u32) -> Result<Vec<Run>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT r.key, r.workflow, r.version, r.trigger, r.intent_id, {RUN_STATE} AS state, r.current, r.args,
                r.actor, r.period_at, r.catch_up, r.outcome, r.note, r.started_at
         FROM workflow_runs r LEFT JOIN intents i ON i.id = r.current
         WHERE r.workflow = ? ORDER BY r.started_at DESC, r.rowid DESC LIMIT ?"
    ))
    .bind(workflow)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// A trigger's latest runs, newest first: each one's outcome, why it was
/// skipped, and its intent's state.
pub async fn recent(
    pool: &SqlitePool,
    workflow: &str,
    trigger: &str,
    limit: u32,
) -> Result<Vec<(String, Option<String>, Option<String>)>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT r.outcome, r.note, {RUN_STATE} FROM workflow_runs r LEFT JOIN intents i ON i.id = r.current
         WHERE r.workflow = ? AND r.trigger = ? ORDER BY r.period_at DESC, r.rowid DESC LIMIT ?"
    ))
    .bind(workflow)
    .bind(trigger)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// The latest period a trigger ran (or skipped) for.
pub async fn last_period(pool: &SqlitePool, workflow: &str, trigger: &str) -> Result<Option<Millis>, StoreError> {
    Ok(sqlx::query_scalar("SELECT MAX(period_at) FROM workflow_runs WHERE workflow = ? AND trigger = ?")
        .bind(workflow)
        .bind(trigger)
        .fetch_one(pool)
        .await?)
}

/// Whether a run of the workflow has not ended yet.
pub async fn running(conn: &mut SqliteConnection, workflow: &str) -> Result<bool, StoreError> {
    let ended: Vec<&str> =
        IntentState::ALL.iter().copied().filter(|s| s.is_terminal()).map(IntentState::as_str).collect();
    let open: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM workflow_runs r LEFT JOIN intents i ON i.id = r.current
         WHERE r.workflow = ? AND r.outcome = 'started' AND coalesce({RUN_STATE}, 'running') NOT IN ({}, 'skipped')",
        ended.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ")
    ))
    .bind(workflow)
    .fetch_one(&mut *conn)
    .await?;
    Ok(open > 0)
}

/// Since when the workflow's periods are due: when it was first seen, or
/// last resumed. Seeing it the first time records `now`.
pub async fn due_since(conn: &mut SqliteConnection, workflow: &str, now: Millis) -> Result<Millis, StoreError> {
    sqlx::query("INSERT INTO workflow_state (workflow, due_since) VALUES (?, ?) ON CONFLICT (workflow) DO NOTHING")
        .bind(workflow)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(sqlx::query_scalar("SELECT due_since FROM workflow_state WHERE workflow = ?")
        .bind(workflow)
        .fetch_one(&mut *conn)
        .await?)
}

/// Pauses (`true`) or resumes a workflow. Resuming makes only periods from
/// now on due: what was missed while paused does not run.
pub async fn set_paused(
    conn: &mut SqliteConnection,
    workflow: &str,
    paused: bool,
    now: Millis,
) -> Result<(), StoreError> {
    due_since(conn, workflow, now).await?;
    let sql = if paused {
        "UPDATE workflow_state SET paused_at = coalesce(paused_at, ?2) WHERE workflow = ?1"
    } else {
        "UPDATE workflow_state SET paused_at = NULL, due_since = ?2 WHERE workflow = ?1 AND paused_at IS NOT NULL"
    };
    sqlx::query(sql).bind(workflow).bind(now).execute(&mut *conn).await?;
    Ok(())
}

/// The paused workflows.
pub async fn paused(pool: &SqlitePool) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar("SELECT workflow FROM workflow_state WHERE paused_at IS NOT NULL ORDER BY workflow")
        .fetch_all(pool)
        .await?)
}
