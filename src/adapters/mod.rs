//! Adapters: how steward acts on the world. Every effect carries an
//! idempotency key derived from (intent, step), so a retry or a restart
//! presents the same key (invariant 2). An adapter can say whether an effect
//! with a key happened (`reconcile`), and undo one (`compensate`).

mod digest;
pub mod email;
mod note;
mod notify;
pub mod secrets;
mod webhook;
pub mod workflow;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;

use crate::domain::{DestinationArg, IdempotencyKey, InvalidInput, PlannedStep, Reach, RetryPolicy};
use crate::policy::{StepFacts, Vocabulary};

pub use digest::DigestAdapter;
pub use email::EmailAdapter;
pub use note::NoteAdapter;
pub use notify::NotifyAdapter;
pub use secrets::Secrets;
pub use webhook::WebhookAdapter;
pub use workflow::WorkflowAdapter;

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
    /// The arguments that name an address the action reaches. The policy
    /// judges every one of them, whichever one a rule names.
    pub destinations: Vec<DestinationArg>,
}

impl ActionSpec {
    /// The argument names the schema allows, or `None` when it allows any.
    pub fn arg_names(&self) -> Option<Vec<String>> {
        let props = self.args_schema.get("properties").and_then(Value::as_object);
        let closed = self.args_schema.get("additionalProperties") == Some(&Value::Bool(false));
        closed.then(|| props.map(|p| p.keys().cloned().collect()).unwrap_or_default())
    }

    /// The arguments as the adapter will use them: the schema's defaults
    /// fill in what the plan left out (a webhook's method is `POST`).
    pub fn with_defaults(&self, args: &Value) -> Value {
        let mut args = args.clone();
        let (Some(props), Some(obj)) =
            (self.args_schema.get("properties").and_then(Value::as_object), args.as_object_mut())
        else {
            return args;
        };
        for (name, schema) in props {
            if let (Some(default), false) = (schema.get("default"), obj.contains_key(name)) {
                obj.insert(name.clone(), default.clone());
            }
        }
        args
    }
}

/// Reads at most `limit` bytes of a response body, and says whether there
/// was more. A body from outside is never read whole: a hostile server could
/// send gigabytes. A read error ends the body where it broke.
pub(crate) async fn read_limited(mut response: reqwest::Response, limit: usize) -> (Vec<u8>, bool) {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = limit - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return (body, true);
        }
        body.extend_from_slice(&chunk);
    }
    (body, false)
}

/// Every adapter steward has, configured or not: what a policy file may
/// name. `policy check` refuses a rule for anything else.
pub fn known() -> Vec<Description> {
    vec![
        webhook::description(),
        email::description(),
        note::description(),
        notify::description(),
        workflow::description(),
        digest::description(),
    ]
}

/// Where a step may reach, as its adapter declares it: for showing a step
/// to a person. Works whether or not the adapter is configured here; an
/// adapter steward does not have declares nothing.
pub fn destinations_of(step: &PlannedStep) -> Vec<crate::domain::Destination> {
    known()
        .into_iter()
        .find(|d| d.name == step.adapter.as_str())
        .and_then(|d| d.actions.into_iter().find(|a| a.name == step.action.as_str()))
        .map(|a| crate::domain::destinations(&a.destinations, &step.args))
        .unwrap_or_default()
}

/// What a policy file may name: every adapter steward has.
pub fn policy_vocabulary() -> Vocabulary {
    vocabulary(&known())
}

