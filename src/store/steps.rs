//! The runner's queries over steps: claiming due work under a lease, writing
//! outcomes, and finding timers. Every function takes the caller's
//! connection, so a batch of outcomes commits in one transaction.

use sqlx::{Row, SqliteConnection, SqlitePool};

use super::StoreError;
use crate::domain::{IntentId, IntentState, Millis, PlannedStep, Reach, StepState};

/// A step the runner holds a lease on.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub intent_id: IntentId,
    pub seq: u32,
    pub planned: PlannedStep,
    /// `running` for an execution, `compensating` for an undo.
    pub state: StepState,
    pub attempts: u32,
    pub result: Option<serde_json::Value>,
    pub deadline: Option<Millis>,
    /// Where its host names pointed when the policy judged it.
    pub reach: Reach,
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt("steps", e)
}

fn claimed(row: &sqlx::sqlite::SqliteRow) -> Result<Claimed, StoreError> {
    let args: String = row.try_get("args")?;
    let result: Option<String> = row.try_get("result")?;
    let within: Option<i64> = row.try_get("within_ms")?;
    let reach: Option<String> = row.try_get("reach")?;
    let mut planned = PlannedStep::parse(
        row.try_get("adapter")?,
        row.try_get("action")?,
        serde_json::from_str(&args).map_err(corrupt)?,
    )
    .map_err(corrupt)?;
    planned.within_secs = within.map(|ms| (ms / 1000) as u64);
    Ok(Claimed {
        intent_id: row.try_get::<String, _>("intent_id")?.parse().map_err(corrupt)?,
        seq: row.try_get::<i64, _>("seq")? as u32,
        planned,
        state: row.try_get::<String, _>("state")?.parse().map_err(corrupt)?,
        attempts: row.try_get::<i64, _>("attempts")? as u32,
        result: result.map(|r| serde_json::from_str(&r)).transpose().map_err(corrupt)?,
        deadline: row.try_get("deadline")?,
        reach: reach.map(|r| serde_json::from_str(&r)).transpose().map_err(corrupt)?.unwrap_or_default(),
    })
}

const RETURNING: &str =
    "RETURNING intent_id, seq, adapter, action, args, state, attempts, result, deadline, within_ms, reach";

