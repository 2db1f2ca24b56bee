//! The intent state machine as a pure function:
//! `(state, event, what it stands on) -> (new state, actions)`. No I/O;
//! `apply` performs the actions, every one of them: the machine decides
//! every effect of a transition, down to the timers it disarms. Refused
//! transitions are errors, never guesses.

use crate::domain::{ApprovalState, IntentState, StepState};

use IntentState as S;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentEvent {
    /// A planned intent is let in to run (policy said auto, or it was approved).
    Admit,
    /// The intent needs the operator's approval first.
    RequireApproval,
    /// The operator approved, or rejected.
    Approved,
    Rejected,
    /// A step's outcome was recorded (the step states passed in include it).
    StepSucceeded,
    StepFailed,
    StepUnknown,
    StepCompensated,
    CompensationFailed,
    /// The operator cancelled.
    Cancel,
    /// The intent's deadline passed (or its approval expired).
    DeadlinePassed,
    /// The operator asked to try again after a failure or an unknown outcome.
    Retry,
    /// A review of a succeeded intent asked to undo it.
    Undo,
    /// Reasoning could not plan the request (no model, budget spent, an
    /// invalid plan after repair): the operator takes it from here.
    Escalate,
}

/// What must be done after a transition, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Make step `seq` due now.
    RunStep(u32),
    /// Start compensating step `seq`, which had succeeded.
    CompensateStep(u32),
    /// Tell the operator (through the outbox) that the intent needs them.
    NotifyOperator,
    /// Steps that never ran will not run now: drop their timers, so a
    /// past-due retry of an unwound intent cannot keep waking the runner.
    DisarmTimers,
    /// Whatever still waits for a decision on the intent is moot: close it.
    CloseApprovals { state: ApprovalState, reason: &'static str },
    /// Keep how the intent ended in memory.
    RecordOutcome(IntentState),
    /// It ran and was judged review-after: open its review, with undo
    /// possible for `window_ms`.
    OpenReview { window_ms: i64 },
}

/// What a transition stands on besides the intent's state, read before it
/// is decided.
#[derive(Debug, Clone, Copy)]
pub struct Standing<'a> {
    pub steps: &'a [StepState],
    /// The review window of an intent judged review-after.
    pub review_window_ms: Option<i64>,
}

