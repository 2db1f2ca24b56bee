//! A workflow file: TOML with a name, a description, typed parameters,
//! triggers and steps. Parsed strictly: an unknown field, type, trigger or
//! template error is refused with the line it is on.
//!
//! ```toml
//! name = "onboard-client"
//! description = "Welcome a new client"
//!
//! [params.email]
//! type = "email"
//! [params.company]
//! type = "string"
//!
//! [[triggers]]
//! kind = "command"            # /run onboard-client email=… company=…
//!
//! [[steps]]
//! id = "welcome"
//! action = "email.send"
//! args = { to = "{{ params.email }}", subject = "Welcome, {{ params.company }}", text = "…" }
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use toml::Spanned;

use super::hooks::Scheme;
use super::params::ParamType;
use super::phrasing::Phrasing;
use super::steps::{StepDef, StepFile, StepKind};
use super::template;
use crate::schedules::Timing;

/// Most steps a workflow may have.
pub const MAX_STEPS: usize = 50;

#[derive(Debug, Clone)]
pub struct Workflow {
    pub name: String,
    pub description: String,
    /// The file's content hash: recorded on every run.
    pub version: String,
    /// The file as written: kept with the runs that start from it, so a
    /// run goes on with the version it started with.
    pub text: std::sync::Arc<str>,
    pub params: Vec<Param>,
    pub triggers: Vec<Trigger>,
    pub steps: Vec<StepDef>,
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub ty: ParamType,
    pub description: String,
    /// Used when a run gives no value; a parameter without one is required.
    pub default: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Overlap {
    /// A period that comes while the last run still goes is skipped.
    #[default]
    Skip,
    /// It waits, and runs once the last run has ended.
    Queue,
}

#[derive(Debug, Clone)]
pub struct Trigger {
    /// Unique in the workflow: `cron`, `at`, `command`, or its own `name`.
    pub name: String,
    pub kind: TriggerKind,
    /// Values for the parameters when this trigger starts a run.
    pub args: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone)]
pub enum TriggerKind {
    /// Every period of a cron expression, exactly once.
    Cron { timing: Timing, overlap: Overlap },
    /// Once, at a time.
    At { at: DateTime<Utc> },
    /// `/run NAME key=value …` from the operator, and the CLI and API; and,
    /// with example phrases, a request in words near one of them.
    Command(Phrasing),
    /// `POST /hooks/NAME`, signed with the named secret; its `args` are
    /// templates over the delivery (`trigger.body`). A delivery starts a
    /// run when `when` (an expression over `trigger`) holds, or always
    /// without one; `correlate` (a template) is the key that runs waiting
    /// for a delivery here (`wait_for`) match.
    Webhook { scheme: Scheme, secret: String, when: Option<String>, correlate: Option<String> },
}

impl TriggerKind {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Cron { .. } => "cron",
            Self::At { .. } => "at",
            Self::Command(_) => "command",
            Self::Webhook { .. } => "webhook",
        }
    }
}

