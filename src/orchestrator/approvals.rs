//! Deciding approvals, and their timers: expiry (default deny), reminders,
//! escalation, and review windows that lapse.

use serde_json::json;
use sqlx::SqliteConnection;

use super::apply::{self, ACTOR};
use super::intent_machine::IntentEvent;
use crate::domain::{ApprovalKind, ApprovalState, Approver, Decision, Millis, Refusal};
use crate::policy::Policy;
use crate::store::approvals::{self, Approval};
use crate::store::audit::{self, Entry};
use crate::store::{Store, StoreError, intents, memory, now_millis, outbox};

#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// The decision was refused; the reason is for the person who made it.
    #[error("{0}")]
    Refused(Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One decision as asked: which approval, what, by whom, through which channel.
#[derive(Debug, Clone)]
pub struct Ask<'a> {
    /// The approval's id, or the token a channel button carries.
    pub approval: &'a str,
    pub decision: Decision,
    pub approver: &'a Approver,
    pub comment: Option<&'a str>,
}

/// Decides an approval exactly once. A stale (already decided, expired,
/// superseded), unknown or foreign decision is refused with a reason and
/// changes nothing but the audit log, which records the refusal.
pub async fn decide(store: &Store, ask: &Ask<'_>, approvers: &[String]) -> Result<Approval, DecideError> {
    let now = now_millis();
    let mut tx = store.begin().await?;
    let outcome = decide_in(&mut tx, ask, approvers, now).await;
    tx.commit().await.map_err(StoreError::from)?;
    outcome
}

/// The same, inside the caller's transaction (batches decide many in one).
pub async fn decide_in(
    conn: &mut SqliteConnection,
    ask: &Ask<'_>,
    approvers: &[String],
    now: Millis,
) -> Result<Approval, DecideError> {
    let Some(approval) = approvals::get(conn, ask.approval).await? else {
        return Err(DecideError::Refused(Refusal::NotFound));
    };
    let by = ask.approver.to_string();
    let subject = approval.intent_id.to_string();
    if !ask.approver.is_in(approvers) {
        return refused(conn, now, &by, &subject, &approval.id, Refusal::NotAnApprover).await;
    }
    let to = ask.decision.outcome(approval.kind);
    if !approvals::decide(conn, &approval.id, to, &by, &ask.approver.channel, ask.comment, now).await? {
        let refusal = match approval.state {
            ApprovalState::Pending | ApprovalState::Expired => Refusal::Expired,
            ApprovalState::Superseded => Refusal::Superseded,
            state => Refusal::AlreadyDecided { state, by: approval.decided_by.clone().unwrap_or_default() },
        };
        return refused(conn, now, &by, &subject, &approval.id, refusal).await;
    }
    let detail = json!({"approval": approval.id, "kind": approval.kind, "decision": to, "by": by,
                        "via": ask.approver.channel, "comment": ask.comment, "expires_at": approval.expires_at});
    audit::append(
        conn,
        now,
        &Entry { actor: &by, action: "approval.decided", subject: Some(&subject), detail: detail.clone() },
    )
    .await?;
    let intent = intents::load(conn, approval.intent_id).await?;
    let what = match to {
        ApprovalState::Approved => "Approved",
        ApprovalState::Rejected => "Rejected",
        ApprovalState::Confirmed => "Confirmed after review",
        _ => "Undone after review",
    };
    memory::record(conn, &memory::decision(&intent, what, &by, &ask.approver.channel, ask.comment, now)).await?;
    let event = match to {
        ApprovalState::Approved => Some(IntentEvent::Approved),
        ApprovalState::Rejected => Some(IntentEvent::Rejected),
        ApprovalState::Undone => Some(IntentEvent::Undo),
        _ => None,
    };
    if let Some(event) = event {
        apply::intent_event(conn, approval.intent_id, event, now, &by, detail).await?;
    }
    Ok(Approval {
        state: to,
        decided_at: Some(now),
        decided_by: Some(by),
        decided_via: Some(ask.approver.channel.clone()),
        ..approval
    })
}

/// Records a refused decision in the audit log and returns the refusal.
async fn refused(
    conn: &mut SqliteConnection,
    now: Millis,
    by: &str,
    subject: &str,
    approval: &str,
    refusal: Refusal,
) -> Result<Approval, DecideError> {
    let detail = json!({"approval": approval, "by": by, "why": refusal.to_string()});
    audit::append(conn, now, &Entry { actor: by, action: "approval.refused", subject: Some(subject), detail }).await?;
    Err(DecideError::Refused(refusal))
}

/// Expires what is due (an expired request denies its intent; a lapsed
/// review keeps what ran), and sends reminders and escalations.
pub async fn tick(conn: &mut SqliteConnection, policy: &Policy, now: Millis, limit: u32) -> Result<(), StoreError> {
    for a in approvals::due_expiry(conn, now, limit).await? {
        let (to, why) = match a.kind {
            ApprovalKind::ApproveBefore => (ApprovalState::Expired, "not decided in time: denied"),
            ApprovalKind::ReviewAfter => (ApprovalState::Confirmed, "review window lapsed: kept"),
        };
        if !approvals::close(conn, &a.id, to, why, now).await? {
            continue;
        }
        let subject = a.intent_id.to_string();
        let detail = json!({"approval": a.id, "kind": a.kind, "state": to, "why": why});
        audit::append(conn, now, &Entry { actor: ACTOR, action: "approval.expired", subject: Some(&subject), detail })
            .await?;
        if a.kind == ApprovalKind::ApproveBefore {
            apply::intent_event(conn, a.intent_id, IntentEvent::DeadlinePassed, now, ACTOR, json!(why)).await?;
        }
    }
    for (a, escalate) in approvals::due_ping(conn, now, limit).await? {
        let level = policy.level(a.risk);
        let notice =
            json!({"kind": "approval_reminder", "approval_id": a.id, "pings": a.pings + 1, "request": a.request});
        outbox::enqueue(conn, "operator", &notice, Some(&format!("ping-{}-{}", a.id, a.pings + 1)), now).await?;
        if let (true, Some(dest)) = (escalate, &level.escalate_to) {
            let notice = json!({"kind": "approval_escalation", "approval_id": a.id, "request": a.request});
            outbox::enqueue(conn, dest, &notice, Some(&format!("escalate-{}", a.id)), now).await?;
        }
        approvals::pinged(conn, &a.id, now + (level.reping_secs.max(1) * 1000) as i64, escalate).await?;
    }
    Ok(())
}
