//! A batch's reads and writes as sets: one statement for a whole batch of
//! intents or steps, each bound as one JSON array and read back with
//! `json_each`, where the one-row functions ([`super::intents`],
//! [`super::steps`]) take one statement each. The orchestrator's runner
//! writes its common cases this way (`orchestrator::batch`, `gate::admit_all`).

use std::collections::HashMap;

use serde_json::json;
use sqlx::SqliteConnection;

use super::StoreError;
use super::audit::{self, Entry};
use super::intents::Judged;
use super::rows::{self, ids_json};
use crate::domain::{Intent, IntentId, IntentState, Millis, Step, StepState};

/// Moves each intent from its `from` to its `to` in one statement; the
/// caller writes their audit rows (in the order it hashes its batch). Every
/// one must still be in its `from`: the caller read them in this same
/// transaction, so one that moved is corruption, and nothing is written.
pub async fn transition_many(
    conn: &mut SqliteConnection,
    moves: &[(IntentId, IntentState, IntentState)],
    at: i64,
) -> Result<(), StoreError> {
    if moves.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = moves.iter().map(|(id, from, to)| json!([id.to_string(), from.as_str(), to.as_str()])).collect();
    let changed = sqlx::query(
        "UPDATE intents SET state = w.to_state, updated_at = ?1
         FROM (SELECT value ->> 0 AS id, value ->> 1 AS from_state, value ->> 2 AS to_state FROM json_each(?2)) AS w
         WHERE intents.id = w.id AND intents.state = w.from_state",
    )
    .bind(at)
    .bind(serde_json::Value::Array(rows).to_string())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if changed != moves.len() as u64 {
        return Err(StoreError::corrupt(
            "intents",
            format!("{} of {} intents moved while their batch was decided", moves.len() as u64 - changed, moves.len()),
        ));
    }
    Ok(())
}

/// What each of these intents' next transition stands on (see
/// [`super::intents::standing`]), read at once.
pub async fn standings(
    conn: &mut SqliteConnection,
    ids: &[IntentId],
) -> Result<HashMap<IntentId, (IntentState, Option<i64>)>, StoreError> {
    let rows: Vec<(String, String, Option<i64>)> =
        sqlx::query_as("SELECT id, state, review_window_ms FROM intents WHERE id IN (SELECT value FROM json_each(?))")
            .bind(ids_json(ids))
            .fetch_all(&mut *conn)
            .await?;
    let corrupt = |e| StoreError::corrupt("intents", e);
    rows.into_iter()
        .map(|(id, state, window)| Ok((id.parse().map_err(corrupt)?, (state.parse().map_err(corrupt)?, window))))
        .collect()
}

/// These intents, read at once inside the caller's transaction.
pub async fn load_many(conn: &mut SqliteConnection, ids: &[IntentId]) -> Result<Vec<Intent>, StoreError> {
    let sql = format!("SELECT {} FROM intents WHERE id IN (SELECT value FROM json_each(?))", rows::INTENT_COLUMNS);
    let found = sqlx::query(&sql).bind(ids_json(ids)).fetch_all(&mut *conn).await?;
    found.iter().map(rows::intent).collect()
}

