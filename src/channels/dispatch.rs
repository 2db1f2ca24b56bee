//! One worker per conversation: a chat's events are handled in the order
//! they arrived, different chats in parallel. Events are kept in the store
//! before they get here, so an event still queued when steward stops is
//! handled after it starts again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::store::inbox::Event;

/// Handles one kept event and marks it done. An error leaves it open: the
/// worker tries again, then at the next start.
#[async_trait]
pub trait Handle: Send + Sync + 'static {
    async fn handle(&self, event: &Event) -> anyhow::Result<()>;
}

pub struct Dispatcher {
    workers: Mutex<HashMap<String, mpsc::UnboundedSender<Event>>>,
    /// Weak: the channel owns its dispatcher, not the other way round.
    handler: Weak<dyn Handle>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

/// How often a failing event is tried before the worker moves on (it stays
/// open in the store and is tried again at the next start).
const ATTEMPTS: u32 = 5;

impl Dispatcher {
    pub fn new(handler: Weak<dyn Handle>, shutdown: CancellationToken) -> Arc<Self> {
        Arc::new(Self { workers: Mutex::default(), handler, shutdown, tasks: TaskTracker::new() })
    }

    /// Queues an event behind the others of its conversation.
    pub fn dispatch(&self, event: Event) {
        let mut workers = self.workers.lock().unwrap_or_else(|p| p.into_inner());
        let conversation = event.conversation.clone();
        let event = match workers.get(&conversation) {
            Some(tx) => match tx.send(event) {
                Ok(()) => return,
                // The worker stopped (shutdown): start another.
                Err(mpsc::error::SendError(event)) => event,
            },
            None => event,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        tx.send(event).expect("the receiver is alive");
        workers.insert(conversation, tx);
        self.tasks.spawn(work(self.handler.clone(), rx, self.shutdown.clone()));
    }

    /// Waits for the workers to finish what they are handling after shutdown.
    pub async fn drained(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }
}

async fn work(handler: Weak<dyn Handle>, mut rx: mpsc::UnboundedReceiver<Event>, shutdown: CancellationToken) {
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => return,
            e = rx.recv() => match e { Some(e) => e, None => return },
        };
        let Some(handler) = handler.upgrade() else { return };
        let mut attempt = 0;
        while let Err(e) = handler.handle(&event).await {
            attempt += 1;
            tracing::error!(channel = %event.channel, event = %event.external_id, attempt, error = %e, "handling a chat event failed");
            if attempt >= ATTEMPTS || shutdown.is_cancelled() {
                break;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_millis(200 << attempt)) => {}
            }
        }
    }
}
