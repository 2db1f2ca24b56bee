//! Deciding approvals, and their timers: expiry (default deny), reminders,
//! escalation, and review windows that lapse.

use serde_json::json;
use sha2::Digest;
use sqlx::SqliteConnection;

use super::apply::{self, ACTOR};
use super::intent_machine::IntentEvent;
use crate::domain::{Actor, ApprovalKind, ApprovalState, Decision, Millis, Occasion, Outbound, Refusal};
use crate::policy::Policy;
use crate::store::approvals::{self, Approval};
use crate::store::audit::{self, Entry};
use crate::store::{Store, StoreError, intents, memory, outbox};

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
    pub approver: &'a Actor,
    pub comment: Option<&'a str>,
}

/// Decides an approval exactly once. A stale (already decided, expired,
/// superseded), unknown or foreign decision is refused with a reason and
/// changes nothing but the audit log, which records the refusal.
///
/// The decision, its audit row and the intent's event commit together or
/// not at all: a store error part-way rolls everything back. A refusal
/// commits, since its audit row is what it changes.
pub async fn decide(store: &Store, ask: &Ask<'_>, approvers: &[String]) -> Result<Approval, DecideError> {
    let now = store.now();
    let mut tx = store.begin().await?;
    let outcome = decide_in(&mut tx, ask, approvers, now).await;
    if let Err(DecideError::Store(e)) = outcome {
        // Dropping the transaction rolls it back.
        drop(tx);
        return Err(DecideError::Store(e));
    }
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
    // The audit log keeps no free text: a comment is kept as its hash (the
    // approval row has it until retention scrubs it).
    let comment = ask.comment.map(|c| hex::encode(sha2::Sha256::digest(c.as_bytes())));
    let detail = json!({"approval": approval.id, "kind": approval.kind, "decision": to, "by": by,
                        "via": ask.approver.channel, "comment_sha256": comment, "expires_at": approval.expires_at});
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
        let occasion = Occasion::Reminder { pings: a.pings + 1 };
        let notice = Outbound::Card { approval_id: a.id.clone(), occasion, request: a.request.clone() };
        outbox::enqueue(conn, "operator", &notice, Some(&format!("ping-{}-{}", a.id, a.pings + 1)), now).await?;
        if let (true, Some(dest)) = (escalate, &level.escalate_to) {
            let notice = Outbound::Card {
                approval_id: a.id.clone(),
                occasion: Occasion::Escalation,
                request: a.request.clone(),
            };
            outbox::enqueue(conn, dest, &notice, Some(&format!("escalate-{}", a.id)), now).await?;
        }
        approvals::pinged(conn, &a.id, now + (level.reping_secs.max(1) * 1000) as i64, escalate).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Intent, IntentState, IntentText, Plan, PlannedStep, Provenance};

    const POLICY: &str = "default_risk = \"high\"\n[levels.low]\nmode = \"auto\"\n[levels.medium]\nmode = \"auto\"\n\
                          [levels.high]\nmode = \"approve-before\"\n";

    /// Guarantee: a decision commits whole or not at all. A store failure
    /// after the approval row was updated (here: the audit insert refused)
    /// leaves the approval pending, with no decision and no event.
    #[tokio::test]
    async fn a_store_error_while_deciding_rolls_the_decision_back() {
        let store = Store::in_memory().await.unwrap();
        let step = PlannedStep::parse("note", "write", json!({"text": "x"})).unwrap();
        let intent = Intent::new(
            IntentText::parse("a note").unwrap(),
            Provenance::operator("cli", "me"),
            Some(Plan::new(vec![step]).unwrap()),
            1,
        );
        let id = intent.id;
        intents::create(&store, intent, None).await.unwrap();
        let policy = Policy::parse(POLICY).unwrap();
        let mut tx = store.begin().await.unwrap();
        super::super::gate::admit(&mut tx, id, &policy, &[], None, store.now()).await.unwrap();
        let approval = approvals::pending_for(&mut tx, id).await.unwrap().remove(0);
        sqlx::query(
            "CREATE TRIGGER refuse_decisions BEFORE INSERT ON audit WHEN NEW.action = 'approval.decided'
             BEGIN SELECT RAISE(ABORT, 'disk full'); END",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let me = Actor::new("cli", "me");
        let ask = Ask { approval: &approval.id, decision: Decision::Approve, approver: &me, comment: None };
        let result = decide(&store, &ask, &["cli:*".to_owned()]).await;
        assert!(matches!(result, Err(DecideError::Store(_))), "{result:?}");
        let mut conn = store.reader().acquire().await.unwrap();
        let after = approvals::get(&mut conn, &approval.id).await.unwrap().unwrap();
        assert_eq!(after.state, ApprovalState::Pending, "the decision was rolled back");
        assert_eq!(after.decided_by, None);
        drop(conn);
        assert_eq!(intents::get(&store, id).await.unwrap().unwrap().state, IntentState::AwaitingApproval);
    }
}
