//! Calling a role's model: whether it may be called at all (configured,
//! within the day's budget, breaker closed), the call, the ledger row, and
//! strict parsing of what came back.

use std::sync::Arc;
use std::time::Instant;

use serde::de::DeserializeOwned;

use super::llm::{self, Model};
use super::roles::{ModelTier, Role, Roles};
use super::{Inbound, ReasoningError};
use crate::config::Config;
use crate::policy::PolicyHandle;
use crate::store::{Store, breaker, ledger};
use crate::telemetry::Metrics;

/// The two models, the roles that prompt them, and what every call needs:
/// the budget and the breaker (policy), the ledger (store), the counters.
pub(super) struct Models {
    fast: Option<Arc<Model>>,
    deep: Option<Arc<Model>>,
    roles: Roles,
    store: Store,
    policy: PolicyHandle,
    metrics: Arc<Metrics>,
}

impl Models {
    pub fn new(config: &Config, roles: Roles, store: Store, policy: PolicyHandle, metrics: Arc<Metrics>) -> Self {
        Self {
            fast: Model::new(ModelTier::Fast, &config.llm.fast, &config.llm.prices).map(Arc::new),
            deep: Model::new(ModelTier::Deep, &config.llm.deep, &config.llm.prices).map(Arc::new),
            roles,
            store,
            policy,
            metrics,
        }
    }

    pub fn roles(&self) -> &Roles {
        &self.roles
    }

    pub fn role(&self, name: &str) -> &Role {
        self.roles.get(name)
    }

    fn model(&self, tier: ModelTier) -> Option<&Arc<Model>> {
        match tier {
            ModelTier::Fast => self.fast.as_ref(),
            ModelTier::Deep => self.deep.as_ref(),
        }
    }

    /// The configured model's name for `tier`, if any.
    pub fn name(&self, tier: ModelTier) -> Option<&str> {
        self.model(tier).map(|m| m.name.as_str())
    }

    /// Why `tier`'s model cannot be called now, in words for the operator
    /// that say what would change it; `None` when it can.
    pub async fn unavailable(&self, tier: ModelTier) -> Result<Option<String>, ReasoningError> {
        let name = match tier {
            ModelTier::Fast => "fast",
            ModelTier::Deep => "deep",
        };
        if self.model(tier).is_none() {
            return Ok(Some(format!(
                "no {name} model is configured (set llm.{name}.base_url and llm.{name}.model, then restart)"
            )));
        }
        let now = self.store.now();
        let policy = self.policy.get();
        let spent = ledger::spent_on_day(self.store.reader(), now).await?;
        let budget = policy.budgets.model_spend_per_day;
        if spent >= budget {
            return Ok(Some(format!(
                "today's model budget is spent (${spent:.4} of ${budget:.2}); it renews at 00:00 UTC, or raise \
                 budgets.model_spend_per_day in the policy"
            )));
        }
        let cooldown = (policy.breaker.cooldown_secs * 1000) as i64;
        if let Some(why) = breaker::open_now(self.store.reader(), cooldown, now).await? {
            return Ok(Some(format!(
                "the circuit breaker is open ({why}); it closes {} s after it opened",
                policy.breaker.cooldown_secs
            )));
        }
        Ok(None)
    }

    /// One call of `role`'s model with `user` as the request. The outer
    /// error is steward's own failure; the inner one is the model's (no
    /// answer, or not the JSON asked for), already counted and recorded.
    ///
    /// The call and its ledger row run in a task of their own: a request
    /// that is cancelled or times out while the model works still leaves
    /// the row, since the call costs money either way.
    pub async fn ask<T: DeserializeOwned + Send + 'static>(
        &self,
        role: &Role,
        user: &str,
        inbound: &Inbound,
    ) -> Result<Result<T, String>, ReasoningError> {
        let Some(model) = self.model(role.tier).cloned() else {
            return Ok(Err(format!("no model for role {}", role.name)));
        };
        let (store, metrics, role, user) = (self.store.clone(), self.metrics.clone(), role.clone(), user.to_owned());
        let request = format!("{}:{}", inbound.channel, inbound.external_id);
        let call =
            tokio::spawn(async move { call_and_record::<T>(&model, &role, &user, request, &store, &metrics).await });
        call.await.map_err(|e| ReasoningError::Setup(format!("the model call task failed: {e}")))?
    }
}

/// Calls the model, classifies what came back, counts it and writes its
/// ledger row: first as `in_flight`, with the prompt's tokens counted here
/// and the output cap as the most it may cost (so a call the process never
/// sees end is still on the ledger, and the day's budget counts it while it
/// runs), then with how it ended.
async fn call_and_record<T: DeserializeOwned>(
    model: &Model,
    role: &Role,
    user: &str,
    request: String,
    store: &crate::store::Store,
    metrics: &crate::telemetry::Metrics,
) -> Result<Result<T, String>, ReasoningError> {
    let prompt = llm::estimate_tokens(&role.prompt) + llm::estimate_tokens(user);
    let mut call = ledger::Call {
        at: store.now(),
        tier: role.tier.number(),
        role: role.name.clone(),
        role_version: role.version.clone(),
        model: model.name.clone(),
        tokens_in: prompt,
        tokens_cached: 0,
        tokens_out: model.max_tokens(),
        cost_usd: model.cost(prompt, 0, model.max_tokens()),
        latency_ms: 0,
        outcome: "in_flight",
        detail: None,
        request: Some(request),
        estimated: true,
    };
    let row = ledger::record(store, &call).await?;
    let started = Instant::now();
    let result = model.complete(&role.name, &role.prompt, user, role.timeout).await;
    call.latency_ms = started.elapsed().as_millis() as u64;
    let parsed = match result {
        Ok(c) => {
            (call.tokens_in, call.tokens_cached, call.tokens_out, call.estimated) =
                (c.tokens_in, c.tokens_cached, c.tokens_out, c.estimated);
            match llm::parse_strict::<T>(&c) {
                Ok(v) => {
                    call.outcome = "ok";
                    Ok(v)
                }
                Err(why) => {
                    (call.outcome, call.detail) = ("invalid_output", Some(why.clone()));
                    Err(why)
                }
            }
        }
        Err(e) => {
            // Timed out, the server may go on to the cap; an error answer
            // or garbage generated nothing that can be counted.
            call.tokens_out = if matches!(e, llm::CallError::Timeout(_)) { model.max_tokens() } else { 0 };
            (call.outcome, call.detail) = (e.outcome(), Some(e.to_string()));
            Err(e.to_string())
        }
    };
    call.cost_usd = model.cost(call.tokens_in, call.tokens_cached, call.tokens_out);
    let outcome = call.outcome;
    metrics.inc("steward_model_calls_total", &[("tier", super::tier_label(call.tier)), ("outcome", outcome)]);
    if outcome != "ok" {
        tracing::warn!(role = %role.name, model = %model.name, outcome, detail = ?call.detail, "model call gave nothing usable");
    }
    ledger::complete(store, &row, &call).await?;
    Ok(parsed)
}
