//! The inbox: every inbound event is claimed by (channel, external id) before
//! anything else happens, so a redelivered event finds its earlier claim and
//! creates nothing new (invariant 4).

use sha2::{Digest, Sha256};
use sqlx::SqliteConnection;
use ulid::Ulid;

use super::StoreError;
use crate::domain::IntentId;

/// An inbound event as the inbox sees it.
#[derive(Debug, Clone)]
pub struct Inbound<'a> {
    pub channel: &'a str,
    /// The platform's id for the event: a Telegram update id, an HTTP
    /// `Idempotency-Key`, ...
    pub external_id: &'a str,
    pub actor: &'a str,
    pub payload: &'a serde_json::Value,
}

/// The result of claiming an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First sight: the caller handles it and links what it produced.
    New { inbox_id: String },
    /// Seen before with the same payload; here is what it produced: an
    /// intent, or a reply.
    Seen { intent_id: Option<IntentId>, reply: Option<String> },
}

fn payload_hash(payload: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(payload.to_string().as_bytes()))
}

/// Claims an event inside the caller's transaction. A second claim of the
/// same (channel, external id) with a different payload is refused: the key
/// was reused for another request.
pub async fn claim(conn: &mut SqliteConnection, at: i64, inbound: &Inbound<'_>) -> Result<Claim, StoreError> {
    let inbox_id = Ulid::new().to_string();
    let hash = payload_hash(inbound.payload);
    let inserted = sqlx::query(
        "INSERT INTO inbox (id, channel, external_id, actor, payload, payload_hash, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel, external_id) DO NOTHING",
    )
    .bind(&inbox_id)
    .bind(inbound.channel)
    .bind(inbound.external_id)
    .bind(inbound.actor)
    .bind(inbound.payload.to_string())
    .bind(&hash)
    .bind(at)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Claim::New { inbox_id });
    }
    match seen_in(&mut *conn, inbound).await? {
        Some((intent_id, reply)) => Ok(Claim::Seen { intent_id, reply }),
        None => Err(StoreError::NotFound(format!("inbox event {}", inbound.external_id))),
    }
}

/// Records the reply an inbound event got (when it produced no intent).
pub async fn answer(conn: &mut SqliteConnection, inbox_id: &str, reply: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE inbox SET reply = ? WHERE id = ?").bind(reply).bind(inbox_id).execute(&mut *conn).await?;
    Ok(())
}

/// What an event already produced, if it was seen: its intent, or its reply.
/// A read before the work, so a redelivery does not reason again. The
/// replay is bound to who sent what: the same key from another actor, or
/// with another payload, is a conflict, never the first sender's answer.
pub async fn seen(pool: &sqlx::SqlitePool, inbound: &Inbound<'_>) -> Result<Option<Produced>, StoreError> {
    let mut conn = pool.acquire().await?;
    seen_in(&mut conn, inbound).await
}

/// What an event produced: its intent, or its reply.
pub type Produced = (Option<IntentId>, Option<String>);

async fn seen_in(conn: &mut SqliteConnection, inbound: &Inbound<'_>) -> Result<Option<Produced>, StoreError> {
    let row: Option<(String, String, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT actor, payload_hash, intent_id, reply FROM inbox WHERE channel = ? AND external_id = ?")
            .bind(inbound.channel)
            .bind(inbound.external_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((actor, hash, intent_id, reply)) = row else { return Ok(None) };
    if actor != inbound.actor || hash != payload_hash(inbound.payload) {
        return Err(StoreError::IdempotencyConflict(inbound.external_id.to_owned()));
    }
    let intent_id = intent_id.map(|id| id.parse().map_err(|e| StoreError::corrupt("inbox", e))).transpose()?;
    Ok(Some((intent_id, reply)))
}

/// Records which intent an inbound event produced.
pub async fn link(conn: &mut SqliteConnection, inbox_id: &str, intent: IntentId) -> Result<(), StoreError> {
    sqlx::query("UPDATE inbox SET intent_id = ? WHERE id = ?")
        .bind(intent.to_string())
        .bind(inbox_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use serde_json::json;

    #[tokio::test]
    async fn a_redelivered_event_is_seen_not_new() {
        let store = Store::in_memory().await.unwrap();
        let payload = json!({"text": "hi"});
        let inbound = Inbound { channel: "telegram", external_id: "42", actor: "u1", payload: &payload };
        let mut tx = store.begin().await.unwrap();
        assert!(matches!(claim(&mut tx, 1, &inbound).await.unwrap(), Claim::New { .. }));
        assert_eq!(claim(&mut tx, 2, &inbound).await.unwrap(), Claim::Seen { intent_id: None, reply: None });
        let other = json!({"text": "something else"});
        let reused = Inbound { payload: &other, ..inbound.clone() };
        assert!(matches!(claim(&mut tx, 3, &reused).await, Err(StoreError::IdempotencyConflict(_))));
        let elsewhere = Inbound { channel: "discord", ..inbound.clone() };
        assert!(matches!(claim(&mut tx, 4, &elsewhere).await.unwrap(), Claim::New { .. }));
        let impostor = Inbound { actor: "u2", ..inbound };
        assert!(
            matches!(claim(&mut tx, 5, &impostor).await, Err(StoreError::IdempotencyConflict(_))),
            "another actor reusing the key gets a conflict, not the first sender's answer"
        );
    }
}
