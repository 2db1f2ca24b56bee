//! The gate every planned intent passes before it may run: the policy judges
//! its plan, and the judgement decides whether it runs now (auto,
//! review-after) or waits for an approval (approve-before). Assisted mode
//! (the breaker is open, or the hourly action budget is spent) sends
//! everything to the operator.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};
use sqlx::SqliteConnection;

use super::apply::{self, ACTOR};
use super::intent_machine::IntentEvent;
use crate::adapters::Catalog;
use crate::domain::{ApprovalKind, IdempotencyKey, Intent, IntentId, Millis, Plan};
use crate::policy::{Judgement, Mode, Policy, StepFacts};
use crate::store::approvals::{self, Approval};
use crate::store::audit::{self, Entry};
use crate::store::intents::{self, Judged};
use crate::store::{StoreError, breaker, outbox};

/// Why everything waits for the operator right now, if it does.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assisted {
    pub reason: String,
}

/// Checks the breaker and the hourly budget. Opens the breaker when too many
/// steps failed for good within the window.
pub async fn assisted(
    conn: &mut SqliteConnection,
    policy: &Policy,
    now: Millis,
) -> Result<Option<Assisted>, StoreError> {
    let b = &policy.breaker;
    let failures = audit::count_since(conn, "step.failed", now - (b.window_secs * 1000) as i64).await?;
    if b.failures > 0 && failures >= b.failures as i64 {
        let reason = format!("{failures} steps failed for good in the last {} s", b.window_secs);
        breaker::open(conn, now, &reason).await?;
    }
    if let Some((opened, reason)) = breaker::last_opened(conn).await? {
        if opened + (b.cooldown_secs * 1000) as i64 > now {
            return Ok(Some(Assisted { reason: format!("circuit breaker open: {reason}") }));
        }
    }
    let actions = audit::count_since(conn, "step.succeeded", now - 3_600_000).await?;
    if actions >= policy.budgets.actions_per_hour as i64 {
        return Ok(Some(Assisted {
            reason: format!("hourly action budget spent ({actions} actions in the last hour)"),
        }));
    }
    Ok(None)
}

/// Each step as a person deciding about it needs it: what it does, where
/// it reaches (every destination, always), its arguments, its risk and the
/// rule that set it, its key, and how it would be undone.
fn steps_view(intent: &Intent, judged: &[(crate::domain::Risk, String)]) -> Vec<Value> {
    let steps = intent.plan.as_ref().map(|p| p.steps()).unwrap_or_default();
    steps
        .iter()
        .enumerate()
        .map(|(seq, s)| {
            let compensation = match s.args.get("compensate") {
                Some(c) => json!(c),
                None if s.adapter.as_str() == "note" => json!("delete the note"),
                None if s.adapter.as_str() == "email" && s.args.get("correction").is_some() => {
                    json!("send the correction as a reply")
                }
                None => json!("none: this step cannot be undone"),
            };
            let destinations: Vec<Value> = crate::adapters::destinations_of(s)
                .into_iter()
                .map(|d| json!({"arg": d.arg, "value": d.value}))
                .collect();
            json!({
                "seq": seq,
                "adapter": s.adapter.as_str(),
                "action": s.action.as_str(),
                "destinations": destinations,
                "args": s.args,
                "risk": judged.get(seq).map(|(r, _)| r.as_str()),
                "rule": judged.get(seq).map(|(_, r)| r.as_str()),
                "idempotency_key": IdempotencyKey::for_step(intent.id, seq as u32).as_str(),
                "compensation": compensation,
            })
        })
        .collect()
}

/// Everything an approver needs to decide without opening anything else.
fn request(intent: &Intent, judgement: &Judgement, rule: &str, expires_at: Millis) -> Value {
    let steps = steps_view(intent, &judgement.steps);
    json!({
        "intent_id": intent.id.to_string(),
        "summary": intent.text.as_str(),
        "asked_by": intent.provenance.actor,
        "channel": intent.provenance.channel,
        "reason": intent.provenance.reason,
        "risk": judgement.risk.as_str(),
        "rule": rule,
        "steps": steps,
        "cost_estimate": {"model_usd": 0.0, "actions": steps.len()},
        "expires_at": expires_at,
        "policy_version": judgement.policy_version,
    })
}

