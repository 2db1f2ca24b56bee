//! A step: one adapter action of an intent, executed at most once in effect.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{IntentId, InvalidInput, Millis, PlannedStep};

/// The key that makes a step's external effect idempotent. It is derived from
/// (intent id, step seq) and nothing else, so every retry and every restart of
/// the same step presents the same key to the outside world (invariant 2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn for_step(intent: IntentId, seq: u32) -> Self {
        Self(format!("steward-{intent}-{seq}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Pending,
    Running,
    RetryScheduled,
    Succeeded,
    Failed,
    /// The effect may or may not have happened; the operator decides.
    Unknown,
    Compensating,
    Compensated,
    /// Its intent unwound, but its adapter has no undo for it: the effect
    /// stands, and the operator reverses it by hand. Never "compensated".
    NotUndone,
}

impl StepState {
    pub const ALL: [StepState; 9] = [
        Self::Pending,
        Self::Running,
        Self::RetryScheduled,
        Self::Succeeded,
        Self::Failed,
        Self::Unknown,
        Self::Compensating,
        Self::Compensated,
        Self::NotUndone,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::RetryScheduled => "retry_scheduled",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Unknown => "unknown",
            Self::Compensating => "compensating",
            Self::Compensated => "compensated",
            Self::NotUndone => "not_undone",
        }
    }
}

impl fmt::Display for StepState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for StepState {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| InvalidInput::new("step.state", format!("unknown step state `{s}`")))
    }
}

/// A step as stored. The idempotency key is not a free field: it is computed
/// from the intent id and the sequence number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub intent_id: IntentId,
    pub seq: u32,
    #[serde(flatten)]
    pub planned: PlannedStep,
    pub state: StepState,
    pub attempts: u32,
    pub next_attempt_at: Option<Millis>,
    pub lease_until: Option<Millis>,
    pub result: Option<serde_json::Value>,
    pub error: Option<String>,
}

impl Step {
    pub fn pending(intent_id: IntentId, seq: u32, planned: PlannedStep) -> Self {
        Self {
            intent_id,
            seq,
            planned,
            state: StepState::Pending,
            attempts: 0,
            next_attempt_at: None,
            lease_until: None,
            result: None,
            error: None,
        }
    }

    pub fn idempotency_key(&self) -> IdempotencyKey {
        IdempotencyKey::for_step(self.intent_id, self.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_depends_only_on_intent_and_seq() {
        let intent = IntentId::new();
        let planned = PlannedStep::parse("note", "write", serde_json::json!({})).unwrap();
        let mut a = Step::pending(intent, 2, planned.clone());
        let b = Step::pending(intent, 2, planned.clone());
        a.attempts = 7;
        a.state = StepState::RetryScheduled;
        assert_eq!(a.idempotency_key(), b.idempotency_key());
        assert_ne!(a.idempotency_key(), Step::pending(intent, 1, planned.clone()).idempotency_key());
        assert_ne!(a.idempotency_key(), Step::pending(IntentId::new(), 2, planned).idempotency_key());
    }

    #[test]
    fn step_states_round_trip() {
        for st in StepState::ALL {
            assert_eq!(st.as_str().parse::<StepState>().unwrap(), st);
        }
        assert!("done".parse::<StepState>().is_err());
    }
}
