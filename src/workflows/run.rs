//! Starting a run: the arguments checked against the parameters, each
//! step's `if` evaluated and its arguments rendered, the steps checked
//! against the catalog, and then one transaction writes the run's intent
//! and its run row, keyed by what started it. Every run is an intent: the
//! runner, the policy, approvals, compensation and the audit log treat it
//! like any other.

use serde_json::{Value, json};

use super::definition::Workflow;
use super::{steps, template};
use crate::adapters::Catalog;
use crate::domain::{Intent, IntentId, IntentText, Millis, Plan, Provenance};
use crate::store::workflows::{self, NewRun, Recorded};
use crate::store::{Store, StoreError, intents};

/// What starts a run.
#[derive(Debug, Clone)]
pub struct Start<'a> {
    pub workflow: &'a Workflow,
    /// The trigger's name, or `manual` for the CLI, the API and `/run`.
    pub trigger: &'a str,
    /// What makes this run unique: a period, an Idempotency-Key, a chat
    /// event. The same key again starts nothing new.
    pub key: String,
    /// Values for the parameters, as given (checked here).
    pub args: serde_json::Map<String, Value>,
    /// What started it, as `trigger` in templates.
    pub cause: Cause,
    /// Who started it (`cli:ana`, `telegram:42`, `scheduler`) and through
    /// which channel.
    pub actor: String,
    pub channel: String,
    /// A scheduled run: its period, and whether it is a catch-up.
    pub period: Option<(Millis, bool)>,
}

/// What started a run, as its templates see it (`trigger.kind`,
/// `trigger.period`, `trigger.body` …).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Cause {
    /// `POST /v1/workflows/{name}/runs`.
    Api,
    /// `steward workflows run`.
    Cli,
    /// `steward workflows check`: sample values, nothing runs.
    Check,
    /// `/run` from a chat channel (or `/v1/messages`).
    Command {
        channel: String,
    },
    /// A signed delivery to `/hooks/{name}`.
    Webhook {
        delivery: String,
        body: Value,
    },
    /// A cron period, or an `at` time: when, and whether it ran late.
    Cron {
        period: String,
        catch_up: bool,
    },
    At {
        period: String,
        catch_up: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Started {
    New(IntentId),
    /// The key ran before: its intent (none if that run was skipped).
    Existing(Option<IntentId>),
    /// Recorded, with nothing to do: every step's `if` was false.
    Skipped(String),
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The arguments, a template or a rendered step is wrong; nothing was
    /// written. The text says which and why.
    #[error("{0}")]
    Invalid(String),
    /// The key ran before with other arguments.
    #[error("`{0}` started a run with other arguments before")]
    Conflict(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<sqlx::Error> for StartError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

impl From<StoreError> for StartError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::IdempotencyConflict(key) => Self::Conflict(key),
            e => Self::Store(e),
        }
    }
}

/// The values templates see.
pub fn context(workflow: &Workflow, params: &serde_json::Map<String, Value>, start: &Start<'_>) -> Value {
    json!({
        "params": params,
        "trigger": start.cause,
        "run": {"workflow": workflow.name, "version": workflow.version, "trigger": start.trigger, "key": start.key},
    })
}

/// The values the trigger sets: its `args`, as templates over what it
/// carried (a webhook's `trigger.body`).
fn trigger_args(w: &Workflow, start: &Start<'_>) -> Result<serde_json::Map<String, Value>, StartError> {
    let Some(t) = w.trigger(start.trigger) else { return Ok(Default::default()) };
    let ctx = json!({"trigger": start.cause});
    match template::render(&template::environment(), &Value::Object(t.args.clone()), &ctx) {
        Ok(Value::Object(args)) => Ok(args),
        Ok(_) => Ok(Default::default()),
        Err((arg, e)) => {
            Err(StartError::Invalid(format!("workflow {}: trigger `{}`, argument `{arg}`: {e}", w.name, t.name)))
        }
    }
}

/// Starts a run, or finds the one its key started before.
pub async fn start(store: &Store, catalog: &Catalog, start: &Start<'_>) -> Result<Started, StartError> {
    let w = start.workflow;
    let mut given = trigger_args(w, start)?;
    given.extend(start.args.clone());
    let params = w.resolve(&given).map_err(|e| StartError::Invalid(format!("workflow {}: {e}", w.name)))?;
    let ctx = context(w, &params, start);
    let now = store.now();
    let steps =
        steps::render(w, &ctx, catalog, now).map_err(|e| StartError::Invalid(format!("workflow {}: {e}", w.name)))?;
    let args = Value::Object(params);
    let mut run = NewRun {
        key: &start.key,
        workflow: &w.name,
        version: &w.version,
        trigger: start.trigger,
        intent_id: None,
        args: &args,
        actor: &start.actor,
        period_at: start.period.map(|(p, _)| p),
        catch_up: start.period.is_some_and(|(_, c)| c),
        skipped: None,
        at: now,
    };
    let mut tx = store.begin().await?;
    if steps.is_empty() {
        let why = "every step's `if` was false: nothing to do";
        run.skipped = Some(why);
        return Ok(match workflows::record(&mut tx, &run).await? {
            Recorded::New => {
                tx.commit().await?;
                Started::Skipped(why.into())
            }
            Recorded::Existing(id) => Started::Existing(id),
        });
    }
    let plan = Plan::new(steps).map_err(|e| StartError::Invalid(format!("workflow {}: {e}", w.name)))?;
    let mut provenance = Provenance::operator(&start.channel, &start.actor);
    provenance.agent = format!("workflow:{}", w.name);
    provenance.agent_version = w.version.clone();
    provenance.reason = Some(match start.period {
        Some((_, true)) => format!("workflow {} (trigger {}, catch-up)", w.name, start.trigger),
        _ => format!("workflow {} (trigger {})", w.name, start.trigger),
    });
    let what = IntentText::parse(format!("Run workflow {}", w.name)).map_err(|e| StartError::Invalid(e.to_string()))?;
    let intent = Intent::new(what, provenance, Some(plan), now);
    intents::insert(&mut tx, &intent).await?;
    run.intent_id = Some(intent.id);
    match workflows::record(&mut tx, &run).await? {
        Recorded::New => {
            tx.commit().await?;
            tracing::info!(workflow = %w.name, version = %w.version, trigger = start.trigger, intent_id = %intent.id, "workflow run started");
            Ok(Started::New(intent.id))
        }
        // Dropping the transaction takes the new intent back.
        Recorded::Existing(id) => Ok(Started::Existing(id)),
    }
}
