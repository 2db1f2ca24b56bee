//! Adapters: how steward acts on the world. Every effect carries an
//! idempotency key derived from (intent, step), so a retry or a restart
//! presents the same key (invariant 2). An adapter can say whether an effect
//! with a key happened (`reconcile`), and undo one (`compensate`).

pub mod email;
mod note;
mod webhook;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

use crate::domain::{IdempotencyKey, InvalidInput, PlannedStep, RetryPolicy};

pub use email::EmailAdapter;
pub use note::NoteAdapter;
pub use webhook::{WebhookAdapter, WebhookConfig};

/// What an adapter offers, for plan validation and `describe`.
#[derive(Debug, Clone, Serialize)]
pub struct Description {
    pub name: &'static str,
    pub actions: Vec<ActionSpec>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionSpec {
    pub name: &'static str,
    /// A JSON Schema of the action's arguments.
    pub args_schema: serde_json::Value,
    pub can_compensate: bool,
    pub can_reconcile: bool,
}

/// Why an attempt did not succeed. Whether to retry is part of the type.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AdapterError {
    /// A passing fault (5xx, a refused connection): try again later.
    #[error("transient: {0}")]
    Transient(String),
    /// The other side asked to wait this long first (429 `Retry-After`).
    #[error("asked to retry after {0:?}")]
    RetryAfter(Duration),
    /// It will never work as asked (4xx, bad arguments).
    #[error("permanent: {0}")]
    Permanent(String),
    /// The request may have taken effect but no answer came back (a timeout
    /// after sending). Never retried blindly: reconcile decides.
    #[error("outcome unknown: {0}")]
    Ambiguous(String),
}

impl AdapterError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Transient(_) | Self::RetryAfter(_))
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RetryAfter(d) => Some(*d),
            _ => None,
        }
    }
}

/// What reconcile learned about an effect with a given key.
#[derive(Debug, Clone, PartialEq)]
pub enum Reconciled {
    /// It happened; here is what is known of its result.
    Happened(serde_json::Value),
    /// It did not happen: running again with the same key is safe.
    NotHappened,
    /// No way to know: the operator decides.
    CannotTell(String),
}

#[async_trait]
pub trait Adapter: Send + Sync {
    fn describe(&self) -> Description;

    /// Checks arguments before a plan is accepted.
    fn validate(&self, action: &str, args: &serde_json::Value) -> Result<(), InvalidInput>;

    /// Performs the action. The same key must never cause two effects where
    /// the other side honours idempotency keys.
    async fn execute(
        &self,
        key: &IdempotencyKey,
        action: &str,
        args: &serde_json::Value,
    ) -> Result<serde_json::Value, AdapterError>;

    /// Undoes a succeeded action. Returns what was done; an action that
    /// defines no compensation returns `{"compensation": "none"}`.
    async fn compensate(
        &self,
        key: &IdempotencyKey,
        action: &str,
        args: &serde_json::Value,
        result: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, AdapterError>;

    /// Finds out whether the effect with this key happened.
    async fn reconcile(&self, key: &IdempotencyKey, action: &str, args: &serde_json::Value) -> Reconciled;
}

/// The adapters steward can use, by name, each with its retry policy.
#[derive(Clone, Default)]
pub struct Catalog {
    adapters: BTreeMap<&'static str, (Arc<dyn Adapter>, RetryPolicy)>,
}

impl Catalog {
    pub fn with(mut self, adapter: Arc<dyn Adapter>, retry: RetryPolicy) -> Self {
        self.adapters.insert(adapter.describe().name, (adapter, retry));
        self
    }

    pub fn get(&self, name: &str) -> Option<&(Arc<dyn Adapter>, RetryPolicy)> {
        self.adapters.get(name)
    }

    /// Refuses a step whose adapter or action does not exist, or whose
    /// arguments the adapter rejects.
    pub fn validate(&self, step: &PlannedStep) -> Result<(), InvalidInput> {
        let name = step.adapter.as_str();
        let Some((adapter, _)) = self.get(name) else {
            let known: Vec<_> = self.adapters.keys().copied().collect();
            return Err(InvalidInput::new("adapter", format!("no adapter `{name}`; available: {}", known.join(", "))));
        };
        let action = step.action.as_str();
        let description = adapter.describe();
        if !description.actions.iter().any(|a| a.name == action) {
            let known: Vec<_> = description.actions.iter().map(|a| a.name).collect();
            return Err(InvalidInput::new(
                "action",
                format!("`{name}` has no action `{action}`; available: {}", known.join(", ")),
            ));
        }
        adapter.validate(action, &step.args)
    }
}
