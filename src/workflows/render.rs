//! What a run does next, rendered over its values. From a position in the
//! file (the run's cursor) the steps are read in order: those whose `if` is
//! false are left out, a `wait` becomes the timer of the action after it,
//! and actions gather into one intent. The intent ends before a step that
//! needs what has not happened yet: an `ask`, a `wait_for`, or a step that
//! reads an earlier step's result (`steps.…`). Such a step is rendered, and
//! its intent judged by the policy, only when the run gets there.

use minijinja::Environment;
use serde_json::Value;

use super::definition::{Workflow, parse_time};
use super::params::duration_secs;
use super::steps::{ForEach, StepDef, StepKind, Wait};
use super::template;
use crate::adapters::Catalog;
use crate::adapters::workflow::{Child, FanOut, MAX_CHILDREN};
use crate::domain::{Millis, Plan, PlannedStep, Question};

/// What a run does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// These actions, as one intent (`ids`: each one's step in the file).
    Intent { steps: Vec<PlannedStep>, ids: Vec<String>, then: Option<usize> },
    /// Waits with no action before the next part: until then.
    Sleep { until: Millis, then: usize },
    /// A question to the operator.
    Ask { id: String, question: Question, timeout_secs: u64, then: Option<usize> },
    /// An inbound event: a delivery to `source` correlated by `key`.
    WaitFor { id: String, source: String, key: String, timeout_secs: u64, then: Option<usize> },
    /// Nothing is left to do.
    Done,
}

/// What comes next from step `from`, and the steps left out on the way
/// (their `if` was false). `now` is when the run gets there: a wait counts
/// from it, and `wait_until` is at most a year ahead of it.
pub fn next(
    workflow: &Workflow,
    ctx: &Value,
    catalog: &Catalog,
    now: Millis,
    from: usize,
) -> Result<(Next, Vec<String>), String> {
    let env = template::environment();
    let all = &workflow.steps;
    let after = |i: usize| (i + 1 < all.len()).then_some(i + 1);
    let (mut steps, mut ids, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    let (mut wait_secs, mut not_before, mut waits_from) = (0u64, None::<Millis>, None::<usize>);
    for (i, s) in all.iter().enumerate().skip(from) {
        let boundary = s.late || matches!(s.kind, StepKind::Ask(_) | StepKind::WaitFor(_));
        if boundary && !steps.is_empty() {
            return Ok((Next::Intent { steps, ids, then: Some(waits_from.unwrap_or(i)) }, skipped));
        }
        if boundary && waits_from.is_some() {
            if wait_secs > Plan::MAX_WITHIN_SECS {
                return Err(format!("step `{}`: the waits before it add up to more than a year", s.id));
            }
            let until = not_before.unwrap_or(now).max(now + (wait_secs * 1000) as i64);
            return Ok((Next::Sleep { until, then: i }, skipped));
        }
        if let Some(cond) = &s.condition {
            match template::holds(&env, cond, ctx) {
                Ok(false) => {
                    skipped.push(s.id.clone());
                    continue;
                }
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
                waits_from.get_or_insert(i);
            }
            StepKind::Wait(Wait::Until { at, timezone }) => {
                let at = parse_time(&text(at)?, timezone.as_deref()).map_err(|e| format!("step `{}`: {e}", s.id))?;
                let at = at.timestamp_millis();
                if at > now + (Plan::MAX_WITHIN_SECS * 1000) as i64 {
                    return Err(format!("step `{}`: waits more than a year", s.id));
                }
                not_before = Some(not_before.map_or(at, |n| n.max(at)));
                waits_from.get_or_insert(i);
            }
            StepKind::Ask(a) => {
                let question = a.question(text(&a.text)?);
                let next = Next::Ask { id: s.id.clone(), question, timeout_secs: a.timeout_secs, then: after(i) };
                return Ok((next, skipped));
            }
            StepKind::WaitFor(w) => {
                let key = text(&w.key)?;
                if key.is_empty() || key.len() > 256 {
                    return Err(format!("step `{}`: the key it waits for is empty or longer than 256", s.id));
                }
                let next = Next::WaitFor {
                    id: s.id.clone(),
                    source: w.source.clone(),
                    key,
                    timeout_secs: w.timeout_secs,
                    then: after(i),
                };
                return Ok((next, skipped));
            }
            StepKind::Action { adapter, action, args, for_each } => {
                let mut step = match for_each {
                    None => action_step(&env, s, adapter, action, args, ctx, catalog)?,
                    Some(f) => fan_out(&env, workflow, s, f, ctx, catalog)?,
                };
                step.wait_secs = (wait_secs > 0).then_some(wait_secs);
                step.not_before = not_before.take();
                (wait_secs, waits_from) = (0, None);
                catalog.validate(&step).map_err(|e| format!("step `{}`: {e}", s.id))?;
                steps.push(step);
                ids.push(s.id.clone());
            }
        }
    }
    // Waits with nothing after them (what followed was left out) wait for
    // nothing.
    let next = if steps.is_empty() { Next::Done } else { Next::Intent { steps, ids, then: None } };
    Ok((next, skipped))
}

/// The actions of a run's first intent (for checking a file with sample
/// values): empty when it starts with a question or a wait for an event.
pub fn first_intent(
    workflow: &Workflow,
    ctx: &Value,
    catalog: &Catalog,
    now: Millis,
) -> Result<Vec<PlannedStep>, String> {
    Ok(match next(workflow, ctx, catalog, now, 0)?.0 {
        Next::Intent { steps, .. } => steps,
        _ => vec![],
    })
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
