//! Memory rows: the source of truth for everything steward remembers. The
//! FTS5 index follows by trigger in the same transaction; the vector index
//! follows later (a row with `indexed_at` NULL is waiting for it), so any
//! module can record a memory inside its own transaction without embedding.

use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};
use ulid::Ulid;

use super::StoreError;
pub use super::words::{MAX_QUERY_TERMS, content_words, lexical, query_words, words};
use crate::domain::{Intent, MemoryKind, MemoryProvenance, MemoryRecord, Millis, NewMemory, Scope};

const COLUMNS: &str = "id, kind, text, scope, tags, meta, actor, channel, intent_id, agent_version, why, created_at, occurred_at, source_id, archived_at, summary_of";

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt("memory", e)
}

fn row(r: &SqliteRow) -> Result<MemoryRecord, StoreError> {
    let tags: String = r.try_get("tags")?;
    let meta: String = r.try_get("meta")?;
    let summary_of: Option<String> = r.try_get("summary_of")?;
    Ok(MemoryRecord {
        id: r.try_get("id")?,
        kind: r.try_get::<String, _>("kind")?.parse().map_err(corrupt)?,
        text: r.try_get("text")?,
        scope: Scope::parse(&r.try_get::<String, _>("scope")?).map_err(corrupt)?,
        tags: serde_json::from_str(&tags).map_err(corrupt)?,
        meta: serde_json::from_str(&meta).map_err(corrupt)?,
        provenance: MemoryProvenance {
            actor: r.try_get("actor")?,
            channel: r.try_get("channel")?,
            intent_id: r.try_get("intent_id")?,
            agent_version: r.try_get("agent_version")?,
            why: r.try_get("why")?,
        },
        created_at: r.try_get("created_at")?,
        occurred_at: r.try_get::<Option<Millis>, _>("occurred_at")?.map_or_else(|| r.try_get("created_at"), Ok)?,
        source_id: r.try_get("source_id")?,
        archived_at: r.try_get("archived_at")?,
        summary_of: summary_of.map(|s| serde_json::from_str(&s)).transpose().map_err(corrupt)?.unwrap_or_default(),
    })
}

/// The scope of what the operator says and decides, and of what steward does.
pub const OPERATOR_SCOPE: &str = "operator";

fn automatic(
    kind: MemoryKind,
    text: &str,
    actor: &str,
    channel: &str,
    intent: &Intent,
    why: &str,
    at: Millis,
) -> NewMemory {
    let provenance = MemoryProvenance {
        actor: actor.to_owned(),
        channel: channel.to_owned(),
        intent_id: Some(intent.id.to_string()),
        agent_version: Some(format!("{} {}", intent.provenance.agent, intent.provenance.agent_version)),
        why: Some(why.to_owned()),
    };
    let scope = Scope::parse(OPERATOR_SCOPE).expect("a valid scope");
    let text: String = text.chars().take(NewMemory::MAX_CHARS).collect();
    NewMemory {
        kind,
        text,
        scope,
        tags: vec![],
        meta: serde_json::json!({}),
        provenance,
        summary_of: vec![],
        created_at: at,
        occurred_at: None,
        source_id: None,
    }
}

/// What someone asked steward to do: the request an intent was made of.
pub fn request(intent: &Intent, channel: &str) -> NewMemory {
    let actor = &intent.provenance.actor;
    automatic(MemoryKind::Command, intent.text.as_str(), actor, channel, intent, "inbound message", intent.created_at)
}

/// A decision on an intent's approval.
pub fn decision(intent: &Intent, what: &str, by: &str, via: &str, comment: Option<&str>, at: Millis) -> NewMemory {
    let comment = comment.map(|c| format!(" Comment: {c}")).unwrap_or_default();
    let text = format!("{what}: \"{}\" (decided by {by} via {via}).{comment}", intent.text.as_str());
    automatic(MemoryKind::Decision, &text, by, via, intent, "approval decision", at)
}

/// How an intent ended.
pub fn outcome(intent: &Intent, state: crate::domain::IntentState, at: Millis) -> NewMemory {
    let text = format!("\"{}\" ended {state}.", intent.text.as_str());
    automatic(MemoryKind::IntentOutcome, &text, "steward", &intent.provenance.channel, intent, "intent outcome", at)
}

/// A record written, or found already taken in from the same source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub id: String,
    /// False when its `source_id` was taken in before (nothing changed).
    pub new: bool,
}

