//! Recovery: a step found leased by a runner that is gone (after a crash, at
//! start-up; or a lease run out while running) is reconciled, never blindly
//! re-run (invariant 2):
//! - the effect happened: the step succeeded;
//! - it did not happen: it is due again at once, with the same key;
//! - nobody can tell: the step is `unknown`, the intent `needs_attention`,
//!   and the operator is told through the outbox.
//!
//! An interrupted undo is due again with its own stable key.

use std::collections::HashSet;

use serde_json::json;

use super::apply::{self, ACTOR, StepEnd};
use crate::adapters::{Catalog, Reconciled};
use crate::domain::{IdempotencyKey, IntentId, Millis, StepState};
use crate::store::audit::{self, Entry};
use crate::store::steps::{self, Claimed};
use crate::store::{Store, StoreError};

enum Found {
    StepEnd(StepEnd),
    Requeue(&'static str),
}

async fn inspect(catalog: &Catalog, c: &Claimed) -> Found {
    if c.state == StepState::Compensating {
        return Found::Requeue("step.compensation_interrupted");
    }
    let Some((adapter, _)) = catalog.get(c.planned.adapter.as_str()) else {
        return Found::StepEnd(StepEnd::Unknown(format!(
            "adapter `{}` is not configured; cannot reconcile",
            c.planned.adapter.as_str()
        )));
    };
    let key = IdempotencyKey::for_step(c.intent_id, c.seq);
    match adapter.reconcile(&key, c.planned.action.as_str(), &c.planned.args, &c.reach).await {
        Reconciled::Happened(v) => Found::StepEnd(StepEnd::Succeeded(json!({"reconciled": v}))),
        Reconciled::NotHappened => Found::Requeue("step.interrupted"),
        Reconciled::CannotTell(why) => Found::StepEnd(StepEnd::Unknown(format!("interrupted by a restart; {why}"))),
    }
}

/// Reconciles every step leased until `cutoff` or earlier that is not in
/// flight here. At start-up `cutoff` is the end of time: the data directory
/// is locked to this process, so every lease found belongs to a dead one.
pub async fn recover(
    store: &Store,
    catalog: &Catalog,
    in_flight: &HashSet<(IntentId, u32)>,
    cutoff: Millis,
) -> Result<usize, StoreError> {
    let orphans: Vec<Claimed> = steps::leased_until(store.reader(), cutoff)
        .await?
        .into_iter()
        .filter(|c| !in_flight.contains(&(c.intent_id, c.seq)))
        .collect();
    if orphans.is_empty() {
        return Ok(0);
    }
    let mut found = Vec::with_capacity(orphans.len());
    for c in &orphans {
        found.push(inspect(catalog, c).await);
    }
    let now = store.now();
    let mut tx = store.begin().await?;
    for (c, f) in orphans.iter().zip(found) {
        match f {
            Found::StepEnd(outcome) => {
                let retry = catalog.get(c.planned.adapter.as_str()).map(|(_, r)| r.clone()).unwrap_or_default();
                apply::outcome(&mut tx, c, outcome, &retry, now).await?;
            }
            Found::Requeue(action) => {
                let state = if c.state == StepState::Compensating {
                    StepState::Compensating
                } else {
                    StepState::RetryScheduled
                };
                steps::requeue_interrupted(&mut tx, c.intent_id, c.seq, state, now).await?;
                let subject = c.intent_id.to_string();
                let detail = json!({"seq": c.seq, "attempt": c.attempts, "reconciled": "not_happened"});
                audit::append(&mut tx, now, &Entry { actor: ACTOR, action, subject: Some(&subject), detail }).await?;
            }
        }
    }
    tx.commit().await?;
    tracing::info!(steps = orphans.len(), "recovered interrupted steps");
    Ok(orphans.len())
}
