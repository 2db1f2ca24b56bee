//! The reasoning pipeline: every inbound request is answered at the cheapest
//! tier that can answer with confidence, and escalated otherwise.
//!
//! - tier 0: commands and button presses (parsed where they came in, see
//!   [`crate::domain::Command`]) and the exact answer cache;
//! - tier 1, semantic: one embedding, then the intent [`router`], the
//!   semantic answer [`cache`] and extractive answers from memory;
//! - tier 2, the fast model: classify and extract a one-step action, or
//!   answer from retrieved records;
//! - tier 3, the deep planner: a JSON plan over the adapter catalog, checked
//!   by the `qa` role before it may become an intent.
//!
//! No model is called unless a request asks for one; every call is written to
//! the cost ledger. Without a model (none configured, the day's budget spent,
//! the breaker open) a request that needs one becomes an intent in
//! `needs_attention` and the operator is told why; it is never an error.

mod asking;
mod cache;
mod call;
mod commands;
mod extractive;
mod flow_router;
mod forgetting;
pub mod limits;
pub mod llm;
mod pipeline;
mod plan;
mod recall;
mod references;
mod reminding;
pub mod roles;
pub mod router;
mod running;
mod shape;
mod who;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;

use crate::adapters::Catalog;
use crate::config::{Config, ReasoningConfig};
use crate::domain::{Actor, Approvers, IntentId, IntentState};
use crate::memory::{Memory, MemoryError};
use crate::orchestrator::RunnerHandle;
use crate::policy::PolicyHandle;
use crate::store::audit::{self, Entry};
use crate::store::inbox::{self, Claim};
use crate::store::{Store, StoreError};
use crate::telemetry::Metrics;
use crate::workflows::Library;
use cache::AnswerCache;
use call::Models;
use limits::Verdict;
use recall::Recall;
use roles::Roles;
use who::People;

pub use commands::when;
pub use roles::{Role, RoleError};

/// A request as a channel hands it over.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub channel: String,
    /// The platform's id for the event (update id, interaction id, the HTTP
    /// `Idempotency-Key`); a redelivery with the same id is answered from
    /// the inbox and creates nothing new.
    pub external_id: String,
    pub actor: Actor,
    pub input: Input,
    /// Where later messages about it go (a reminder's): the chat it came
    /// from (`telegram:CHAT`, `discord:CHANNEL`), or `operator`.
    pub chat: String,
}

pub use crate::domain::Input;

/// What the inbox keeps of an input: its JSON, which the replay check hashes.
fn payload(input: &Input) -> serde_json::Value {
    serde_json::to_value(input).unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An answer, a command's result, or a refusal.
    Reply,
    /// The request became an intent (planned, or waiting for the operator).
    Intent,
    /// The event was seen before; this is what it produced then.
    Duplicate,
    /// Someone other than the operator sent too many messages: refused
    /// once (the text says so), then dropped (no text, nothing to send).
    Limited,
}

pub use crate::domain::Citation;

#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    pub kind: Kind,
    /// The tier that answered: 0–3.
    pub tier: u8,
    /// What to tell the person, plain text.
    pub text: String,
    /// How sure the answering tier was, 0–1.
    pub confidence: f32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub citations: Vec<Citation>,
    pub intent_id: Option<IntentId>,
    pub intent_state: Option<IntentState>,
    /// The router's intent, when tier 1 routed it.
    pub route: Option<String>,
    pub cached: bool,
    /// Why each passed tier did not answer, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub escalations: Vec<String>,
    /// Buttons that each do one thing (a menu): a chat shows them under
    /// the text; over the API, `{"button": "m:TOKEN"}` presses one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<crate::domain::MenuButton>,
}

