//! Approvals as rows. A decision is one conditional UPDATE from `pending`
//! that also requires the approval not to have expired, so it happens at
//! most once however many presses race for it.

use serde::Serialize;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection, SqlitePool};

use super::StoreError;
use crate::domain::{ApprovalKind, ApprovalRequest, ApprovalState, IntentId, Millis, Outbound, Risk};

#[derive(Debug, Clone, Serialize)]
pub struct Approval {
    pub id: String,
    pub intent_id: IntentId,
    pub kind: ApprovalKind,
    pub state: ApprovalState,
    pub risk: Risk,
    pub rule: String,
    pub request: ApprovalRequest,
    pub requested_at: Millis,
    pub expires_at: Millis,
    pub pings: u32,
    pub decided_at: Option<Millis>,
    pub decided_by: Option<String>,
    pub decided_via: Option<String>,
    pub comment: Option<String>,
    /// A question's answer: the choice, or its default when nobody gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    #[serde(skip)]
    pub token: String,
}

impl Approval {
    /// A new pending approval with an unguessable token for channel buttons.
    pub fn pending(
        intent_id: IntentId,
        kind: ApprovalKind,
        risk: Risk,
        rule: &str,
        request: ApprovalRequest,
        now: Millis,
        expires_at: Millis,
    ) -> Self {
        Self {
            id: ulid::Ulid::new().to_string(),
            intent_id,
            kind,
            state: ApprovalState::Pending,
            risk,
            rule: rule.to_owned(),
            request,
            requested_at: now,
            expires_at,
            pings: 0,
            decided_at: None,
            decided_by: None,
            decided_via: None,
            comment: None,
            answer: None,
            token: hex::encode(rand::random::<[u8; 16]>()),
        }
    }
}

const COLUMNS: &str = "id, intent_id, kind, state, risk, rule, request, requested_at, expires_at, pings, decided_at, \
                       decided_by, decided_via, comment, answer, token";

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt("approvals", e)
}

fn row(r: &SqliteRow) -> Result<Approval, StoreError> {
    let kind: String = r.try_get("kind")?;
    let request: String = r.try_get("request")?;
    Ok(Approval {
        id: r.try_get("id")?,
        intent_id: r.try_get::<String, _>("intent_id")?.parse().map_err(corrupt)?,
        kind: serde_json::from_value(serde_json::Value::String(kind)).map_err(corrupt)?,
        state: r.try_get::<String, _>("state")?.parse().map_err(corrupt)?,
        risk: r.try_get::<String, _>("risk")?.parse().map_err(corrupt)?,
        rule: r.try_get("rule")?,
        request: serde_json::from_str(&request).map_err(corrupt)?,
        requested_at: r.try_get("requested_at")?,
        expires_at: r.try_get("expires_at")?,
        pings: r.try_get::<i64, _>("pings")? as u32,
        decided_at: r.try_get("decided_at")?,
        decided_by: r.try_get("decided_by")?,
        decided_via: r.try_get("decided_via")?,
        comment: r.try_get("comment")?,
        answer: r.try_get("answer")?,
        token: r.try_get("token")?,
    })
}

fn kind_str(kind: ApprovalKind) -> &'static str {
    match kind {
        ApprovalKind::ApproveBefore => "approve_before",
        ApprovalKind::ReviewAfter => "review_after",
        ApprovalKind::Ask => "ask",
    }
}

/// A new pending approval, with its first reminder time.
pub async fn insert(
    conn: &mut SqliteConnection,
    a: &Approval,
    next_ping_at: Option<Millis>,
    escalate_at: Option<Millis>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO approvals (id, intent_id, kind, state, risk, rule, request, requested_at, expires_at, next_ping_at, \
         escalate_at, token) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&a.id)
    .bind(a.intent_id.to_string())
    .bind(kind_str(a.kind))
    .bind(a.risk.as_str())
    .bind(&a.rule)
    .bind(serde_json::to_string(&a.request).map_err(|e| StoreError::corrupt("approvals", e))?)
    .bind(a.requested_at)
    .bind(a.expires_at)
    .bind(next_ping_at)
    .bind(escalate_at)
    .bind(&a.token)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut SqliteConnection, id: &str) -> Result<Option<Approval>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM approvals WHERE id = ? OR token = ?");
    sqlx::query(&sql).bind(id).bind(id).fetch_optional(&mut *conn).await?.as_ref().map(row).transpose()
}

/// Which approvals to list, oldest first.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub state: Option<ApprovalState>,
    pub risk: Option<Risk>,
    pub intent: Option<IntentId>,
    /// Only those after this one, by `(requested_at, id)`: a page's cursor.
    pub after: Option<(Millis, String)>,
    /// At most this many (1000 when unset).
    pub limit: Option<u32>,
}

pub async fn list(pool: &SqlitePool, f: &Filter) -> Result<Vec<Approval>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM approvals WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR risk = ?2) \
         AND (?3 IS NULL OR intent_id = ?3) AND (?4 IS NULL OR (requested_at, id) > (?4, ?5)) \
         ORDER BY requested_at, id LIMIT ?6"
    );
    let rows = sqlx::query(&sql)
        .bind(f.state.map(|s| s.as_str()))
        .bind(f.risk.map(|r| r.as_str()))
        .bind(f.intent.map(|i| i.to_string()))
        .bind(f.after.as_ref().map(|a| a.0))
        .bind(f.after.as_ref().map(|a| a.1.as_str()))
        .bind(f.limit.unwrap_or(1000))
        .fetch_all(pool)
        .await?;
    rows.iter().map(row).collect()
}

