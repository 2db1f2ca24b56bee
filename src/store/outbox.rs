//! The outbox: every message steward sends is a row first (invariant 5),
//! delivered by a worker until the platform confirms it; the confirmation
//! keeps the platform's message id so a later edit can target it.

use sqlx::{Row, SqliteConnection, SqlitePool};
use ulid::Ulid;

use super::StoreError;
use crate::domain::{Millis, Outbound};

#[derive(Debug, Clone)]
pub struct Item {
    pub id: String,
    pub destination: String,
    /// The message, or why the stored row is not one (the worker gives up
    /// on such a row, with that reason, instead of stopping on it).
    pub message: Result<Outbound, String>,
    pub attempts: u32,
}

/// Queues a message. With a `dedup_key`, queuing the same notice twice (say,
/// after a crash and a replay) queues it once. Returns whether it was new.
pub async fn enqueue(
    conn: &mut SqliteConnection,
    destination: &str,
    message: &Outbound,
    dedup_key: Option<&str>,
    now: Millis,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO outbox (id, destination, payload, state, next_attempt_at, dedup_key, created_at)
         VALUES (?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING",
    )
    .bind(Ulid::new().to_string())
    .bind(destination)
    .bind(serde_json::to_string(message).map_err(|e| StoreError::corrupt("outbox", e))?)
    .bind(now)
    .bind(dedup_key)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Claims due messages under a lease. Only the oldest pending message of each
/// destination (by insertion order: ULIDs made in the same millisecond do
/// not sort by creation) is claimed, so a chat sees its messages in order even when
/// one of them has to wait for a retry. A message whose sender died keeps
/// its lease until it runs out, then is due again.
pub async fn claim_due(
    conn: &mut SqliteConnection,
    now: Millis,
    lease_until: Millis,
    limit: u32,
) -> Result<Vec<Item>, StoreError> {
    let rows = sqlx::query(
        "UPDATE outbox SET attempts = attempts + 1, lease_until = ?1
         WHERE id IN (SELECT id FROM outbox o WHERE state = 'pending' AND next_attempt_at <= ?2
                        AND (lease_until IS NULL OR lease_until <= ?2)
                        AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.destination = o.destination
                                          AND e.state = 'pending' AND e.rowid < o.rowid)
                        ORDER BY rowid LIMIT ?3)
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
                message: serde_json::from_str(&payload).map_err(|e| format!("not a message steward can send: {e}")),
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

/// Releases every lease: at start-up (the data directory is locked to this
/// process) a leased message belonged to a process that died sending it.
/// It goes out again; the platform may have taken it already.
pub async fn release_leases(conn: &mut SqliteConnection) -> Result<u64, StoreError> {
    let done = sqlx::query("UPDATE outbox SET lease_until = NULL WHERE state = 'pending' AND lease_until IS NOT NULL")
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// Gives up on a message the platform refused as it is; it no longer holds
/// up its destination.
pub async fn mark_failed(conn: &mut SqliteConnection, id: &str, error: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE outbox SET state = 'failed', lease_until = NULL, last_error = ? WHERE id = ?")
        .bind(error)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn n(item: &Item) -> String {
        item.message.as_ref().unwrap().text()
    }

    #[tokio::test]
    async fn one_destination_gets_its_messages_in_order_even_behind_a_retry() {
        let store = Store::in_memory().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        // Queued within one millisecond: order is the queue's, not the ids'.
        for n in 0..3 {
            enqueue(&mut tx, "telegram:1", &Outbound::reply(n.to_string()), None, 10).await.unwrap();
        }
        enqueue(&mut tx, "telegram:2", &Outbound::reply("9"), None, 10).await.unwrap();
        let first = claim_due(&mut tx, 10, 1_000, 32).await.unwrap();
        let got: Vec<(String, String)> = first.iter().map(|i| (i.destination.clone(), n(i))).collect();
        assert_eq!(
            got,
            [("telegram:1".to_owned(), "0".to_owned()), ("telegram:2".to_owned(), "9".to_owned())],
            "one per destination, the oldest"
        );
        // The head waits for a retry: nothing behind it goes first.
        mark_retry(&mut tx, &first[0].id, 500, "429").await.unwrap();
        mark_sent(&mut tx, &first[1].id, "m", 10).await.unwrap();
        assert!(claim_due(&mut tx, 20, 1_000, 32).await.unwrap().is_empty());
        let again = claim_due(&mut tx, 500, 1_500, 32).await.unwrap();
        assert_eq!(n(&again[0]), "0");
        // A refused message stops holding up the rest.
        mark_failed(&mut tx, &again[0].id, "400").await.unwrap();
        let next = claim_due(&mut tx, 600, 1_600, 32).await.unwrap();
        assert_eq!(n(&next[0]), "1");
    }
}
