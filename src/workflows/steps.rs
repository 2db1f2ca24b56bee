//! A workflow's steps as written and checked: adapter actions with
//! templated arguments, and the control steps `wait`, `ask` and
//! `wait_for`. How they become a run's intents is [`super::render`].

use minijinja::Environment;
use serde::Deserialize;
use serde_json::Value;

use super::definition::{is_name, json, parse_time};
use super::params::duration_secs;
use super::template;
use crate::domain::Question;

/// How long a question waits for an answer unless it says (then its
/// default is the answer).
const ASK_TIMEOUT: &str = "1d";
/// How long a `wait_for` waits for its event unless it says.
const WAIT_FOR_TIMEOUT: &str = "7d";

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
    /// A control step: ask the operator this (a template), offering
    /// `choices`; `default` is the answer after `timeout`.
    ask: Option<String>,
    choices: Option<Vec<String>>,
    default: Option<String>,
    timeout: Option<String>,
    /// A control step: wait for a delivery to this workflow's webhook
    /// whose correlation (its trigger's `correlate`) is `key`.
    wait_for: Option<String>,
    key: Option<String>,
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
    /// It reads earlier steps' results (`steps.…`): it is rendered, and
    /// judged, only once they are there.
    pub late: bool,
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
    /// A question to the operator through the approvals; its answer is
    /// `steps.ID.answer`.
    Ask(Ask),
    /// Waits for an inbound event; it is `steps.ID.body` (or
    /// `steps.ID.timed_out`).
    WaitFor(WaitFor),
}

#[derive(Debug, Clone)]
pub struct Ask {
    /// The question (a template).
    pub text: String,
    pub choices: Vec<String>,
    pub default: String,
    pub timeout_secs: u64,
}

impl Ask {
    pub fn question(&self, text: String) -> Question {
        Question { text, choices: self.choices.clone(), default: self.default.clone() }
    }
}

