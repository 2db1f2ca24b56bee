//! Starting a run: the arguments checked against the parameters, the
//! steps up to the first that must wait rendered ([`render::next`]) and
//! checked against the catalog, and then one transaction writes the run's
//! first intent and its run row, keyed by what started it. Every part of a
//! run is an intent: the runner, the policy, approvals, compensation and
//! the audit log treat it like any other. [`take`] writes whatever comes
//! next, here and when the run goes on ([`super::progress`]).

use serde_json::{Value, json};

use super::definition::Workflow;
use super::render::{self, Next};
use super::template;
use crate::adapters::Catalog;
use crate::domain::{Intent, IntentId, IntentText, Millis, Plan, PlannedStep, Provenance};
use crate::store::workflow_parts::{self as parts, Progress, Waiting};
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
    /// Started, with nothing to run yet: it waits (a `wait` before a
    /// question, a `wait_for`), saying for what.
    Waiting(String),
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
    values(workflow, params, &json!(start.cause), start.trigger, &start.key)
}

/// The values templates see: `params`, `trigger` (what started the run),
/// `run`, and `steps` (each earlier step's result, none yet).
pub fn values(
    workflow: &Workflow,
    params: &serde_json::Map<String, Value>,
    cause: &Value,
    trigger: &str,
    key: &str,
) -> Value {
    json!({
        "params": params,
        "trigger": cause,
        "run": {"workflow": workflow.name, "version": workflow.version, "trigger": trigger, "key": key},
        "steps": {},
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

/// Who a run's intents are from, and why.
pub(super) struct Origin<'a> {
    pub workflow: &'a Workflow,
    pub trigger: &'a str,
    pub actor: &'a str,
    pub channel: &'a str,
    pub catch_up: bool,
}

impl Origin<'_> {
    /// A new intent of the run, `what` it does; `step` names where in the
    /// file a later part starts.
    fn intent(&self, what: String, plan: Plan, step: Option<&str>, now: Millis) -> Result<Intent, StartError> {
        let w = self.workflow;
        let mut provenance = Provenance::operator(self.channel, self.actor);
        provenance.agent = format!("workflow:{}", w.name);
        provenance.agent_version = w.version.clone();
        let late = if self.catch_up { ", catch-up" } else { "" };
        provenance.reason = Some(match step {
            Some(step) => format!("workflow {} (trigger {}{late}), from step {step}", w.name, self.trigger),
            None => format!("workflow {} (trigger {}{late})", w.name, self.trigger),
        });
        let text = IntentText::parse(what).map_err(|e| StartError::Invalid(e.to_string()))?;
        Ok(Intent::new(text, provenance, Some(plan), now))
    }
}

/// Renders what comes next from step `from` over `ctx` (whose `steps` are
/// the results so far) and writes it in `tx`: an intent of the next
/// actions, a question's intent, or what the run waits for. Returns the
/// run's progress after it; `ended` is set when nothing is left.
pub(super) async fn take(
    tx: &mut sqlx::SqliteConnection,
    catalog: &Catalog,
    origin: &Origin<'_>,
    ctx: &Value,
    from: usize,
    now: Millis,
) -> Result<Progress, StartError> {
    let w = origin.workflow;
    let invalid = |e: String| StartError::Invalid(format!("workflow {}: {e}", w.name));
    let (next, skipped) = render::next(w, ctx, catalog, now, from).map_err(invalid)?;
    let mut p = Progress { results: ctx["steps"].as_object().cloned().unwrap_or_default(), ..Default::default() };
    for id in skipped {
        p.results.insert(id, json!({"skipped": true}));
    }
    let end = w.steps.len();
    let later = (from > 0).then(|| w.steps[from.min(end - 1)].id.as_str());
    let secs = |s: u64| (s.min(crate::domain::Plan::MAX_WITHIN_SECS) * 1000) as i64;
    match next {
        Next::Done => p.ended = Some("succeeded".into()),
        Next::Intent { steps, ids, then } => {
            let plan = Plan::new(steps).map_err(|e| invalid(e.to_string()))?;
            let mut what = match later {
                Some(step) => format!("Run workflow {}, from step {step}", w.name),
                None => format!("Run workflow {}", w.name),
            };
            // What it is for, in the file's words, so a run that needs
            // the operator says what it was doing.
            let about: String = w.description.lines().next().unwrap_or_default().chars().take(200).collect();
            if !about.trim().is_empty() {
                what = format!("{what}: {}", about.trim());
            }
            let intent = origin.intent(what, plan, later, now)?;
            intents::insert(tx, &intent).await?;
            (p.current, p.step_ids, p.cursor) = (Some(intent.id), ids, Some(then.unwrap_or(end)));
        }
        Next::Sleep { until, then } => (p.resume_at, p.cursor) = (Some(until), Some(then)),
        Next::Ask { id, question, timeout_secs, then } => {
            let args = serde_json::to_value(&question).map_err(|e| invalid(e.to_string()))?;
            let step = PlannedStep::parse("workflow", crate::adapters::workflow::ANSWER, args)
                .map_err(|e| invalid(e.to_string()))?;
            let plan = Plan::new(vec![step]).map_err(|e| invalid(e.to_string()))?;
            let what: String = question.text.chars().take(500).collect();
            let intent = origin.intent(format!("Question from workflow {}: {what}", w.name), plan, Some(&id), now)?;
            intents::insert(tx, &intent).await?;
            let expires_at = now + secs(timeout_secs);
            crate::orchestrator::gate::ask(tx, intent.id, question, expires_at, now).await?;
            (p.current, p.step_ids, p.cursor) = (Some(intent.id), vec![id], Some(then.unwrap_or(end)));
        }
        Next::WaitFor { id, source, key, timeout_secs, then } => {
            p.wait = Some(Waiting { step: id, source, key });
            (p.resume_at, p.cursor) = (Some(now + secs(timeout_secs)), Some(then.unwrap_or(end)));
        }
    }
    if p.ended.is_some() {
        p.cursor = None;
    }
    Ok(p)
}

/// Starts a run, or finds the one its key started before.
pub async fn start(store: &Store, catalog: &Catalog, start: &Start<'_>) -> Result<Started, StartError> {
    let w = start.workflow;
    let mut given = trigger_args(w, start)?;
    given.extend(start.args.clone());
    let params = w.resolve(&given).map_err(|e| StartError::Invalid(format!("workflow {}: {e}", w.name)))?;
    let ctx = context(w, &params, start);
    let now = store.now();
    let origin = Origin {
        workflow: w,
        trigger: start.trigger,
        actor: &start.actor,
        channel: &start.channel,
        catch_up: start.period.is_some_and(|(_, c)| c),
    };
    let args = Value::Object(params);
    let cause = json!(start.cause);
    let mut tx = store.begin().await?;
    let progress = take(&mut tx, catalog, &origin, &ctx, 0, now).await?;
    let skipped = "every step's `if` was false: nothing to do";
    let run = NewRun {
        key: &start.key,
        workflow: &w.name,
        version: &w.version,
        trigger: start.trigger,
        intent_id: progress.current,
        args: &args,
        actor: &start.actor,
        period_at: start.period.map(|(p, _)| p),
        catch_up: origin.catch_up,
        skipped: progress.ended.is_some().then_some(skipped),
        cause: &cause,
        at: now,
    };
    match workflows::record(&mut tx, &run).await? {
        Recorded::New => {}
        // Dropping the transaction takes back whatever `take` wrote.
        Recorded::Existing(id) => return Ok(Started::Existing(id)),
    }
    if progress.ended.is_some() {
        tx.commit().await?;
        return Ok(Started::Skipped(skipped.into()));
    }
    parts::progress(&mut tx, &start.key, &progress, None).await?;
    parts::keep_version(&mut tx, &w.name, &w.version, &w.text, now).await?;
    tx.commit().await?;
    tracing::info!(workflow = %w.name, version = %w.version, trigger = start.trigger, key = %start.key, "workflow run started");
    Ok(match (progress.current, &progress.wait) {
        (Some(id), _) => Started::New(id),
        (None, Some(w)) => Started::Waiting(format!("waits for a delivery to {} with key {}", w.source, w.key)),
        (None, None) => Started::Waiting("waits until its first step is due".into()),
    })
}
