//! What the chat channels keep beside the inbox: people added by pairing,
//! one-time pairing codes, each connection's health, and where an
//! approval's card was shown.

use sha2::{Digest, Sha256};
use sqlx::{SqliteConnection, SqlitePool};

use super::StoreError;
use crate::domain::Millis;

/// Everyone pairing added, as approver entries (`telegram:123`).
pub async fn all_paired(pool: &SqlitePool) -> Result<Vec<String>, StoreError> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT channel || ':' || user_id FROM channel_users ORDER BY added_at").fetch_all(pool).await?;
    Ok(rows.into_iter().map(|(u,)| u).collect())
}

fn code_hash(code: &str) -> String {
    hex::encode(Sha256::digest(code.trim().to_ascii_uppercase().as_bytes()))
}

/// Stores a new one-time code for `channel`, valid until `expires_at`.
pub async fn new_pairing_code(
    conn: &mut SqliteConnection,
    channel: &str,
    code: &str,
    now: Millis,
    expires_at: Millis,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO pairing_codes (code_hash, channel, created_at, expires_at) VALUES (?, ?, ?, ?)")
        .bind(code_hash(code))
        .bind(channel)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Uses a pairing code: when it is this channel's, unused and unexpired, the
/// user is added and the code spent, both at once. Returns whether it was.
pub async fn pair(
    conn: &mut SqliteConnection,
    channel: &str,
    code: &str,
    user: &str,
    now: Millis,
) -> Result<bool, StoreError> {
    let used = sqlx::query(
        "UPDATE pairing_codes SET used_by = ?, used_at = ?
         WHERE code_hash = ? AND channel = ? AND used_by IS NULL AND expires_at > ?",
    )
    .bind(user)
    .bind(now)
    .bind(code_hash(code))
    .bind(channel)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if used == 0 {
        return Ok(false);
    }
    sqlx::query("INSERT INTO channel_users (channel, user_id, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
        .bind(channel)
        .bind(user)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

/// A channel connection's state, as the channel last reported it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Health {
    pub channel: String,
    /// `ok`, `conflict` or `error`.
    pub state: String,
    pub detail: String,
    pub since: Millis,
    pub updated_at: Millis,
}

/// Records a channel's state; `since` moves only when the state changes.
pub async fn report(
    conn: &mut SqliteConnection,
    channel: &str,
    state: &str,
    detail: &str,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO channel_health (channel, state, detail, since, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT (channel) DO UPDATE SET detail = excluded.detail, updated_at = excluded.updated_at,
           since = CASE WHEN channel_health.state = excluded.state THEN channel_health.since ELSE excluded.since END,
           state = excluded.state",
    )
    .bind(channel)
    .bind(state)
    .bind(detail)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn health(pool: &SqlitePool) -> Result<Vec<Health>, StoreError> {
    let rows: Vec<(String, String, String, i64, i64)> =
        sqlx::query_as("SELECT channel, state, detail, since, updated_at FROM channel_health ORDER BY channel")
            .fetch_all(pool)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(channel, state, detail, since, updated_at)| Health { channel, state, detail, since, updated_at })
        .collect())
}

/// Where an approval was shown in `destination`: the platform ids of the
/// sent outbox messages about it whose kind is one of `kinds` (the cards).
pub async fn cards(
    pool: &SqlitePool,
    destination: &str,
    approval_id: &str,
    kinds: &[&str],
) -> Result<Vec<String>, StoreError> {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT platform_message_id, json_extract(payload, '$.kind') FROM outbox
         WHERE destination = ? AND state = 'sent' AND json_extract(payload, '$.approval_id') = ?
           AND platform_message_id IS NOT NULL ORDER BY rowid",
    )
    .bind(destination)
    .bind(approval_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().filter(|(_, k)| k.as_deref().is_some_and(|k| kinds.contains(&k))).map(|(id, _)| id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[tokio::test]
    async fn a_pairing_code_adds_one_user_once_and_only_before_it_expires() {
        let store = Store::in_memory().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        new_pairing_code(&mut tx, "telegram", "ABCD2345", 1_000, 2_000).await.unwrap();
        new_pairing_code(&mut tx, "telegram", "LATE7777", 1_000, 2_000).await.unwrap();
        assert!(!pair(&mut tx, "discord", "ABCD2345", "9", 1_500).await.unwrap(), "another channel's code");
        assert!(pair(&mut tx, "telegram", "abcd2345", "42", 1_500).await.unwrap(), "case does not matter");
        assert!(!pair(&mut tx, "telegram", "ABCD2345", "43", 1_600).await.unwrap(), "spent");
        assert!(!pair(&mut tx, "telegram", "LATE7777", "44", 2_000).await.unwrap(), "expired");
        tx.commit().await.unwrap();
        assert_eq!(all_paired(store.reader()).await.unwrap(), vec!["telegram:42"]);
    }

    #[tokio::test]
    async fn health_keeps_since_while_the_state_holds() {
        let store = Store::in_memory().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        report(&mut tx, "telegram", "conflict", "409", 10).await.unwrap();
        report(&mut tx, "telegram", "conflict", "409 again", 20).await.unwrap();
        tx.commit().await.unwrap();
        let h = &health(store.reader()).await.unwrap()[0];
        assert_eq!((h.since, h.updated_at, h.detail.as_str()), (10, 20, "409 again"));
        let mut tx = store.begin().await.unwrap();
        report(&mut tx, "telegram", "ok", "polling", 30).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(health(store.reader()).await.unwrap()[0].since, 30);
    }
}
