//! `steward serve`: the running system. The HTTP API, the orchestrator's
//! runner and the outbox worker share one store; the data directory is
//! locked to this process, so no two runners ever lease the same steps.

use std::fs::File;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::assembly::Assembly;
use super::{token, upkeep};
use crate::adapters::{
    Catalog, DigestAdapter, EmailAdapter, NoteAdapter, NotifyAdapter, Secrets, WebhookAdapter, WorkflowAdapter,
};
use crate::api::{self, ApiState, Limits};
use crate::channels::Core;
use crate::channels::discord::{Discord, DiscordDeliver};
use crate::channels::outbox::OutboxWorker;
use crate::channels::telegram::{Telegram, TelegramDeliver};
use crate::config::Config;
use crate::domain::{SharedClock, SystemClock};
use crate::memory::Memory;
use crate::orchestrator::Runner;
use crate::policy::PolicyHandle;
use crate::store::Store;
use crate::workflows::Library;

/// A built server: its store is open, its data directory locked and its
/// listener bound, so the address (port 0 resolved) is known before it
/// starts answering.
pub struct Server {
    listener: TcpListener,
    router: axum::Router,
    store: Store,
    runner: Runner,
    outbox: OutboxWorker,
    draining: CancellationToken,
    memory: Memory,
    /// Retention rules, and how often to apply them.
    retention: (std::collections::BTreeMap<String, crate::config::RetentionRule>, Duration),
    /// After how many days copies of text outside memory are scrubbed.
    copies_days: u64,
    /// How long the HTTP server may take to drain.
    drain_grace: Duration,
    /// The policy file to watch for changes, if there is one.
    watch: Option<(PolicyHandle, PathBuf, Duration)>,
    /// Saved workflows, and how often their folder is read again.
    workflows: (Library, Duration),
    /// Messages still being reasoned about after their request answered.
    in_flight: Arc<api::pending::InFlight>,
    /// The chat channels that are configured.
    telegram: Option<Arc<Telegram>>,
    discord: Option<Arc<Discord>>,
    /// Where CLI commands find this server while it runs.
    _announced: super::remote::Announced,
    /// Held for the life of the server; the OS releases it if we die.
    _lock: File,
}

/// How long `/v1/messages` waits for an answer before it says 202: well
/// within the HTTP timeout, so no request is cut off while a model works.
fn answer_within(request_timeout_secs: u64) -> Duration {
    let timeout = Duration::from_secs(request_timeout_secs.max(1));
    timeout.saturating_sub(Duration::from_secs(2)).max(timeout / 2)
}

/// The adapters steward acts through, each with its retry policy.
pub fn catalog(config: &Config, store: &Store) -> anyhow::Result<Catalog> {
    let dns = crate::dns::Dns::from_config(&config.dns);
    let webhook = WebhookAdapter::new(&config.adapters.webhook)
        .with_dns(dns.clone())
        .with_secrets(Secrets::new(config.secrets.clone()));
    let mut catalog = Catalog::default()
        .with_dns(dns)
        .with(Arc::new(webhook), config.adapters.webhook.retry.clone())
        .with(Arc::new(NoteAdapter::new(store.clone())), config.adapters.note.retry.clone())
        .with(Arc::new(NotifyAdapter::new(store.clone())), config.adapters.note.retry.clone())
        .with(Arc::new(WorkflowAdapter::new(store.clone())), config.adapters.note.retry.clone())
        .with(Arc::new(DigestAdapter::new(store.clone())), config.adapters.note.retry.clone());
    if let Some(email) = EmailAdapter::new(&config.email, store.clone()).map_err(|e| anyhow!("{e}"))? {
        catalog = catalog.with(Arc::new(email), config.email.retry.clone());
    }
    Ok(catalog)
}

pub fn lock_data_dir(config: &Config) -> anyhow::Result<File> {
    crate::store::files::private_dir(&config.data_dir)
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    let path = config.data_dir.join("steward.lock");
    let file = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    file.try_lock().map_err(|_| {
        anyhow!("another steward is already serving from {} (its steward.lock is held)", config.data_dir.display())
    })?;
    Ok(file)
}

impl Server {
    /// Locks the data directory, opens the store, resolves the API token and
    /// binds `addr` (or the configured address).
    pub async fn build(config: &Config, addr: Option<SocketAddr>) -> anyhow::Result<Self> {
        Self::build_with_clock(config, addr, SystemClock::shared()).await
    }

