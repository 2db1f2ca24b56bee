//! The inbox: one row per inbound event, by (channel, external id), kept
//! before anything else happens, so a redelivered event finds its row and
//! creates nothing new (invariant 4).
//!
//! A row has two parts. A chat channel *keeps* the platform's event (its
//! conversation and what it said) until it is handled, then marks it done.
//! Reasoning and the HTTP API *claim* the row: the input they read, its
//! hash, and what it produced (an intent, or a reply), all in the
//! transaction that records the effects. An HTTP request is claimed as it
//! arrives; a chat event is kept first and claimed by the same row.

use sha2::{Digest, Sha256};
use sqlx::{SqliteConnection, SqlitePool};
use ulid::Ulid;

use super::StoreError;
use crate::domain::{Actor, IntentId, Millis};

/// A chat event, as kept until it is handled.
#[derive(Debug, Clone)]
pub struct Event {
    pub channel: String,
    pub external_id: String,
    /// The chat or channel it came from: handled in order within it.
    pub conversation: String,
    pub actor: Actor,
    /// What the platform said, as the channel keeps it (its `Said`).
    pub said: serde_json::Value,
}

/// Keeps a chat event. Returns whether it is new (a redelivery is not).
pub async fn keep(conn: &mut SqliteConnection, e: &Event, now: Millis) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO inbox (id, channel, external_id, actor, received_at, conversation, event)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel, external_id) DO NOTHING",
    )
    .bind(Ulid::new().to_string())
    .bind(&e.channel)
    .bind(&e.external_id)
    .bind(e.actor.to_string())
    .bind(now)
    .bind(&e.conversation)
    .bind(e.said.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a chat event handled.
pub async fn done(
    conn: &mut SqliteConnection,
    channel: &str,
    external_id: &str,
    now: Millis,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE inbox SET done_at = ? WHERE channel = ? AND external_id = ? AND done_at IS NULL")
        .bind(now)
        .bind(channel)
        .bind(external_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Forgets handled chat events received before `before`. They only matter
/// while a platform may deliver them again (Telegram keeps unconfirmed
/// updates for a day; a Discord RESUME replays minutes), and they hold what
/// the person said.
pub async fn prune(conn: &mut SqliteConnection, before: Millis) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM inbox WHERE event IS NOT NULL AND done_at IS NOT NULL AND received_at < ?")
        .bind(before)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// Chat events of a channel not yet handled, oldest first: what a restart
/// resumes.
pub async fn open_events(pool: &SqlitePool, channel: &str) -> Result<Vec<Event>, StoreError> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT external_id, conversation, actor, event FROM inbox
         WHERE channel = ? AND event IS NOT NULL AND conversation IS NOT NULL AND done_at IS NULL
         ORDER BY received_at, rowid",
    )
    .bind(channel)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(external_id, conversation, actor, said)| {
            Ok(Event {
                channel: channel.to_owned(),
                external_id,
                conversation,
                actor: Actor::try_from(actor).map_err(|e| StoreError::corrupt("inbox", e))?,
                said: serde_json::from_str(&said).map_err(|e| StoreError::corrupt("inbox", e))?,
            })
        })
        .collect()
}

/// An inbound request as a claim sees it.
#[derive(Debug, Clone)]
pub struct Inbound<'a> {
    pub channel: &'a str,
    /// The platform's id for the event: a Telegram update id, an HTTP
    /// `Idempotency-Key`, ...
    pub external_id: &'a str,
    /// `channel:id`.
    pub actor: &'a str,
    pub payload: &'a serde_json::Value,
}

/// The result of claiming an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First claim: the caller handles it and links what it produced.
    New { inbox_id: String },
    /// Claimed before with the same input; here is what it produced: an
    /// intent, or a reply.
    Seen { intent_id: Option<IntentId>, reply: Option<String> },
}

fn payload_hash(payload: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(payload.to_string().as_bytes()))
}

