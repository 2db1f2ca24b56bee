//! Performing what the state machines decide, inside the caller's
//! transaction: step writes, intent transitions with their audit rows, and
//! every action that follows. What a transition stands on is read before it
//! is decided; after, this file only performs: it decides nothing itself.

use serde_json::{Value, json};
use sqlx::SqliteConnection;

use super::intent_machine::{self, Action, IntentEvent, Standing};
use super::requests;
use super::step_machine::{self, StepEvent};
use crate::adapters::AdapterError;
use crate::domain::{IntentId, IntentState, Millis, Notice, Outbound, RetryPolicy, StepState};
use crate::store::audit::{self, Entry};
use crate::store::steps::{self, Claimed, StepWrite};
use crate::store::{StoreError, approvals, intents, memory, outbox};

/// Who the orchestrator's own audit rows name.
pub const ACTOR: &str = "orchestrator";

/// How one claimed step ended.
#[derive(Debug, Clone)]
pub enum StepEnd {
    Succeeded(Value),
    Failed(AdapterError),
    /// Sent, no answer, and reconcile could not tell.
    Unknown(String),
    Compensated(Value),
    /// Its adapter has no undo for it: the effect stands. Says what to
    /// reverse by hand.
    NotUndone(String),
    CompensationFailed(AdapterError),
}

impl StepEnd {
    /// The outcome's name, as metrics label it.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Succeeded(_) => "succeeded",
            Self::Failed(e) if e.is_retryable() => "retryable",
            Self::Failed(_) => "failed",
            Self::Unknown(_) => "unknown",
            Self::Compensated(_) => "compensated",
            Self::NotUndone(_) => "not_undone",
            Self::CompensationFailed(_) => "compensation_failed",
        }
    }
}

/// Applies `event` to an intent if its state allows it. Returns whether the
/// intent moved. A refused event is logged, not an error: the intent has
/// moved on (say, cancelled while a step was in flight).
#[tracing::instrument(name = "intent", skip(conn, id, why), fields(intent_id = %id))]
pub async fn intent_event(
    conn: &mut SqliteConnection,
    id: IntentId,
    event: IntentEvent,
    now: Millis,
    actor: &str,
    why: Value,
) -> Result<bool, StoreError> {
    let (from, review_window_ms) = intents::standing(conn, id).await?;
    let states = steps::states(conn, id).await?;
    let transition = match intent_machine::decide(from, event, Standing { steps: &states, review_window_ms }) {
        Ok(t) => t,
        Err(refused) => {
            tracing::debug!(intent_id = %id, %refused, "event not applied");
            return Ok(false);
        }
    };
    if transition.to != from && !intents::transition(conn, id, from, transition.to, now, actor, why.clone()).await? {
        return Ok(false);
    }
    tracing::debug!(%from, to = %transition.to, actions = ?transition.actions, "intent moved");
    for action in transition.actions {
        match action {
            Action::DisarmTimers => steps::disarm(conn, id).await?,
            Action::CloseApprovals { state, reason } => {
                for a in approvals::pending_for(conn, id).await? {
                    approvals::close(conn, &a.id, state, reason, now).await?;
                }
            }
            Action::RecordOutcome(state) => {
                let intent = intents::load(conn, id).await?;
                memory::record(conn, &memory::outcome(&intent, state, now)).await?;
            }
            Action::OpenReview { window_ms } => requests::open_review(conn, id, window_ms, now).await?,
            Action::RunStep(seq) => steps::schedule(conn, id, seq, StepState::Pending, now).await?,
            Action::CompensateStep(seq) => {
                let to = step_machine::transition(StepState::Succeeded, StepEvent::Compensate)
                    .map_err(|e| StoreError::corrupt("steps", e))?
                    .to;
                let w = StepWrite {
                    state: to,
                    next_attempt_at: Some(now),
                    result: None,
                    error: None,
                    reset_attempts: true,
                };
                steps::write(conn, id, seq, &w).await?;
            }
            Action::NotifyOperator => {
                let why = why.as_str().map_or_else(|| why.to_string(), str::to_owned);
                let notice = Outbound::Notice(Notice::NeedsAttention { intent_id: id.to_string(), why });
                outbox::enqueue(conn, "operator", &notice, None, now).await?;
            }
        }
    }
    Ok(true)
}

