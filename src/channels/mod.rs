//! The chat channels, Telegram and Discord, and the outbox that delivers
//! everything steward says.
//!
//! A chat channel keeps each platform event in the store before it tells
//! the platform it arrived, hands it to one worker per conversation (so a
//! chat is answered in order), parses it once into a typed [`Inbound`]
//! (text, a command, a button press) and queues the typed
//! [`Outbound`] answer in the transaction that marks the event done.
//!
//! The boundary a channel implements is that pair: [`dispatch::Handle`] for
//! what comes in (one kept event at a time) and [`outbox::Deliver`] for what
//! goes out, matched on the `Outbound`; [`Core`] is what they share, and
//! [`cards`] renders approval cards once for both platforms. The orchestrator,
//! the gate and the schedules only queue `Outbound`s in the store; the
//! [`outbox::OutboxWorker`] here sends them.
//!
//! [`Inbound`]: crate::reasoning::Inbound

pub mod cards;
pub mod discord;
pub mod dispatch;
pub mod outbox;
pub mod telegram;
pub mod text;
pub mod wire;

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::domain::{Actor, Approvers, Command, Outbound, Press};
use crate::orchestrator::RunnerHandle;
use crate::orchestrator::decisions::{self, Ask, DecideError, decide};
use crate::reasoning::{Inbound, Reasoner};
use crate::store::channels;
use crate::store::inbox::{self, Event};
use crate::store::{Store, StoreError, outbox as queued};
use dispatch::Dispatcher;

/// Who may decide approvals: the configured approvers, the users each
/// channel's config allows, and those pairing added.
pub async fn approvers(config: &Config, store: &Store) -> Result<Approvers, StoreError> {
    let mut all = config.approvals.approvers.clone();
    all.extend(config.telegram.allowed_users.iter().map(|u| format!("telegram:{u}")));
    all.extend(config.discord.allowed_users.iter().map(|u| format!("discord:{u}")));
    all.extend(channels::all_paired(store.reader()).await?);
    all.sort();
    all.dedup();
    Ok(Approvers::new(all))
}

/// What every chat channel shares: the store, reasoning, who may decide,
/// the runner's and the outbox's wake-ups, and the dispatcher of its kept
/// events.
pub struct Core {
    pub channel: &'static str,
    pub store: Store,
    pub reasoner: Arc<Reasoner>,
    pub approvers: Approvers,
    runner: RunnerHandle,
    outbox: Arc<Notify>,
    /// Set when the channel runs; events kept before are resumed then.
    dispatcher: OnceLock<Arc<Dispatcher>>,
}

impl Core {
    pub fn new(
        channel: &'static str,
        store: Store,
        reasoner: Arc<Reasoner>,
        approvers: Approvers,
        runner: RunnerHandle,
        outbox: Arc<Notify>,
    ) -> Self {
        Self { channel, store, reasoner, approvers, runner, outbox, dispatcher: OnceLock::new() }
    }

    /// Whether this channel's user `id` may act and decide.
    pub fn is_approver(&self, id: &str) -> bool {
        Actor::new(self.channel, id).is_in(&self.approvers.get())
    }

    /// Starts the dispatcher (once) and hands it the events kept but not
    /// finished before the last stop.
    pub async fn start<H: dispatch::Handle>(&self, handler: &Arc<H>, shutdown: &CancellationToken) -> Arc<Dispatcher> {
        let weak = Arc::downgrade(handler) as Weak<dyn dispatch::Handle>;
        let dispatcher = self.dispatcher.get_or_init(|| Dispatcher::new(weak, shutdown.clone())).clone();
        let channel = self.channel;
        match inbox::open_events(self.store.reader(), channel).await {
            Ok(open) => {
                if !open.is_empty() {
                    tracing::info!(%channel, events = open.len(), "resuming chat events kept before the last stop");
                }
                for e in open {
                    dispatcher.dispatch(e);
                }
            }
            Err(e) => tracing::error!(%channel, error = %e, "cannot resume kept events; they wait for the next start"),
        }
        dispatcher
    }

    /// Keeps an event; returns it when it is new (a redelivery returns `None`).
    pub async fn keep(&self, event: Event) -> Result<Option<Event>, StoreError> {
        let mut tx = self.store.begin().await?;
        let new = inbox::keep(&mut tx, &event, self.store.now()).await?;
        tx.commit().await?;
        Ok(new.then_some(event))
    }

    /// Hands a kept event to its conversation's worker.
    pub fn dispatch(&self, event: Event) {
        if let Some(d) = self.dispatcher.get() {
            d.dispatch(event);
        }
    }

    /// Keeps an event and, when it is new, hands it to its worker.
    pub async fn admit(&self, event: Event) -> Result<(), StoreError> {
        if let Some(event) = self.keep(event).await? {
            self.dispatch(event);
        }
        Ok(())
    }

