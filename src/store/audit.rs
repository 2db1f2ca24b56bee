//! The audit log: append-only, each row hash-chained to the one before it
//! (invariant 8). `hash = sha256(prev_hash || canonical(row))`, where the
//! canonical form is the JSON array `[seq, at, actor, action, subject, detail]`
//! with `detail` as the exact stored text. Editing, deleting or reordering any
//! row breaks a link that [`verify`] finds.

use futures_util::TryStreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{Row, SqliteConnection, SqlitePool};

use super::StoreError;

/// The `prev_hash` of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, before it is given its place in the chain.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub subject: Option<&'a str>,
    pub detail: serde_json::Value,
}

/// A row of the chain as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub subject: Option<String>,
    pub detail: serde_json::Value,
    pub hash: String,
}

fn link_hash(
    prev_hash: &str,
    seq: i64,
    at: i64,
    actor: &str,
    action: &str,
    subject: Option<&str>,
    detail: &str,
) -> String {
    let canonical =
        serde_json::to_string(&(seq, at, actor, action, subject, detail)).expect("tuples of strings serialize");
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(canonical.as_bytes());
    hex::encode(hasher.finalize())
}

/// Appends an entry inside the caller's write transaction, so the change it
/// describes and its audit row commit together or not at all.
pub async fn append(conn: &mut SqliteConnection, at: i64, entry: &Entry<'_>) -> Result<i64, StoreError> {
    let last: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetch_optional(&mut *conn).await?;
    let (seq, prev) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_owned()),
    };
    let detail = entry.detail.to_string();
    let hash = link_hash(&prev, seq, at, entry.actor, entry.action, entry.subject, &detail);
    sqlx::query(
        "INSERT INTO audit (seq, at, actor, action, subject, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(seq)
    .bind(at)
    .bind(entry.actor)
    .bind(entry.action)
    .bind(entry.subject)
    .bind(&detail)
    .bind(&prev)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    Ok(seq)
}