/// Records a memory inside the caller's transaction; the one function every
/// module uses to remember something. A record whose source was taken in
/// before, in the same scope, adds nothing: the earlier record's id comes
/// back.
pub async fn record(conn: &mut SqliteConnection, m: &NewMemory) -> Result<Recorded, StoreError> {
    let id = Ulid::new().to_string();
    if insert(conn, &[(&id, m)]).await? == 1 {
        return Ok(Recorded { id, new: true });
    }
    let id = sqlx::query_scalar("SELECT id FROM memory WHERE scope = ? AND source_id = ?")
        .bind(m.scope.as_str())
        .bind(&m.source_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(Recorded { id, new: false })
}

/// Records many memories in one statement, as [`record`] does each (one
/// whose source was taken in before adds nothing); how many were new.
pub async fn record_many(conn: &mut SqliteConnection, records: &[NewMemory]) -> Result<u64, StoreError> {
    let ids: Vec<String> = records.iter().map(|_| Ulid::new().to_string()).collect();
    let rows: Vec<(&String, &NewMemory)> = ids.iter().zip(records).collect();
    insert(conn, &rows).await
}

/// Inserts records with their ids, leaving out any whose source the scope
/// holds already; how many went in.
async fn insert(conn: &mut SqliteConnection, records: &[(&String, &NewMemory)]) -> Result<u64, StoreError> {
    if records.is_empty() {
        return Ok(0);
    }
    let rows: Vec<serde_json::Value> = records
        .iter()
        .map(|(id, m)| {
            let summary_of = (!m.summary_of.is_empty()).then(|| serde_json::json!(m.summary_of).to_string());
            serde_json::json!([
                id,
                m.kind.as_str(),
                m.text,
                m.scope.as_str(),
                serde_json::json!(m.tags).to_string(),
                m.meta.to_string(),
                m.provenance.actor,
                m.provenance.channel,
                m.provenance.intent_id,
                m.provenance.agent_version,
                m.provenance.why,
                m.created_at,
                m.occurred(),
                m.source_id,
                summary_of
            ])
        })
        .collect();
    // `WHERE true`: SQLite reads an upsert after a SELECT only with a WHERE.
    let inserted = sqlx::query(
        "INSERT INTO memory (id, kind, text, scope, tags, meta, actor, channel, intent_id, agent_version, why,
                             created_at, occurred_at, source_id, summary_of)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6,
                value ->> 7, value ->> 8, value ->> 9, value ->> 10, value ->> 11, value ->> 12, value ->> 13,
                value ->> 14
         FROM json_each(?) WHERE true
         ON CONFLICT (scope, source_id) WHERE source_id IS NOT NULL DO NOTHING",
    )
    .bind(serde_json::Value::Array(rows).to_string())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(inserted)
}

/// The records of `scope` whose source id begins with `prefix`: (id,
/// source id).
pub async fn sourced_under(
    pool: &SqlitePool,
    scope: &Scope,
    prefix: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    // The range [prefix, prefix + U+10FFFF) holds exactly the ids that
    // begin with it, and the (scope, source_id) index reads it in order.
    Ok(sqlx::query_as("SELECT id, source_id FROM memory WHERE scope = ? AND source_id >= ? AND source_id < ?")
        .bind(scope.as_str())
        .bind(prefix)
        .bind(format!("{prefix}\u{10FFFF}"))
        .fetch_all(pool)
        .await?)
}

pub async fn get_many(pool: &SqlitePool, ids: &[String]) -> Result<Vec<MemoryRecord>, StoreError> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    let mut q = QueryBuilder::<Sqlite>::new(format!("SELECT {COLUMNS} FROM memory WHERE id IN ("));
    let mut sep = q.separated(", ");
    for id in ids {
        sep.push_bind(id);
    }
    q.push(")");
    q.build().fetch_all(pool).await?.iter().map(row).collect()
}

/// The messages just before and just after a message in its conversation
/// (the same scope and channel, by when they were said: `occurred_at`,
/// which every record has, through the scope's time index), for each of
/// `ids` that is a message: `(id, neighbour)` pairs.
pub async fn neighbours(pool: &SqlitePool, ids: &[String]) -> Result<Vec<(String, String)>, StoreError> {
    let kinds = MemoryKind::MESSAGES.iter().map(|k| format!("'{}'", k.as_str())).collect::<Vec<_>>().join(", ");
    let side = |op: &str, order: &str| {
        format!(
            "(SELECT n.id FROM memory n WHERE n.scope = m.scope AND n.channel = m.channel AND n.kind IN ({kinds}) \
             AND (n.occurred_at, n.rowid) {op} (m.occurred_at, m.rowid) \
             ORDER BY n.occurred_at {order}, n.rowid {order} LIMIT 1)"
        )
    };
    let sql = format!(
        "SELECT m.id, {}, {} FROM memory m WHERE m.kind IN ({kinds}) AND m.id = ?",
        side("<", "DESC"),
        side(">", "ASC")
    );
    let mut out = Vec::new();
    for id in ids {
        let row: Option<(String, Option<String>, Option<String>)> =
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?;
        if let Some((id, before, after)) = row {
            out.extend([before, after].into_iter().flatten().map(|n| (id.clone(), n)));
        }
    }
    Ok(out)
}