    /// Reasons about a kept event and queues what to say back, each payload
    /// a message to `destination`, in the transaction that marks the event
    /// done. A restart that finds the event open reasons again: the
    /// reasoning inbox answers the redelivery from what it recorded, and the
    /// replies' dedup keys queue them once.
    pub async fn answer(
        &self,
        event: &Event,
        inbound: &Inbound,
        destination: &str,
        render: impl FnOnce(&crate::reasoning::Answer) -> Vec<Outbound>,
    ) -> anyhow::Result<()> {
        let outcome = self.reasoner.handle(inbound).await?;
        if outcome.kind == crate::reasoning::Kind::Limited && outcome.text.is_empty() {
            // Still over the rate limit, and told so already: nothing to say.
            return self.finish(event, destination, &[]).await;
        }
        self.finish(event, destination, &render(&outcome)).await
    }

    /// An operator's press of a card's button: decided, answered (`render`
    /// says how, on this platform) and the event marked done, all in one
    /// transaction, so a redelivered press can never decide twice. A press
    /// goes straight to the decision: there is nothing to reason about.
    pub async fn press(
        &self,
        event: &Event,
        destination: &str,
        who: &Actor,
        press: &Press,
        render: impl FnOnce(String) -> Vec<Outbound>,
    ) -> anyhow::Result<()> {
        let now = self.store.now();
        let approvers = self.approvers.get();
        let mut tx = self.store.begin().await?;
        let text = match press.command() {
            Some(Command::Decide { target, decision, comment }) => {
                decisions::by_reference(&mut tx, &target, decision, comment.as_deref(), who, &approvers, now)
                    .await?
                    .text
            }
            Some(Command::ApproveAllLow(until)) => {
                decisions::low_batch(&self.store, &mut tx, until.as_deref(), who, &approvers, now).await?
            }
            _ => "Details are shown on the card itself.".to_owned(),
        };
        self.queue(&mut tx, event, destination, &render(text), now).await?;
        tx.commit().await?;
        self.runner.wake();
        self.outbox.notify_one();
        Ok(())
    }

    async fn queue(
        &self,
        tx: &mut crate::store::Tx,
        event: &Event,
        destination: &str,
        messages: &[Outbound],
        now: crate::domain::Millis,
    ) -> Result<(), StoreError> {
        for (i, m) in messages.iter().enumerate() {
            let key = format!("reply:{}:{}:{i}", event.channel, event.external_id);
            queued::enqueue(tx, destination, m, Some(&key), now).await?;
        }
        inbox::done(tx, &event.channel, &event.external_id, now).await
    }

    /// Queues `messages` to `destination` and marks the event done, at once.
    pub async fn finish(&self, event: &Event, destination: &str, messages: &[Outbound]) -> anyhow::Result<()> {
        let now = self.store.now();
        let mut tx = self.store.begin().await?;
        self.queue(&mut tx, event, destination, messages, now).await?;
        tx.commit().await?;
        self.outbox.notify_one();
        Ok(())
    }

    /// A kept event that does not read as what this channel keeps (a row
    /// from another version, or edited by hand): logged and closed with no
    /// answer, so it never blocks its conversation.
    pub async fn unreadable(&self, event: &Event, why: &serde_json::Error) -> anyhow::Result<()> {
        tracing::error!(channel = %event.channel, event = %event.external_id, error = %why, "a kept chat event is unreadable; closing it unanswered");
        self.finish(event, "", &[]).await
    }

    /// Queues one message outside any event (a refusal, a pairing welcome).
    pub async fn say(&self, destination: &str, message: &Outbound, dedup: Option<&str>) -> Result<(), StoreError> {
        let mut tx = self.store.begin().await?;
        queued::enqueue(&mut tx, destination, message, dedup, self.store.now()).await?;
        tx.commit().await?;
        self.outbox.notify_one();
        Ok(())
    }

    /// Records how the connection is doing, for /readyz and doctor.
    pub async fn report(&self, state: &str, detail: &str) {
        let channel = self.channel;
        let done = async {
            let mut tx = self.store.begin().await?;
            channels::report(&mut tx, channel, state, detail, self.store.now()).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        };
        if let Err(e) = done.await {
            tracing::warn!(%channel, error = %e, "cannot record the channel's health");
        }
    }

    /// A button press by someone who may not decide: refused by the
    /// approval itself (which audits the refusal), so the reason is its own.
    pub async fn refuse_press(&self, who: &Actor, data: &str) -> Result<String, StoreError> {
        let Some(Command::Decide { target, decision, .. }) = Press::parse(data).ok().and_then(|p| p.command()) else {
            return Ok("Only the operator can use these buttons.".into());
        };
        let ask = Ask { approval: &target, decision, approver: who, comment: None };
        Ok(match decide(&self.store, &ask, &self.approvers.get()).await {
            Ok(_) => "Decided.".into(),
            Err(DecideError::Refused(r)) => format!("Not decided: {r}."),
            Err(DecideError::Store(e)) => return Err(e),
        })
    }
}

/// How long to wait after `failures` failed connection attempts: doubling
/// from a second, at most 30 s, with jitter so restarts do not line up.
pub fn backoff(failures: u32) -> Duration {
    let base = Duration::from_millis(500 * 2u64.saturating_pow(failures.min(6)));
    base.min(Duration::from_secs(30)).mul_f64(0.5 + rand::random::<f64>() / 2.0)
}
