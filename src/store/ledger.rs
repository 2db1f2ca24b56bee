//! The cost ledger: one row per model call, whatever came of it, so spend is
//! visible, the daily budget can be enforced, and an idle server provably
//! makes no calls.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{Row, SqlitePool};
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
    /// Of `tokens_in`, those the provider served from its prompt cache.
    pub tokens_cached: u32,
    pub tokens_out: u32,
    pub cost_usd: f64,
    pub latency_ms: u64,
    /// `ok`, `invalid_output`, `http_error`, `timeout`, `in_flight` (still
    /// running) or `cancelled` (the process stopped during the call).
    pub outcome: &'static str,
    /// Whether the token counts are steward's estimates (the server gave
    /// none, or the call never finished), not the server's own.
    pub estimated: bool,
    pub detail: Option<String>,
    pub request: Option<String>,
}

/// The UTC day a timestamp falls on, as stored.
pub fn day(at: Millis) -> String {
    DateTime::<Utc>::from_timestamp_millis(at).unwrap_or_default().format("%Y-%m-%d").to_string()
}

/// Writes a call's row; returns its id.
pub async fn record(store: &Store, call: &Call) -> Result<String, StoreError> {
    let id = Ulid::new().to_string();
    let mut tx = store.begin().await?;
    sqlx::query(
        "INSERT INTO model_calls (id, at, day, tier, role, role_version, model, tokens_in, tokens_out, cost_usd,
                                  latency_ms, outcome, detail, request, estimated, tokens_cached)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&id)
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
    .bind(call.estimated)
    .bind(i64::from(call.tokens_cached))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Completes the row of a call written as `in_flight` with how it ended.
pub async fn complete(store: &Store, id: &str, call: &Call) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    sqlx::query(
        "UPDATE model_calls SET tokens_in = ?, tokens_out = ?, cost_usd = ?, latency_ms = ?, outcome = ?,
                                detail = ?, estimated = ?, tokens_cached = ?
         WHERE id = ?",
    )
    .bind(i64::from(call.tokens_in))
    .bind(i64::from(call.tokens_out))
    .bind(call.cost_usd)
    .bind(call.latency_ms as i64)
    .bind(call.outcome)
    .bind(&call.detail)
    .bind(call.estimated)
    .bind(i64::from(call.tokens_cached))
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Marks calls left `in_flight` by a process that stopped as `cancelled`,
/// keeping their estimates: run at start, when none can still be running.
/// Returns how many.
pub async fn settle_unfinished(store: &Store) -> Result<u64, StoreError> {
    let mut tx = store.begin().await?;
    let n = sqlx::query(
        "UPDATE model_calls SET outcome = 'cancelled', estimated = 1,
                detail = 'steward stopped during the call; its tokens are estimates'
         WHERE outcome = 'in_flight'",
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(n)
}

/// A sum of costs that is never `-0.0` (a float sum of nothing is).
pub fn total(costs: impl Iterator<Item = f64>) -> f64 {
    costs.fold(0.0, |a, b| a + b)
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
    /// Calls whose tokens are estimates (timed out, cut off, uncounted).
    pub estimated_calls: i64,
    pub tokens_in: i64,
    /// Of `tokens_in`, those served from the provider's prompt cache.
    pub tokens_cached: i64,
    pub tokens_out: i64,
    pub cost_usd: f64,
    pub p50_latency_ms: i64,
}

/// Calls since `since`, summed by day, tier and model, newest day first.
pub async fn summary(pool: &SqlitePool, since: Millis) -> Result<Vec<Line>, StoreError> {
    type Row = (String, i64, String, i64, i64, i64, i64, i64, i64, f64);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT day, tier, model, COUNT(*), SUM(outcome <> 'ok'), SUM(estimated), SUM(tokens_in), SUM(tokens_cached),
                SUM(tokens_out), SUM(cost_usd)
         FROM model_calls WHERE at >= ? GROUP BY day, tier, model ORDER BY day DESC, tier, model",
    )
    .bind(since)
    .fetch_all(pool)
    .await?;
    let mut lines = Vec::with_capacity(rows.len());
    for (day, tier, model, calls, failed_calls, estimated_calls, tokens_in, tokens_cached, tokens_out, cost_usd) in rows
    {
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
            estimated_calls,
            tokens_in,
            tokens_cached,
            tokens_out,
            cost_usd,
            p50_latency_ms: p50,
        });
    }
    Ok(lines)
}

/// Every call since `since`, oldest first (for tests and the bench).
pub async fn calls_since(pool: &SqlitePool, since: Millis) -> Result<Vec<Call>, StoreError> {
    let rows = sqlx::query(
        "SELECT at, tier, role, role_version, model, tokens_in, tokens_out, cost_usd, latency_ms, outcome, detail,
                request, estimated, tokens_cached
         FROM model_calls WHERE at >= ? ORDER BY at, id",
    )
    .bind(since)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Call {
                at: r.try_get("at")?,
                tier: r.try_get::<i64, _>("tier")? as u8,
                role: r.try_get("role")?,
                role_version: r.try_get("role_version")?,
                model: r.try_get("model")?,
                tokens_in: r.try_get::<i64, _>("tokens_in")? as u32,
                tokens_cached: r.try_get::<i64, _>("tokens_cached")? as u32,
                tokens_out: r.try_get::<i64, _>("tokens_out")? as u32,
                cost_usd: r.try_get("cost_usd")?,
                latency_ms: r.try_get::<i64, _>("latency_ms")? as u64,
                outcome: outcome_name(r.try_get("outcome")?),
                detail: r.try_get("detail")?,
                request: r.try_get("request")?,
                estimated: r.try_get("estimated")?,
            })
        })
        .collect()
}

fn outcome_name(s: &str) -> &'static str {
    match s {
        "ok" => "ok",
        "invalid_output" => "invalid_output",
        "timeout" => "timeout",
        "in_flight" => "in_flight",
        "cancelled" => "cancelled",
        _ => "http_error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call left in flight by a process that stopped is `cancelled` at
    /// the next start, with its estimates kept and marked.
    #[tokio::test]
    async fn calls_cut_off_by_a_stop_are_settled_as_cancelled() {
        let store = Store::in_memory().await.unwrap();
        let call = Call {
            at: 1_000,
            tier: 2,
            role: "executor".into(),
            role_version: "1".into(),
            model: "m".into(),
            tokens_in: 120,
            tokens_cached: 0,
            tokens_out: 300,
            cost_usd: 0.5,
            latency_ms: 0,
            outcome: "in_flight",
            detail: None,
            request: None,
            estimated: true,
        };
        record(&store, &call).await.unwrap();
        let done = Call { outcome: "ok", estimated: false, tokens_out: 10, ..call.clone() };
        let id = record(&store, &call).await.unwrap();
        complete(&store, &id, &done).await.unwrap();
        assert_eq!(settle_unfinished(&store).await.unwrap(), 1);
        let calls = calls_since(store.reader(), 0).await.unwrap();
        let outcomes: Vec<_> = calls.iter().map(|c| (c.outcome, c.estimated, c.tokens_out)).collect();
        assert!(outcomes.contains(&("cancelled", true, 300)) && outcomes.contains(&("ok", false, 10)), "{outcomes:?}");
        assert_eq!(settle_unfinished(&store).await.unwrap(), 0, "settling twice changes nothing");
        assert_eq!(total([].into_iter()).to_string(), "0", "never -0");
    }
}
