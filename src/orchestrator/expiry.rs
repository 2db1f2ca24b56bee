//! Approval timers: a request not decided in time expires (default deny),
//! a review window that lapses keeps what ran, a question not answered in
//! time takes its default, and a waiting request is re-pinged and
//! escalated as the policy says.

use serde_json::json;
use sqlx::SqliteConnection;

use super::apply::{self, ACTOR};
use super::intent_machine::IntentEvent;
use crate::domain::{ApprovalKind, ApprovalState, Millis, Occasion, Outbound};
use crate::policy::Policy;
use crate::store::approvals;
use crate::store::audit::{self, Entry};
use crate::store::{StoreError, outbox};

/// Expires what is due (an expired request denies its intent; a lapsed
/// review keeps what ran), and sends reminders and escalations.
pub async fn tick(conn: &mut SqliteConnection, policy: &Policy, now: Millis, limit: u32) -> Result<(), StoreError> {
    for a in approvals::due_expiry(conn, now, limit).await? {
        let default = a.request.question.as_ref().map(|q| q.default.clone());
        let (to, why) = match (a.kind, &default) {
            (ApprovalKind::ApproveBefore, _) => (ApprovalState::Expired, "not decided in time: denied".to_owned()),
            (ApprovalKind::ReviewAfter, _) => (ApprovalState::Confirmed, "review window lapsed: kept".to_owned()),
            (ApprovalKind::Ask, Some(d)) => (ApprovalState::Answered, format!("no answer in time: the default `{d}`")),
            // A question without its question (edited by hand) has no
            // default to take: it is denied like a request.
            (ApprovalKind::Ask, None) => (ApprovalState::Expired, "no answer in time, and no default".to_owned()),
        };
        if !approvals::close(conn, &a.id, to, &why, now).await? {
            continue;
        }
        if let (ApprovalState::Answered, Some(d)) = (to, &default) {
            approvals::set_answer(conn, &a.id, d).await?;
        }
        let subject = a.intent_id.to_string();
        let detail = json!({"approval": a.id, "kind": a.kind, "state": to, "why": why});
        audit::append(conn, now, &Entry { actor: ACTOR, action: "approval.expired", subject: Some(&subject), detail })
            .await?;
        let event = match to {
            ApprovalState::Expired => IntentEvent::DeadlinePassed,
            ApprovalState::Answered => IntentEvent::Approved,
            _ => continue,
        };
        apply::intent_event(conn, a.intent_id, event, now, ACTOR, json!(why)).await?;
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