/// Decides a pending, unexpired approval. Returns false if it was not
/// pending any more, or had expired: the caller then explains why.
pub async fn decide(
    conn: &mut SqliteConnection,
    id: &str,
    to: ApprovalState,
    by: &str,
    via: &str,
    comment: Option<&str>,
    now: Millis,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE approvals SET state = ?, decided_at = ?, decided_by = ?, decided_via = ?, comment = ?, next_ping_at = NULL \
         WHERE id = ? AND state = 'pending' AND expires_at > ?",
    )
    .bind(to.as_str())
    .bind(now)
    .bind(by)
    .bind(via)
    .bind(comment)
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    closed(conn, id, done.rows_affected() == 1, now).await
}

/// Records a question's answer, in the transaction that decided or
/// closed it.
pub async fn set_answer(conn: &mut SqliteConnection, id: &str, answer: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE approvals SET answer = ? WHERE id = ? AND kind = 'ask'")
        .bind(answer)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The answer to an intent's question, and who gave it (`steward` when
/// the default was taken).
pub async fn answer_of(
    conn: &mut SqliteConnection,
    intent: IntentId,
) -> Result<Option<(String, Option<String>)>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT answer, decided_by FROM approvals WHERE intent_id = ? AND kind = 'ask' AND state = 'answered' \
         AND answer IS NOT NULL",
    )
    .bind(intent.to_string())
    .fetch_optional(&mut *conn)
    .await?)
}

/// Tells the operator's channels that an approval closed, in the transaction
/// that closed it, so every card showing it is updated whichever channel
/// (or timer) decided.
async fn closed(conn: &mut SqliteConnection, id: &str, did: bool, now: Millis) -> Result<bool, StoreError> {
    if did {
        let notice = Outbound::CardClosed { approval_id: id.to_owned() };
        super::outbox::enqueue(conn, "operator", &notice, Some(&format!("closed-{id}")), now).await?;
    }
    Ok(did)
}

/// Closes a pending approval without a person's decision (expiry, a lapsed
/// review window, a superseded request).
pub async fn close(
    conn: &mut SqliteConnection,
    id: &str,
    to: ApprovalState,
    why: &str,
    now: Millis,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE approvals SET state = ?, decided_at = ?, decided_by = 'steward', decided_via = ?, next_ping_at = NULL \
         WHERE id = ? AND state = 'pending'",
    )
    .bind(to.as_str())
    .bind(now)
    .bind(why)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    closed(conn, id, done.rows_affected() == 1, now).await
}

/// Pending approvals whose time is up.
pub async fn due_expiry(conn: &mut SqliteConnection, now: Millis, limit: u32) -> Result<Vec<Approval>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM approvals WHERE state = 'pending' AND expires_at <= ? LIMIT ?");
    let rows = sqlx::query(&sql).bind(now).bind(limit as i64).fetch_all(&mut *conn).await?;
    rows.iter().map(row).collect()
}

/// Pending approvals due a reminder, with whether they are due escalation.
pub async fn due_ping(
    conn: &mut SqliteConnection,
    now: Millis,
    limit: u32,
) -> Result<Vec<(Approval, bool)>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS}, (escalate_at IS NOT NULL AND escalate_at <= ?1) AS escalate FROM approvals \
         WHERE state = 'pending' AND next_ping_at IS NOT NULL AND next_ping_at <= ?1 AND expires_at > ?1 LIMIT ?2"
    );
    let rows = sqlx::query(&sql).bind(now).bind(limit as i64).fetch_all(&mut *conn).await?;
    rows.iter().map(|r| Ok((row(r)?, r.try_get::<bool, _>("escalate")?))).collect()
}

/// Records a reminder; an escalation happens once.
pub async fn pinged(
    conn: &mut SqliteConnection,
    id: &str,
    next_ping_at: Millis,
    escalated: bool,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE approvals SET pings = pings + 1, next_ping_at = ?, \
         escalate_at = CASE WHEN ? THEN NULL ELSE escalate_at END WHERE id = ?",
    )
    .bind(next_ping_at)
    .bind(escalated)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The pending approvals of an intent.
pub async fn pending_for(conn: &mut SqliteConnection, intent: IntentId) -> Result<Vec<Approval>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM approvals WHERE intent_id = ? AND state = 'pending'");
    let rows = sqlx::query(&sql).bind(intent.to_string()).fetch_all(&mut *conn).await?;
    rows.iter().map(row).collect()
}

/// The earliest approval timer: an expiry or a reminder.
pub async fn next_timer(pool: &SqlitePool) -> Result<Option<Millis>, StoreError> {
    let (at,): (Option<i64>,) = sqlx::query_as(
        "SELECT MIN(MIN(expires_at, COALESCE(next_ping_at, expires_at))) FROM approvals WHERE state = 'pending'",
    )
    .fetch_one(pool)
    .await?;
    Ok(at)
}