impl Answer {
    fn reply(tier: u8, text: impl Into<String>, confidence: f32) -> Self {
        Self {
            kind: Kind::Reply,
            tier,
            text: text.into(),
            confidence,
            citations: vec![],
            intent_id: None,
            intent_state: None,
            route: None,
            cached: false,
            escalations: vec![],
            buttons: vec![],
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReasoningError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Memory(#[from] MemoryError),
    #[error("{0}")]
    Setup(String),
}

/// The pipeline, by what each tier reads.
pub struct Reasoner {
    /// Who is asking: may they act, what may they read, are they over
    /// their rate limit.
    people: People,
    /// Tier 1: the embedder and memory, the router, the answer cache.
    recall: Recall,
    /// Tiers 2 and 3: the models, their roles, the budget and the ledger.
    models: Models,
    /// What a plan may use, and how the policy judges it.
    catalog: Catalog,
    /// The saved workflows `/run` starts.
    workflows: Library,
    /// Their example phrases' embeddings, for routing a request in words.
    phrases: flow_router::Phrases,
    policy: PolicyHandle,
    /// The inbox claim, and the intents and replies committed with it.
    store: Store,
    runner: RunnerHandle,
    metrics: Arc<Metrics>,
    config: ReasoningConfig,
}

/// What the pipeline needs from the running server.
pub struct Parts {
    pub store: Store,
    pub memory: Memory,
    pub catalog: Catalog,
    pub policy: PolicyHandle,
    pub approvers: Approvers,
    pub runner: RunnerHandle,
    pub metrics: Arc<Metrics>,
    pub workflows: Library,
}

/// Loads the roles (built-in, or from `reasoning.prompts_dir`).
pub fn load_roles(config: &ReasoningConfig) -> Result<Roles, RoleError> {
    match &config.prompts_dir {
        None => Ok(Roles::builtin()),
        Some(dir) => Roles::load(dir),
    }
}

impl Reasoner {
    pub async fn build(config: &Config, parts: Parts) -> Result<Self, ReasoningError> {
        let r = &config.reasoning;
        let roles = load_roles(r).map_err(|e| ReasoningError::Setup(e.to_string()))?;
        let intents = router::load(r.prompts_dir.as_deref()).map_err(ReasoningError::Setup)?;
        let cache = AnswerCache::new(Duration::from_secs(r.cache_ttl_secs), r.cache_similarity);
        let (store, metrics) = (parts.store, parts.metrics);
        Ok(Self {
            people: People::new(parts.approvers, config.memory.identities.clone(), r.messages_per_minute),
            recall: Recall::new(store.clone(), parts.memory, (intents, r.route_threshold), cache, r.answer_threshold),
            models: Models::new(config, roles, store.clone(), parts.policy.clone(), metrics.clone()),
            catalog: parts.catalog,
            workflows: parts.workflows,
            phrases: flow_router::Phrases::default(),
            policy: parts.policy,
            store,
            runner: parts.runner,
            metrics,
            config: r.clone(),
        })
    }

    pub fn roles(&self) -> &Roles {
        self.models.roles()
    }

    /// Loads the embedding model and embeds the router's examples, in the
    /// background after the server starts listening: a request that comes
    /// first waits for it; a memory search does not.
    pub async fn warm(&self) {
        let started = std::time::Instant::now();
        match self.recall.warm().await {
            Ok(()) => tracing::info!(ms = started.elapsed().as_millis() as u64, "reasoning warmed up"),
            Err(e) => tracing::error!(error = %e, "warming up reasoning failed; requests will try again"),
        }
    }

    /// Answers one inbound request.
    #[tracing::instrument(name = "reason", skip_all, fields(channel = %inbound.channel, event = %inbound.external_id,
        actor = %inbound.actor, tier, intent_id))]
    pub async fn handle(&self, inbound: &Inbound) -> Result<Answer, ReasoningError> {
        let payload = payload(&inbound.input);
        let actor = inbound.actor.to_string();
        let ib = inbox::Inbound {
            channel: &inbound.channel,
            external_id: &inbound.external_id,
            actor: &actor,
            payload: &payload,
        };
        if let Some(seen) = inbox::seen(self.store.reader(), &ib).await? {
            return self.duplicate(seen).await;
        }
        if let Some(limited) = self.limit(inbound).await? {
            return Ok(limited);
        }
        let started = std::time::Instant::now();
        let outcome = self.reason(inbound).await?;
        let span = tracing::Span::current();
        span.record("tier", outcome.tier);
        if let Some(id) = outcome.intent_id {
            span.record("intent_id", tracing::field::display(id));
        }
        self.metrics.inc("steward_requests_total", &[("tier", tier_label(outcome.tier))]);
        let took = started.elapsed().as_secs_f64();
        self.metrics.observe("steward_reasoning_seconds", &[("tier", tier_label(outcome.tier))], took);
        Ok(outcome)
    }

