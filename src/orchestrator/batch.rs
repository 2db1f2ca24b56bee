//! A batch of step outcomes applied as sets: what the pure machines need is
//! read once for the whole batch (one query per table), they decide every
//! outcome in memory, and the writes go out as one statement per kind
//! (step results, intent moves, timers, audit rows), instead of a dozen
//! row-level statements per outcome.
//!
//! The set path takes the common case: a step that succeeded, of an intent
//! with no other outcome in the batch, whose move needs nothing but more
//! steps run, timers disarmed and the outcome remembered. Everything else
//! (failures, undos, reviews, approvals to close, the operator to tell)
//! goes through [`apply::outcome`] one by one, first, in arrival order.
//! Both paths decide with the same machines, so they cannot disagree.

use std::collections::HashMap;

use serde_json::{Value, json};
use sqlx::SqliteConnection;

use super::apply::{self, StepEnd};
use super::intent_machine::{self, Action, IntentEvent, Standing};
use super::step_machine::{self, StepEvent};
use crate::domain::{IntentId, IntentState, Millis, RetryPolicy, StepState};
use crate::store::steps::Claimed;
use crate::store::{StoreError, intents, memory, sets};

/// One finished step: what was claimed, how it ended, and its adapter's
/// retry policy.
pub struct Finished<'a> {
    pub claimed: &'a Claimed,
    pub outcome: &'a StepEnd,
    pub retry: &'a RetryPolicy,
}

/// What the set path will write, in the order it was decided.
#[derive(Default)]
struct Writes<'a> {
    results: Vec<(IntentId, u32, &'a Value)>,
    moves: Vec<(IntentId, IntentState, IntentState)>,
    /// Audit rows: (action, subject, detail), hashed in this order.
    audit: Vec<(String, String, Value)>,
    due: Vec<(IntentId, u32)>,
    disarm: Vec<IntentId>,
    ended: Vec<(IntentId, IntentState)>,
}

/// Records every outcome of `batch` and moves their intents, inside the
/// caller's transaction.
pub async fn outcomes(conn: &mut SqliteConnection, batch: &[Finished<'_>], now: Millis) -> Result<(), StoreError> {
    // Intents with one outcome in the batch: two of the same intent are
    // applied in turn, each reading what the one before wrote.
    let mut per_intent: HashMap<IntentId, usize> = HashMap::new();
    for f in batch {
        *per_intent.entry(f.claimed.intent_id).or_default() += 1;
    }
    let settable = |f: &Finished<'_>| {
        matches!(f.outcome, StepEnd::Succeeded(_))
            && f.claimed.state == StepState::Running
            && per_intent.get(&f.claimed.intent_id) == Some(&1)
    };
    let ids: Vec<IntentId> = batch.iter().filter(|f| settable(f)).map(|f| f.claimed.intent_id).collect();
    let (standings, states) = if ids.is_empty() {
        (HashMap::new(), HashMap::new())
    } else {
        (sets::standings(conn, &ids).await?, sets::states_of(conn, &ids).await?)
    };

    let mut writes = Writes::default();
    let mut one_by_one = Vec::new();
    for f in batch {
        let decided = settable(f).then(|| decide(f, &standings, &states)).flatten();
        match decided {
            Some(d) => d.write_into(f.claimed, &mut writes),
            None => one_by_one.push(f),
        }
    }
    for f in one_by_one {
        apply::outcome(conn, f.claimed, f.outcome.clone(), f.retry, now).await?;
    }
    write(conn, writes, now).await
}

/// How a succeeded step moves its intent, decided from the batch's reads.
struct Decided<'a> {
    result: &'a Value,
    /// The intent's move, when it moved.
    moved: Option<(IntentState, IntentState)>,
    due: Vec<u32>,
    disarm: bool,
    ended: Option<IntentState>,
}

/// `None` when the outcome needs the one-by-one path: not found in the
/// batch's reads, or a move with more to it than running steps, disarming
/// timers and remembering how the intent ended.
fn decide<'a>(
    f: &Finished<'a>,
    standings: &HashMap<IntentId, (IntentState, Option<i64>)>,
    states: &HashMap<IntentId, Vec<StepState>>,
) -> Option<Decided<'a>> {
    let StepEnd::Succeeded(result) = f.outcome else { return None };
    let id = f.claimed.intent_id;
    let &(from, review_window_ms) = standings.get(&id)?;
    let mut after = states.get(&id)?.clone();
    // The step as the machine records it: `Running` → `Succeeded`.
    let to = step_machine::transition(StepState::Running, StepEvent::Succeeded).ok()?.to;
    *after.get_mut(f.claimed.seq as usize)? = to;
    let mut d = Decided { result, moved: None, due: vec![], disarm: false, ended: None };
    // A refused event still records the step: the intent has moved on.
    let Ok(t) = intent_machine::decide(from, IntentEvent::StepSucceeded, Standing { steps: &after, review_window_ms })
    else {
        return Some(d);
    };
    d.moved = (t.to != from).then_some((from, t.to));
    for action in t.actions {
        match action {
            Action::RunStep(seq) => d.due.push(seq),
            Action::DisarmTimers => d.disarm = true,
            Action::RecordOutcome(state) => d.ended = Some(state),
            _ => return None,
        }
    }
    Some(d)
}

impl<'a> Decided<'a> {
    fn write_into(self, c: &Claimed, w: &mut Writes<'a>) {
        w.results.push((c.intent_id, c.seq, self.result));
        // The lines the one-by-one path logs, so an intent's log
        // (`intents show --log`) reads the same either way.
        tracing::debug!(intent_id = %c.intent_id, step = c.seq, attempt = c.attempts, outcome = "succeeded", "step outcome recorded");
        let (action, detail) = apply::step_audit("succeeded", c, json!({}));
        let subject = c.intent_id.to_string();
        w.audit.push((action, subject.clone(), detail.clone()));
        if let Some((from, to)) = self.moved {
            tracing::debug!(intent_id = %c.intent_id, %from, %to, "intent moved");
            w.moves.push((c.intent_id, from, to));
            w.audit.push(("intent.state".into(), subject, intents::state_detail(from, to, detail)));
        }
        w.due.extend(self.due.into_iter().map(|seq| (c.intent_id, seq)));
        if self.disarm {
            w.disarm.push(c.intent_id);
        }
        w.ended.extend(self.ended.map(|state| (c.intent_id, state)));
    }
}

/// The set path's writes: one statement per kind, the ended intents'
/// outcomes remembered among them.
async fn write(conn: &mut SqliteConnection, w: Writes<'_>, now: Millis) -> Result<(), StoreError> {
    sets::write_succeeded_many(conn, &w.results).await?;
    sets::transition_many(conn, &w.moves, now).await?;
    sets::disarm_many(conn, &w.disarm).await?;
    sets::schedule_many(conn, &w.due, now).await?;
    apply::append_own(conn, &w.audit, now).await?;
    if !w.ended.is_empty() {
        let ids: Vec<IntentId> = w.ended.iter().map(|(id, _)| *id).collect();
        let ended: HashMap<IntentId, IntentState> = w.ended.into_iter().collect();
        let outcomes: Vec<_> = sets::load_many(conn, &ids)
            .await?
            .iter()
            .filter_map(|intent| Some(memory::outcome(intent, *ended.get(&intent.id)?, now)))
            .collect();
        memory::record_many(conn, &outcomes).await?;
    }
    tracing::debug!(steps = w.results.len(), moved = w.moves.len(), "outcomes recorded as a set");
    Ok(())
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
