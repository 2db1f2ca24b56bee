//! The runner: claims due steps in batches, executes them concurrently
//! through their adapters, and commits their outcomes in batches.
//!
//! One driver task owns the loop. Each claimed step runs in its own task and
//! reports back on a channel; the driver drains that channel and commits
//! everything finished in one transaction, so under load many outcomes share
//! one commit, and at low load each commits as soon as it lands.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use serde_json::json;
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use super::apply::{self, ACTOR, StepEnd};
use super::batch::{self, Finished};
use super::execute::execute;
use super::intent_machine::IntentEvent;
use super::{expiry, gate, recovery};
use crate::adapters::{AdapterError, Catalog};
use crate::config::OrchestratorConfig;
use crate::domain::{IntentId, Millis, RetryPolicy, StepState, idle};
use crate::policy::{Policy, PolicyHandle};
use crate::store::approvals as approvals_store;
use crate::store::intents;
use crate::store::steps::{self, Claimed};
use crate::store::{Store, StoreError};
use crate::telemetry::Metrics;

/// The longest the runner sleeps without looking at the database.
const IDLE_RECHECK: Duration = Duration::from_secs(5);
/// The pause before looking again when a timer is due but not taken.
const DUE_PAUSE: Duration = Duration::from_millis(1);
/// The pause after a failed round (a locked or unreachable database).
const ERROR_BACKOFF: Duration = Duration::from_secs(1);
/// How long the policy waits for a destination's name to resolve.
const DNS_TIMEOUT: Duration = Duration::from_secs(2);

/// Wakes the runner when new work is written (an intent created, approved,
/// cancelled or retried), so it does not wait for its next timer.
#[derive(Clone, Default)]
pub struct RunnerHandle {
    notify: Arc<Notify>,
}

impl RunnerHandle {
    pub fn wake(&self) {
        self.notify.notify_one();
    }
}

pub struct Runner {
    store: Store,
    catalog: Catalog,
    config: OrchestratorConfig,
    handle: RunnerHandle,
    metrics: Arc<Metrics>,
    /// Woken after each commit: the outbox worker (a commit may have
    /// queued a notice), and whoever moves workflow runs on (an intent
    /// may have ended).
    after_commit: Vec<Arc<Notify>>,
    /// The risk policy in force, read at each admission.
    policy: PolicyHandle,
}

struct Done {
    claimed: Claimed,
    outcome: StepEnd,
}

impl Runner {
    pub fn new(store: Store, catalog: Catalog, config: OrchestratorConfig) -> Self {
        Self {
            store,
            catalog,
            config,
            handle: RunnerHandle::default(),
            metrics: Arc::default(),
            after_commit: Vec::new(),
            policy: PolicyHandle::new(Policy::builtin()),
        }
    }

    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    pub fn with_policy(mut self, policy: PolicyHandle) -> Self {
        self.policy = policy;
        self
    }

    pub fn waking(mut self, notify: Arc<Notify>) -> Self {
        self.after_commit.push(notify);
        self
    }

    pub fn handle(&self) -> RunnerHandle {
        self.handle.clone()
    }

