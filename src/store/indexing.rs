//! Which records the vector index has: a record's `indexed_at` is set only
//! once the index made its point durable, and cleared when the index turns
//! out not to have it (a crash before the point was durable, an index
//! deleted or replaced), so the indexer embeds it again.

use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};

use super::StoreError;
use crate::domain::Millis;

/// A record waiting for its vector.
#[derive(Debug, Clone)]
pub struct Pending {
    pub id: String,
    pub text: String,
    pub scope: String,
    pub kind: String,
    pub occurred_at: Millis,
}

pub async fn unindexed(pool: &SqlitePool, limit: u32) -> Result<Vec<Pending>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, text, scope, kind, COALESCE(occurred_at, created_at) AS occurred_at FROM memory
         WHERE indexed_at IS NULL AND archived_at IS NULL ORDER BY rowid LIMIT ?",
    )
    .bind(limit as i64)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Pending {
                id: r.try_get("id")?,
                text: r.try_get("text")?,
                scope: r.try_get("scope")?,
                kind: r.try_get("kind")?,
                occurred_at: r.try_get("occurred_at")?,
            })
        })
        .collect()
}

pub async fn mark_indexed(conn: &mut SqliteConnection, ids: &[String], now: Millis) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut q = QueryBuilder::<Sqlite>::new("UPDATE memory SET indexed_at = ");
    q.push_bind(now).push(" WHERE id IN (");
    push_ids(&mut q, ids);
    q.build().execute(&mut *conn).await?;
    Ok(())
}

/// Marks every live record as needing its vector again (a reindex).
pub async fn unindex_all(conn: &mut SqliteConnection) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar("UPDATE memory SET indexed_at = NULL WHERE archived_at IS NULL RETURNING id")
        .fetch_all(&mut *conn)
        .await?)
}

/// Live records the index should have, after `rowid` in rowid order: a
/// page of (rowid, id) to compare with the index.
pub async fn indexed_after(pool: &SqlitePool, rowid: i64, limit: u32) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT rowid, id FROM memory WHERE indexed_at IS NOT NULL AND archived_at IS NULL AND rowid > ?
         ORDER BY rowid LIMIT ?",
    )
    .bind(rowid)
    .bind(limit as i64)
    .fetch_all(pool)
    .await?)
}

/// Marks these records as waiting for their vector again.
pub async fn unindex(conn: &mut SqliteConnection, ids: &[String]) -> Result<u64, StoreError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut q =
        QueryBuilder::<Sqlite>::new("UPDATE memory SET indexed_at = NULL WHERE archived_at IS NULL AND id IN (");
    push_ids(&mut q, ids);
    Ok(q.build().execute(&mut *conn).await?.rows_affected())
}

/// Of these record ids, the ones that should have a point (live, not
/// archived): a point for any other is left over.
pub async fn wanted(pool: &SqlitePool, ids: &[String]) -> Result<std::collections::HashSet<String>, StoreError> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let mut q = QueryBuilder::<Sqlite>::new("SELECT id FROM memory WHERE archived_at IS NULL AND id IN (");
    push_ids(&mut q, ids);
    Ok(q.build_query_scalar::<String>().fetch_all(pool).await?.into_iter().collect())
}

/// The highest rowid of the records (0 with none).
pub async fn last_rowid(pool: &SqlitePool) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT COALESCE(MAX(rowid), 0) FROM memory").fetch_one(pool).await?)
}

/// How many live records are marked as having their point.
pub async fn indexed_count(pool: &SqlitePool) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM memory WHERE indexed_at IS NOT NULL AND archived_at IS NULL")
        .fetch_one(pool)
        .await?)
}

/// `ids` as the list an `IN (` was opened for, closed.
fn push_ids(q: &mut QueryBuilder<'_, Sqlite>, ids: &[String]) {
    let mut sep = q.separated(", ");
    for id in ids {
        sep.push_bind(id.clone());
    }
    q.push(")");
}

/// How long a finished batch's job can still be asked about.
const JOB_DAYS: i64 = 7;

/// Keeps a job for the records a large batch added (and forgets jobs past
/// [`JOB_DAYS`]). Returns its id.
pub async fn job(conn: &mut SqliteConnection, records: &[String], now: Millis) -> Result<String, StoreError> {
    sqlx::query("DELETE FROM memory_jobs WHERE created_at < ?")
        .bind(now - JOB_DAYS * 86_400_000)
        .execute(&mut *conn)
        .await?;
    let id = ulid::Ulid::new().to_string();
    sqlx::query("INSERT INTO memory_jobs (id, records, created_at) VALUES (?, ?, ?)")
        .bind(&id)
        .bind(serde_json::to_string(records).expect("strings serialize"))
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

/// A job's records, and how many of them the vector index has (or no
/// longer needs: forgotten or archived since).
pub async fn job_progress(pool: &SqlitePool, id: &str) -> Result<Option<(i64, i64)>, StoreError> {
    let Some((records,)): Option<(String,)> =
        sqlx::query_as("SELECT records FROM memory_jobs WHERE id = ?").bind(id).fetch_optional(pool).await?
    else {
        return Ok(None);
    };
    let total = serde_json::from_str::<Vec<String>>(&records).map_err(|e| StoreError::corrupt("memory_jobs", e))?.len();
    let waiting: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM memory WHERE id IN (SELECT value FROM json_each(?))
         AND indexed_at IS NULL AND archived_at IS NULL",
    )
    .bind(&records)
    .fetch_one(pool)
    .await?;
    Ok(Some((total as i64, total as i64 - waiting)))
}