    /// The server with its time from `clock`: every timer, expiry, schedule
    /// and stamp of every component reads it. Tests drive a manual one.
    pub async fn build_with_clock(
        config: &Config,
        addr: Option<SocketAddr>,
        clock: SharedClock,
    ) -> anyhow::Result<Self> {
        let addr = addr.unwrap_or(config.http.addr);
        let token = token::resolve(config, addr)?;
        let telegram_bot = crate::channels::telegram::bot(&config.telegram)?;
        let discord_rest = crate::channels::discord::Rest::new(&config.discord).map(Arc::new);
        let Assembly {
            store,
            metrics,
            catalog,
            workflows,
            policy,
            runner,
            mut outbox,
            memory,
            approvers,
            reasoner,
            lock,
        } = Assembly::assemble(config, clock).await?;
        if let Some(bot) = &telegram_bot {
            outbox = outbox.with(Arc::new(TelegramDeliver::new(bot.clone(), store.clone())));
        }
        if let Some(rest) = &discord_rest {
            outbox = outbox.with(Arc::new(DiscordDeliver::new(rest.clone(), store.clone())));
        }
        let draining = CancellationToken::new();
        // The model and the router's examples load while the server listens.
        tokio::spawn({
            let reasoner = reasoner.clone();
            async move { reasoner.warm().await }
        });
        let telegram = match telegram_bot {
            Some(bot) => {
                if let Some(problem) = config.telegram.webhook_problem() {
                    return Err(anyhow!(problem));
                }
                let core = Core::new(
                    "telegram",
                    store.clone(),
                    reasoner.clone(),
                    approvers.clone(),
                    runner.handle(),
                    outbox.notifier(),
                );
                Some(Telegram::new(bot, config, core))
            }
            None => None,
        };
        let discord = discord_rest.map(|rest| {
            let core = Core::new(
                "discord",
                store.clone(),
                reasoner.clone(),
                approvers.clone(),
                runner.handle(),
                outbox.notifier(),
            );
            Discord::new(rest, config, core)
        });
        let in_flight: Arc<api::pending::InFlight> = Arc::default();
        let state = ApiState {
            store: store.clone(),
            metrics,
            draining: draining.clone(),
            catalog,
            runner: runner.handle(),
            policy: policy.clone(),
            approvers,
            memory: memory.clone(),
            reasoner,
            bridge_actors: Arc::new(config.http.bridge_actors.clone()),
            workflows: workflows.clone(),
            in_flight: in_flight.clone(),
            answer_within: answer_within(config.http.request_timeout_secs),
        };
        let watch =
            config.policy.path.clone().map(|p| (policy, p, Duration::from_secs(config.policy.reload_secs.max(1))));
        let limits = Limits {
            body_bytes: config.http.body_limit_bytes,
            timeout: Duration::from_secs(config.http.request_timeout_secs),
        };
        let router = api::router(state, token, limits, crate::channels::telegram::routes(telegram.clone()));
        let listener = TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        let announced = super::remote::announce(config, listener.local_addr()?)?;
        let drain_grace = limits.timeout;
        let retention =
            (config.memory.retention.clone(), Duration::from_secs(config.memory.retention_every_secs.max(60)));
        Ok(Self {
            listener,
            router,
            store,
            runner,
            outbox,
            draining,
            watch,
            drain_grace,
            in_flight,
            memory,
            retention,
            copies_days: config.memory.copies_days,
            workflows: (workflows, Duration::from_secs(config.workflows.reload_secs.max(1))),
            telegram,
            discord,
            _announced: announced,
            _lock: lock,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves until `shutdown` is cancelled. Then it drains in order: the
    /// HTTP server stops accepting and finishes in-flight requests; the
    /// runner stops claiming and commits the outcomes of steps in flight;
    /// the outbox finishes its round; the store closes.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let workers = CancellationToken::new();
        let (wake_runner_for_workflows, outbox_for_workflows) = (self.runner.handle(), self.outbox.notifier());
        let runner = tokio::spawn(self.runner.run(workers.clone()));
        let outbox = tokio::spawn(self.outbox.run(workers.clone()));
        let telegram = self.telegram.map(|tg| tokio::spawn(tg.run(workers.clone())));
        let discord = self.discord.map(|d| tokio::spawn(d.run(workers.clone())));
        if let Some((policy, path, every)) = self.watch {
            tokio::spawn(policy.watch(path, every, workers.clone()));
        }
        let (workflows, reload_every) = self.workflows;
        tokio::spawn(workflows.clone().watch(reload_every, workers.clone()));
        tokio::spawn(crate::workflows::progress::run(
            self.store.clone(),
            workflows.clone(),
            wake_runner_for_workflows.clone(),
            outbox_for_workflows.clone(),
            workers.clone(),
        ));
        tokio::spawn(crate::workflows::scheduler::run(
            self.store.clone(),
            workflows,
            wake_runner_for_workflows,
            outbox_for_workflows,
            workers.clone(),
        ));
        // Awaited when stopping: no index write outlives the server.
        let indexer = tokio::spawn(upkeep::index_memory(self.memory.clone(), workers.clone()));
        let retention = tokio::spawn(upkeep::apply_retention(self.memory.clone(), self.retention, workers.clone()));
        tokio::spawn(upkeep::prune_chat_events(self.store.clone(), self.copies_days, workers.clone()));
        let draining = self.draining.clone();
        let http_shutdown = async move {
            shutdown.cancelled().await;
            draining.cancel();
        };
        // In-flight requests end within the request timeout; an idle
        // keep-alive connection must not hold the shutdown past that.
        let grace = self.drain_grace;
        let drained = self.draining.clone();
        let serve = axum::serve(self.listener, self.router).with_graceful_shutdown(http_shutdown);
        let served = tokio::select! {
            served = serve => served,
            _ = async { drained.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!("HTTP connections still open after {grace:?}; closing them");
                Ok(())
            }
        };
        // Messages still being reasoned about (answered 202) finish first,
        // within the same grace.
        self.in_flight.settle(grace).await;
        workers.cancel();
        let ran = runner.await.context("the runner panicked")?;
        indexer.await.context("the memory indexer panicked")?;
        retention.await.context("memory retention panicked")?;
        if let Some(tg) = telegram {
            tg.await.context("the Telegram channel panicked")?;
        }
        if let Some(d) = discord {
            d.await.context("the Discord channel panicked")?;
        }
        let sent = outbox.await.context("the outbox worker panicked")?;
        self.store.close().await;
        served.context("HTTP server failed")?;
        ran.context("the runner failed")?;
        sent.context("the outbox worker failed")?;
        tracing::info!("stopped");
        Ok(())
    }
}
