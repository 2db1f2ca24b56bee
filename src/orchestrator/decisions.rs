//! Decisions as people make them: by reference (an approval's id, a card's
//! token, or an intent id standing for its pending approval) or as a batch
//! ("approve all low-risk"), answered in words for the person who decided.
//! A card's button, a chat command and the API all come here, inside the
//! transaction that also records their answer.

use sqlx::SqliteConnection;

use super::approvals::{Ask, DecideError, decide_in};
use crate::domain::{Actor, ApprovalKind, ApprovalState, Decision, IntentId, Millis, Risk};
use crate::store::approvals::{self, Filter};
use crate::store::{Store, StoreError};

/// What a decision did, in words, and the intent it was about.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    pub text: String,
    pub intent_id: Option<IntentId>,
}

/// Decides the approval `target` names. A refusal (stale, expired, not an
/// approver) is an answer, not an error.
pub async fn by_reference(
    conn: &mut SqliteConnection,
    target: &str,
    decision: Decision,
    comment: Option<&str>,
    who: &Actor,
    approvers: &[String],
    now: Millis,
) -> Result<Decided, StoreError> {
    let approval = match (approvals::get(conn, target).await?, target.parse::<IntentId>()) {
        (None, Ok(intent)) => approvals::pending_for(conn, intent).await?.into_iter().next().map(|a| a.id),
        _ => None,
    }
    .unwrap_or_else(|| target.to_owned());
    let ask = Ask { approval: &approval, decision, approver: who, comment };
    Ok(match decide_in(conn, &ask, approvers, now).await {
        Ok(a) => Decided { text: format!("{} by {who}.", decided(a.state)), intent_id: Some(a.intent_id) },
        Err(DecideError::Refused(r)) => Decided { text: format!("Not decided: {r}."), intent_id: None },
        Err(DecideError::Store(e)) => return Err(e),
    })
}

/// Approves every waiting low-risk approve-before request; from a card's
/// button (`until`, its token) only those requested no later than that
/// card's, so a press never approves what its presser has not seen.
pub async fn low_batch(
    store: &Store,
    conn: &mut SqliteConnection,
    until: Option<&str>,
    who: &Actor,
    approvers: &[String],
    now: Millis,
) -> Result<String, StoreError> {
    let pending = Filter { state: Some(ApprovalState::Pending), ..Default::default() };
    let waiting = approvals::list(store.reader(), &pending).await?;
    let cutoff = match until {
        Some(token) => approvals::get(conn, token).await?.map_or(Millis::MIN, |a| a.requested_at),
        None => Millis::MAX,
    };
    let (mut approved, mut refused) = (0, Vec::new());
    let batch = waiting
        .iter()
        .filter(|a| a.risk == Risk::Low && a.kind == ApprovalKind::ApproveBefore && a.requested_at <= cutoff);
    for a in batch {
        let ask = Ask { approval: &a.id, decision: Decision::Approve, approver: who, comment: None };
        match decide_in(conn, &ask, approvers, now).await {
            Ok(_) => approved += 1,
            Err(DecideError::Refused(r)) => refused.push(r.to_string()),
            Err(DecideError::Store(e)) => return Err(e),
        }
    }
    Ok(match (approved, refused.first()) {
        (0, None) => "No low-risk request is waiting.".to_owned(),
        (n, None) => format!("Approved {n} low-risk request{} by {who}.", if n == 1 { "" } else { "s" }),
        (n, Some(why)) => format!("Approved {n}; {} refused: {why}.", refused.len()),
    })
}

fn decided(state: ApprovalState) -> &'static str {
    match state {
        ApprovalState::Approved => "Approved",
        ApprovalState::Rejected => "Rejected",
        ApprovalState::Confirmed => "Confirmed",
        _ => "Undone",
    }
}