/// Claims an event inside the caller's transaction: a new row, or the row
/// its channel kept. A second claim of the same (channel, external id) with
/// another input, or by another actor, is refused: the key was reused for
/// another request.
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
    let kept: Option<(String,)> = sqlx::query_as(
        "UPDATE inbox SET payload = ?, payload_hash = ?
         WHERE channel = ? AND external_id = ? AND actor = ? AND payload_hash IS NULL RETURNING id",
    )
    .bind(inbound.payload.to_string())
    .bind(&hash)
    .bind(inbound.channel)
    .bind(inbound.external_id)
    .bind(inbound.actor)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((inbox_id,)) = kept {
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
    let row: Option<(String, Option<String>, Option<String>, Option<String>)> =
        sqlx::query_as("SELECT actor, payload_hash, intent_id, reply FROM inbox WHERE channel = ? AND external_id = ?")
            .bind(inbound.channel)
            .bind(inbound.external_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((actor, hash, intent_id, reply)) = row else { return Ok(None) };
    if actor != inbound.actor {
        return Err(StoreError::IdempotencyConflict(inbound.external_id.to_owned()));
    }
    // Kept by its channel, not claimed yet: nothing produced so far.
    let Some(hash) = hash else { return Ok(None) };
    if hash != payload_hash(inbound.payload) {
        return Err(StoreError::IdempotencyConflict(inbound.external_id.to_owned()));
    }
    let intent_id = intent_id.map(|id| id.parse().map_err(|e| StoreError::corrupt("inbox", e))).transpose()?;
    Ok(Some((intent_id, reply)))
}

/// What the event `external_id` on `channel` produced, once reasoning
/// claimed it (for whoever polls for the answer by its id).
pub async fn produced(
    pool: &sqlx::SqlitePool,
    channel: &str,
    external_id: &str,
) -> Result<Option<Produced>, StoreError> {
    let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT intent_id, reply FROM inbox WHERE channel = ? AND external_id = ? AND payload_hash IS NOT NULL",
    )
    .bind(channel)
    .bind(external_id)
    .fetch_optional(pool)
    .await?;
    let Some((intent_id, reply)) = row else { return Ok(None) };
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

    fn chat(id: &str) -> Event {
        Event {
            channel: "telegram".into(),
            external_id: id.into(),
            conversation: "1".into(),
            actor: Actor::new("telegram", "7"),
            said: json!({"kind": "text", "text": "hi"}),
        }
    }

    #[tokio::test]
    async fn a_kept_chat_event_is_claimed_in_its_own_row() {
        let store = Store::in_memory().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert!(keep(&mut tx, &chat("5"), 1).await.unwrap());
        assert!(!keep(&mut tx, &chat("5"), 2).await.unwrap(), "a redelivery is not new");
        let input = json!({"text": "hi"});
        let inbound = Inbound { channel: "telegram", external_id: "5", actor: "telegram:7", payload: &input };
        assert_eq!(seen_in(&mut tx, &inbound).await.unwrap(), None, "kept, not claimed: nothing produced yet");
        let impostor = Inbound { actor: "telegram:8", ..inbound.clone() };
        assert!(matches!(claim(&mut tx, 3, &impostor).await, Err(StoreError::IdempotencyConflict(_))));
        let Claim::New { inbox_id } = claim(&mut tx, 3, &inbound).await.unwrap() else { panic!("first claim") };
        answer(&mut tx, &inbox_id, "the reply").await.unwrap();
        done(&mut tx, "telegram", "5", 4).await.unwrap();
        let again = claim(&mut tx, 5, &inbound).await.unwrap();
        assert_eq!(again, Claim::Seen { intent_id: None, reply: Some("the reply".into()) });
        tx.commit().await.unwrap();
        let rows: Vec<(String, Option<i64>)> =
            sqlx::query_as("SELECT id, done_at FROM inbox").fetch_all(store.reader()).await.unwrap();
        assert_eq!(rows, vec![(inbox_id, Some(4))], "one row is both the kept event and the claim");
        assert!(open_events(store.reader(), "telegram").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn only_handled_old_chat_events_are_pruned() {
        let store = Store::in_memory().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        keep(&mut tx, &chat("old-done"), 10).await.unwrap();
        keep(&mut tx, &chat("old-open"), 10).await.unwrap();
        keep(&mut tx, &chat("new-done"), 100).await.unwrap();
        done(&mut tx, "telegram", "old-done", 11).await.unwrap();
        done(&mut tx, "telegram", "new-done", 101).await.unwrap();
        let key = json!({"text": "an api request"});
        let api = Inbound { channel: "http", external_id: "k", actor: "http:api", payload: &key };
        claim(&mut tx, 10, &api).await.unwrap();
        assert_eq!(prune(&mut tx, 50).await.unwrap(), 1, "neither the open event nor the API's claim");
        tx.commit().await.unwrap();
        let open = open_events(store.reader(), "telegram").await.unwrap();
        assert_eq!(open.iter().map(|e| e.external_id.as_str()).collect::<Vec<_>>(), ["old-open"]);
        assert_eq!(open[0].actor, Actor::new("telegram", "7"));
        assert!(open_events(store.reader(), "http").await.unwrap().is_empty(), "an API claim is no chat event");
    }

    /// A database from before the merge: its two tables become one, and a
    /// chat event both held keeps its claim and its done mark.
    #[tokio::test]
    async fn the_migration_carries_both_tables_over() {
        use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
        use std::str::FromStr;
        let options = SqliteConnectOptions::from_str("sqlite::memory:").unwrap().foreign_keys(true);
        let pool = SqlitePoolOptions::new().max_connections(1).idle_timeout(None).max_lifetime(None);
        let pool = pool.connect_with(options).await.unwrap();
        let all = sqlx::migrate!("./migrations");
        let mut before = sqlx::migrate!("./migrations");
        let merge = before.migrations.iter().position(|m| m.description.contains("one inbox")).unwrap();
        before.migrations = before.migrations[..merge].to_vec().into();
        before.run(&pool).await.unwrap();
        for sql in [
            "INSERT INTO inbox (id, channel, external_id, actor, payload, payload_hash, received_at, reply)
             VALUES ('c1', 'telegram', '5', 'telegram:7', '{}', 'h', 10, 'answered'),
                    ('c2', 'http', 'key', 'http:api', '{}', 'h2', 11, 'api')",
            "INSERT INTO channel_inbound (channel, external_id, conversation, actor, payload, received_at, done_at)
             VALUES ('telegram', '5', '1', '7', '{\"kind\":\"text\"}', 9, 12),
                    ('telegram', '6', '1', '7', '{\"kind\":\"text\"}', 13, NULL)",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        all.run(&pool).await.unwrap();
        let rows: Vec<(String, String, String, Option<String>, Option<i64>, Option<String>, i64)> = sqlx::query_as(
            "SELECT id, external_id, actor, conversation, done_at, reply, received_at FROM inbox ORDER BY external_id",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert_eq!(
            rows[0],
            ("c1".into(), "5".into(), "telegram:7".into(), Some("1".into()), Some(12), Some("answered".into()), 9)
        );
        assert_eq!((rows[1].1.as_str(), rows[1].4, rows[1].5.as_deref()), ("6", None, None));
        assert_eq!((rows[2].1.as_str(), rows[2].3.as_deref()), ("key", None));
        let open = open_events(&pool, "telegram").await.unwrap();
        assert_eq!(open.iter().map(|e| e.external_id.as_str()).collect::<Vec<_>>(), ["6"]);
        let tables: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sqlite_master WHERE name = 'channel_inbound'")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(tables.0, 0);
    }
}
