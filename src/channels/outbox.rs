//! Delivering the outbox. A [`Deliver`] sends one message to one kind of
//! destination (`webhook:URL`, `log:NAME`; the chat channels add theirs) and
//! answers with the platform's message id. The worker retries with backoff
//! until the platform confirms, honouring a requested `RetryAfter`.
//!
//! Notices for the operator are queued to the destination `operator`, which
//! the worker fans out to the configured operator destinations.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::FutureExt;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::domain::{Outbound, RetryPolicy, idle, parse_retry_after};
use crate::store::{Store, StoreError, now_millis, outbox};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeliverError {
    #[error("asked to retry after {0:?}")]
    RetryAfter(Duration),
    #[error("transient: {0}")]
    Transient(String),
    /// The platform refuses this message as it is; retrying will not help.
    #[error("refused: {0}")]
    Permanent(String),
}

#[async_trait]
pub trait Deliver: Send + Sync {
    /// The destination kind this delivers to: the part before the first `:`.
    fn kind(&self) -> &'static str;
    /// Sends `message` to `target` and returns the platform's message id.
    /// `key` names this outbox message across attempts, so a deliverer that
    /// sends it in parts can resume after the part that failed.
    async fn deliver(&self, target: &str, message: &Outbound, key: &str) -> Result<String, DeliverError>;
}

/// Writes the message to the log: the destination of last resort, so a
/// notice is never dropped for want of a configured channel.
pub struct LogDeliver;

#[async_trait]
impl Deliver for LogDeliver {
    fn kind(&self) -> &'static str {
        "log"
    }
    async fn deliver(&self, target: &str, message: &Outbound, _key: &str) -> Result<String, DeliverError> {
        tracing::warn!(%target, notice = %message.summary(), "message for the operator");
        Ok(format!("log-{}", ulid::Ulid::new()))
    }
}

/// POSTs the message as JSON to a URL.
pub struct WebhookDeliver {
    http: reqwest::Client,
}

impl Default for WebhookDeliver {
    fn default() -> Self {
        Self {
            http: reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("a reqwest client builds"),
        }
    }
}