/// What the policy needs to know of each step of these planned intents:
/// read, and their destinations resolved when the policy asks what class
/// of address a host is, before any write transaction is opened (a slow
/// name server must never hold the writer). Each name waits `dns_timeout`
/// at most; one that does not resolve is judged as unknown.
pub async fn gather(
    conn: &mut SqliteConnection,
    ids: &[IntentId],
    catalog: &Catalog,
    policy: &Policy,
    dns_timeout: Duration,
) -> Result<HashMap<IntentId, Vec<StepFacts>>, StoreError> {
    let mut plans = Vec::new();
    for id in ids {
        plans.push((*id, intents::load(conn, *id).await?.plan));
    }
    let facts = plans.iter().map(|(id, plan)| async move {
        let facts = match plan {
            Some(plan) => facts_of(catalog, policy, plan, dns_timeout).await,
            None => vec![],
        };
        (*id, facts)
    });
    Ok(futures_util::future::join_all(facts).await.into_iter().collect())
}

/// The facts of one plan's steps, names resolved when the policy needs it.
pub async fn facts_of(catalog: &Catalog, policy: &Policy, plan: &Plan, dns_timeout: Duration) -> Vec<StepFacts> {
    let mut facts = catalog.plan_facts(plan);
    if policy.needs_dns() {
        futures_util::future::join_all(facts.iter_mut().map(|f| f.resolve(dns_timeout))).await;
    }
    facts
}

/// Judges a planned intent, given what [`gather`] found out about its
/// steps, and lets it run or sends it for approval.
pub async fn admit(
    conn: &mut SqliteConnection,
    id: IntentId,
    policy: &Policy,
    facts: &[StepFacts],
    assisted: Option<&Assisted>,
    now: Millis,
) -> Result<(), StoreError> {
    let intent = intents::load(conn, id).await?;
    let Some(plan) = &intent.plan else { return Ok(()) };
    let judgement = policy.judge(plan, facts);
    let (mode, rule) = match assisted {
        Some(a) => (Mode::ApproveBefore, a.reason.clone()),
        None => (judgement.mode, judgement.rule.clone()),
    };
    let level = policy.level(judgement.risk);
    let window = (mode == Mode::ReviewAfter).then_some((level.review_window_secs * 1000) as i64);
    let judged = Judged {
        risk: judgement.risk,
        rule: &rule,
        mode: mode.as_str(),
        policy_version: &policy.version,
        requires_approval: mode == Mode::ApproveBefore,
        review_window_ms: window,
    };
    intents::record_judgement(conn, id, &judged).await?;
    let subject = id.to_string();
    let detail = json!({"risk": judgement.risk, "mode": mode.as_str(), "rule": rule, "policy_version": policy.version});
    audit::append(
        conn,
        now,
        &Entry { actor: ACTOR, action: "intent.judged", subject: Some(&subject), detail: detail.clone() },
    )
    .await?;
    if mode != Mode::ApproveBefore {
        apply::intent_event(conn, id, IntentEvent::Admit, now, ACTOR, detail).await?;
        return Ok(());
    }
    let expires_at = now + (level.expiry_secs * 1000) as i64;
    let request = request(&intent, &judgement, &rule, expires_at);
    let approval = Approval::pending(id, ApprovalKind::ApproveBefore, judgement.risk, &rule, request, now, expires_at);
    let escalate_at = level.escalate_to.as_ref().map(|_| now + (level.escalate_after_secs * 1000) as i64);
    approvals::insert(conn, &approval, Some(now + (level.reping_secs * 1000) as i64), escalate_at).await?;
    apply::intent_event(conn, id, IntentEvent::RequireApproval, now, ACTOR, detail).await?;
    let notice = json!({"kind": "approval_request", "approval_id": approval.id, "request": approval.request});
    outbox::enqueue(conn, "operator", &notice, Some(&format!("approval-{}", approval.id)), now).await?;
    Ok(())
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
    let request = json!({
        "intent_id": id.to_string(),
        "summary": intent.text.as_str(),
        "asked_by": intent.provenance.actor,
        "channel": intent.provenance.channel,
        "risk": intent.risk,
        "undo_until": now + window_ms,
        "steps": steps_view(&intent, &judged),
    });
    let approval =
        Approval::pending(id, ApprovalKind::ReviewAfter, intent.risk, "review-after", request, now, now + window_ms);
    approvals::insert(conn, &approval, None, None).await?;
    let notice = json!({"kind": "review", "approval_id": approval.id, "request": approval.request});
    outbox::enqueue(conn, "operator", &notice, Some(&format!("review-{}", approval.id)), now).await?;
    Ok(())
}