    /// Past the identity's rate limit: the first message gets a polite
    /// refusal, audited; the rest of the burst gets nothing.
    async fn limit(&self, inbound: &Inbound) -> Result<Option<Answer>, ReasoningError> {
        let verdict = self.people.admit_message(&inbound.actor);
        if verdict == Verdict::Allow {
            return Ok(None);
        }
        self.metrics.inc("steward_rate_limited_total", &[("channel", limited_channel(&inbound.channel))]);
        let mut outcome = Answer::reply(0, "", 1.0);
        outcome.kind = Kind::Limited;
        if verdict == Verdict::Refuse {
            let who = inbound.actor.to_string();
            tracing::warn!(actor = %who, channel = %inbound.channel, "rate limit reached; refusing once");
            let mut tx = self.store.begin().await?;
            let detail = json!({"channel": inbound.channel, "per_minute": self.config.messages_per_minute});
            let entry = Entry { actor: &who, action: "rate.limited", subject: Some(&who), detail };
            audit::append(&mut tx, self.store.now(), &entry).await?;
            tx.commit().await.map_err(StoreError::from)?;
            outcome.text =
                "You are sending messages faster than I can take them. Please wait a minute, then try again.".into();
        }
        Ok(Some(outcome))
    }

    /// What the event `external_id` on `channel` was answered with, once it
    /// was: for a caller that polls by the event's id.
    pub async fn answered(&self, channel: &str, external_id: &str) -> Result<Option<Answer>, ReasoningError> {
        let Some(seen) = inbox::produced(self.store.reader(), channel, external_id).await? else { return Ok(None) };
        let mut answer = self.duplicate(seen).await?;
        answer.kind = if answer.intent_id.is_some() { Kind::Intent } else { Kind::Reply };
        Ok(Some(answer))
    }

    async fn duplicate(&self, (intent, reply): (Option<IntentId>, Option<String>)) -> Result<Answer, ReasoningError> {
        // A reply scrubbed by `forget` or retention no longer reads as one.
        let mut outcome = match reply.as_deref().map(serde_json::from_str::<StoredReply>) {
            Some(Ok(r)) => Answer::reply(r.tier, r.text, 1.0),
            _ => Answer::reply(0, "This request was handled already.", 1.0),
        };
        outcome.kind = Kind::Duplicate;
        if let Some(id) = intent {
            let state = crate::store::intents::get(&self.store, id).await?.map(|i| i.state);
            outcome.text = format!("This request was handled already: intent {id}.");
            (outcome.intent_id, outcome.intent_state) = (Some(id), state);
        }
        Ok(outcome)
    }

    /// Records that the event was answered with `outcome`, in the same
    /// transaction as what the answer did (`effect`), unless an earlier
    /// delivery of it got there first.
    async fn commit_reply(
        &self,
        inbound: &Inbound,
        outcome: Answer,
        effect: commands::Effect,
    ) -> Result<Answer, ReasoningError> {
        let now = self.store.now();
        let payload = payload(&inbound.input);
        let ib = inbox::Inbound {
            channel: &inbound.channel,
            external_id: &inbound.external_id,
            actor: &inbound.actor.to_string(),
            payload: &payload,
        };
        let mut tx = self.store.begin().await?;
        let inbox_id = match inbox::claim(&mut tx, now, &ib).await? {
            Claim::New { inbox_id } => inbox_id,
            Claim::Seen { intent_id, reply } => {
                drop(tx);
                return self.duplicate((intent_id, reply)).await;
            }
        };
        let outcome = self.perform(&mut tx, inbound, outcome, effect, now).await?;
        let stored = StoredReply { tier: outcome.tier, text: outcome.text.clone() };
        inbox::answer(
            &mut tx,
            &inbox_id,
            &serde_json::to_string(&stored).map_err(|e| StoreError::corrupt("inbox", e))?,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(outcome)
    }
}

/// The reply an inbox row keeps, for a redelivery to be answered with.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredReply {
    tier: u8,
    text: String,
}

fn limited_channel(channel: &str) -> &'static str {
    match channel {
        "telegram" => "telegram",
        "discord" => "discord",
        "http" => "http",
        _ => "other",
    }
}

fn tier_label(tier: u8) -> &'static str {
    ["0", "1", "2", "3"].get(tier as usize).copied().unwrap_or("3")
}
