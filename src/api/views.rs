//! The JSON shapes of the API: requests parsed at the edge into domain types,
//! and views rendered from them.

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::adapters::Catalog;
use crate::domain::{Intent, InvalidInput, Plan, PlannedStep, Step};
use crate::store::audit;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIntent {
    /// What should happen, in the operator's words.
    pub text: String,
    /// Why, for the audit trail.
    pub reason: Option<String>,
    /// When the intent must be finished by (RFC 3339).
    pub deadline: Option<DateTime<Utc>>,
    /// The steps to take. Without a plan the intent waits to be planned.
    pub plan: Option<PlanBody>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    pub steps: Vec<StepBody>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    /// An adapter name, e.g. `webhook`.
    pub adapter: String,
    /// One of the adapter's actions, e.g. `post`.
    pub action: String,
    /// The action's arguments (a JSON object).
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub args: serde_json::Value,
    /// The step must succeed within this many seconds of becoming due.
    pub within_secs: Option<u64>,
    /// The step waits this many seconds after it becomes due (at most a year).
    pub wait_secs: Option<u64>,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

impl PlanBody {
    /// Parses the steps and checks each against the adapter catalog, naming
    /// the offending step in the error (`plan.steps[1].args.url: ...`).
    pub fn parse(self, catalog: &Catalog) -> Result<Plan, InvalidInput> {
        let steps = self
            .steps
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let at = |e: InvalidInput| InvalidInput::new(format!("plan.steps[{i}].{}", e.field), e.reason);
                let mut step = PlannedStep::parse(&s.adapter, &s.action, s.args).map_err(at)?;
                step.within_secs = s.within_secs;
                step.wait_secs = s.wait_secs;
                catalog.validate(&step).map_err(at)?;
                Ok(step)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Plan::new(steps)
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only intents in this state.
    pub state: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// An intent's risk before the policy has judged it (a request still being
/// planned, a question, which no policy judges).
pub const NOT_JUDGED: &str = "not_judged";

#[derive(Debug, Serialize, ToSchema)]
pub struct IntentView {
    pub id: String,
    pub text: String,
    pub state: String,
    /// low, medium or high once the policy judged it; `not_judged` before.
    pub risk: String,
    pub source: String,
    pub actor: String,
    pub reason: Option<String>,
    pub agent: String,
    pub agent_version: String,
    pub policy_version: String,
    pub deadline: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<StepView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<Vec<AuditView>>,
}

impl From<&Intent> for IntentView {
    fn from(i: &Intent) -> Self {
        Self {
            id: i.id.to_string(),
            text: i.text.as_str().to_owned(),
            state: i.state.to_string(),
            // Until the policy has judged it, its risk is not known: say so
            // rather than show the default.
            risk: if i.provenance.policy_version == crate::domain::Provenance::NO_POLICY {
                NOT_JUDGED.to_owned()
            } else {
                i.risk.to_string()
            },
            source: i.provenance.channel.clone(),
            actor: i.provenance.actor.clone(),
            reason: i.provenance.reason.clone(),
            agent: i.provenance.agent.clone(),
            agent_version: i.provenance.agent_version.clone(),
            policy_version: i.provenance.policy_version.clone(),
            deadline: i.deadline.map(time),
            created_at: time(i.created_at),
            updated_at: time(i.updated_at),
            steps: None,
            audit: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StepView {
    pub seq: u32,
    pub adapter: String,
    pub action: String,
    #[schema(value_type = Object)]
    pub args: serde_json::Value,
    pub state: String,
    pub attempts: u32,
    pub idempotency_key: String,
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    pub error: Option<String>,
    /// How long it waits once due (a workflow's `wait`), and the time it
    /// runs no sooner than (`wait_until`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_secs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_before: Option<i64>,
    /// When it is due next (a retry, or the end of a wait).
    pub next_attempt_at: Option<i64>,
}

impl From<&Step> for StepView {
    fn from(s: &Step) -> Self {
        Self {
            seq: s.seq,
            adapter: s.planned.adapter.as_str().to_owned(),
            action: s.planned.action.as_str().to_owned(),
            args: s.planned.args.clone(),
            state: s.state.to_string(),
            attempts: s.attempts,
            idempotency_key: s.idempotency_key().to_string(),
            result: s.result.clone(),
            error: s.error.clone(),
            wait_secs: s.planned.wait_secs,
            not_before: s.planned.not_before,
            next_attempt_at: s.next_attempt_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    pub hash: String,
}

impl From<audit::Record> for AuditView {
    fn from(r: audit::Record) -> Self {
        Self { seq: r.seq, at: time(r.at), actor: r.actor, action: r.action, detail: r.detail, hash: r.hash }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IntentPage {
    pub items: Vec<IntentView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ControlResult {
    pub id: String,
    /// The intent's state after the command.
    pub state: String,
}