/// The whole transition: the new state, and every effect it has.
pub fn decide(from: IntentState, event: IntentEvent, on: Standing<'_>) -> Result<Transition, Illegal> {
    let t = transition(from, event, on.steps)?;
    let moved = t.to != from;
    let mut actions = Vec::new();
    if moved && (t.to.is_terminal() || t.to == S::Compensating) {
        actions.push(Action::DisarmTimers);
    }
    if from == S::AwaitingApproval && t.to != S::Running {
        actions.push(match event {
            IntentEvent::DeadlinePassed => {
                Action::CloseApprovals { state: ApprovalState::Expired, reason: "the intent's deadline passed" }
            }
            _ => Action::CloseApprovals { state: ApprovalState::Superseded, reason: "the intent was cancelled" },
        });
    }
    if moved && t.to.is_terminal() {
        actions.push(Action::RecordOutcome(t.to));
    }
    if let (true, S::Succeeded, Some(window_ms)) = (moved, t.to, on.review_window_ms) {
        actions.push(Action::OpenReview { window_ms });
    }
    actions.extend(t.actions);
    Ok(Transition { to: t.to, actions })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub to: IntentState,
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an intent in state {from} cannot take {event:?}")]
pub struct Illegal {
    pub from: IntentState,
    pub event: IntentEvent,
}

fn go(to: IntentState, actions: Vec<Action>) -> Result<Transition, Illegal> {
    Ok(Transition { to, actions })
}

/// The first step that has not succeeded, unless a step is in flight.
fn next_to_run(steps: &[StepState]) -> Option<u32> {
    if steps.contains(&StepState::Running) {
        return None;
    }
    steps.iter().position(|s| *s != StepState::Succeeded).map(|i| i as u32)
}

/// The latest step that still needs undoing (succeeded, or compensation
/// under way), unless a step is in flight: compensation runs in reverse
/// order, one step at a time.
fn next_to_compensate(steps: &[StepState]) -> Option<u32> {
    if steps.contains(&StepState::Running) {
        return None;
    }
    steps.iter().rposition(|s| matches!(s, StepState::Succeeded | StepState::Compensating)).map(|i| i as u32)
}

/// Undo what ran: compensate the latest completed step, or, with nothing
/// left to undo and nothing in flight, end in `done`. A step that could not
/// be undone makes it end in `needs_attention` instead, so the operator
/// reverses it by hand; only the operator's own cancel then ends it.
fn unwind(steps: &[StepState], done: IntentState) -> Result<Transition, Illegal> {
    match next_to_compensate(steps) {
        Some(seq) if steps[seq as usize] == StepState::Succeeded => {
            go(S::Compensating, vec![Action::CompensateStep(seq)])
        }
        Some(_) => go(S::Compensating, vec![]),
        None if steps.contains(&StepState::Running) => go(S::Compensating, vec![]),
        None if steps.contains(&StepState::NotUndone) && done != S::Cancelled => {
            go(S::NeedsAttention, vec![Action::NotifyOperator])
        }
        None => go(done, vec![]),
    }
}

fn anything_done(steps: &[StepState]) -> bool {
    steps.iter().any(|s| {
        matches!(s, StepState::Succeeded | StepState::Compensating | StepState::Compensated | StepState::Running)
    })
}

pub fn transition(from: IntentState, event: IntentEvent, steps: &[StepState]) -> Result<Transition, Illegal> {
    use IntentEvent as E;
    let illegal = Err(Illegal { from, event });
    match (from, event) {
        (S::Received, E::Cancel) | (S::Planned, E::Cancel) | (S::AwaitingApproval, E::Cancel | E::Rejected) => {
            go(S::Cancelled, vec![])
        }
        (S::Received | S::Planned | S::AwaitingApproval, E::DeadlinePassed) => go(S::Expired, vec![]),
        (S::Received, E::Escalate) => go(S::NeedsAttention, vec![Action::NotifyOperator]),
        // Nothing was planned, so there is nothing to run again: the
        // operator asks anew or cancels.
        (S::NeedsAttention, E::Retry) if steps.is_empty() => illegal,
        // A step that could not be undone stands: running its intent again
        // would repeat it. The operator reverses it by hand, then cancels.
        (S::NeedsAttention | S::Failed, E::Retry) if steps.contains(&StepState::NotUndone) => illegal,
        (S::Planned, E::RequireApproval) => go(S::AwaitingApproval, vec![]),
        (S::Planned, E::Admit) | (S::AwaitingApproval, E::Approved) => match next_to_run(steps) {
            Some(seq) => go(S::Running, vec![Action::RunStep(seq)]),
            None => go(S::Succeeded, vec![]),
        },
        (S::Running, E::StepSucceeded) => match next_to_run(steps) {
            Some(seq) => go(S::Running, vec![Action::RunStep(seq)]),
            None if steps.iter().all(|s| *s == StepState::Succeeded) => go(S::Succeeded, vec![]),
            None => go(S::Running, vec![]),
        },
        (S::Running, E::StepFailed) => {
            if anything_done(steps) {
                unwind(steps, S::Compensated)
            } else {
                go(S::Failed, vec![])
            }
        }
        (S::Running | S::Compensating, E::StepUnknown) | (S::Compensating, E::CompensationFailed) => {
            go(S::NeedsAttention, vec![Action::NotifyOperator])
        }
        (S::Running, E::Cancel) => {
            if anything_done(steps) {
                unwind(steps, S::Compensated)
            } else {
                go(S::Cancelled, vec![])
            }
        }
        (S::Running, E::DeadlinePassed) => {
            if anything_done(steps) {
                unwind(steps, S::Compensated)
            } else {
                go(S::Expired, vec![])
            }
        }
        // An in-flight step finished after compensation began: undo it too.
        (S::Compensating, E::StepSucceeded | E::StepFailed | E::StepCompensated) => unwind(steps, S::Compensated),
        (S::NeedsAttention, E::Cancel) => unwind(steps, S::Cancelled),
        (S::Succeeded, E::Undo) => unwind(steps, S::Compensated),
        (S::NeedsAttention | S::Failed, E::Retry) => {
            if steps.contains(&StepState::Compensating) {
                unwind(steps, S::Compensated)
            } else {
                match next_to_run(steps) {
                    Some(seq) => go(S::Running, vec![Action::RunStep(seq)]),
                    None => go(S::Succeeded, vec![]),
                }
            }
        }
        _ => illegal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;
    use IntentEvent as E;
    use StepState::{
        Compensated as C, Compensating as Cg, Failed as F, NotUndone as N, Pending as P, Running as R,
        Succeeded as Ok_, Unknown as U,
    };

    fn t(from: IntentState, e: IntentEvent, steps: &[StepState]) -> (IntentState, Vec<Action>) {
        let tr = transition(from, e, steps).unwrap_or_else(|err| panic!("{err}"));
        (tr.to, tr.actions)
    }

    #[test]
    fn a_plan_runs_its_steps_in_order_to_success() {
        assert_eq!(t(S::Planned, E::Admit, &[P, P, P]), (S::Running, vec![RunStep(0)]));
        assert_eq!(t(S::Running, E::StepSucceeded, &[Ok_, P, P]), (S::Running, vec![RunStep(1)]));
        assert_eq!(t(S::Running, E::StepSucceeded, &[Ok_, Ok_, P]), (S::Running, vec![RunStep(2)]));
        assert_eq!(t(S::Running, E::StepSucceeded, &[Ok_, Ok_, Ok_]), (S::Succeeded, vec![]));
    }

    #[test]
    fn a_failure_compensates_completed_steps_in_reverse() {
        assert_eq!(t(S::Running, E::StepFailed, &[Ok_, Ok_, F]), (S::Compensating, vec![CompensateStep(1)]));
        assert_eq!(t(S::Compensating, E::StepCompensated, &[Ok_, C, F]), (S::Compensating, vec![CompensateStep(0)]));
        assert_eq!(t(S::Compensating, E::StepCompensated, &[C, C, F]), (S::Compensated, vec![]));
        assert_eq!(t(S::Running, E::StepFailed, &[F, P, P]), (S::Failed, vec![]), "nothing to undo");
    }

    #[test]
    fn a_step_that_could_not_be_undone_leaves_the_intent_to_the_operator() {
        // Unwinding goes on past it, then ends needing the operator, not
        // "compensated".
        assert_eq!(t(S::Compensating, E::StepCompensated, &[Ok_, N, F]), (S::Compensating, vec![CompensateStep(0)]));
        assert_eq!(t(S::Compensating, E::StepCompensated, &[C, N, F]), (S::NeedsAttention, vec![NotifyOperator]));
        assert!(transition(S::NeedsAttention, E::Retry, &[C, N, F]).is_err(), "retrying would repeat it");
        assert_eq!(t(S::NeedsAttention, E::Cancel, &[C, N, F]), (S::Cancelled, vec![]), "reversed by hand, closed");
        assert_eq!(t(S::Succeeded, E::Undo, &[C, N]).0, S::NeedsAttention);
    }

    #[test]
    fn unknown_outcomes_and_failed_compensations_need_the_operator() {
        assert_eq!(t(S::Running, E::StepUnknown, &[Ok_, U]), (S::NeedsAttention, vec![NotifyOperator]));
        assert_eq!(t(S::Compensating, E::CompensationFailed, &[Cg, F]), (S::NeedsAttention, vec![NotifyOperator]));
        assert_eq!(t(S::NeedsAttention, E::Retry, &[Ok_, P]), (S::Running, vec![RunStep(1)]));
        assert_eq!(t(S::NeedsAttention, E::Retry, &[Cg, F]), (S::Compensating, vec![]), "compensation resumes");
        assert_eq!(t(S::NeedsAttention, E::Cancel, &[Ok_, P]), (S::Compensating, vec![CompensateStep(0)]));
        assert_eq!(t(S::NeedsAttention, E::Cancel, &[P, P]), (S::Cancelled, vec![]));
    }

    #[test]
    fn cancelling_a_running_intent_waits_for_the_step_in_flight_then_undoes_it() {
        assert_eq!(t(S::Running, E::Cancel, &[Ok_, R, P]), (S::Compensating, vec![]));
        assert_eq!(t(S::Compensating, E::StepSucceeded, &[Ok_, Ok_, P]), (S::Compensating, vec![CompensateStep(1)]));
        assert_eq!(t(S::Compensating, E::StepFailed, &[Ok_, F, P]), (S::Compensating, vec![CompensateStep(0)]));
        assert_eq!(t(S::Running, E::Cancel, &[P, P]), (S::Cancelled, vec![]));
        assert_eq!(t(S::Running, E::Cancel, &[R, P]), (S::Compensating, vec![]));
        assert_eq!(t(S::Compensating, E::StepFailed, &[F, P]), (S::Compensated, vec![]));
    }

    #[test]
    fn deadlines_expire_waiting_intents_and_unwind_running_ones() {
        for from in [S::Received, S::Planned, S::AwaitingApproval] {
            assert_eq!(t(from, E::DeadlinePassed, &[P]), (S::Expired, vec![]));
        }
        assert_eq!(t(S::Running, E::DeadlinePassed, &[Ok_, P]), (S::Compensating, vec![CompensateStep(0)]));
        assert_eq!(t(S::Running, E::DeadlinePassed, &[P, P]), (S::Expired, vec![]));
    }

    #[test]
    fn a_review_can_undo_a_succeeded_intent() {
        assert_eq!(t(S::Succeeded, E::Undo, &[Ok_, Ok_]), (S::Compensating, vec![CompensateStep(1)]));
    }

    #[test]
    fn an_unplannable_request_goes_to_the_operator_and_cannot_be_retried() {
        assert_eq!(t(S::Received, E::Escalate, &[]), (S::NeedsAttention, vec![NotifyOperator]));
        assert!(transition(S::NeedsAttention, E::Retry, &[]).is_err(), "nothing planned, nothing to run");
        assert_eq!(t(S::NeedsAttention, E::Cancel, &[]), (S::Cancelled, vec![]));
    }

    #[test]
    fn approvals_gate_the_start() {
        assert_eq!(t(S::Planned, E::RequireApproval, &[P]), (S::AwaitingApproval, vec![]));
        assert_eq!(t(S::AwaitingApproval, E::Approved, &[P]), (S::Running, vec![RunStep(0)]));
        assert_eq!(t(S::AwaitingApproval, E::Rejected, &[P]), (S::Cancelled, vec![]));
    }

    #[test]
    fn every_other_pair_is_refused_and_terminal_states_take_nothing() {
        let events = [
            E::Admit,
            E::RequireApproval,
            E::Approved,
            E::Rejected,
            E::StepSucceeded,
            E::StepFailed,
            E::StepUnknown,
            E::StepCompensated,
            E::CompensationFailed,
            E::Cancel,
            E::DeadlinePassed,
            E::Retry,
            E::Undo,
            E::Escalate,
        ];
        let mut legal = 0;
        for from in IntentState::ALL {
            for event in events {
                match transition(from, event, &[P]) {
                    Ok(_) => {
                        legal += 1;
                        let reopen =
                            (from == S::Failed && event == E::Retry) || (from == S::Succeeded && event == E::Undo);
                        assert!(!from.is_terminal() || reopen, "{from} took {event:?}");
                    }
                    Err(e) => assert_eq!(e, Illegal { from, event }),
                }
            }
        }
        // The legal pairs listed in `transition`, counted once each.
        assert_eq!(legal, 25);
    }

    fn d(from: IntentState, e: IntentEvent, steps: &[StepState], review: Option<i64>) -> Vec<Action> {
        decide(from, e, Standing { steps, review_window_ms: review }).unwrap_or_else(|err| panic!("{err}")).actions
    }

    #[test]
    fn every_effect_of_a_transition_is_an_action() {
        // Running on: nothing but the next step.
        assert_eq!(d(S::Running, E::StepSucceeded, &[Ok_, P], None), [RunStep(1)]);
        // Done: remembered; judged review-after, its review opens.
        assert_eq!(d(S::Running, E::StepSucceeded, &[Ok_], None), [DisarmTimers, RecordOutcome(S::Succeeded)]);
        assert_eq!(
            d(S::Running, E::StepSucceeded, &[Ok_], Some(60_000)),
            [DisarmTimers, RecordOutcome(S::Succeeded), OpenReview { window_ms: 60_000 }]
        );
        // Unwinding: timers dropped before the undo starts.
        assert_eq!(d(S::Running, E::Cancel, &[Ok_, P], None), [DisarmTimers, CompensateStep(0)]);
        // A waiting approval is closed with the reason, whichever way the
        // intent left the wait.
        let expired = CloseApprovals { state: ApprovalState::Expired, reason: "the intent's deadline passed" };
        assert_eq!(
            d(S::AwaitingApproval, E::DeadlinePassed, &[P], None),
            [DisarmTimers, expired, RecordOutcome(S::Expired)]
        );
        let moot = CloseApprovals { state: ApprovalState::Superseded, reason: "the intent was cancelled" };
        assert_eq!(d(S::AwaitingApproval, E::Cancel, &[P], None), [DisarmTimers, moot, RecordOutcome(S::Cancelled)]);
        assert_eq!(d(S::AwaitingApproval, E::Approved, &[P], None), [RunStep(0)], "approved: nothing to close");
        // Needing the operator is not an end: nothing is recorded yet.
        assert_eq!(d(S::Running, E::StepUnknown, &[U], None), [NotifyOperator]);
    }
}
