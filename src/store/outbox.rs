//! The outbox: every message steward sends is a row first (invariant 5),
//! delivered by a worker until the platform confirms it; the confirmation
//! keeps the platform's message id so a later edit can target it.

use sqlx::{Row, SqliteConnection, SqlitePool};
use ulid::Ulid;

use super::StoreError;
use crate::domain::Millis;

#[derive(Debug, Clone)]
pub struct Item {
    pub id: String,
    pub destination: String,
    pub payload: serde_json::Value,
    pub attempts: u32,
}

/// Queues a message. With a `dedup_key`, queuing the same notice twice (say,
/// after a crash and a replay) queues it once. Returns whether it was new.
pub async fn enqueue(
    conn: &mut SqliteConnection,
    destination: &str,
    payload: &serde_json::Value,
    dedup_key: Option<&str>,
    now: Millis,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO outbox (id, destination, payload, state, next_attempt_at, dedup_key, created_at)
         VALUES (?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING",
    )
    .bind(Ulid::new().to_string())
    .bind(destination)
    .bind(payload.to_string())
    .bind(now)
    .bind(dedup_key)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Claims due messages under a lease. A message whose sender died keeps its
/// lease until it runs out, then is due again.
pub async fn claim_due(
    conn: &mut SqliteConnection,
    now: Millis,
    lease_until: Millis,
    limit: u32,
) -> Result<Vec<Item>, StoreError> {
    let rows = sqlx::query(
        "UPDATE outbox SET attempts = attempts + 1, lease_until = ?1
         WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?2
                        AND (lease_until IS NULL OR lease_until <= ?2) ORDER BY id LIMIT ?3)
         RETURNING id, destination, payload, attempts",
    )
    .bind(lease_until)
    .bind(now)
    .bind(limit as i64)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let payload: String = r.try_get("payload")?;
            Ok(Item {
                id: r.try_get("id")?,
                destination: r.try_get("destination")?,
                payload: serde_json::from_str(&payload).map_err(|e| StoreError::corrupt("outbox", e))?,
                attempts: r.try_get::<i64, _>("attempts")? as u32,
            })
        })
        .collect()
}

pub async fn mark_sent(
    conn: &mut SqliteConnection,
    id: &str,
    platform_id: &str,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE outbox SET state = 'sent', platform_message_id = ?, sent_at = ?, lease_until = NULL, last_error = NULL WHERE id = ?")
        .bind(platform_id)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn mark_retry(conn: &mut SqliteConnection, id: &str, next_at: Millis, error: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE outbox SET next_attempt_at = ?, lease_until = NULL, last_error = ? WHERE id = ?")
        .bind(next_at)
        .bind(error)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Pending messages and the age of the oldest, for metrics.
pub async fn lag(pool: &SqlitePool, now: Millis) -> Result<(i64, Millis), StoreError> {
    let (n, oldest): (i64, Option<i64>) =
        sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM outbox WHERE state = 'pending'").fetch_one(pool).await?;
    Ok((n, oldest.map_or(0, |t| now - t)))
}

/// The earliest time a pending message is due.
pub async fn next_due(pool: &SqlitePool) -> Result<Option<Millis>, StoreError> {
    let (at,): (Option<i64>,) = sqlx::query_as(
        "SELECT MIN(MAX(next_attempt_at, COALESCE(lease_until, 0))) FROM outbox WHERE state = 'pending'",
    )
    .fetch_one(pool)
    .await?;
    Ok(at)
}