/// Records where each step's host names pointed when the policy judged
/// intent `id` (`reaches` in step order).
pub async fn record_reach(conn: &mut SqliteConnection, id: IntentId, reaches: &[Reach]) -> Result<(), StoreError> {
    for (seq, reach) in reaches.iter().enumerate().filter(|(_, r)| !r.0.is_empty()) {
        let text = serde_json::to_string(reach).map_err(corrupt)?;
        sqlx::query("UPDATE steps SET reach = ? WHERE intent_id = ? AND seq = ?")
            .bind(text)
            .bind(id.to_string())
            .bind(seq as i64)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Claims up to `limit` due steps in one statement: executions of running
/// intents and undos of compensating ones. Each claimed step leaves the due
/// set (its timer is cleared) and holds a lease until `lease_until`.
pub async fn claim_due(
    conn: &mut SqliteConnection,
    now: Millis,
    lease_until: Millis,
    limit: u32,
) -> Result<Vec<Claimed>, StoreError> {
    let sql = format!(
        "UPDATE steps SET
            state = CASE state WHEN 'compensating' THEN 'compensating' ELSE 'running' END,
            attempts = attempts + 1, next_attempt_at = NULL, lease_until = ?1
         WHERE rowid IN (
            SELECT s.rowid FROM steps s JOIN intents i ON i.id = s.intent_id
            WHERE s.next_attempt_at IS NOT NULL AND s.next_attempt_at <= ?2
              AND ((s.state IN ('pending', 'retry_scheduled') AND i.state = 'running'
                    -- Invariant 3, enforced where work is claimed: an intent that
                    -- needs approval runs only with an approved approval.
                    AND (i.requires_approval = 0 OR EXISTS (
                        SELECT 1 FROM approvals a WHERE a.intent_id = i.id
                        AND ((a.kind = 'approve_before' AND a.state = 'approved')
                             OR (a.kind = 'ask' AND a.state = 'answered')))))
                OR (s.state = 'compensating' AND i.state = 'compensating'))
            ORDER BY s.next_attempt_at LIMIT ?3)
         {RETURNING}"
    );
    let rows = sqlx::query(&sql).bind(lease_until).bind(now).bind(limit as i64).fetch_all(&mut *conn).await?;
    rows.iter().map(claimed).collect()
}

/// Steps leased until `cutoff` or earlier: with the lease run out, their
/// runner died (or hung) while executing them. They are not claimable again
/// until reconciled.
pub async fn leased_until(pool: &SqlitePool, cutoff: Millis) -> Result<Vec<Claimed>, StoreError> {
    let sql = "SELECT intent_id, seq, adapter, action, args, state, attempts, result, deadline, within_ms, reach
               FROM steps WHERE lease_until IS NOT NULL AND lease_until <= ?";
    let rows = sqlx::query(sql).bind(cutoff).fetch_all(pool).await?;
    rows.iter().map(claimed).collect()
}

/// Gives back an interrupted attempt that, as reconcile found, never took
/// effect: it is due again at once with the same key, and does not count
/// against the retry policy.
pub async fn requeue_interrupted(
    conn: &mut SqliteConnection,
    intent: IntentId,
    seq: u32,
    state: StepState,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE steps SET state = ?, next_attempt_at = ?, lease_until = NULL, attempts = MAX(attempts - 1, 0)
         WHERE intent_id = ? AND seq = ?",
    )
    .bind(state.as_str())
    .bind(now)
    .bind(intent.to_string())
    .bind(seq as i64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What to write for one step.
#[derive(Debug, Clone)]
pub struct StepWrite<'a> {
    pub state: StepState,
    /// When it is next due; `None` leaves it out of the due set.
    pub next_attempt_at: Option<Millis>,
    pub result: Option<&'a serde_json::Value>,
    pub error: Option<&'a str>,
    pub reset_attempts: bool,
}

/// Writes a step's new state and releases its lease.
pub async fn write(
    conn: &mut SqliteConnection,
    intent: IntentId,
    seq: u32,
    w: &StepWrite<'_>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE steps SET state = ?, next_attempt_at = ?, lease_until = NULL,
            result = COALESCE(?, result), error = ?,
            attempts = CASE WHEN ? THEN 0 ELSE attempts END
         WHERE intent_id = ? AND seq = ?",
    )
    .bind(w.state.as_str())
    .bind(w.next_attempt_at)
    .bind(w.result.map(|r| r.to_string()))
    .bind(w.error)
    .bind(w.reset_attempts)
    .bind(intent.to_string())
    .bind(seq as i64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Makes a step due at `at`, with its deadline counted from then.
pub async fn schedule(
    conn: &mut SqliteConnection,
    intent: IntentId,
    seq: u32,
    state: StepState,
    at: Millis,
) -> Result<(), StoreError> {
    // A step that has not run yet waits first (a workflow's `wait`); one
    // retried after a failure does not wait again. Its deadline counts from
    // when it may run.
    sqlx::query(
        "UPDATE steps SET state = ?1, lease_until = NULL,
            next_attempt_at = CASE WHEN attempts = 0
                THEN max(?2 + coalesce(wait_ms, 0), coalesce(not_before, 0)) ELSE ?2 END,
            deadline = CASE WHEN within_ms IS NULL THEN NULL
                WHEN attempts = 0 THEN max(?2 + coalesce(wait_ms, 0), coalesce(not_before, 0)) + within_ms
                ELSE ?2 + within_ms END
         WHERE intent_id = ?3 AND seq = ?4",
    )
    .bind(state.as_str())
    .bind(at)
    .bind(intent.to_string())
    .bind(seq as i64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Clears the timers of an intent's steps that have not run.
pub async fn disarm(conn: &mut SqliteConnection, intent: IntentId) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE steps SET next_attempt_at = NULL WHERE intent_id = ? AND state IN ('pending', 'retry_scheduled')",
    )
    .bind(intent.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The states of an intent's steps, in order.
pub async fn states(conn: &mut SqliteConnection, intent: IntentId) -> Result<Vec<StepState>, StoreError> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT state FROM steps WHERE intent_id = ? ORDER BY seq")
        .bind(intent.to_string())
        .fetch_all(&mut *conn)
        .await?;
    rows.into_iter().map(|(s,)| s.parse().map_err(corrupt)).collect()
}

/// What each of an intent's steps returned, in order (`null` for a step
/// without a result).
pub async fn results(conn: &mut SqliteConnection, intent: IntentId) -> Result<Vec<serde_json::Value>, StoreError> {
    let rows: Vec<(Option<String>,)> = sqlx::query_as("SELECT result FROM steps WHERE intent_id = ? ORDER BY seq")
        .bind(intent.to_string())
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().map(|(r,)| r.and_then(|r| serde_json::from_str(&r).ok()).unwrap_or_default()).collect())
}

/// The intent's state, read inside the caller's transaction.
pub async fn intent_state(conn: &mut SqliteConnection, intent: IntentId) -> Result<IntentState, StoreError> {
    let (state,): (String,) = sqlx::query_as("SELECT state FROM intents WHERE id = ?")
        .bind(intent.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("intent {intent}")))?;
    state.parse().map_err(|e| StoreError::corrupt("intents", e))
}

/// Intents waiting to be let in to run.
pub async fn planned(conn: &mut SqliteConnection, limit: u32) -> Result<Vec<IntentId>, StoreError> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT id FROM intents WHERE state = 'planned' ORDER BY id LIMIT ?")
        .bind(limit as i64)
        .fetch_all(&mut *conn)
        .await?;
    rows.into_iter().map(|(id,)| id.parse().map_err(corrupt)).collect()
}

/// Intents whose deadline has passed while they could still act.
pub async fn past_deadline(
    conn: &mut SqliteConnection,
    now: Millis,
    limit: u32,
) -> Result<Vec<(IntentId, IntentState)>, StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, state FROM intents WHERE deadline IS NOT NULL AND deadline <= ?
           AND state IN ('received', 'planned', 'awaiting_approval', 'running') LIMIT ?",
    )
    .bind(now)
    .bind(limit as i64)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(|(id, st)| Ok((id.parse().map_err(corrupt)?, st.parse().map_err(corrupt)?))).collect()
}

/// The earliest timer in the database: a step's next attempt, a lease
/// running out, or an intent's deadline. The runner sleeps until then.
pub async fn next_timer(pool: &SqlitePool) -> Result<Option<Millis>, StoreError> {
    let (at,): (Option<i64>,) = sqlx::query_as(
        "SELECT MIN(t) FROM (
            SELECT MIN(next_attempt_at) AS t FROM steps WHERE next_attempt_at IS NOT NULL
            UNION ALL SELECT MIN(lease_until) FROM steps WHERE lease_until IS NOT NULL
            UNION ALL SELECT MIN(deadline) FROM intents WHERE deadline IS NOT NULL
                AND state IN ('received', 'planned', 'awaiting_approval', 'running'))",
    )
    .fetch_one(pool)
    .await?;
    Ok(at)
}
