//! Deciding approvals. [`decide`] decides one exactly once, or refuses with
//! a reason (stale, foreign, not an approver) and audits the refusal.
//! People decide by reference (an approval's id, a card's token, or an
//! intent id standing for its pending approval) or as a batch ("approve all
//! low-risk"), answered in words for the person who decided. A card's
//! button, a chat command, the CLI and the API all come here, inside the
//! transaction that also records their answer.

use serde_json::json;
use sha2::Digest;
use sqlx::SqliteConnection;

use super::apply;
use super::intent_machine::IntentEvent;
use crate::domain::{Actor, ApprovalKind, ApprovalState, Decision, IntentId, Millis, Refusal, Risk};
use crate::store::approvals::{self, Approval, Filter};
use crate::store::audit::{self, Entry};
use crate::store::{Store, StoreError, intents, memory};

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
    let question = approval.request.question.as_ref();
    let answer = match (ask.decision, question) {
        (Decision::Choose(i), Some(q)) => match q.choices.get(i as usize) {
            Some(choice) => Some(choice.clone()),
            None => {
                let why = Refusal::NotAnAnswer(format!("answer one of: {}", q.choices.join(", ")));
                return refused(conn, now, &by, &subject, &approval.id, why).await;
            }
        },
        _ => None,
    };
    let Some(to) = ask.decision.outcome(approval.kind) else {
        let why = match question {
            Some(q) => format!("this is a question; answer one of: {}", q.choices.join(", ")),
            None => "this asks for approve or reject".to_owned(),
        };
        return refused(conn, now, &by, &subject, &approval.id, Refusal::NotAnAnswer(why)).await;
    };
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
    if let Some(answer) = &answer {
        approvals::set_answer(conn, &approval.id, answer).await?;
    }
    let detail = json!({"approval": approval.id, "kind": approval.kind, "decision": to, "by": by,
                        "via": ask.approver.channel, "comment_sha256": comment, "expires_at": approval.expires_at,
                        "answer": answer});
    audit::append(
        conn,
        now,
        &Entry { actor: &by, action: "approval.decided", subject: Some(&subject), detail: detail.clone() },
    )
    .await?;
    let intent = intents::load(conn, approval.intent_id).await?;
    let what = match (to, &answer) {
        (ApprovalState::Approved, _) => "Approved".to_owned(),
        (ApprovalState::Rejected, _) => "Rejected".to_owned(),
        (ApprovalState::Confirmed, _) => "Confirmed after review".to_owned(),
        (ApprovalState::Answered, Some(a)) => format!("Answered `{a}`"),
        _ => "Undone after review".to_owned(),
    };
    memory::record(conn, &memory::decision(&intent, &what, &by, &ask.approver.channel, ask.comment, now)).await?;
    let event = match to {
        ApprovalState::Approved | ApprovalState::Answered => Some(IntentEvent::Approved),
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
        answer,
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
    let approval = resolve(conn, target).await?;
    let ask = Ask { approval: &approval, decision, approver: who, comment };
    Ok(match decide_in(conn, &ask, approvers, now).await {
        Ok(a) => {
            let what = match &a.answer {
                Some(answer) => format!("Answered `{answer}`"),
                None => decided(a.state).to_owned(),
            };
            Decided { text: format!("{what} by {who}."), intent_id: Some(a.intent_id) }
        }
        Err(DecideError::Refused(r)) => Decided { text: format!("Not decided: {r}."), intent_id: None },
        Err(DecideError::Store(e)) => return Err(e),
    })
}

/// Answers the question `target` names with the choice `said` names (see
/// [`chosen`]); an answer that is none of its choices is refused with them.
pub async fn answer_by_reference(
    conn: &mut SqliteConnection,
    target: &str,
    said: &str,
    who: &Actor,
    approvers: &[String],
    now: Millis,
) -> Result<Decided, StoreError> {
    let approval = resolve(conn, target).await?;
    let decision = chosen(conn, &approval, said).await?;
    by_reference(conn, &approval, decision, None, who, approvers, now).await
}

/// The approval a reference names: an approval's id or a card's token as
/// it is, or an intent id standing for that intent's pending approval.
async fn resolve(conn: &mut SqliteConnection, target: &str) -> Result<String, StoreError> {
    Ok(match (approvals::get(conn, target).await?, target.parse::<IntentId>()) {
        (None, Ok(intent)) => approvals::pending_for(conn, intent).await?.into_iter().next().map(|a| a.id),
        _ => None,
    }
    .unwrap_or_else(|| target.to_owned()))
}

/// The decision an answer in words stands for on approval `id`: the
/// choice of its question that `said` names (by name in any case, or by
/// number from 1). When it names none, or the approval asks no question,
/// a choice no question has: deciding it is refused, with the choices.
pub async fn chosen(conn: &mut SqliteConnection, id: &str, said: &str) -> Result<Decision, StoreError> {
    let question = approvals::get(conn, id).await?.and_then(|a| a.request.question);
    Ok(Decision::Choose(question.and_then(|q| q.choice(said)).unwrap_or(u8::MAX)))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Intent, IntentState, IntentText, Plan, PlannedStep, Provenance};
    use crate::policy::Policy;

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
