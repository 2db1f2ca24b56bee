//! What a digest reports, read in a few queries: exceptions, pending
//! approvals, what completed, upcoming deadlines, model cost and new memory.
//! Reading only: building a digest changes nothing and calls no model.

use serde::Serialize;
use sqlx::SqlitePool;

use super::StoreError;
use crate::domain::Millis;

/// An intent that needs the operator, or ended badly.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exception {
    pub intent_id: String,
    pub text: String,
    pub state: String,
    /// The last step error, or why reasoning handed it over.
    pub why: String,
    pub at: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pending {
    pub approval_id: String,
    pub intent_id: String,
    pub summary: String,
    pub risk: String,
    /// `approve_before` or `review_after`.
    pub kind: String,
    pub requested_at: Millis,
    pub expires_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Done {
    pub intent_id: String,
    pub text: String,
    pub at: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deadline {
    pub intent_id: String,
    pub text: String,
    pub state: String,
    pub deadline: Millis,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cost {
    pub tier: u8,
    pub calls: i64,
    pub tokens: i64,
    pub cost_usd: f64,
}

pub async fn exceptions(pool: &SqlitePool, since: Millis) -> Result<Vec<Exception>, StoreError> {
    let rows: Vec<(String, String, String, Option<String>, Option<String>, Millis)> = sqlx::query_as(
        "SELECT i.id, i.text, i.state, i.reason,
                (SELECT s.error FROM steps s WHERE s.intent_id = i.id AND s.error IS NOT NULL ORDER BY s.seq DESC LIMIT 1),
                i.updated_at
         FROM intents i
         WHERE i.state = 'needs_attention'
            OR (i.state IN ('failed', 'compensated') AND i.updated_at >= ?)
         ORDER BY CASE i.state WHEN 'needs_attention' THEN 0 WHEN 'failed' THEN 1 ELSE 2 END, i.updated_at
         LIMIT 100",
    )
    .bind(since)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(intent_id, text, state, reason, error, at)| Exception {
            intent_id,
            text,
            state,
            why: error.or(reason).unwrap_or_default(),
            at,
        })
        .collect())
}

/// Pending approvals, oldest first.
pub async fn pending(pool: &SqlitePool) -> Result<Vec<Pending>, StoreError> {
    let rows: Vec<(String, String, String, String, String, Millis, Millis)> = sqlx::query_as(
        "SELECT id, intent_id, json_extract(request, '$.summary'), risk, kind, requested_at, expires_at
         FROM approvals WHERE state = 'pending' ORDER BY requested_at, id LIMIT 100",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(approval_id, intent_id, summary, risk, kind, requested_at, expires_at)| Pending {
            approval_id,
            intent_id,
            summary,
            risk,
            kind,
            requested_at,
            expires_at,
        })
        .collect())
}

/// An intent `i` that made a digest: a run of a digest workflow, or a plan
/// with a digest step. A digest leaves out what digests did (else each
/// would report the last, and an empty one could never be skipped); one
/// that failed is still an exception.
const DIGESTS: &str = "(i.agent LIKE 'workflow:digest-%'
    OR EXISTS (SELECT 1 FROM steps s WHERE s.intent_id = i.id AND s.adapter = 'digest'))";

pub async fn completed(pool: &SqlitePool, since: Millis) -> Result<Vec<Done>, StoreError> {
    let rows: Vec<(String, String, Millis)> = sqlx::query_as(&format!(
        "SELECT i.id, i.text, i.updated_at FROM intents i WHERE i.state = 'succeeded' AND i.updated_at >= ?
           AND NOT {DIGESTS}
         ORDER BY i.updated_at LIMIT 100"
    ))
    .bind(since)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(intent_id, text, at)| Done { intent_id, text, at }).collect())
}

/// Unfinished intents whose deadline falls before `until`, soonest first.
pub async fn deadlines(pool: &SqlitePool, until: Millis) -> Result<Vec<Deadline>, StoreError> {
    let rows: Vec<(String, String, String, Millis)> = sqlx::query_as(
        "SELECT id, text, state, deadline FROM intents
         WHERE deadline IS NOT NULL AND deadline < ?
           AND state NOT IN ('succeeded', 'failed', 'compensated', 'cancelled', 'expired')
         ORDER BY deadline LIMIT 50",
    )
    .bind(until)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(intent_id, text, state, deadline)| Deadline { intent_id, text, state, deadline })
        .collect())
}

pub async fn costs(pool: &SqlitePool, since: Millis) -> Result<Vec<Cost>, StoreError> {
    let rows: Vec<(i64, i64, i64, f64)> = sqlx::query_as(
        "SELECT tier, COUNT(*), SUM(tokens_in + tokens_out), SUM(cost_usd) FROM model_calls
         WHERE at >= ? GROUP BY tier ORDER BY tier",
    )
    .bind(since)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(tier, calls, tokens, cost_usd)| Cost { tier: tier as u8, calls, tokens, cost_usd })
        .collect())
}

/// Records of what happened since, by kind (by their own time: imported
/// history is not news).
pub async fn memory_added(pool: &SqlitePool, since: Millis) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT kind, COUNT(*) FROM memory m WHERE occurred_at >= ?
           AND NOT EXISTS (SELECT 1 FROM intents i WHERE i.id = m.intent_id AND {DIGESTS})
         GROUP BY kind ORDER BY kind"
    ))
    .bind(since)
    .fetch_all(pool)
    .await?)
}
