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
use super::intent_machine::{self, Action, IntentEvent, Standing};
use super::requests;
use crate::adapters::Catalog;
use crate::domain::{ApprovalKind, Intent, IntentId, IntentState, Millis, Occasion, Outbound, Plan, Question, Risk};
use crate::policy::{Judgement, Mode, Policy, StepFacts};
use crate::store::approvals::{self, Approval};
use crate::store::audit::{self, Entry};
use crate::store::intents::{self, Judged};
use crate::store::{StoreError, breaker, outbox, sets, steps};

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
    let plans: Vec<(IntentId, Option<Plan>)> =
        sets::load_many(conn, ids).await?.into_iter().map(|i| (i.id, i.plan)).collect();
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

/// Judges these planned intents, given what [`gather`] found out about
/// their steps, and lets each run or sends it for approval. Those let run
/// with nothing more to their admission (no approval, no reach to record,
/// a first step to run) are written as sets: one read of them all, one
/// statement per kind of write, their audit rows hashed in order. The rest
/// go through [`admit`] one by one, first; both decide with the same
/// policy and machine.
pub async fn admit_all(
    conn: &mut SqliteConnection,
    ids: &[IntentId],
    policy: &Policy,
    facts: &HashMap<IntentId, Vec<StepFacts>>,
    assisted: Option<&Assisted>,
    now: Millis,
) -> Result<(), StoreError> {
    let admitted: Vec<IntentId> = ids.iter().copied().filter(|id| facts.contains_key(id)).collect();
    let (loaded, states) = if assisted.is_some() || admitted.is_empty() {
        (HashMap::new(), HashMap::new())
    } else {
        let loaded: HashMap<IntentId, Intent> =
            sets::load_many(conn, &admitted).await?.into_iter().map(|i| (i.id, i)).collect();
        (loaded, sets::states_of(conn, &admitted).await?)
    };
    let mut judged: Vec<(IntentId, Judgement, Option<i64>)> = Vec::new();
    let mut audit_rows: Vec<(String, String, serde_json::Value)> = Vec::new();
    let (mut moves, mut due, mut one_by_one) = (Vec::new(), Vec::new(), Vec::new());
    for &id in &admitted {
        let facts = &facts[&id];
        let Some((intent, plan)) = loaded.get(&id).and_then(|i| Some((i, i.plan.as_ref()?))) else {
            one_by_one.push(id);
            continue;
        };
        let judgement = policy.judge(plan, facts);
        let reaches = facts.iter().any(|f| !f.reach().0.is_empty());
        if judgement.mode == Mode::ApproveBefore || reaches || intent.state != IntentState::Planned {
            one_by_one.push(id);
            continue;
        }
        let window = (judgement.mode == Mode::ReviewAfter)
            .then_some((policy.level(judgement.risk).review_window_secs * 1000) as i64);
        let steps = states.get(&id).map_or(&[][..], Vec::as_slice);
        let t = match intent_machine::decide(
            intent.state,
            IntentEvent::Admit,
            Standing { steps, review_window_ms: window },
        ) {
            Ok(t) if t.to != intent.state && t.actions.iter().all(|a| matches!(a, Action::RunStep(_))) => t,
            _ => {
                one_by_one.push(id);
                continue;
            }
        };
        let detail = judged_detail(&judgement, judgement.mode, &judgement.rule, policy);
        audit_rows.push(("intent.judged".into(), id.to_string(), detail.clone()));
        audit_rows.push(("intent.state".into(), id.to_string(), intents::state_detail(intent.state, t.to, detail)));
        tracing::debug!(intent_id = %id, risk = %judgement.risk, mode = judgement.mode.as_str(), from = %intent.state, to = %t.to, "intent admitted");
        moves.push((id, intent.state, t.to));
        due.extend(t.actions.iter().filter_map(|a| match a {
            Action::RunStep(seq) => Some((id, *seq)),
            _ => None,
        }));
        judged.push((id, judgement, window));
    }
    for id in one_by_one {
        admit(conn, id, policy, &facts[&id], assisted, now).await?;
    }
    let rows: Vec<(IntentId, Judged<'_>)> = judged
        .iter()
        .map(|(id, j, window)| {
            let judged = Judged {
                risk: j.risk,
                rule: &j.rule,
                mode: j.mode.as_str(),
                policy_version: &policy.version,
                requires_approval: false,
                review_window_ms: *window,
            };
            (*id, judged)
        })
        .collect();
    sets::record_judgements(conn, &rows).await?;
    sets::transition_many(conn, &moves, now).await?;
    sets::schedule_many(conn, &due, now).await?;
    apply::append_own(conn, &audit_rows, now).await
}

/// An `intent.judged` audit row's detail.
fn judged_detail(judgement: &Judgement, mode: Mode, rule: &str, policy: &Policy) -> serde_json::Value {
    json!({"risk": judgement.risk, "mode": mode.as_str(), "rule": rule, "policy_version": policy.version})
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
    let detail = judged_detail(&judgement, mode, &rule, policy);
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
