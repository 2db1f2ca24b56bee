//! The step state machine as a pure function, and the retry decision.

use std::time::Duration;

use crate::domain::{Millis, RetryPolicy, StepState};

use StepState as S;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepEvent {
    /// The runner claimed the step under a lease and is about to execute it.
    Claimed,
    Succeeded,
    /// It failed; `retry_in` is set when another attempt is allowed.
    Failed {
        retry_in: Option<Duration>,
    },
    /// The effect may or may not have happened, and reconcile cannot tell.
    Unknown,
    /// Its intent is unwinding: undo this completed step.
    Compensate,
    Compensated,
    /// Its adapter has no undo for it.
    NoUndo,
    /// Undoing it failed; `retry_in` is set when another attempt is allowed.
    /// Without one the step stays compensating, for the operator.
    CompensationFailed {
        retry_in: Option<Duration>,
    },
    /// The operator retries a failed or unknown step (same key).
    Reset,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a step in state {from} cannot take {event:?}")]
pub struct Illegal {
    pub from: StepState,
    pub event: StepEvent,
}

/// The new state, and when the step is next due (if it should run again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub to: StepState,
    pub retry_in: Option<Duration>,
}

pub fn transition(from: StepState, event: StepEvent) -> Result<Transition, Illegal> {
    use StepEvent as E;
    let to = |to| Ok(Transition { to, retry_in: None });
    match (from, event) {
        (S::Pending | S::RetryScheduled, E::Claimed) => to(S::Running),
        (S::Running, E::Succeeded) => to(S::Succeeded),
        (S::Running, E::Failed { retry_in: Some(d) }) => Ok(Transition { to: S::RetryScheduled, retry_in: Some(d) }),
        (S::Running, E::Failed { retry_in: None }) => to(S::Failed),
        (S::Running, E::Unknown) => to(S::Unknown),
        (S::Succeeded, E::Compensate) => to(S::Compensating),
        (S::Compensating, E::Compensated) => to(S::Compensated),
        (S::Compensating, E::NoUndo) => to(S::NotUndone),
        (S::Compensating, E::CompensationFailed { retry_in }) => Ok(Transition { to: S::Compensating, retry_in }),
        (S::Failed | S::Unknown, E::Reset) => to(S::Pending),
        // A step that was scheduled but never ran has nothing to undo.
        (S::Pending | S::RetryScheduled, E::Failed { retry_in: None }) => to(S::Failed),
        _ => Err(Illegal { from, event }),
    }
}

/// Whether a failed attempt gets another try, and after how long: only if
/// the error is retryable, the policy allows another attempt, and the retry
/// would start before the step's deadline.
pub fn retry_after(
    policy: &RetryPolicy,
    attempts: u32,
    retryable: bool,
    asked: Option<Duration>,
    deadline: Option<Millis>,
    now: Millis,
    unit: f64,
) -> Option<Duration> {
    if !retryable || !policy.allows_another(attempts) {
        return None;
    }
    let wait = match asked {
        Some(asked) => policy.backoff_at_least(attempts, unit, asked),
        None => policy.backoff(attempts, unit),
    };
    match deadline {
        Some(deadline) if now + wait.as_millis() as i64 >= deadline => None,
        _ => Some(wait),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StepEvent as E;

    #[test]
    fn the_happy_path_and_compensation() {
        assert_eq!(transition(S::Pending, E::Claimed).unwrap().to, S::Running);
        assert_eq!(transition(S::Running, E::Succeeded).unwrap().to, S::Succeeded);
        assert_eq!(transition(S::Succeeded, E::Compensate).unwrap().to, S::Compensating);
        assert_eq!(transition(S::Compensating, E::Compensated).unwrap().to, S::Compensated);
        let d = Duration::from_millis(5);
        assert_eq!(
            transition(S::Compensating, E::CompensationFailed { retry_in: Some(d) }).unwrap(),
            Transition { to: S::Compensating, retry_in: Some(d) },
            "a failed undo is tried again"
        );
        assert_eq!(
            transition(S::Compensating, E::CompensationFailed { retry_in: None }).unwrap(),
            Transition { to: S::Compensating, retry_in: None },
            "and then left for the operator, still to undo"
        );
    }

    #[test]
    fn failures_retry_or_end() {
        let d = Duration::from_millis(5);
        assert_eq!(
            transition(S::Running, E::Failed { retry_in: Some(d) }).unwrap(),
            Transition { to: S::RetryScheduled, retry_in: Some(d) }
        );
        assert_eq!(transition(S::RetryScheduled, E::Claimed).unwrap().to, S::Running);
        assert_eq!(transition(S::Running, E::Failed { retry_in: None }).unwrap().to, S::Failed);
        assert_eq!(transition(S::Running, E::Unknown).unwrap().to, S::Unknown);
        assert_eq!(transition(S::Unknown, E::Reset).unwrap().to, S::Pending);
        assert_eq!(transition(S::Failed, E::Reset).unwrap().to, S::Pending);
    }

    #[test]
    fn every_other_pair_is_refused() {
        let events = [
            E::Claimed,
            E::Succeeded,
            E::Failed { retry_in: None },
            E::Failed { retry_in: Some(Duration::ZERO) },
            E::Unknown,
            E::Compensate,
            E::Compensated,
            E::NoUndo,
            E::CompensationFailed { retry_in: None },
            E::CompensationFailed { retry_in: Some(Duration::ZERO) },
            E::Reset,
        ];
        let mut legal = 0;
        for from in StepState::ALL {
            for event in events {
                match transition(from, event) {
                    Ok(_) => legal += 1,
                    Err(e) => assert_eq!(e, Illegal { from, event }),
                }
            }
        }
        assert_eq!(legal, 15);
        // Nothing ever leaves `compensated` or `not_undone`, and a succeeded
        // step never runs again.
        for event in events {
            assert!(transition(S::Compensated, event).is_err());
            assert!(transition(S::NotUndone, event).is_err());
            assert!(transition(S::Succeeded, event).map_or(true, |t| t.to == S::Compensating));
        }
    }

    #[test]
    fn retries_respect_retryability_attempts_and_deadline() {
        let p = RetryPolicy { initial_ms: 100, multiplier: 2.0, max_ms: 1_000, max_attempts: 3 };
        assert_eq!(retry_after(&p, 1, false, None, None, 0, 0.5), None, "a permanent error is final");
        assert_eq!(retry_after(&p, 3, true, None, None, 0, 0.5), None, "attempts exhausted");
        assert_eq!(retry_after(&p, 1, true, None, None, 0, 0.5), Some(Duration::from_millis(50)));
        let asked = Some(Duration::from_secs(2));
        assert_eq!(
            retry_after(&p, 1, true, asked, None, 0, 0.5),
            Some(Duration::from_secs(2)),
            "Retry-After is honoured"
        );
        assert_eq!(retry_after(&p, 1, true, asked, Some(1_000), 0, 0.5), None, "it would start after the deadline");
    }
}