    /// Recovers what a crash left behind, then runs until `shutdown`; then
    /// stops claiming, lets in-flight steps finish and commits their outcomes.
    #[tracing::instrument(name = "runner", skip_all)]
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StoreError> {
        recovery::recover(&self.store, &self.catalog, &HashSet::new(), i64::MAX).await?;
        let permits = Arc::new(Semaphore::new(self.config.max_in_flight));
        let (done_tx, mut done_rx) = mpsc::unbounded_channel::<Done>();
        let mut in_flight: HashSet<(IntentId, u32)> = HashSet::new();
        let mut finished: Vec<Done> = Vec::new();
        loop {
            while let Ok(done) = done_rx.try_recv() {
                finished.push(done);
            }
            if !finished.is_empty() {
                // A failed commit keeps the outcomes for the next round; their
                // steps stay leased, so nothing else can take them meanwhile.
                if let Err(e) = self.commit(&mut finished, &mut in_flight).await {
                    tracing::error!(error = %e, outcomes = finished.len(), "cannot record step outcomes; retrying");
                    tokio::time::sleep(ERROR_BACKOFF).await;
                    continue;
                }
            }
            // Observed once per round: a cancellation after this point must
            // still wake the wait below, so the wait keys on this snapshot.
            let stopping = shutdown.is_cancelled();
            if stopping {
                if in_flight.is_empty() {
                    return Ok(());
                }
            } else {
                let capacity = self.config.max_in_flight.saturating_sub(in_flight.len()) as u32;
                match self.tick(capacity, &in_flight).await {
                    Ok(claimed) if !claimed.is_empty() => {
                        for c in claimed {
                            self.metrics.inc("steward_step_attempts_total", &[]);
                            in_flight.insert((c.intent_id, c.seq));
                            self.spawn(c, permits.clone(), done_tx.clone());
                        }
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "runner round failed; retrying");
                        tokio::time::sleep(ERROR_BACKOFF).await;
                        continue;
                    }
                }
            }
            let (next, poll) = match self.next_timer().await {
                Ok(next) => (next, IDLE_RECHECK),
                Err(_) => (None, ERROR_BACKOFF),
            };
            tokio::select! {
                _ = self.handle.notify.notified() => {}
                done = done_rx.recv() => finished.extend(done),
                _ = idle(&**self.store.clock(), next, DUE_PAUSE, poll) => {}
                _ = shutdown.cancelled(), if !stopping => {}
            }
        }
    }

    /// One housekeeping transaction: admit planned intents, expire those past
    /// their deadline, and claim due steps up to `capacity`.
    async fn tick(&self, capacity: u32, in_flight: &HashSet<(IntentId, u32)>) -> Result<Vec<Claimed>, StoreError> {
        let now = self.store.now();
        let expired = steps::leased_until(self.store.reader(), now).await?;
        if expired.iter().any(|c| !in_flight.contains(&(c.intent_id, c.seq))) {
            recovery::recover(&self.store, &self.catalog, in_flight, now).await?;
        }
        let policy = self.policy.get();
        let facts = {
            let mut conn = self.store.reader().acquire().await?;
            let planned = steps::planned(&mut conn, self.config.batch).await?;
            gate::gather(&mut conn, &planned, &self.catalog, &policy, DNS_TIMEOUT).await?
        };
        let mut tx = self.store.begin().await?;
        // Only intents whose facts were gathered are admitted now; one
        // planned since then waits for the next round.
        let planned: Vec<_> =
            steps::planned(&mut tx, self.config.batch).await?.into_iter().filter(|id| facts.contains_key(id)).collect();
        if !planned.is_empty() {
            let assisted = gate::assisted(&mut tx, &policy, now).await?;
            gate::admit_all(&mut tx, &planned, &policy, &facts, assisted.as_ref(), now).await?;
        }
        expiry::tick(&mut tx, &self.policy.get(), now, self.config.batch).await?;
        for (id, _) in steps::past_deadline(&mut tx, now, self.config.batch).await? {
            apply::intent_event(&mut tx, id, IntentEvent::DeadlinePassed, now, ACTOR, json!("deadline passed")).await?;
        }
        let lease_until = now + (self.config.lease_secs * 1000) as i64;
        let claimed = if capacity == 0 {
            vec![]
        } else {
            steps::claim_due(&mut tx, now, lease_until, capacity.min(self.config.batch)).await?
        };
        tx.commit().await?;
        // Admission and approval timers queue notices (approval cards,
        // reminders, closed cards): the outbox sends them now, not at its
        // next idle check.
        for n in &self.after_commit {
            n.notify_one();
        }
        Ok(claimed)
    }

    fn spawn(&self, claimed: Claimed, permits: Arc<Semaphore>, done: mpsc::UnboundedSender<Done>) {
        let catalog = self.catalog.clone();
        let metrics = self.metrics.clone();
        let now = self.store.now();
        tokio::spawn(async move {
            let _permit = permits.acquire_owned().await;
            let started = std::time::Instant::now();
            // A panicking adapter fails its step; the step's slot comes back
            // and the runner goes on.
            let outcome = match AssertUnwindSafe(execute(&catalog, &claimed, now)).catch_unwind().await {
                Ok(outcome) => outcome,
                Err(panic) => {
                    let why = crate::telemetry::panic_message(&*panic);
                    tracing::error!(intent_id = %claimed.intent_id, step = claimed.seq, panic = %why, "a step panicked; it fails");
                    let err = AdapterError::Permanent(format!("the adapter panicked: {why}"));
                    if claimed.state == StepState::Compensating {
                        StepEnd::CompensationFailed(err)
                    } else {
                        StepEnd::Failed(err)
                    }
                }
            };
            let labels = [("adapter", claimed.planned.adapter.as_str()), ("outcome", outcome.label())];
            metrics.observe("steward_step_seconds", &labels, started.elapsed().as_secs_f64());
            let _ = done.send(Done { claimed, outcome });
        });
    }

    /// Commits finished outcomes, `batch` per transaction, removing each
    /// committed one from `finished` and `in_flight`: after a failure only
    /// what did not commit is tried again.
    async fn commit(
        &self,
        finished: &mut Vec<Done>,
        in_flight: &mut HashSet<(IntentId, u32)>,
    ) -> Result<(), StoreError> {
        let now = self.store.now();
        let mut observed = HashSet::new();
        while !finished.is_empty() {
            let n = finished.len().min(self.config.batch.max(1) as usize);
            let retries: Vec<RetryPolicy> = finished[..n]
                .iter()
                .map(|d| {
                    self.catalog.get(d.claimed.planned.adapter.as_str()).map(|(_, r)| r.clone()).unwrap_or_default()
                })
                .collect();
            let batch: Vec<Finished<'_>> = finished[..n]
                .iter()
                .zip(&retries)
                .map(|(d, retry)| Finished { claimed: &d.claimed, outcome: &d.outcome, retry })
                .collect();
            let mut tx = self.store.begin().await?;
            batch::outcomes(&mut tx, &batch, now).await?;
            tx.commit().await?;
            let touched: Vec<IntentId> = finished[..n].iter().map(|d| d.claimed.intent_id).collect();
            self.observe_ended(&touched, now, &mut observed).await;
            for d in finished.drain(..n) {
                if matches!(d.outcome, StepEnd::Failed(ref e) if e.is_retryable()) {
                    self.metrics.inc("steward_step_retries_total", &[]);
                }
                in_flight.remove(&(d.claimed.intent_id, d.claimed.seq));
            }
        }
        for n in &self.after_commit {
            n.notify_one();
        }
        Ok(())
    }

    /// Observes the end-to-end time of the intents these outcomes ended
    /// (those stamped terminal by this commit), each once: `observed` holds
    /// those seen ended by an earlier batch stamped with the same `now`.
    /// Only a metric: a failed read is logged, never an error of the commit.
    async fn observe_ended(&self, touched: &[IntentId], now: Millis, observed: &mut HashSet<String>) {
        match intents::ended_at(self.store.reader(), touched, now).await {
            Ok(ended) => {
                for (id, state, created_at) in ended {
                    if !observed.insert(id) {
                        continue;
                    }
                    let took = (now - created_at).max(0) as f64 / 1000.0;
                    self.metrics.observe("steward_intent_seconds", &[("state", state.as_str())], took);
                }
            }
            Err(e) => tracing::debug!(error = %e, "cannot read which intents ended; not observed"),
        }
    }

    /// The earliest timer, of steps and of approvals, on the store's clock.
    async fn next_timer(&self) -> Result<Option<Millis>, StoreError> {
        let steps = steps::next_timer(self.store.reader()).await?;
        let approvals = approvals_store::next_timer(self.store.reader()).await?;
        Ok(match (steps, approvals) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }
}

#[cfg(test)]
mod tests;
