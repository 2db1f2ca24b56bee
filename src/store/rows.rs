//! Turning rows back into domain types. A row that does not parse is
//! reported as corrupt rather than papered over.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::StoreError;
use crate::domain::{Intent, IntentText, Plan, PlannedStep, Provenance, Step};

fn parse<T, E: std::fmt::Display>(table: &'static str, r: Result<T, E>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::corrupt(table, e))
}

pub(super) const INTENT_COLUMNS: &str = "id, source, actor, reason, text, state, risk, plan, agent, agent_version, \
     policy_version, deadline, created_at, updated_at";

pub(super) fn intent(row: &SqliteRow) -> Result<Intent, StoreError> {
    let t = "intents";
    let plan: Option<String> = row.try_get("plan")?;
    Ok(Intent {
        id: parse(t, row.try_get::<String, _>("id")?.parse())?,
        text: parse(t, IntentText::parse(row.try_get::<String, _>("text")?))?,
        state: parse(t, row.try_get::<String, _>("state")?.parse())?,
        risk: parse(t, row.try_get::<String, _>("risk")?.parse())?,
        provenance: Provenance {
            actor: row.try_get("actor")?,
            channel: row.try_get("source")?,
            reason: row.try_get("reason")?,
            agent: row.try_get("agent")?,
            agent_version: row.try_get("agent_version")?,
            policy_version: row.try_get("policy_version")?,
        },
        plan: plan.map(|p| parse::<Plan, _>(t, serde_json::from_str(&p))).transpose()?,
        deadline: row.try_get("deadline")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) const STEP_COLUMNS: &str = "intent_id, seq, adapter, action, args, state, attempts, next_attempt_at, lease_until, result, error, within_ms, \
     wait_ms, not_before";

pub(super) fn step(row: &SqliteRow) -> Result<Step, StoreError> {
    let t = "steps";
    let args: String = row.try_get("args")?;
    let result: Option<String> = row.try_get("result")?;
    let within: Option<i64> = row.try_get("within_ms")?;
    let wait: Option<i64> = row.try_get("wait_ms")?;
    let planned = PlannedStep::parse(
        &row.try_get::<String, _>("adapter")?,
        &row.try_get::<String, _>("action")?,
        parse(t, serde_json::from_str(&args))?,
    );
    Ok(Step {
        intent_id: parse(t, row.try_get::<String, _>("intent_id")?.parse())?,
        seq: parse(t, u32::try_from(row.try_get::<i64, _>("seq")?))?,
        planned: PlannedStep {
            within_secs: within.map(|ms| (ms / 1000) as u64),
            wait_secs: wait.map(|ms| (ms / 1000) as u64),
            not_before: row.try_get("not_before")?,
            ..parse(t, planned)?
        },
        state: parse(t, row.try_get::<String, _>("state")?.parse())?,
        attempts: parse(t, u32::try_from(row.try_get::<i64, _>("attempts")?))?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        lease_until: row.try_get("lease_until")?,
        result: result.map(|r| parse(t, serde_json::from_str(&r))).transpose()?,
        error: row.try_get("error")?,
    })
}

/// Ids as one JSON array: the one parameter a set of them is bound as, read
/// back with `json_each`.
pub(super) fn ids_json(ids: &[crate::domain::IntentId]) -> String {
    serde_json::Value::Array(ids.iter().map(|id| id.to_string().into()).collect()).to_string()
}
