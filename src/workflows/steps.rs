//! A workflow's steps: adapter actions with templated arguments, and `wait`
//! control steps. A wait becomes the timer of the step after it (its
//! `wait_secs` or `not_before`), a row like every other timer, so it
//! survives restarts and runs once.

use minijinja::Environment;
use serde::Deserialize;
use serde_json::Value;

use super::definition::{Workflow, json, parse_time};
use super::params::duration_secs;
use super::template;
use crate::adapters::Catalog;
use crate::adapters::fanout::{Child, FanOut, MAX_CHILDREN};
use crate::domain::{Plan, PlannedStep};

/// A step as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StepFile {
    pub id: Option<String>,
    action: Option<String>,
    #[serde(default)]
    args: toml::Table,
    /// A control step: wait this long (`3d`, `2h`, or a template).
    wait: Option<String>,
    /// A control step: wait until this time (RFC 3339, or local in
    /// `timezone`; a template).
    wait_until: Option<String>,
    timezone: Option<String>,
    #[serde(rename = "if")]
    condition: Option<String>,
    within_secs: Option<u64>,
    /// Runs the action once per item of this list (an expression), each in
    /// a child run of its own.
    for_each: Option<String>,
    /// What each item is called in the action's templates (`item`).
    #[serde(rename = "as")]
    item_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct StepDef {
    pub id: String,
    pub kind: StepKind,
    /// A condition over the run's values; the step is left out when false.
    pub condition: Option<String>,
    pub within_secs: Option<u64>,
    /// Where it is in its file, for errors.
    pub line: usize,
}

#[derive(Debug, Clone)]
pub enum StepKind {
    /// An adapter action; strings in `args` are templates over `params`,
    /// `trigger` and `run` (and, with `for_each`, the item and `index`).
    Action {
        adapter: String,
        action: String,
        args: Value,
        for_each: Option<ForEach>,
    },
    Wait(Wait),
}

#[derive(Debug, Clone)]
pub struct ForEach {
    /// An expression whose value is a list.
    pub list: String,
    /// The item's name in the templates.
    pub item: String,
}

#[derive(Debug, Clone)]
pub enum Wait {
    /// A duration (a template), from when the wait is reached.
    For(String),
    /// A time (a template), in `timezone` when it has none.
    Until { at: String, timezone: Option<String> },
}

impl StepDef {
    /// Checks a step as written: one of `action`, `wait`, `wait_until`;
    /// the action in the catalog; every template's syntax.
    pub(super) fn parse(
        id: String,
        s: StepFile,
        line: usize,
        actions: &dyn Fn(&str, &str) -> Result<(), String>,
        env: &Environment<'_>,
    ) -> Result<Self, String> {
        if let Some(c) = &s.condition {
            env.compile_expression(c).map_err(|e| format!("step `{id}`, `if`: {e}"))?;
        }
        let syntax = |what: &str, text: &str| {
            template::check_syntax(env, &Value::String(text.to_owned()))
                .map_err(|(_, e)| format!("step `{id}`, `{what}`: {e}"))
        };
        let kind = match (s.action, s.wait, s.wait_until) {
            (Some(action), None, None) => {
                if s.timezone.is_some() {
                    return Err(format!("step `{id}`: `timezone` is for `wait_until`"));
                }
                let Some((adapter, action_name)) = action.split_once('.') else {
                    return Err(format!("step `{id}`: action `{action}` must be ADAPTER.ACTION"));
                };
                actions(adapter, action_name).map_err(|why| format!("step `{id}`: {why}"))?;
                let args = Value::Object(s.args.into_iter().map(|(k, v)| (k, json(v))).collect());
                template::check_syntax(env, &args).map_err(|(arg, e)| format!("step `{id}`, argument `{arg}`: {e}"))?;
                let for_each = match (s.for_each, s.item_name) {
                    (Some(list), name) => {
                        env.compile_expression(&list).map_err(|e| format!("step `{id}`, `for_each`: {e}"))?;
                        let item = name.unwrap_or_else(|| "item".into());
                        let taken = ["params", "trigger", "run", "index"].contains(&item.as_str());
                        if !super::definition::is_name(&item) || taken {
                            return Err(format!(
                                "step `{id}`: `as = \"{item}\"`: name the item with a new lowercase name"
                            ));
                        }
                        Some(ForEach { list, item })
                    }
                    (None, Some(_)) => return Err(format!("step `{id}`: `as` goes with `for_each`")),
                    (None, None) => None,
                };
                StepKind::Action { adapter: adapter.to_owned(), action: action_name.to_owned(), args, for_each }
            }
            (None, _, _) if s.for_each.is_some() || s.item_name.is_some() => {
                return Err(format!("step `{id}`: `for_each` goes with an `action`"));
            }
            (None, Some(wait), None) if s.args.is_empty() && s.timezone.is_none() && s.within_secs.is_none() => {
                syntax("wait", &wait)?;
                if !wait.contains("{{") && duration_secs(&wait).is_none() {
                    return Err(format!("step `{id}`: wait `{wait}` is not a duration (90s, 30m, 2h, 3d, 1w, 1h30m)"));
                }
                StepKind::Wait(Wait::For(wait))
            }
            (None, None, Some(at)) if s.args.is_empty() && s.within_secs.is_none() => {
                syntax("wait_until", &at)?;
                if !at.contains("{{") {
                    parse_time(&at, s.timezone.as_deref()).map_err(|e| format!("step `{id}`: {e}"))?;
                }
                StepKind::Wait(Wait::Until { at, timezone: s.timezone })
            }
            (None, None, None) => return Err(format!("step `{id}`: give it an `action`, or make it a `wait`")),
            _ => {
                return Err(format!(
                    "step `{id}`: a step is one of `action` (with `args`), `wait` or `wait_until` (with `timezone`)"
                ));
            }
        };
        Ok(Self { id, kind, condition: s.condition, within_secs: s.within_secs, line })
    }

