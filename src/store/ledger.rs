//! The cost ledger: one row per model call, whatever came of it, so spend is
//! visible, the daily budget can be enforced, and an idle server provably
//! makes no calls.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::SqlitePool;
use ulid::Ulid;

use super::{Store, StoreError};
use crate::domain::Millis;

/// One model call as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Call {
    pub at: Millis,
    pub tier: u8,
    pub role: String,
    pub role_version: String,
    pub model: String,
    pub tokens_in: u32,
    pub tokens_out: u32,
    pub cost_usd: f64,
    pub latency_ms: u64,
    /// `ok`, `invalid_output`, `http_error` or `timeout`.
    pub outcome: &'static str,
    pub detail: Option<String>,
    pub request: Option<String>,
}

/// The UTC day a timestamp falls on, as stored.
pub fn day(at: Millis) -> String {
    DateTime::<Utc>::from_timestamp_millis(at).unwrap_or_default().format("%Y-%m-%d").to_string()
}

pub async fn record(store: &Store, call: &Call) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    sqlx::query(
        "INSERT INTO model_calls (id, at, day, tier, role, role_version, model, tokens_in, tokens_out, cost_usd,
                                  latency_ms, outcome, detail, request)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(Ulid::new().to_string())
    .bind(call.at)
    .bind(day(call.at))
    .bind(i64::from(call.tier))
    .bind(&call.role)
    .bind(&call.role_version)
    .bind(&call.model)
    .bind(i64::from(call.tokens_in))
    .bind(i64::from(call.tokens_out))
    .bind(call.cost_usd)
    .bind(call.latency_ms as i64)
    .bind(call.outcome)
    .bind(&call.detail)
    .bind(&call.request)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What was spent on the UTC day `at` falls on.
pub async fn spent_on_day(pool: &SqlitePool, at: Millis) -> Result<f64, StoreError> {
    let spent: Option<f64> =
        sqlx::query_scalar("SELECT SUM(cost_usd) FROM model_calls WHERE day = ?").bind(day(at)).fetch_one(pool).await?;
    Ok(spent.unwrap_or(0.0))
}

/// How many calls were made since `since`.
pub async fn count_since(pool: &SqlitePool, since: Millis) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM model_calls WHERE at >= ?").bind(since).fetch_one(pool).await?)
}

/// One line of a summary: calls of one day, tier and model.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Line {
    pub day: String,
    pub tier: u8,
    pub model: String,
    pub calls: i64,
    pub failed_calls: i64,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_usd: f64,
    pub p50_latency_ms: i64,
}

/// Calls since `since`, summed by day, tier and model, newest day first.
pub async fn summary(pool: &SqlitePool, since: Millis) -> Result<Vec<Line>, StoreError> {
    let rows: Vec<(String, i64, String, i64, i64, i64, i64, f64)> = sqlx::query_as(
        "SELECT day, tier, model, COUNT(*), SUM(outcome <> 'ok'), SUM(tokens_in), SUM(tokens_out), SUM(cost_usd)
         FROM model_calls WHERE at >= ? GROUP BY day, tier, model ORDER BY day DESC, tier, model",
    )
    .bind(since)
    .fetch_all(pool)
    .await?;
    let mut lines = Vec::with_capacity(rows.len());
    for (day, tier, model, calls, failed_calls, tokens_in, tokens_out, cost_usd) in rows {
        // The median latency of the group: the middle row in latency order.
        let p50: i64 = sqlx::query_scalar(
            "SELECT latency_ms FROM model_calls WHERE at >= ? AND day = ? AND tier = ? AND model = ?
             ORDER BY latency_ms LIMIT 1 OFFSET ?",
        )
        .bind(since)
        .bind(&day)
        .bind(tier)
        .bind(&model)
        .bind(calls / 2)
        .fetch_one(pool)
        .await?;
        lines.push(Line {
            day,
            tier: tier as u8,
            model,
            calls,
            failed_calls,
            tokens_in,
            tokens_out,
            cost_usd,
            p50_latency_ms: p50,
        });
    }
    Ok(lines)
}

/// Every call since `since`, oldest first (for tests and the bench).
pub async fn calls_since(pool: &SqlitePool, since: Millis) -> Result<Vec<Call>, StoreError> {
    let rows: Vec<(i64, i64, String, String, String, i64, i64, f64, i64, String, Option<String>, Option<String>)> =
        sqlx::query_as(
            "SELECT at, tier, role, role_version, model, tokens_in, tokens_out, cost_usd, latency_ms, outcome, detail,
                    request
             FROM model_calls WHERE at >= ? ORDER BY at, id",
        )
        .bind(since)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(
                at,
                tier,
                role,
                role_version,
                model,
                tokens_in,
                tokens_out,
                cost_usd,
                latency_ms,
                outcome,
                detail,
                request,
            )| {
                Call {
                    at,
                    tier: tier as u8,
                    role,
                    role_version,
                    model,
                    tokens_in: tokens_in as u32,
                    tokens_out: tokens_out as u32,
                    cost_usd,
                    latency_ms: latency_ms as u64,
                    outcome: outcome_name(&outcome),
                    detail,
                    request,
                }
            },
        )
        .collect())
}

fn outcome_name(s: &str) -> &'static str {
    match s {
        "ok" => "ok",
        "invalid_output" => "invalid_output",
        "timeout" => "timeout",
        _ => "http_error",
    }
}