/// The orchestrator's own audit rows of a batch, (action, subject,
/// detail) each, appended at `now` in one insert, hashed in this order.
pub(super) async fn append_own(
    conn: &mut SqliteConnection,
    rows: &[(String, String, Value)],
    now: Millis,
) -> Result<(), StoreError> {
    let entries: Vec<(Millis, Entry<'_>)> = rows
        .iter()
        .map(|(action, subject, detail)| {
            (now, Entry { actor: ACTOR, action, subject: Some(subject), detail: detail.clone() })
        })
        .collect();
    audit::append_many(conn, &entries).await
}

/// A step outcome's audit row: its action and detail.
pub(super) fn step_audit(outcome: &str, c: &Claimed, detail: Value) -> (String, Value) {
    let mut d = json!({"seq": c.seq, "attempt": c.attempts, "adapter": c.planned.adapter.as_str(), "action": c.planned.action.as_str()});
    if let (Some(obj), Value::Object(extra)) = (d.as_object_mut(), detail) {
        obj.extend(extra);
    }
    (format!("step.{outcome}"), d)
}

/// Records a claimed step's outcome and moves its intent accordingly.
#[tracing::instrument(name = "outcome", skip_all, fields(intent_id = %c.intent_id, step = c.seq, attempt = c.attempts))]
pub async fn outcome(
    conn: &mut SqliteConnection,
    c: &Claimed,
    outcome: StepEnd,
    retry: &RetryPolicy,
    now: Millis,
) -> Result<(), StoreError> {
    let illegal = |e: step_machine::Illegal| StoreError::corrupt("steps", e);
    let (name, detail, write, event) = match &outcome {
        StepEnd::Succeeded(result) => {
            let to = step_machine::transition(StepState::Running, StepEvent::Succeeded).map_err(illegal)?.to;
            (
                "succeeded",
                json!({}),
                StepWrite {
                    state: to,
                    next_attempt_at: None,
                    result: Some(result),
                    error: None,
                    reset_attempts: false,
                },
                Some(IntentEvent::StepSucceeded),
            )
        }
        StepEnd::Failed(err) => {
            let unit: f64 = rand::random();
            // An intent that is no longer running (cancelled or past its
            // deadline while this attempt was in flight) does not retry: the
            // failure is final and lets its unwinding go on.
            let running = steps::intent_state(conn, c.intent_id).await? == IntentState::Running;
            let retryable = running && err.is_retryable();
            let retry_in =
                step_machine::retry_after(retry, c.attempts, retryable, err.retry_after(), c.deadline, now, unit);
            let t = step_machine::transition(StepState::Running, StepEvent::Failed { retry_in }).map_err(illegal)?;
            let next = t.retry_in.map(|d| now + d.as_millis() as i64);
            let (name, event) =
                if next.is_some() { ("retry", None) } else { ("failed", Some(IntentEvent::StepFailed)) };
            let detail = json!({"error": err.to_string(), "retry_in_ms": t.retry_in.map(|d| d.as_millis() as u64)});
            (
                name,
                detail,
                StepWrite { state: t.to, next_attempt_at: next, result: None, error: None, reset_attempts: false },
                event,
            )
        }
        StepEnd::Unknown(why) => {
            let to = step_machine::transition(StepState::Running, StepEvent::Unknown).map_err(illegal)?.to;
            (
                "unknown",
                json!({"error": why}),
                StepWrite { state: to, next_attempt_at: None, result: None, error: None, reset_attempts: false },
                Some(IntentEvent::StepUnknown),
            )
        }
        StepEnd::Compensated(result) => {
            let to = step_machine::transition(StepState::Compensating, StepEvent::Compensated).map_err(illegal)?.to;
            (
                "compensated",
                json!({"compensation": result}),
                StepWrite { state: to, next_attempt_at: None, result: None, error: None, reset_attempts: false },
                Some(IntentEvent::StepCompensated),
            )
        }
        StepEnd::NotUndone(what) => {
            let to = step_machine::transition(StepState::Compensating, StepEvent::NoUndo).map_err(illegal)?.to;
            (
                "not_undone",
                json!({"error": what}),
                StepWrite { state: to, next_attempt_at: None, result: None, error: None, reset_attempts: false },
                Some(IntentEvent::StepCompensated),
            )
        }
        StepEnd::CompensationFailed(err) => {
            let unit: f64 = rand::random();
            let retry_in =
                step_machine::retry_after(retry, c.attempts, err.is_retryable(), err.retry_after(), None, now, unit);
            let t = step_machine::transition(StepState::Compensating, StepEvent::CompensationFailed { retry_in })
                .map_err(illegal)?;
            let next = t.retry_in.map(|d| now + d.as_millis() as i64);
            let event = if next.is_some() { None } else { Some(IntentEvent::CompensationFailed) };
            let name = if next.is_some() { "compensation_retry" } else { "compensation_failed" };
            (
                name,
                json!({"error": err.to_string()}),
                StepWrite { state: t.to, next_attempt_at: next, result: None, error: None, reset_attempts: false },
                event,
            )
        }
    };
    let error_text = detail.get("error").and_then(Value::as_str).map(str::to_owned);
    let write = StepWrite { error: error_text.as_deref(), ..write };
    steps::write(conn, c.intent_id, c.seq, &write).await?;
    tracing::debug!(outcome = name, error = ?write.error, "step outcome recorded");
    let (action, detail) = step_audit(name, c, detail);
    let subject = c.intent_id.to_string();
    audit::append(conn, now, &Entry { actor: ACTOR, action: &action, subject: Some(&subject), detail: detail.clone() })
        .await?;
    if let Some(event) = event {
        intent_event(conn, c.intent_id, event, now, ACTOR, detail).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Intent, IntentText, Plan, PlannedStep, Provenance};
    use crate::store::Store;

    /// Cancelling while a step is in flight, then that attempt failing with a
    /// retryable error: the step must end and the undo of what ran must start
    /// (a retry would leave the intent compensating forever).
    #[tokio::test]
    async fn a_retryable_failure_after_cancel_ends_the_step_and_unwinds() {
        let store = Store::in_memory().await.unwrap();
        let step = PlannedStep::parse("note", "write", json!({"text": "x"})).unwrap();
        let plan = Plan::new(vec![step.clone(), step]).unwrap();
        let intent =
            Intent::new(IntentText::parse("two notes").unwrap(), Provenance::operator("cli", "me"), Some(plan), 1);
        let id = intent.id;
        intents::create(&store, intent, None).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        intent_event(&mut tx, id, IntentEvent::Admit, 2, ACTOR, json!(null)).await.unwrap();
        let first = steps::claim_due(&mut tx, 3, 1_000, 10).await.unwrap().remove(0);
        outcome(&mut tx, &first, StepEnd::Succeeded(json!({})), &RetryPolicy::default(), 4).await.unwrap();
        let second = steps::claim_due(&mut tx, 5, 1_000, 10).await.unwrap().remove(0);
        assert_eq!(second.seq, 1);
        intent_event(&mut tx, id, IntentEvent::Cancel, 6, "me", json!(null)).await.unwrap();
        let failed = StepEnd::Failed(AdapterError::Transient("503".into()));
        outcome(&mut tx, &second, failed, &RetryPolicy::default(), 7).await.unwrap();
        assert_eq!(steps::states(&mut tx, id).await.unwrap(), [StepState::Compensating, StepState::Failed]);
        assert_eq!(steps::intent_state(&mut tx, id).await.unwrap(), IntentState::Compensating);
        assert_eq!(steps::claim_due(&mut tx, 8, 1_000, 10).await.unwrap()[0].seq, 0, "the undo of step 0 is due");
    }
}

#[cfg(test)]
mod timer_tests {
    use super::*;
    use crate::domain::{Intent, IntentText, Plan, PlannedStep, Provenance};
    use crate::store::Store;

    /// A step waiting to retry when its intent is cancelled must not leave a
    /// past-due timer behind: the runner would wake for it forever.
    #[tokio::test]
    async fn unwinding_an_intent_disarms_its_waiting_steps() {
        let store = Store::in_memory().await.unwrap();
        let step = PlannedStep::parse("note", "write", json!({"text": "x"})).unwrap();
        let intent = Intent::new(
            IntentText::parse("one note").unwrap(),
            Provenance::operator("cli", "me"),
            Some(Plan::new(vec![step]).unwrap()),
            1,
        );
        let id = intent.id;
        intents::create(&store, intent, None).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        intent_event(&mut tx, id, IntentEvent::Admit, 2, ACTOR, json!(null)).await.unwrap();
        let claimed = steps::claim_due(&mut tx, 3, 1_000, 10).await.unwrap().remove(0);
        let failed = StepEnd::Failed(AdapterError::Transient("503".into()));
        outcome(&mut tx, &claimed, failed, &RetryPolicy::default(), 4).await.unwrap();
        assert_eq!(steps::states(&mut tx, id).await.unwrap(), [StepState::RetryScheduled]);
        intent_event(&mut tx, id, IntentEvent::Cancel, 5, "me", json!(null)).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(steps::next_timer(store.reader()).await.unwrap(), None, "no timer is left armed");
    }
}
