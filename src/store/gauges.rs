//! What `/metrics` reads from the database at scrape time: the source of
//! truth for anything stateful. Each is one small aggregate query.

use sqlx::SqlitePool;

use super::StoreError;
use crate::domain::Millis;

/// Model use of one tier, from the ledger (finished calls only: a call in
/// flight holds estimates that its end replaces).
#[derive(Debug, Clone, PartialEq)]
pub struct TierUse {
    pub tier: i64,
    pub tokens_in: i64,
    /// Of `tokens_in`, those served from the provider's prompt cache.
    pub tokens_cached: i64,
    pub tokens_out: i64,
    pub cost_usd: f64,
}

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Pending approvals by risk.
    pub approvals_waiting: Vec<(String, i64)>,
    /// Live records waiting for their vector, and point deletions queued.
    pub vectors_pending: i64,
    pub vector_deletes_pending: i64,
    /// The audit chain's length (its head's seq).
    pub audit_rows: i64,
    pub model_use: Vec<TierUse>,
    /// The oldest pending approval's request time, if any.
    pub oldest_waiting: Option<Millis>,
}

pub async fn snapshot(pool: &SqlitePool) -> Result<Snapshot, StoreError> {
    let approvals_waiting =
        sqlx::query_as("SELECT risk, COUNT(*) FROM approvals WHERE state = 'pending' GROUP BY risk ORDER BY risk")
            .fetch_all(pool)
            .await?;
    let oldest_waiting =
        sqlx::query_scalar("SELECT MIN(requested_at) FROM approvals WHERE state = 'pending'").fetch_one(pool).await?;
    let vectors_pending =
        sqlx::query_scalar("SELECT COUNT(*) FROM memory WHERE indexed_at IS NULL AND archived_at IS NULL")
            .fetch_one(pool)
            .await?;
    let vector_deletes_pending = sqlx::query_scalar("SELECT COUNT(*) FROM vector_deletes").fetch_one(pool).await?;
    let audit_rows = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM audit").fetch_one(pool).await?;
    let rows: Vec<(i64, i64, i64, i64, f64)> = sqlx::query_as(
        "SELECT tier, SUM(tokens_in), SUM(tokens_cached), SUM(tokens_out), SUM(cost_usd) FROM model_calls
         WHERE outcome != 'in_flight' GROUP BY tier ORDER BY tier",
    )
    .fetch_all(pool)
    .await?;
    let model_use = rows
        .into_iter()
        .map(|(tier, tokens_in, tokens_cached, tokens_out, cost_usd)| TierUse {
            tier,
            tokens_in,
            tokens_cached,
            tokens_out,
            cost_usd,
        })
        .collect();
    Ok(Snapshot { approvals_waiting, vectors_pending, vector_deletes_pending, audit_rows, model_use, oldest_waiting })
}
