//! Running one claimed step, or its undo, through its adapter, and saying
//! how it ended. An ambiguous failure is reconciled at once, so an effect
//! is never blindly repeated; an undo the adapter does not have is said so.

use serde_json::json;
use tracing::Instrument;

use super::apply::StepEnd;
use crate::adapters::{AdapterError, Catalog, Reconciled};
use crate::domain::{Millis, StepState};
use crate::store::steps::Claimed;

/// What the operator must reverse by hand for a step with no undo: the
/// action and every address it reached.
fn by_hand(c: &Claimed) -> String {
    let reached: Vec<String> =
        crate::adapters::destinations_of(&c.planned).into_iter().map(|d| format!("{} {}", d.arg, d.value)).collect();
    let reached = if reached.is_empty() { String::new() } else { format!(" ({})", reached.join(", ")) };
    format!(
        "step {} ({}.{}{reached}) has no undo and was not undone: reverse it by hand, then cancel the intent to close it",
        c.seq + 1,
        c.planned.adapter.as_str(),
        c.planned.action.as_str()
    )
}

/// Runs one claimed step (or its undo) and says how it ended. An ambiguous
/// failure is reconciled at once: the effect is never blindly repeated.
/// `now` is when it was handed out: past its deadline, it does not run.
pub(super) async fn execute(catalog: &Catalog, c: &Claimed, now: Millis) -> StepEnd {
    let Some((adapter, _)) = catalog.get(c.planned.adapter.as_str()) else {
        let err = AdapterError::Permanent(format!("adapter `{}` is not configured", c.planned.adapter.as_str()));
        return if c.state == StepState::Compensating {
            StepEnd::CompensationFailed(err)
        } else {
            StepEnd::Failed(err)
        };
    };
    let key = crate::domain::IdempotencyKey::for_step(c.intent_id, c.seq);
    let action = c.planned.action.as_str();
    if c.state == StepState::Compensating {
        return match adapter.compensate(&key, action, &c.planned.args, c.result.as_ref(), &c.reach).await {
            Ok(v) if v["compensation"] == "none" => StepEnd::NotUndone(by_hand(c)),
            Ok(v) => StepEnd::Compensated(v),
            Err(e) => StepEnd::CompensationFailed(e),
        };
    }
    if c.deadline.is_some_and(|d| now >= d) {
        return StepEnd::Failed(AdapterError::Permanent("the step's deadline passed before it could run".into()));
    }
    let span = tracing::info_span!("step", intent_id = %c.intent_id, step = c.seq, attempt = c.attempts);
    let run = async {
        match adapter.execute(&key, action, &c.planned.args, &c.reach).await {
            Ok(v) => StepEnd::Succeeded(v),
            Err(AdapterError::Ambiguous(why)) => match adapter.reconcile(&key, action, &c.planned.args, &c.reach).await
            {
                Reconciled::Happened(v) => StepEnd::Succeeded(json!({"reconciled": v})),
                Reconciled::NotHappened => {
                    StepEnd::Failed(AdapterError::Transient(format!("{why}; reconcile says it did not happen")))
                }
                Reconciled::CannotTell(more) => StepEnd::Unknown(format!("{why}; reconcile cannot tell: {more}")),
            },
            Err(e) => StepEnd::Failed(e),
        }
    };
    run.instrument(span).await
}
