//! The circuit breaker's one row: when it opened and why.

use sqlx::{SqliteConnection, SqlitePool};

use super::StoreError;
use crate::domain::Millis;

pub async fn open(conn: &mut SqliteConnection, at: Millis, reason: &str) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO breaker (id, opened_at, reason) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET opened_at = excluded.opened_at, reason = excluded.reason")
        .bind(at)
        .bind(reason)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// When the breaker last opened, and why.
pub async fn last_opened(conn: &mut SqliteConnection) -> Result<Option<(Millis, String)>, StoreError> {
    Ok(sqlx::query_as("SELECT opened_at, reason FROM breaker WHERE id = 1").fetch_optional(&mut *conn).await?)
}

/// Whether the breaker is open now, and why, given its cool-down.
pub async fn open_now(pool: &SqlitePool, cooldown_ms: i64, now: Millis) -> Result<Option<String>, StoreError> {
    let mut conn = pool.acquire().await?;
    Ok(last_opened(&mut conn).await?.filter(|(at, _)| at + cooldown_ms > now).map(|(_, why)| why))
}