/// How the policy judged each of these intents (as
/// [`super::intents::record_judgement`] does one by one), in one statement.
pub async fn record_judgements(
    conn: &mut SqliteConnection,
    judged: &[(IntentId, Judged<'_>)],
) -> Result<(), StoreError> {
    if judged.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = judged
        .iter()
        .map(|(id, j)| {
            json!([
                id.to_string(),
                j.risk.as_str(),
                j.rule,
                j.mode,
                j.policy_version,
                j.requires_approval,
                j.review_window_ms
            ])
        })
        .collect();
    sqlx::query(
        "UPDATE intents SET risk = w.risk, risk_rule = w.rule, mode = w.mode, policy_version = w.version,
            requires_approval = w.approval, review_window_ms = w.review_window
         FROM (SELECT value ->> 0 AS id, value ->> 1 AS risk, value ->> 2 AS rule, value ->> 3 AS mode,
                      value ->> 4 AS version, value ->> 5 AS approval, value ->> 6 AS review_window
               FROM json_each(?)) AS w
         WHERE intents.id = w.id",
    )
    .bind(serde_json::Value::Array(rows).to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Steps that succeeded, each with its result: written and released in one
/// statement (as [`super::steps::write`] does one by one).
pub async fn write_succeeded_many(
    conn: &mut SqliteConnection,
    done: &[(IntentId, u32, &serde_json::Value)],
) -> Result<(), StoreError> {
    if done.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = done.iter().map(|(id, seq, result)| json!([id.to_string(), seq, result.to_string()])).collect();
    sqlx::query(
        "UPDATE steps SET state = 'succeeded', next_attempt_at = NULL, lease_until = NULL, result = w.result,
            error = NULL
         FROM (SELECT value ->> 0 AS intent_id, value ->> 1 AS seq, value ->> 2 AS result FROM json_each(?)) AS w
         WHERE steps.intent_id = w.intent_id AND steps.seq = w.seq",
    )
    .bind(serde_json::Value::Array(rows).to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Makes each of `due` (intent, step) pending at `at`, as
/// [`super::steps::schedule`] does one by one, in one statement.
pub async fn schedule_many(conn: &mut SqliteConnection, due: &[(IntentId, u32)], at: Millis) -> Result<(), StoreError> {
    if due.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = due.iter().map(|(id, seq)| json!([id.to_string(), seq])).collect();
    sqlx::query(
        "UPDATE steps SET state = 'pending', lease_until = NULL,
            next_attempt_at = CASE WHEN attempts = 0
                THEN max(?1 + coalesce(wait_ms, 0), coalesce(not_before, 0)) ELSE ?1 END,
            deadline = CASE WHEN within_ms IS NULL THEN NULL
                WHEN attempts = 0 THEN max(?1 + coalesce(wait_ms, 0), coalesce(not_before, 0)) + within_ms
                ELSE ?1 + within_ms END
         WHERE (intent_id, seq) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?2))",
    )
    .bind(at)
    .bind(serde_json::Value::Array(rows).to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Clears the timers of these intents' steps that have not run, in one
/// statement.
pub async fn disarm_many(conn: &mut SqliteConnection, intents: &[IntentId]) -> Result<(), StoreError> {
    if intents.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE steps SET next_attempt_at = NULL
         WHERE intent_id IN (SELECT value FROM json_each(?)) AND state IN ('pending', 'retry_scheduled')",
    )
    .bind(ids_json(intents))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The states of each of these intents' steps, in order, read at once.
pub async fn states_of(
    conn: &mut SqliteConnection,
    intents: &[IntentId],
) -> Result<HashMap<IntentId, Vec<StepState>>, StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT intent_id, state FROM steps WHERE intent_id IN (SELECT value FROM json_each(?))
         ORDER BY intent_id, seq",
    )
    .bind(ids_json(intents))
    .fetch_all(&mut *conn)
    .await?;
    let mut states: HashMap<IntentId, Vec<StepState>> = Default::default();
    for (id, state) in rows {
        let corrupt = |e| StoreError::corrupt("steps", e);
        states.entry(id.parse().map_err(corrupt)?).or_default().push(state.parse().map_err(corrupt)?);
    }
    Ok(states)
}

/// Inserts new intents, their steps and their `intent.created` audit rows
/// (as [`super::intents::insert`] does one by one): one statement per
/// table, the audit rows hashed in the batch's order.
pub async fn insert_intents(conn: &mut SqliteConnection, batch: &[Intent]) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    let mut intents = Vec::with_capacity(batch.len());
    let mut steps = Vec::new();
    for intent in batch {
        let prov = &intent.provenance;
        let plan = intent.plan.as_ref().map(|p| serde_json::to_string(p).expect("plans serialize"));
        intents.push(json!([
            intent.id.to_string(),
            prov.channel,
            prov.actor,
            prov.reason,
            intent.text.as_str(),
            intent.state.as_str(),
            intent.risk.as_str(),
            plan,
            prov.agent,
            prov.agent_version,
            prov.policy_version,
            intent.deadline,
            intent.created_at,
            intent.updated_at
        ]));
        for (seq, planned) in intent.plan.as_ref().map(|p| p.steps()).unwrap_or_default().iter().enumerate() {
            let step = Step::pending(intent.id, seq as u32, planned.clone());
            steps.push(json!([
                intent.id.to_string(),
                seq,
                planned.adapter.as_str(),
                planned.action.as_str(),
                planned.args.to_string(),
                step.state.as_str(),
                step.idempotency_key().as_str(),
                planned.within_secs.map(|s| (s * 1000) as i64),
                planned.wait_secs.map(|s| (s * 1000) as i64),
                planned.not_before
            ]));
        }
    }
    sqlx::query(
        "INSERT INTO intents (id, source, actor, reason, text, state, risk, plan, agent, agent_version,
                              policy_version, deadline, created_at, updated_at)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6,
                value ->> 7, value ->> 8, value ->> 9, value ->> 10, value ->> 11, value ->> 12, value ->> 13
         FROM json_each(?)",
    )
    .bind(serde_json::Value::Array(intents).to_string())
    .execute(&mut *conn)
    .await?;
    if !steps.is_empty() {
        sqlx::query(
            "INSERT INTO steps (intent_id, seq, adapter, action, args, state, idempotency_key, within_ms, wait_ms,
                                not_before)
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6,
                    value ->> 7, value ->> 8, value ->> 9
             FROM json_each(?)",
        )
        .bind(serde_json::Value::Array(steps).to_string())
        .execute(&mut *conn)
        .await?;
    }
    let ids: Vec<String> = batch.iter().map(|i| i.id.to_string()).collect();
    let entries: Vec<(Millis, Entry<'_>)> = batch
        .iter()
        .zip(&ids)
        .map(|(i, id)| {
            let entry = Entry {
                actor: &i.provenance.actor,
                action: "intent.created",
                subject: Some(id),
                detail: super::intents::created(i),
            };
            (i.created_at, entry)
        })
        .collect();
    audit::append_many(conn, &entries).await
}