    /// `adapter.action`, or what the wait waits for.
    pub fn describe(&self) -> String {
        match &self.kind {
            StepKind::Action { adapter, action, for_each: None, .. } => format!("{adapter}.{action}"),
            StepKind::Action { adapter, action, for_each: Some(f), .. } => {
                format!("{adapter}.{action} for each {} in {}", f.item, f.list)
            }
            StepKind::Wait(Wait::For(d)) => format!("wait {d}"),
            StepKind::Wait(Wait::Until { at, .. }) => format!("wait until {at}"),
        }
    }
}

/// The steps a run takes, rendered over its values (`ctx`): those whose
/// `if` is false are left out, and each wait becomes the timer of the step
/// after it. `now` bounds `wait_until`: at most a year ahead.
pub fn render(workflow: &Workflow, ctx: &Value, catalog: &Catalog, now: i64) -> Result<Vec<PlannedStep>, String> {
    let env = template::environment();
    let mut steps = Vec::new();
    let (mut wait_secs, mut not_before) = (0u64, None::<i64>);
    for s in &workflow.steps {
        if let Some(cond) = &s.condition {
            match template::holds(&env, cond, ctx) {
                Ok(false) => continue,
                Ok(true) => {}
                Err(e) => return Err(format!("step `{}`, `if`: {e}", s.id)),
            }
        }
        let text = |t: &str| match template::render_text(&env, t, ctx) {
            Ok(Value::String(s)) => Ok(s),
            Ok(other) => Ok(other.to_string()),
            Err(e) => Err(format!("step `{}`: {e}", s.id)),
        };
        match &s.kind {
            StepKind::Wait(Wait::For(d)) => {
                let d = text(d)?;
                let secs = duration_secs(&d).ok_or_else(|| format!("step `{}`: wait `{d}` is not a duration", s.id))?;
                wait_secs = wait_secs.saturating_add(secs);
            }
            StepKind::Wait(Wait::Until { at, timezone }) => {
                let at = parse_time(&text(at)?, timezone.as_deref()).map_err(|e| format!("step `{}`: {e}", s.id))?;
                let at = at.timestamp_millis();
                if at > now + (Plan::MAX_WITHIN_SECS * 1000) as i64 {
                    return Err(format!("step `{}`: waits more than a year", s.id));
                }
                not_before = Some(not_before.map_or(at, |n| n.max(at)));
            }
            StepKind::Action { adapter, action, args, for_each } => {
                let mut step = match for_each {
                    None => action_step(&env, s, adapter, action, args, ctx, catalog)?,
                    Some(f) => fan_out(&env, workflow, s, f, ctx, catalog)?,
                };
                step.wait_secs = (wait_secs > 0).then_some(wait_secs);
                step.not_before = not_before.take();
                wait_secs = 0;
                catalog.validate(&step).map_err(|e| format!("step `{}`: {e}", s.id))?;
                steps.push(step);
            }
        }
    }
    Ok(steps)
}

/// One action, its arguments rendered over `ctx` and checked.
fn action_step(
    env: &Environment<'_>,
    s: &StepDef,
    adapter: &str,
    action: &str,
    args: &Value,
    ctx: &Value,
    catalog: &Catalog,
) -> Result<PlannedStep, String> {
    let args =
        template::render(env, args, ctx).map_err(|(arg, e)| format!("step `{}`, argument `{arg}`: {e}", s.id))?;
    let mut step = PlannedStep::parse(adapter, action, args).map_err(|e| format!("step `{}`: {e}", s.id))?;
    step.within_secs = s.within_secs;
    catalog.validate(&step).map_err(|e| format!("step `{}`: {e}", s.id))?;
    Ok(step)
}

/// A `for_each` step: the action rendered once per item, each a child
/// run's plan, started together by one `workflow.fan_out` step.
fn fan_out(
    env: &Environment<'_>,
    workflow: &Workflow,
    s: &StepDef,
    f: &ForEach,
    ctx: &Value,
    catalog: &Catalog,
) -> Result<PlannedStep, String> {
    let StepKind::Action { adapter, action, args, .. } = &s.kind else {
        return Err(format!("step `{}`: only an action runs for each item", s.id));
    };
    let items = match template::eval(env, &f.list, ctx).map_err(|e| format!("step `{}`, `for_each`: {e}", s.id))? {
        Value::Array(items) => items,
        other => return Err(format!("step `{}`: `for_each` is not a list but {other}", s.id)),
    };
    if items.is_empty() || items.len() > MAX_CHILDREN {
        return Err(format!("step `{}`: `for_each` has {} items; it takes 1 to {MAX_CHILDREN}", s.id, items.len()));
    }
    let mut children = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let mut each = ctx.clone();
        each[&f.item] = item.clone();
        each["index"] = index.into();
        let step =
            action_step(env, s, adapter, action, args, &each, catalog).map_err(|e| format!("{e} (item {index})"))?;
        let plan = Plan::new(vec![step]).map_err(|e| format!("step `{}`: {e}", s.id))?;
        children.push(Child { item, plan });
    }
    let fan =
        FanOut { workflow: workflow.name.clone(), version: workflow.version.clone(), step: s.id.clone(), children };
    let args = serde_json::to_value(fan).map_err(|e| e.to_string())?;
    PlannedStep::parse("workflow", "fan_out", args).map_err(|e| format!("step `{}`: {e}", s.id))
}
