//! The gate every planned intent passes before it may run: the policy judges
//! its plan, and the judgement decides whether it runs now (auto,
//! review-after) or waits for an approval (approve-before). Assisted mode
//! (the breaker is open, or the hourly action budget is spent) sends
//! everything to the operator.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use sqlx::SqliteConnection;

use super::apply::{self, ACTOR};
use super::intent_machine::IntentEvent;
use super::requests;
use crate::adapters::Catalog;
use crate::domain::{ApprovalKind, IntentId, Millis, Occasion, Outbound, Plan, Question, Risk};
use crate::policy::{Mode, Policy, StepFacts};
use crate::store::approvals::{self, Approval};
use crate::store::audit::{self, Entry};
use crate::store::intents::{self, Judged};
use crate::store::{StoreError, breaker, outbox, steps};

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
        let dns = catalog.dns();
        futures_util::future::join_all(facts.iter_mut().map(|f| f.resolve(dns, dns_timeout))).await;
    }
    facts
}

/// Judges a planned intent, given what [`gather`] found out about its
/// steps, and lets it run or sends it for approval.
#[tracing::instrument(name = "admit", skip_all, fields(intent_id = %id))]
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
    let reaches: Vec<_> = facts.iter().map(StepFacts::reach).collect();
    steps::record_reach(conn, id, &reaches).await?;
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
    let request = requests::approval(&intent, &judgement, &rule, expires_at);
    let approval = Approval::pending(id, ApprovalKind::ApproveBefore, judgement.risk, &rule, request, now, expires_at);
    let escalate_at = level.escalate_to.as_ref().map(|_| now + (level.escalate_after_secs * 1000) as i64);
    approvals::insert(conn, &approval, Some(now + (level.reping_secs * 1000) as i64), escalate_at).await?;
    apply::intent_event(conn, id, IntentEvent::RequireApproval, now, ACTOR, detail).await?;
    let notice =
        Outbound::Card { approval_id: approval.id.clone(), occasion: Occasion::Request, request: approval.request };
    outbox::enqueue(conn, "operator", &notice, Some(&format!("approval-{}", approval.id)), now).await?;
    Ok(())
}

/// The rule a question is asked under: no policy judges a question.
pub const QUESTION_RULE: &str = "workflow question";

/// Asks the operator a workflow's question on intent `id`, written in this
/// transaction with a plan of one `workflow.answer` step. The question is
/// an approval of its own kind: it waits for one of its choices, or takes
/// its default at `expires_at`; either lets the intent run.
pub async fn ask(
    conn: &mut SqliteConnection,
    id: IntentId,
    question: Question,
    expires_at: Millis,
    now: Millis,
) -> Result<(), StoreError> {
    let intent = intents::load(conn, id).await?;
    let judged = Judged {
        risk: Risk::Low,
        rule: QUESTION_RULE,
        mode: Mode::ApproveBefore.as_str(),
        policy_version: "none: a question",
        requires_approval: true,
        review_window_ms: None,
    };
    intents::record_judgement(conn, id, &judged).await?;
    let request = requests::question(&intent, question, expires_at);
    let approval = Approval::pending(id, ApprovalKind::Ask, Risk::Low, QUESTION_RULE, request, now, expires_at);
    approvals::insert(conn, &approval, None, None).await?;
    apply::intent_event(conn, id, IntentEvent::RequireApproval, now, ACTOR, json!({"question": approval.id})).await?;
    let notice =
        Outbound::Card { approval_id: approval.id.clone(), occasion: Occasion::Request, request: approval.request };
    outbox::enqueue(conn, "operator", &notice, Some(&format!("approval-{}", approval.id)), now).await?;
    Ok(())
}
