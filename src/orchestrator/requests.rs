//! What a person deciding about an intent is shown: each step with every
//! destination it reaches and how it would be undone, as the request of an
//! approval (before it runs) or of a review (after). The gate asks for
//! approvals; `apply` opens reviews.

use serde_json::json;
use sqlx::SqliteConnection;

use crate::domain::{
    ApprovalKind, ApprovalRequest, CostEstimate, DestinationView, IdempotencyKey, Intent, IntentId, Millis, Occasion,
    Outbound, Question, Risk, StepView,
};
use crate::policy::Judgement;
use crate::store::approvals::{self, Approval};
use crate::store::{StoreError, intents, outbox};

/// Each step as a person deciding about it needs it: what it does, where
/// it reaches (every destination, always), its arguments, its risk and the
/// rule that set it, its key, and how it would be undone.
pub fn steps_view(intent: &Intent, judged: &[(Risk, String)]) -> Vec<StepView> {
    let steps = intent.plan.as_ref().map(|p| p.steps()).unwrap_or_default();
    steps
        .iter()
        .enumerate()
        .map(|(seq, s)| {
            let compensation = match s.args.get("compensate") {
                Some(c) => c.clone(),
                None if s.adapter.as_str() == "note" => json!("delete the note"),
                None if s.adapter.as_str() == "email" && s.args.get("correction").is_some() => {
                    json!("send the correction as a reply")
                }
                None => json!("none: this step cannot be undone"),
            };
            let destinations = crate::adapters::destinations_of(s)
                .into_iter()
                .map(|d| DestinationView { arg: d.arg, value: d.value })
                .collect();
            StepView {
                seq: seq as u32,
                adapter: s.adapter.as_str().to_owned(),
                action: s.action.as_str().to_owned(),
                destinations,
                args: s.args.clone(),
                risk: judged.get(seq).map(|(r, _)| r.as_str().to_owned()),
                rule: judged.get(seq).map(|(_, r)| r.clone()),
                idempotency_key: IdempotencyKey::for_step(intent.id, seq as u32).as_str().to_owned(),
                compensation,
            }
        })
        .collect()
}

/// What every request says of its intent.
fn about(intent: &Intent, risk: Risk, steps: Vec<StepView>) -> ApprovalRequest {
    ApprovalRequest {
        intent_id: intent.id.to_string(),
        summary: intent.text.as_str().to_owned(),
        asked_by: intent.provenance.actor.clone(),
        channel: intent.provenance.channel.clone(),
        risk: Some(risk),
        steps,
        ..Default::default()
    }
}

/// Everything an approver needs to decide without opening anything else.
pub fn approval(intent: &Intent, judgement: &Judgement, rule: &str, expires_at: Millis) -> ApprovalRequest {
    let steps = steps_view(intent, &judgement.steps);
    let actions = steps.len();
    ApprovalRequest {
        reason: intent.provenance.reason.clone(),
        rule: Some(rule.to_owned()),
        cost_estimate: Some(CostEstimate { model_usd: 0.0, actions }),
        expires_at: Some(expires_at),
        policy_version: Some(judgement.policy_version.clone()),
        ..about(intent, judgement.risk, steps)
    }
}

/// A workflow's question: what it asks, its choices, and until when.
pub fn question(intent: &Intent, question: Question, expires_at: Millis) -> ApprovalRequest {
    ApprovalRequest {
        reason: intent.provenance.reason.clone(),
        expires_at: Some(expires_at),
        question: Some(question),
        ..about(intent, Risk::Low, vec![])
    }
}

/// Opens the review of an intent judged review-after once it succeeded.
pub async fn open_review(
    conn: &mut SqliteConnection,
    id: IntentId,
    window_ms: i64,
    now: Millis,
) -> Result<(), StoreError> {
    let intent = intents::load(conn, id).await?;
    // What ran, where it reached, and how each step would be undone: the
    // review shows the actions themselves, not just how many there were.
    let n = intent.plan.as_ref().map_or(0, |p| p.steps().len());
    let judged = vec![(intent.risk, "review-after".to_owned()); n];
    let steps = steps_view(&intent, &judged);
    let request = ApprovalRequest { undo_until: Some(now + window_ms), ..about(&intent, intent.risk, steps) };
    let approval =
        Approval::pending(id, ApprovalKind::ReviewAfter, intent.risk, "review-after", request, now, now + window_ms);
    approvals::insert(conn, &approval, None, None).await?;
    let notice =
        Outbound::Card { approval_id: approval.id.clone(), occasion: Occasion::Review, request: approval.request };
    outbox::enqueue(conn, "operator", &notice, Some(&format!("review-{}", approval.id)), now).await?;
    Ok(())
}
