//! The parts every way of running steward's reasoning shares: the locked
//! data directory, the store, the adapters' catalog, the saved workflows,
//! the policy, the runner, the outbox, memory and the reasoner. `serve`
//! puts the channels and the HTTP API on top and runs the workers;
//! `steward ask` with no server running uses the reasoner once, and the
//! intents it keeps run when `serve` next starts.

use std::fs::File;
use std::sync::Arc;

use anyhow::{Context, anyhow};

use super::server::{catalog, lock_data_dir};
use crate::adapters::Catalog;
use crate::channels::outbox::OutboxWorker;
use crate::config::Config;
use crate::domain::{Approvers, SharedClock};
use crate::memory::Memory;
use crate::orchestrator::Runner;
use crate::policy::PolicyHandle;
use crate::reasoning::Reasoner;
use crate::store::Store;
use crate::telemetry::Metrics;
use crate::workflows::Library;

pub(super) struct Assembly {
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub catalog: Catalog,
    pub workflows: Library,
    pub policy: PolicyHandle,
    pub runner: Runner,
    /// With the log and webhook deliverers; `serve` adds the chat ones.
    pub outbox: OutboxWorker,
    pub memory: Memory,
    pub approvers: Approvers,
    pub reasoner: Arc<Reasoner>,
    /// Held for as long as the core is used; the OS releases it if we die.
    pub lock: File,
}

impl Assembly {
    /// Locks the data directory, opens the store (settling the ledger rows
    /// the last stop cut off) and builds everything on it with `clock`.
    pub async fn assemble(config: &Config, clock: SharedClock) -> anyhow::Result<Self> {
        let lock = lock_data_dir(config)?;
        let db = config.database_path();
        let store = Store::open(&db, &config.store)
            .await
            .with_context(|| format!("cannot open {}", db.display()))?
            .with_clock(clock);
        // The data directory is ours alone now: no model call is running.
        let cut = crate::store::ledger::settle_unfinished(&store).await.context("cannot settle the ledger")?;
        if cut > 0 {
            tracing::warn!(calls = cut, "model calls cut off by the last stop are on the ledger with estimated tokens");
        }
        let metrics = Arc::new(Metrics::default());
        let catalog = catalog(config, &store)?;
        let (workflows, schedules) = super::workflows::load_library(config, catalog.clone())?;
        crate::workflows::digests::adopt(&store, &schedules)
            .await
            .context("cannot carry the schedules' history over")?;
        let outbox = OutboxWorker::new(store.clone(), config.notify.operator.clone(), config.notify.retry.clone());
        let policy = PolicyHandle::load(config.policy.path.as_deref(), crate::adapters::policy_vocabulary())
            .map_err(|(path, e)| anyhow!("policy file {} refused: {e}", path.display()))?;
        let runner = Runner::new(store.clone(), catalog.clone(), config.orchestrator.clone())
            .with_metrics(metrics.clone())
            .with_policy(policy.clone())
            .waking(outbox.notifier())
            .waking(workflows.progress());
        let memory =
            crate::memory::build(config, &store).await.context("cannot start memory")?.with_metrics(metrics.clone());
        let approvers = crate::channels::approvers(config, &store).await?;
        let parts = crate::reasoning::Parts {
            store: store.clone(),
            memory: memory.clone(),
            catalog: catalog.clone(),
            policy: policy.clone(),
            approvers: approvers.clone(),
            runner: runner.handle(),
            metrics: metrics.clone(),
            workflows: workflows.clone(),
        };
        let reasoner = Arc::new(Reasoner::build(config, parts).await.context("cannot start reasoning")?);
        Ok(Self { store, metrics, catalog, workflows, policy, runner, outbox, memory, approvers, reasoner, lock })
    }
}
