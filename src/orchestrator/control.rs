//! The operator's controls over an intent: cancel and retry. Both are
//! state-machine events applied in one transaction, with an audit row.

use serde_json::json;

use super::apply;
use super::intent_machine::IntentEvent;
use super::step_machine::{self, StepEvent};
use crate::domain::{IntentId, IntentState, StepState};
use crate::store::steps::{self, StepWrite};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("intent {0} not found")]
    NotFound(IntentId),
    /// The intent's state does not allow it; the message says why.
    #[error("intent {id} is {state}: {why}")]
    Refused { id: IntentId, state: IntentState, why: &'static str },
    #[error(transparent)]
    Store(#[from] StoreError),
}

async fn state_of(store: &Store, id: IntentId) -> Result<IntentState, ControlError> {
    let mut conn = store.reader().acquire().await.map_err(StoreError::from)?;
    match steps::intent_state(&mut conn, id).await {
        Ok(s) => Ok(s),
        Err(StoreError::NotFound(_)) => Err(ControlError::NotFound(id)),
        Err(e) => Err(e.into()),
    }
}

/// Cancels an intent. One that has not started simply stops; a running one
/// undoes what already ran, in reverse order.
pub async fn cancel(store: &Store, id: IntentId, actor: &str) -> Result<IntentState, ControlError> {
    let state = state_of(store, id).await?;
    if state.is_terminal() || state == IntentState::Compensating {
        return Err(ControlError::Refused { id, state, why: "there is nothing left to cancel" });
    }
    let mut tx = store.begin().await?;
    apply::intent_event(&mut tx, id, IntentEvent::Cancel, store.now(), actor, json!("cancelled by the operator"))
        .await?;
    let after = steps::intent_state(&mut tx, id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(after)
}

/// Retries an intent that failed or needs attention: failed and unknown
/// steps run again with their same idempotency keys, or an undo that failed
/// is tried again.
pub async fn retry(store: &Store, id: IntentId, actor: &str) -> Result<IntentState, ControlError> {
    let state = state_of(store, id).await?;
    if !matches!(state, IntentState::NeedsAttention | IntentState::Failed) {
        return Err(ControlError::Refused {
            id,
            state,
            why: "only a failed intent or one that needs attention can be retried",
        });
    }
    let now = store.now();
    let mut tx = store.begin().await?;
    let states = steps::states(&mut tx, id).await?;
    if states.is_empty() {
        return Err(ControlError::Refused {
            id,
            state,
            why: "nothing was planned for it, so nothing can run again: ask anew, or cancel it",
        });
    }
    if states.contains(&StepState::NotUndone) {
        return Err(ControlError::Refused {
            id,
            state,
            why: "a step of it could not be undone and stands; running it again would repeat it: reverse it by hand, then cancel it",
        });
    }
    for (seq, s) in states.iter().enumerate() {
        if let Ok(t) = step_machine::transition(*s, StepEvent::Reset) {
            let w = StepWrite { state: t.to, next_attempt_at: None, result: None, error: None, reset_attempts: true };
            steps::write(&mut tx, id, seq as u32, &w).await?;
        }
        if *s == StepState::Compensating {
            let w = StepWrite {
                state: StepState::Compensating,
                next_attempt_at: Some(now),
                result: None,
                error: None,
                reset_attempts: true,
            };
            steps::write(&mut tx, id, seq as u32, &w).await?;
        }
    }
    apply::intent_event(&mut tx, id, IntentEvent::Retry, now, actor, json!("retried by the operator")).await?;
    let after = steps::intent_state(&mut tx, id).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(after)
}
