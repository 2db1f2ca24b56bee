//! Reminders asked for from chat, and their cancellation.

use sqlx::{SqliteConnection, SqlitePool};

use super::StoreError;
use crate::domain::Millis;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Reminder {
    pub id: String,
    pub key: String,
    pub actor: String,
    /// Where it is said: the chat it came from, or `operator`.
    pub chat: String,
    pub task: String,
    /// Once, at this time; or every period of `cron` in `timezone`.
    pub at: Option<Millis>,
    pub cron: Option<String>,
    pub timezone: String,
    pub created_at: Millis,
}

const COLUMNS: &str = "id, key, actor, chat, task, at, cron, timezone, created_at";

/// Keeps a reminder under its key; the same key again returns the first.
pub async fn insert(conn: &mut SqliteConnection, r: &Reminder) -> Result<Reminder, StoreError> {
    sqlx::query(
        "INSERT INTO reminders (id, key, actor, chat, task, at, cron, timezone, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
    )
    .bind(&r.id)
    .bind(&r.key)
    .bind(&r.actor)
    .bind(&r.chat)
    .bind(&r.task)
    .bind(r.at)
    .bind(&r.cron)
    .bind(&r.timezone)
    .bind(r.created_at)
    .execute(&mut *conn)
    .await?;
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM reminders WHERE key = ?"))
        .bind(&r.key)
        .fetch_one(&mut *conn)
        .await?)
}

/// Reminders not cancelled: every repeating one, and one-time ones not
/// past `since` (the scheduler's, which runs each once).
pub async fn active(pool: &SqlitePool, since: Millis) -> Result<Vec<Reminder>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM reminders WHERE cancelled_at IS NULL AND (at IS NULL OR at >= ?)
         ORDER BY created_at, id LIMIT 10000"
    ))
    .bind(since)
    .fetch_all(pool)
    .await?)
}

/// One person's reminders still to come, soonest first (repeating ones
/// last).
pub async fn upcoming(pool: &SqlitePool, actor: &str, now: Millis) -> Result<Vec<Reminder>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM reminders WHERE cancelled_at IS NULL AND actor = ? AND (at IS NULL OR at > ?)
         ORDER BY at IS NULL, at, created_at LIMIT 100"
    ))
    .bind(actor)
    .bind(now)
    .fetch_all(pool)
    .await?)
}

/// Cancels the reminder whose id starts with `id` (at least 6 characters,
/// one match), if it is `actor`'s: the task it cancelled.
pub async fn cancel(
    conn: &mut SqliteConnection,
    id: &str,
    actor: &str,
    now: Millis,
) -> Result<Option<String>, StoreError> {
    if id.len() < 6 {
        return Ok(None);
    }
    let prefix = format!("{}%", id.to_ascii_uppercase().replace(['%', '_'], ""));
    let found: Vec<(String, String)> =
        sqlx::query_as("SELECT id, task FROM reminders WHERE id LIKE ? AND actor = ? AND cancelled_at IS NULL LIMIT 2")
            .bind(&prefix)
            .bind(actor)
            .fetch_all(&mut *conn)
            .await?;
    let [(id, task)] = found.as_slice() else { return Ok(None) };
    sqlx::query("UPDATE reminders SET cancelled_at = ? WHERE id = ?").bind(now).bind(id).execute(&mut *conn).await?;
    Ok(Some(task.clone()))
}
