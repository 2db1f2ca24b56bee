//! The runner: claims due steps in batches, executes them concurrently
//! through their adapters, and commits their outcomes in batches.
//!
//! One driver task owns the loop. Each claimed step runs in its own task and
//! reports back on a channel; the driver drains that channel and commits
//! everything finished in one transaction, so under load many outcomes share
//! one commit, and at low load each commits as soon as it lands.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::apply::{self, ACTOR, Outcome};
use super::intent_machine::IntentEvent;
use super::{OrchestratorConfig, approvals, gate, recovery};
use crate::adapters::{AdapterError, Catalog, Reconciled};
use crate::domain::{IntentId, StepState};
use crate::policy::{Policy, PolicyHandle};
use crate::store::approvals as approvals_store;
use crate::store::steps::{self, Claimed};
use crate::store::{Store, StoreError, now_millis};
use crate::telemetry::Metrics;

/// The longest the runner sleeps without looking at the database.
const IDLE_RECHECK: Duration = Duration::from_secs(5);
/// The pause after a failed round (a locked or unreachable database).
const ERROR_BACKOFF: Duration = Duration::from_secs(1);

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
    /// Woken after each commit, for the outbox worker: a commit may have
    /// queued a notice.
    after_commit: Option<Arc<Notify>>,
    /// The risk policy in force, read at each admission.
    policy: PolicyHandle,
}

struct Done {
    claimed: Claimed,
    outcome: Outcome,
}

impl Runner {
    pub fn new(store: Store, catalog: Catalog, config: OrchestratorConfig) -> Self {
        Self {
            store,
            catalog,
            config,
            handle: RunnerHandle::default(),
            metrics: Arc::default(),
            after_commit: None,
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
        self.after_commit = Some(notify);
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
            let wait = self.next_wait().await.unwrap_or(ERROR_BACKOFF);
            tokio::select! {
                _ = self.handle.notify.notified() => {}
                done = done_rx.recv() => finished.extend(done),
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.cancelled(), if !stopping => {}
            }
        }
    }

    /// One housekeeping transaction: admit planned intents, expire those past
    /// their deadline, and claim due steps up to `capacity`.
    async fn tick(&self, capacity: u32, in_flight: &HashSet<(IntentId, u32)>) -> Result<Vec<Claimed>, StoreError> {
        let now = now_millis();
        let expired = steps::leased_until(self.store.reader(), now).await?;
        if expired.iter().any(|c| !in_flight.contains(&(c.intent_id, c.seq))) {
            recovery::recover(&self.store, &self.catalog, in_flight, now).await?;
        }
        let mut tx = self.store.begin().await?;
        let planned = steps::planned(&mut tx, self.config.batch).await?;
        if !planned.is_empty() {
            let policy = self.policy.get();
            let assisted = gate::assisted(&mut tx, &policy, now).await?;
            for id in planned {
                gate::admit(&mut tx, id, &policy, assisted.as_ref(), now).await?;
            }
        }
        approvals::tick(&mut tx, &self.policy.get(), now, self.config.batch).await?;
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
        if let Some(n) = &self.after_commit {
            n.notify_one();
        }
        Ok(claimed)
    }

    fn spawn(&self, claimed: Claimed, permits: Arc<Semaphore>, done: mpsc::UnboundedSender<Done>) {
        let catalog = self.catalog.clone();
        tokio::spawn(async move {
            let _permit = permits.acquire_owned().await;
            let outcome = execute(&catalog, &claimed).await;
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
        let now = now_millis();
        while !finished.is_empty() {
            let n = finished.len().min(self.config.batch.max(1) as usize);
            let mut tx = self.store.begin().await?;
            for d in &finished[..n] {
                let retry =
                    self.catalog.get(d.claimed.planned.adapter.as_str()).map(|(_, r)| r.clone()).unwrap_or_default();
                apply::outcome(&mut tx, &d.claimed, d.outcome.clone(), &retry, now).await?;
            }
            tx.commit().await?;
            for d in finished.drain(..n) {
                if matches!(d.outcome, Outcome::Failed(ref e) if e.is_retryable()) {
                    self.metrics.inc("steward_step_retries_total", &[]);
                }
                in_flight.remove(&(d.claimed.intent_id, d.claimed.seq));
            }
        }
        if let Some(n) = &self.after_commit {
            n.notify_one();
        }
        Ok(())
    }

    async fn next_wait(&self) -> Result<Duration, StoreError> {
        let now = now_millis();
        let steps = steps::next_timer(self.store.reader()).await?;
        let approvals = approvals_store::next_timer(self.store.reader()).await?;
        let next = match (steps, approvals) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok(match next {
            Some(at) if at <= now => Duration::from_millis(1),
            Some(at) => Duration::from_millis((at - now) as u64).min(IDLE_RECHECK),
            None => IDLE_RECHECK,
        })
    }
}

/// Runs one claimed step (or its undo) and says how it ended. An ambiguous
/// failure is reconciled at once: the effect is never blindly repeated.
pub(super) async fn execute(catalog: &Catalog, c: &Claimed) -> Outcome {
    let Some((adapter, _)) = catalog.get(c.planned.adapter.as_str()) else {
        let err = AdapterError::Permanent(format!("adapter `{}` is not configured", c.planned.adapter.as_str()));
        return if c.state == StepState::Compensating {
            Outcome::CompensationFailed(err)
        } else {
            Outcome::Failed(err)
        };
    };
    let key = crate::domain::IdempotencyKey::for_step(c.intent_id, c.seq);
    let action = c.planned.action.as_str();
    if c.state == StepState::Compensating {
        return match adapter.compensate(&key, action, &c.planned.args, c.result.as_ref()).await {
            Ok(v) => Outcome::Compensated(v),
            Err(e) => Outcome::CompensationFailed(e),
        };
    }
    if c.deadline.is_some_and(|d| now_millis() >= d) {
        return Outcome::Failed(AdapterError::Permanent("the step's deadline passed before it could run".into()));
    }
    let span = tracing::info_span!("step", intent_id = %c.intent_id, step = c.seq, attempt = c.attempts);
    let run = async {
        match adapter.execute(&key, action, &c.planned.args).await {
            Ok(v) => Outcome::Succeeded(v),
            Err(AdapterError::Ambiguous(why)) => match adapter.reconcile(&key, action, &c.planned.args).await {
                Reconciled::Happened(v) => Outcome::Succeeded(json!({"reconciled": v})),
                Reconciled::NotHappened => {
                    Outcome::Failed(AdapterError::Transient(format!("{why}; reconcile says it did not happen")))
                }
                Reconciled::CannotTell(more) => Outcome::Unknown(format!("{why}; reconcile cannot tell: {more}")),
            },
            Err(e) => Outcome::Failed(e),
        }
    };
    run.instrument(span).await
}