#[derive(Debug, Clone)]
pub struct WaitFor {
    /// The workflow whose `/hooks/NAME` delivers the event.
    pub source: String,
    /// The correlation it waits for (a template).
    pub key: String,
    pub timeout_secs: u64,
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
        let control = [s.wait.is_some(), s.wait_until.is_some(), s.ask.is_some(), s.wait_for.is_some()];
        let asked = s.choices.is_some() || s.default.is_some();
        let plain = s.args.is_empty() && s.within_secs.is_none() && s.for_each.is_none() && s.item_name.is_none();
        let timeout = |fallback: &str| {
            let t = s.timeout.clone().unwrap_or_else(|| fallback.to_owned());
            match duration_secs(&t) {
                Some(secs) if (60..=crate::domain::Plan::MAX_WITHIN_SECS).contains(&secs) => Ok(secs),
                _ => Err(format!("step `{id}`: timeout `{t}` is not a duration from 1m to a year")),
            }
        };
        let kind = if let Some(action) = s.action {
            if control.iter().any(|c| *c) || asked || s.timezone.is_some() || s.timeout.is_some() || s.key.is_some() {
                return Err(format!(
                    "step `{id}`: a step is one of `action` (with `args`), `wait`, `wait_until` (with `timezone`), \
                     `ask` (with `choices`, `default`, `timeout`) or `wait_for` (with `key`, `timeout`)"
                ));
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
                    let taken = ["params", "trigger", "run", "index", "steps"].contains(&item.as_str());
                    if !is_name(&item) || taken {
                        return Err(format!("step `{id}`: `as = \"{item}\"`: name the item with a new lowercase name"));
                    }
                    Some(ForEach { list, item })
                }
                (None, Some(_)) => return Err(format!("step `{id}`: `as` goes with `for_each`")),
                (None, None) => None,
            };
            StepKind::Action { adapter: adapter.to_owned(), action: action_name.to_owned(), args, for_each }
        } else if s.for_each.is_some() || s.item_name.is_some() {
            return Err(format!("step `{id}`: `for_each` goes with an `action`"));
        } else if control.iter().filter(|c| **c).count() != 1 || !plain {
            return Err(format!(
                "step `{id}`: give it an `action`, or make it one of `wait`, `wait_until`, `ask` or `wait_for`"
            ));
        } else if let Some(wait) = s.wait {
            if asked || s.timezone.is_some() || s.timeout.is_some() || s.key.is_some() {
                return Err(format!("step `{id}`: a `wait` takes only its duration"));
            }
            syntax("wait", &wait)?;
            if !wait.contains("{{") && duration_secs(&wait).is_none() {
                return Err(format!("step `{id}`: wait `{wait}` is not a duration (90s, 30m, 2h, 3d, 1w, 1h30m)"));
            }
            StepKind::Wait(Wait::For(wait))
        } else if let Some(at) = s.wait_until {
            if asked || s.timeout.is_some() || s.key.is_some() {
                return Err(format!("step `{id}`: a `wait_until` takes only its time and `timezone`"));
            }
            syntax("wait_until", &at)?;
            if !at.contains("{{") {
                parse_time(&at, s.timezone.as_deref()).map_err(|e| format!("step `{id}`: {e}"))?;
            }
            StepKind::Wait(Wait::Until { at, timezone: s.timezone })
        } else if let Some(text) = s.ask {
            if s.timezone.is_some() || s.key.is_some() {
                return Err(format!("step `{id}`: an `ask` takes `choices`, `default` and `timeout`"));
            }
            syntax("ask", &text)?;
            let choices = s.choices.unwrap_or_else(|| vec!["yes".into(), "no".into()]);
            let fine = |c: &String| !c.trim().is_empty() && c.len() <= 32 && !c.contains(['{', '}']);
            if choices.is_empty() || choices.len() > Question::MAX_CHOICES || !choices.iter().all(fine) {
                return Err(format!(
                    "step `{id}`: give 1 to {} `choices`, each a short name (32 characters at most)",
                    Question::MAX_CHOICES
                ));
            }
            if (1..choices.len()).any(|i| choices[..i].contains(&choices[i])) {
                return Err(format!("step `{id}`: each choice once"));
            }
            let default = s.default.unwrap_or_else(|| choices.last().cloned().unwrap_or_default());
            if !choices.contains(&default) {
                return Err(format!("step `{id}`: default `{default}` is not one of the choices"));
            }
            StepKind::Ask(Ask { text, choices, default, timeout_secs: timeout(ASK_TIMEOUT)? })
        } else if let Some(source) = s.wait_for {
            if asked || s.timezone.is_some() {
                return Err(format!("step `{id}`: a `wait_for` takes `key` and `timeout`"));
            }
            if !is_name(&source) {
                return Err(format!("step `{id}`: wait_for `{source}` must name a workflow with a webhook trigger"));
            }
            let key = s.key.ok_or_else(|| {
                format!("step `{id}`: a `wait_for` needs `key`, the correlation of the event it waits for")
            })?;
            syntax("key", &key)?;
            StepKind::WaitFor(WaitFor { source, key, timeout_secs: timeout(WAIT_FOR_TIMEOUT)? })
        } else {
            return Err(format!("step `{id}`: give it an `action`, or make it a `wait`"));
        };
        let late = reads_steps(env, &kind, s.condition.as_deref());
        Ok(Self { id, kind, condition: s.condition, within_secs: s.within_secs, line, late })
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
            StepKind::Ask(a) => format!("ask {:?} ({}; default {})", a.text, a.choices.join("/"), a.default),
            StepKind::WaitFor(w) => format!("wait for a delivery to {} with key {}", w.source, w.key),
        }
    }

    /// The earlier steps it reads (`steps.ID…`), by id.
    pub fn reads(&self, env: &Environment<'_>) -> Vec<String> {
        let mut names = Vec::new();
        for (text, expression) in texts(&self.kind, self.condition.as_deref()) {
            names.extend(template::reads(env, text, expression));
        }
        let mut ids: Vec<String> = names
            .iter()
            .filter_map(|n| n.strip_prefix("steps."))
            .map(|rest| rest.split('.').next().unwrap_or(rest).to_owned())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }
}

/// Every template of a step, and whether it is an expression.
fn texts<'a>(kind: &'a StepKind, condition: Option<&'a str>) -> Vec<(&'a str, bool)> {
    let mut out: Vec<(&str, bool)> = condition.map(|c| (c, true)).into_iter().collect();
    match kind {
        StepKind::Action { args, for_each, .. } => {
            out.extend(template::strings(args).into_iter().map(|t| (t, false)));
            out.extend(for_each.as_ref().map(|f| (f.list.as_str(), true)));
        }
        StepKind::Wait(Wait::For(d)) => out.push((d, false)),
        StepKind::Wait(Wait::Until { at, .. }) => out.push((at, false)),
        StepKind::Ask(a) => out.push((&a.text, false)),
        StepKind::WaitFor(w) => out.push((&w.key, false)),
    }
    out
}

/// Whether any template of the step reads `steps`.
fn reads_steps(env: &Environment<'_>, kind: &StepKind, condition: Option<&str>) -> bool {
    texts(kind, condition).into_iter().any(|(t, expression)| {
        template::reads(env, t, expression).iter().any(|n| n == "steps" || n.starts_with("steps."))
    })
}