#[async_trait]
impl Deliver for WebhookDeliver {
    fn kind(&self) -> &'static str {
        "webhook"
    }
    async fn deliver(&self, target: &str, message: &Outbound, _key: &str) -> Result<String, DeliverError> {
        let r = self
            .http
            .post(target)
            .json(message)
            .send()
            .await
            .map_err(|e| DeliverError::Transient(e.without_url().to_string()))?;
        match r.status() {
            s if s.is_success() => {
                Ok(r.headers().get("x-message-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned())
            }
            s if s.as_u16() == 429 => {
                let asked = r.headers().get("retry-after").and_then(|v| v.to_str().ok());
                match asked.and_then(|v| parse_retry_after(v, now_millis())) {
                    Some(wait) => Err(DeliverError::RetryAfter(wait)),
                    None => Err(DeliverError::Transient("HTTP 429 with an unreadable Retry-After".into())),
                }
            }
            s if s.is_server_error() => Err(DeliverError::Transient(format!("HTTP {s}"))),
            s => Err(DeliverError::Permanent(format!("HTTP {s}"))),
        }
    }
}

pub struct OutboxWorker {
    store: Store,
    deliverers: HashMap<&'static str, Arc<dyn Deliver>>,
    /// What `operator` means: the destinations notices fan out to.
    operator: Vec<String>,
    retry: RetryPolicy,
    notify: Arc<Notify>,
}

const LEASE_MS: i64 = 60_000;

impl OutboxWorker {
    pub fn new(store: Store, operator: Vec<String>, retry: RetryPolicy) -> Self {
        let mut worker = Self { store, deliverers: HashMap::new(), operator, retry, notify: Arc::default() };
        worker = worker.with(Arc::new(LogDeliver)).with(Arc::new(WebhookDeliver::default()));
        if worker.operator.is_empty() {
            worker.operator.push("log:operator".into());
        }
        worker
    }

    pub fn with(mut self, deliver: Arc<dyn Deliver>) -> Self {
        self.deliverers.insert(deliver.kind(), deliver);
        self
    }

    /// Wakes the worker when a message was queued.
    pub fn notifier(&self) -> Arc<Notify> {
        self.notify.clone()
    }

    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StoreError> {
        let mut tx = self.store.begin().await?;
        let released = outbox::release_leases(&mut tx).await?;
        tx.commit().await?;
        if released > 0 {
            tracing::warn!(
                messages = released,
                "outbox: messages were being sent when steward stopped; sending them again"
            );
        }
        loop {
            // A failed round (a locked database, say) is logged and retried;
            // the messages stay queued.
            let sent = match self.round().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(error = %e, "outbox round failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    0
                }
            };
            if shutdown.is_cancelled() {
                return Ok(());
            }
            if sent > 0 {
                continue;
            }
            let next = outbox::next_due(self.store.reader()).await.unwrap_or(None);
            let (pause, poll) = (Duration::from_millis(5), Duration::from_secs(5));
            tokio::select! {
                _ = self.notify.notified() => {}
                _ = idle(&**self.store.clock(), next, pause, poll) => {}
                _ = shutdown.cancelled() => {}
            }
        }
    }

    /// Claims due messages, delivers them, and records the results.
    async fn round(&self) -> Result<usize, StoreError> {
        let now = self.store.now();
        let mut tx = self.store.begin().await?;
        let items = outbox::claim_due(&mut tx, now, now + LEASE_MS, 32).await?;
        // Fan `operator` out into one message per operator destination.
        let mut work = Vec::new();
        for item in items {
            match &item.message {
                Err(why) => {
                    tracing::error!(destination = %item.destination, id = %item.id, error = %why, "an outbox row is not a message; giving up on it");
                    outbox::mark_failed(&mut tx, &item.id, why).await?;
                }
                Ok(message) if item.destination == "operator" => {
                    for dest in &self.operator {
                        outbox::enqueue(&mut tx, dest, message, Some(&format!("{}:{dest}", item.id)), now).await?;
                    }
                    outbox::mark_sent(&mut tx, &item.id, "fanned-out", now).await?;
                }
                Ok(_) => work.push(item),
            }
        }
        tx.commit().await?;
        let results = futures_util::future::join_all(work.iter().map(|item| self.deliver_one(item))).await;
        let mut tx = self.store.begin().await?;
        let now = self.store.now();
        for (item, result) in work.iter().zip(&results) {
            match result {
                Ok(platform_id) => outbox::mark_sent(&mut tx, &item.id, platform_id, now).await?,
                Err(e @ DeliverError::Permanent(_)) => {
                    tracing::error!(destination = %item.destination, error = %e, "the platform refused a message; giving up on it");
                    outbox::mark_failed(&mut tx, &item.id, &e.to_string()).await?;
                }
                Err(e) => {
                    let unit: f64 = rand::random();
                    let wait = match e {
                        DeliverError::RetryAfter(d) => self.retry.backoff_at_least(item.attempts, unit, *d),
                        _ => self.retry.backoff(item.attempts, unit).max(Duration::from_millis(50)),
                    };
                    tracing::warn!(destination = %item.destination, attempt = item.attempts, error = %e, "delivery failed; will retry");
                    outbox::mark_retry(&mut tx, &item.id, now + wait.as_millis() as i64, &e.to_string()).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(work.len())
    }

    /// Delivers one message. A deliverer that panics fails that message for
    /// good (it would panic again); the worker and every other message go on.
    #[tracing::instrument(name = "deliver", skip_all, fields(destination = %item.destination, message = %item.id))]
    async fn deliver_one(&self, item: &outbox::Item) -> Result<String, DeliverError> {
        let (kind, target) = item.destination.split_once(':').unwrap_or((item.destination.as_str(), ""));
        let Some(d) = self.deliverers.get(kind) else {
            return Err(DeliverError::Transient(format!("no channel delivers to `{kind}` (yet)")));
        };
        let Ok(message) = &item.message else {
            return Err(DeliverError::Permanent("not a message steward can send".into()));
        };
        match AssertUnwindSafe(d.deliver(target, message, &item.id)).catch_unwind().await {
            Ok(result) => result,
            Err(panic) => {
                let why = crate::telemetry::panic_message(&*panic);
                tracing::error!(destination = %item.destination, panic = %why, "a deliverer panicked; the message fails");
                Err(DeliverError::Permanent(format!("the deliverer panicked: {why}")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deliverer that panics on purpose.
    struct Panicky;

    #[async_trait]
    impl Deliver for Panicky {
        fn kind(&self) -> &'static str {
            "boom"
        }
        async fn deliver(&self, _: &str, _: &Outbound, _: &str) -> Result<String, DeliverError> {
            panic!("deliberate panic in a test deliverer");
        }
    }

    async fn state_of(store: &Store, destination: &str) -> (String, Option<String>) {
        sqlx::query_as("SELECT state, last_error FROM outbox WHERE destination = ?")
            .bind(destination)
            .fetch_one(store.reader())
            .await
            .unwrap()
    }

    /// Guarantee: a panic in one delivery never takes down the outbox. The
    /// message fails with the panic's message; other messages still go out,
    /// and messages queued after it too. So does a row that is no message.
    #[tokio::test]
    async fn a_panicking_delivery_fails_its_message_and_the_worker_goes_on() {
        let store = Store::in_memory().await.unwrap();
        let worker = OutboxWorker::new(store.clone(), vec![], RetryPolicy::default()).with(Arc::new(Panicky));
        let notify = worker.notifier();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(worker.run(shutdown.clone()));
        let mut tx = store.begin().await.unwrap();
        outbox::enqueue(&mut tx, "boom:1", &Outbound::reply("1"), None, now_millis()).await.unwrap();
        outbox::enqueue(&mut tx, "log:a", &Outbound::reply("2"), None, now_millis()).await.unwrap();
        // A row no version of steward wrote (hand-edited, say) is refused
        // with the reason; it stops nothing either.
        sqlx::query("INSERT INTO outbox (id, destination, payload, state, next_attempt_at, created_at) VALUES ('x', 'log:c', '{\"kind\": \"pigeon\"}', 'pending', 0, 0)")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        notify.notify_one();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let pending = |d| {
            let store = store.clone();
            async move { state_of(&store, d).await.0 == "pending" }
        };
        while pending("boom:1").await || pending("log:a").await || pending("log:c").await {
            assert!(std::time::Instant::now() < deadline, "the outbox stopped");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let (state, error) = state_of(&store, "boom:1").await;
        assert_eq!(state, "failed");
        assert!(error.unwrap_or_default().contains("deliberate panic"));
        assert_eq!(state_of(&store, "log:a").await.0, "sent");
        let (state, error) = state_of(&store, "log:c").await;
        assert_eq!(state, "failed");
        assert!(error.unwrap_or_default().contains("unknown variant `pigeon`"));
        let mut tx = store.begin().await.unwrap();
        outbox::enqueue(&mut tx, "log:b", &Outbound::reply("3"), None, now_millis()).await.unwrap();
        tx.commit().await.unwrap();
        notify.notify_one();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while state_of(&store, "log:b").await.0 == "pending" {
            assert!(std::time::Instant::now() < deadline, "the outbox stopped after the panic");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap().unwrap();
    }
}