/// What the policy may name, from these adapters' descriptions.
pub fn vocabulary(descriptions: &[Description]) -> Vocabulary {
    let mut v = Vocabulary::default();
    for d in descriptions {
        let actions = d.actions.iter().map(|a| (a.name.to_owned(), a.arg_names())).collect();
        v.adapters.insert(d.name.to_owned(), actions);
    }
    v
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
    /// A passing fault from anything that prints (a store error, say).
    pub fn transient(e: impl std::fmt::Display) -> Self {
        Self::Transient(e.to_string())
    }

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
    /// the other side honours idempotency keys. `reach` is where the step's
    /// host names pointed when the policy judged it: an adapter that
    /// connects to a host the plan names connects only to addresses of the
    /// kinds judged there ([`Reach::admit`]).
    async fn execute(
        &self,
        key: &IdempotencyKey,
        action: &str,
        args: &serde_json::Value,
        reach: &Reach,
    ) -> Result<serde_json::Value, AdapterError>;

    /// Undoes a succeeded action. Returns what was done; an action that
    /// defines no compensation (the default) returns `{"compensation": "none"}`.
    async fn compensate(
        &self,
        _key: &IdempotencyKey,
        _action: &str,
        _args: &serde_json::Value,
        _result: Option<&serde_json::Value>,
        _reach: &Reach,
    ) -> Result<serde_json::Value, AdapterError> {
        Ok(serde_json::json!({"compensation": "none"}))
    }

    /// Finds out whether the effect with this key happened.
    async fn reconcile(
        &self,
        key: &IdempotencyKey,
        action: &str,
        args: &serde_json::Value,
        reach: &Reach,
    ) -> Reconciled;
}

/// The adapters steward can use, by name, each with its retry policy.
#[derive(Clone, Default)]
pub struct Catalog {
    adapters: BTreeMap<&'static str, (Arc<dyn Adapter>, RetryPolicy)>,
    /// How the adapters' host names resolve: the policy judges steps by
    /// what the same resolver says.
    dns: crate::dns::Dns,
}

impl Catalog {
    pub fn with_dns(mut self, dns: crate::dns::Dns) -> Self {
        self.dns = dns;
        self
    }

    pub fn dns(&self) -> &crate::dns::Dns {
        &self.dns
    }

    pub fn with(mut self, adapter: Arc<dyn Adapter>, retry: RetryPolicy) -> Self {
        self.adapters.insert(adapter.describe().name, (adapter, retry));
        self
    }

    pub fn get(&self, name: &str) -> Option<&(Arc<dyn Adapter>, RetryPolicy)> {
        self.adapters.get(name)
    }

    /// Whether `adapter.action` can run here; if not, why, in words that
    /// say what to change.
    pub fn offers(&self, adapter: &str, action: &str) -> Result<(), String> {
        let configured = self.get(adapter).map(|(a, _)| a.describe());
        let builtin = known().into_iter().find(|d| d.name == adapter);
        match (configured, builtin) {
            (Some(d), _) if d.actions.iter().any(|a| a.name == action) => Ok(()),
            (Some(d), _) | (None, Some(d)) if !d.actions.iter().any(|a| a.name == action) => {
                let names: Vec<_> = d.actions.iter().map(|a| a.name).collect();
                Err(format!("`{adapter}` has no action `{action}` (it has: {})", names.join(", ")))
            }
            (None, Some(_)) => {
                Err(format!("the `{adapter}` adapter is not configured here (see its section in the README)"))
            }
            _ => {
                let names: Vec<_> = known().iter().map(|d| d.name).collect();
                Err(format!("there is no adapter `{adapter}` (there are: {})", names.join(", ")))
            }
        }
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

    /// What the policy needs to know of a step before it judges it: its
    /// arguments with the adapter's defaults, and its destinations. A step
    /// of an adapter not configured here is judged on its arguments alone.
    pub fn facts(&self, step: &PlannedStep) -> StepFacts {
        let spec = self
            .get(step.adapter.as_str())
            .and_then(|(adapter, _)| adapter.describe().actions.into_iter().find(|a| a.name == step.action.as_str()));
        match spec {
            Some(spec) => StepFacts::new(
                spec.with_defaults(&step.args),
                crate::domain::destinations(&spec.destinations, &step.args),
            ),
            None => StepFacts::new(step.args.clone(), vec![]),
        }
    }

    /// The facts of every step of a plan, in order.
    pub fn plan_facts(&self, plan: &crate::domain::Plan) -> Vec<StepFacts> {
        plan.steps().iter().map(|s| self.facts(s)).collect()
    }
}