/// Appends `entries`, each with its time, in order inside the caller's
/// write transaction: one read of the chain's head and one insert for them
/// all, each row hashed onto the one before it exactly as [`append`] would.
pub async fn append_many(conn: &mut SqliteConnection, entries: &[(i64, Entry<'_>)]) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let last: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetch_optional(&mut *conn).await?;
    let (mut seq, mut prev) = last.unwrap_or((0, GENESIS.to_owned()));
    let mut rows = Vec::with_capacity(entries.len());
    for (at, e) in entries {
        seq += 1;
        let detail = e.detail.to_string();
        let hash = link_hash(&prev, seq, *at, e.actor, e.action, e.subject, &detail);
        rows.push(serde_json::json!([seq, at, e.actor, e.action, e.subject, detail, prev, hash]));
        prev = hash;
    }
    sqlx::query(
        "INSERT INTO audit (seq, at, actor, action, subject, detail, prev_hash, hash)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6,
                value ->> 7
         FROM json_each(?)",
    )
    .bind(serde_json::Value::Array(rows).to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// How many rows of `action` were written since `since`, for budgets and
/// the breaker.
pub async fn count_since(conn: &mut SqliteConnection, action: &str, since: i64) -> Result<i64, StoreError> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit WHERE action = ? AND at > ?")
        .bind(action)
        .bind(since)
        .fetch_one(&mut *conn)
        .await?;
    Ok(n)
}

/// The audit trail of one subject (an intent id, say), oldest first.
pub async fn for_subject(pool: &SqlitePool, subject: &str) -> Result<Vec<Record>, StoreError> {
    let rows =
        sqlx::query("SELECT seq, at, actor, action, subject, detail, hash FROM audit WHERE subject = ? ORDER BY seq")
            .bind(subject)
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|row| {
            let detail: String = row.try_get("detail")?;
            Ok(Record {
                seq: row.try_get("seq")?,
                at: row.try_get("at")?,
                actor: row.try_get("actor")?,
                action: row.try_get("action")?,
                subject: row.try_get("subject")?,
                detail: serde_json::from_str(&detail).map_err(|e| StoreError::corrupt("audit", e))?,
                hash: row.try_get("hash")?,
            })
        })
        .collect()
}

/// The outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Rows checked before the walk ended.
    pub rows: i64,
    /// The first broken link, if any.
    pub broken: Option<Break>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Break {
    /// The seq of the first row that does not fit.
    pub seq: i64,
    pub reason: String,
}

/// Walks the whole chain from the first row and reports the first row that
/// does not link to its predecessor or whose content does not match its hash.
pub async fn verify(pool: &SqlitePool) -> Result<Verification, StoreError> {
    let mut rows =
        sqlx::query("SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit ORDER BY seq")
            .fetch(pool);
    let mut expected_seq = 1;
    let mut prev_hash = GENESIS.to_owned();
    let mut checked = 0;
    while let Some(row) = rows.try_next().await? {
        let seq: i64 = row.try_get("seq")?;
        let broken = |reason: String| Ok(Verification { rows: checked, broken: Some(Break { seq, reason }) });
        if seq != expected_seq {
            return broken(format!(
                "row {expected_seq} is missing: the chain jumps from row {} to row {seq}",
                expected_seq - 1
            ));
        }
        let stored_prev: String = row.try_get("prev_hash")?;
        if stored_prev != prev_hash {
            return broken(format!("row {seq} does not link to row {}: a row was removed, replaced or moved", seq - 1));
        }
        let subject: Option<String> = row.try_get("subject")?;
        let recomputed = link_hash(
            &stored_prev,
            seq,
            row.try_get("at")?,
            row.try_get("actor")?,
            row.try_get("action")?,
            subject.as_deref(),
            row.try_get("detail")?,
        );
        let stored_hash: String = row.try_get("hash")?;
        if recomputed != stored_hash {
            return broken(format!("row {seq} was edited: its content no longer matches its hash"));
        }
        prev_hash = stored_hash;
        expected_seq += 1;
        checked += 1;
    }
    Ok(Verification { rows: checked, broken: None })
}

/// The newest row of the chain, if it has one.
pub async fn head(pool: &SqlitePool) -> Result<Option<super::anchor::Head>, StoreError> {
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetch_optional(pool).await?;
    Ok(row.map(|(seq, hash)| super::anchor::Head { seq, hash }))
}

/// Whether the chain holds `head`: the row at its seq, with its hash.
/// `Err` says how it does not.
pub async fn holds(pool: &SqlitePool, head: &super::anchor::Head) -> Result<Result<(), String>, StoreError> {
    let found: Option<(String,)> =
        sqlx::query_as("SELECT hash FROM audit WHERE seq = ?").bind(head.seq).fetch_optional(pool).await?;
    Ok(match found {
        Some((hash,)) if hash == head.hash => Ok(()),
        Some((hash,)) => {
            Err(format!("row {} has hash {hash}, but the anchor says {}: the chain was rewritten", head.seq, head.hash))
        }
        None => {
            let (last,): (Option<i64>,) = sqlx::query_as("SELECT MAX(seq) FROM audit").fetch_one(pool).await?;
            Err(format!(
                "the chain ends at row {} but the anchor says it reached row {}: rows were cut off its end",
                last.unwrap_or(0),
                head.seq
            ))
        }
    })
}

/// An intent whose state has no audit row that put it there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unaudited {
    pub intent: String,
    pub state: String,
    /// The state its latest audit row says, if it has one.
    pub audited: Option<String>,
}

/// Cross-checks intents against the chain: each intent's current state must
/// be the one its latest `intent.created` or `intent.state` row records.
pub async fn unaudited_states(pool: &SqlitePool) -> Result<Vec<Unaudited>, StoreError> {
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT i.id, i.state, (
             SELECT CASE a.action WHEN 'intent.created' THEN json_extract(a.detail, '$.state')
                                  ELSE json_extract(a.detail, '$.to') END
             FROM audit a WHERE a.subject = i.id AND a.action IN ('intent.created', 'intent.state')
             ORDER BY a.seq DESC LIMIT 1) AS audited
         FROM intents i",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|(_, state, audited)| audited.as_deref() != Some(state.as_str()))
        .map(|(intent, state, audited)| Unaudited { intent, state, audited })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    async fn chain_of(n: usize) -> Store {
        let store = Store::in_memory().await.unwrap();
        for i in 0..n {
            let mut tx = store.begin().await.unwrap();
            let entry =
                Entry { actor: "test", action: "thing", subject: Some("s"), detail: serde_json::json!({"i": i}) };
            append(&mut tx, i as i64, &entry).await.unwrap();
            tx.commit().await.unwrap();
        }
        store
    }

    #[tokio::test]
    async fn an_untouched_chain_verifies() {
        let store = chain_of(5).await;
        let v = verify(store.reader()).await.unwrap();
        assert_eq!(v, Verification { rows: 5, broken: None });
        assert_eq!(for_subject(store.reader(), "s").await.unwrap().len(), 5);
    }

    #[tokio::test]
    async fn a_rolled_back_append_leaves_no_row() {
        let store = chain_of(2).await;
        let mut tx = store.begin().await.unwrap();
        let entry = Entry { actor: "t", action: "x", subject: None, detail: serde_json::json!({}) };
        append(&mut tx, 9, &entry).await.unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(verify(store.reader()).await.unwrap().rows, 2);
    }

    #[tokio::test]
    async fn sqlite_refuses_updates_and_deletes() {
        let store = chain_of(2).await;
        let mut tx = store.begin().await.unwrap();
        let err = sqlx::query("UPDATE audit SET actor = 'x'").execute(&mut *tx).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
        let err = sqlx::query("DELETE FROM audit").execute(&mut *tx).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
    }
}