/// Why a file was refused: the line (when known) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct DefinitionError {
    pub line: Option<usize>,
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    params: BTreeMap<String, Spanned<ParamFile>>,
    #[serde(default)]
    triggers: Vec<Spanned<TriggerFile>>,
    steps: Vec<Spanned<StepFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamFile {
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    description: String,
    default: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggerFile {
    kind: String,
    name: Option<String>,
    cron: Option<String>,
    timezone: Option<String>,
    overlap: Option<Overlap>,
    at: Option<String>,
    secret: Option<String>,
    scheme: Option<String>,
    tolerance_secs: Option<u64>,
    when: Option<String>,
    correlate: Option<String>,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    patterns: Vec<String>,
    #[serde(default)]
    args: toml::Table,
}

pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

pub(super) fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

pub(super) fn json(v: toml::Value) -> Value {
    serde_json::to_value(v).unwrap_or_default()
}

impl Workflow {
    /// Parses a workflow file. `actions` refuses an `adapter.action` the
    /// catalog does not offer, saying why.
    pub fn parse(text: &str, actions: &dyn Fn(&str, &str) -> Result<(), String>) -> Result<Self, DefinitionError> {
        let file: File = toml::from_str(text).map_err(|e| DefinitionError {
            line: e.span().map(|s| line_of(text, s.start)),
            reason: e.message().to_owned(),
        })?;
        let at = |span: std::ops::Range<usize>, reason: String| DefinitionError {
            line: Some(line_of(text, span.start)),
            reason,
        };
        let name = file.name.get_ref().clone();
        if !is_name(&name) {
            return Err(at(
                file.name.span(),
                format!("name `{name}`: use lowercase letters, digits, `-` or `_`, starting with a letter"),
            ));
        }
        let env = template::environment();
        let mut params = Vec::new();
        for (pname, spanned) in file.params {
            let span = spanned.span();
            let p = spanned.into_inner();
            if !is_name(&pname) {
                return Err(at(span, format!("parameter `{pname}`: use lowercase letters, digits, `-` or `_`")));
            }
            let ty = ParamType::parse(&p.ty).map_err(|e| at(span.clone(), format!("parameter `{pname}`: {e}")))?;
            let default = match p.default {
                Some(d) => Some(
                    ty.check(&json(d)).map_err(|e| at(span.clone(), format!("parameter `{pname}`'s default: {e}")))?,
                ),
                None => None,
            };
            params.push(Param { name: pname, ty, description: p.description, default });
        }
        let mut triggers: Vec<Trigger> = Vec::new();
        for spanned in file.triggers {
            let span = spanned.span();
            let t = spanned.into_inner();
            let kind = match t.kind.as_str() {
                "cron" => {
                    let cron = t.cron.clone().ok_or_else(|| at(span.clone(), "a cron trigger needs `cron`".into()))?;
                    let timing = Timing::parse(&cron, t.timezone.as_deref().unwrap_or("UTC"))
                        .map_err(|e| at(span.clone(), e))?;
                    TriggerKind::Cron { timing, overlap: t.overlap.unwrap_or_default() }
                }
                "at" => {
                    let when = t.at.clone().ok_or_else(|| at(span.clone(), "an `at` trigger needs `at`".into()))?;
                    TriggerKind::At { at: parse_time(&when, t.timezone.as_deref()).map_err(|e| at(span.clone(), e))? }
                }
                "command" => TriggerKind::Command(
                    Phrasing::parse(t.examples.clone(), t.patterns.clone(), &params)
                        .map_err(|e| at(span.clone(), e))?,
                ),
                "webhook" => {
                    let secret = t.secret.clone().ok_or_else(|| {
                        at(span.clone(), "a webhook trigger needs `secret`, the name of a configured secret".into())
                    })?;
                    if triggers.iter().any(|x| matches!(x.kind, TriggerKind::Webhook { .. })) {
                        return Err(at(span, "a workflow has at most one webhook trigger".into()));
                    }
                    let scheme =
                        Scheme::parse(t.scheme.as_deref(), t.tolerance_secs).map_err(|e| at(span.clone(), e))?;
                    if let Some(w) = &t.when {
                        env.compile_expression(w).map_err(|e| at(span.clone(), format!("`when`: {e}")))?;
                    }
                    if let Some(c) = &t.correlate {
                        template::check_syntax(&env, &Value::String(c.clone()))
                            .map_err(|(_, e)| at(span.clone(), format!("`correlate`: {e}")))?;
                    }
                    TriggerKind::Webhook { scheme, secret, when: t.when.clone(), correlate: t.correlate.clone() }
                }
                other => {
                    return Err(at(span, format!("unknown trigger kind `{other}`: use cron, at, command or webhook")));
                }
            };
            let timed = t.cron.is_some() || t.at.is_some() || t.timezone.is_some() || t.overlap.is_some();
            let signed = t.secret.is_some()
                || t.scheme.is_some()
                || t.tolerance_secs.is_some()
                || t.when.is_some()
                || t.correlate.is_some();
            let extra = match &kind {
                TriggerKind::Cron { .. } => t.at.is_some() || signed,
                TriggerKind::At { .. } => t.cron.is_some() || t.overlap.is_some() || signed,
                TriggerKind::Command(_) => timed || signed,
                TriggerKind::Webhook { .. } => timed,
            };
            let phrased = !t.examples.is_empty() || !t.patterns.is_empty();
            if extra || (phrased && !matches!(kind, TriggerKind::Command(_))) {
                return Err(at(span, format!("a {} trigger takes only what its kind uses", kind.label())));
            }
            let tname = t.name.unwrap_or_else(|| kind.label().to_owned());
            if !is_name(&tname) || triggers.iter().any(|x| x.name == tname) {
                return Err(at(span, format!("trigger `{tname}`: give each trigger of a kind its own `name`")));
            }
            let args: serde_json::Map<String, Value> = t.args.into_iter().map(|(k, v)| (k, json(v))).collect();
            if let Some(unknown) = args.keys().find(|k| !params.iter().any(|p| &p.name == *k)) {
                return Err(at(span, format!("trigger `{tname}` sets `{unknown}`, which is no parameter")));
            }
            template::check_syntax(&env, &Value::Object(args.clone()))
                .map_err(|(arg, e)| at(span.clone(), format!("trigger `{tname}`, argument `{arg}`: {e}")))?;
            triggers.push(Trigger { name: tname, kind, args });
        }
        if file.steps.is_empty() || file.steps.len() > MAX_STEPS {
            return Err(DefinitionError { line: None, reason: format!("a workflow has 1 to {MAX_STEPS} steps") });
        }
        let mut steps: Vec<StepDef> = Vec::new();
        for (i, spanned) in file.steps.into_iter().enumerate() {
            let span = spanned.span();
            let line = line_of(text, span.start);
            let s = spanned.into_inner();
            let id = s.id.clone().unwrap_or_else(|| format!("step-{}", i + 1));
            if !is_name(&id) || steps.iter().any(|x| x.id == id) {
                return Err(at(span, format!("step id `{id}`: use a unique lowercase name")));
            }
            let step = StepDef::parse(id, s, line, actions, &env).map_err(|reason| at(span.clone(), reason))?;
            if let Some(later) = step.reads(&env).into_iter().find(|r| !steps.iter().any(|x| &x.id == r)) {
                return Err(at(span, format!("step `{}` reads `steps.{later}`, which is no step before it", step.id)));
            }
            steps.push(step);
        }
        if matches!(steps.last().map(|s| &s.kind), Some(StepKind::Wait(_))) {
            return Err(DefinitionError { line: None, reason: "the last step is a wait: nothing follows it".into() });
        }
        let version = hex::encode(&Sha256::digest(text.as_bytes())[..8]);
        Ok(Self { name, description: file.description, version, text: text.into(), params, triggers, steps })
    }

    /// The parameters a run gets: the given values checked against their
    /// types, defaults for the rest. Unknown and missing ones are refused,
    /// all named at once.
    pub fn resolve(&self, given: &serde_json::Map<String, Value>) -> Result<serde_json::Map<String, Value>, String> {
        let mut problems = Vec::new();
        let mut out = self.check_given(given, &mut problems);
        for p in &self.params {
            if out.contains_key(&p.name) || given.contains_key(&p.name) {
                continue;
            }
            match &p.default {
                Some(v) => {
                    out.insert(p.name.clone(), v.clone());
                }
                None => problems.push(format!("`{}` ({}) is required", p.name, p.ty.name())),
            }
        }
        if problems.is_empty() { Ok(out) } else { Err(problems.join("; ")) }
    }

    /// The given values checked against their types, with no defaults and
    /// nothing required yet: what a chat that asks for the rest starts from.
    pub fn given(&self, given: &serde_json::Map<String, Value>) -> Result<serde_json::Map<String, Value>, String> {
        let mut problems = Vec::new();
        let out = self.check_given(given, &mut problems);
        if problems.is_empty() { Ok(out) } else { Err(problems.join("; ")) }
    }

    fn check_given(
        &self,
        given: &serde_json::Map<String, Value>,
        problems: &mut Vec<String>,
    ) -> serde_json::Map<String, Value> {
        if let Some(unknown) = given.keys().find(|k| !self.params.iter().any(|p| &p.name == *k)) {
            let known: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
            problems.push(format!("`{unknown}` is no parameter of {} (it takes: {})", self.name, known.join(", ")));
        }
        let mut out = serde_json::Map::new();
        for p in &self.params {
            if let Some(v) = given.get(&p.name) {
                match p.ty.check(v) {
                    Ok(v) => {
                        out.insert(p.name.clone(), v);
                    }
                    Err(e) => problems.push(format!("`{}`: {e}", p.name)),
                }
            }
        }
        out
    }

    /// The required parameters `args` gives no value for, by name.
    pub fn wanting(&self, args: &serde_json::Map<String, Value>) -> Vec<&Param> {
        self.params.iter().filter(|p| p.default.is_none() && !args.contains_key(&p.name)).collect()
    }

    /// The trigger a request in chat starts: its `command` trigger.
    pub fn command_trigger(&self) -> Option<(&Trigger, &Phrasing)> {
        self.triggers.iter().find_map(|t| match &t.kind {
            TriggerKind::Command(phrasing) => Some((t, phrasing)),
            _ => None,
        })
    }

    /// Sample values for every parameter, for checking without a run.
    pub fn sample_args(&self) -> serde_json::Map<String, Value> {
        self.params.iter().map(|p| (p.name.clone(), p.default.clone().unwrap_or_else(|| p.ty.sample()))).collect()
    }

    pub fn trigger(&self, name: &str) -> Option<&Trigger> {
        self.triggers.iter().find(|t| t.name == name)
    }
}

/// A time as RFC 3339, or a local `YYYY-MM-DDTHH:MM` in `timezone`.
pub(super) fn parse_time(text: &str, timezone: Option<&str>) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let tz: chrono_tz::Tz = timezone.unwrap_or("UTC").parse().map_err(|_| "unknown time zone".to_owned())?;
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
        .map_err(|_| format!("`{text}` is not a time: use 2026-12-24T09:00 (in `timezone`) or RFC 3339"))?;
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| format!("`{text}` does not exist in {tz}"))
}
