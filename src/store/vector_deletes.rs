//! The queue of points to remove from the vector index. A row is written in
//! the transaction that forgets or archives a record, and leaves once the
//! index confirmed the delete, so a delete the index refused is retried
//! (see [`Memory::drain_vector_deletes`](crate::memory::Memory::drain_vector_deletes)).

use sqlx::{SqliteConnection, SqlitePool};

use super::StoreError;
use crate::domain::Millis;

/// Queues points for removal from the vector index, in the caller's
/// transaction (see [`drain`](crate::memory::Memory::drain_vector_deletes)).
pub async fn queue(conn: &mut SqliteConnection, ids: &[String], now: Millis) -> Result<(), StoreError> {
    for id in ids {
        sqlx::query("INSERT INTO vector_deletes (id, queued_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING")
            .bind(id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Points waiting to leave the vector index, oldest first.
pub async fn queued(pool: &SqlitePool, limit: u32) -> Result<Vec<String>, StoreError> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT id FROM vector_deletes ORDER BY queued_at, id LIMIT ?")
        .bind(limit as i64)
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// The index confirmed these deletes.
pub async fn done(conn: &mut SqliteConnection, ids: &[String]) -> Result<(), StoreError> {
    for id in ids {
        sqlx::query("DELETE FROM vector_deletes WHERE id = ?").bind(id).execute(&mut *conn).await?;
    }
    Ok(())
}