/// What a search may see.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub scopes: Vec<Scope>,
    pub kinds: Vec<MemoryKind>,
    pub since: Option<Millis>,
    pub until: Option<Millis>,
    /// `scopes` is every scope there is: the reader may read all of it, and
    /// word search need not narrow its matches to them.
    pub all_scopes: bool,
}

pub(super) fn push_filter(q: &mut QueryBuilder<'_, Sqlite>, f: &Filter) {
    q.push(" AND m.scope IN (");
    let mut sep = q.separated(", ");
    for s in &f.scopes {
        sep.push_bind(s.as_str().to_owned());
    }
    q.push(")");
    if !f.kinds.is_empty() {
        q.push(" AND m.kind IN (");
        let mut sep = q.separated(", ");
        for k in &f.kinds {
            sep.push_bind(k.as_str());
        }
        q.push(")");
    }
    if let Some(since) = f.since {
        q.push(" AND m.occurred_at >= ").push_bind(since);
    }
    if let Some(until) = f.until {
        q.push(" AND m.occurred_at < ").push_bind(until);
    }
}

/// Rollup summaries that summarise `id`: they quote it, so they go with it.
pub async fn summaries_of(conn: &mut SqliteConnection, id: &str) -> Result<Vec<String>, StoreError> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT m.id FROM memory m, json_each(m.summary_of) s WHERE m.summary_of IS NOT NULL AND s.value = ?",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Writes a rollup anew over fewer sources; its vector is made again.
pub async fn rewrite_summary(
    conn: &mut SqliteConnection,
    id: &str,
    text: &str,
    sources: &[String],
) -> Result<(), StoreError> {
    sqlx::query("UPDATE memory SET text = ?, summary_of = ?, indexed_at = NULL WHERE id = ?")
        .bind(text)
        .bind(serde_json::to_string(sources).expect("strings serialize"))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes a record (FTS follows by trigger). Returns its scope if it existed.
pub async fn delete(conn: &mut SqliteConnection, id: &str) -> Result<Option<String>, StoreError> {
    let scope: Option<(String,)> =
        sqlx::query_as("DELETE FROM memory WHERE id = ? RETURNING scope").bind(id).fetch_optional(&mut *conn).await?;
    Ok(scope.map(|(s,)| s))
}

/// Live records of a kind created before `before`, oldest first.
pub async fn older_than(
    pool: &SqlitePool,
    kind: MemoryKind,
    before: Millis,
    archived: bool,
    limit: u32,
) -> Result<Vec<MemoryRecord>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM memory WHERE kind = ? AND created_at < ? AND (archived_at IS NOT NULL) = ? ORDER BY created_at LIMIT ?"
    );
    let rows =
        sqlx::query(&sql).bind(kind.as_str()).bind(before).bind(archived).bind(limit as i64).fetch_all(pool).await?;
    rows.iter().map(row).collect()
}

pub async fn archive(conn: &mut SqliteConnection, id: &str, now: Millis) -> Result<(), StoreError> {
    sqlx::query("UPDATE memory SET archived_at = ? WHERE id = ? AND archived_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Counts for `memory stats`: records by kind, archived, waiting for vectors.
pub async fn stats(pool: &SqlitePool) -> Result<serde_json::Value, StoreError> {
    let by_kind: Vec<(String, i64)> =
        sqlx::query_as("SELECT kind, COUNT(*) FROM memory GROUP BY kind").fetch_all(pool).await?;
    let (total, archived, unindexed): (i64, i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(archived_at), SUM(CASE WHEN indexed_at IS NULL AND archived_at IS NULL THEN 1 ELSE 0 END) FROM memory",
    )
    .fetch_one(pool)
    .await
    .map(|(a, b, c): (i64, i64, Option<i64>)| (a, b, c.unwrap_or(0)))?;
    let by_kind: serde_json::Map<String, serde_json::Value> = by_kind.into_iter().map(|(k, n)| (k, n.into())).collect();
    Ok(serde_json::json!({"records": total, "archived": archived, "awaiting_vectors": unindexed, "by_kind": by_kind}))
}
