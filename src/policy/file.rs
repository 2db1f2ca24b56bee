//! The policy file's format, parsed strictly: an unknown key, a bad value or
//! a malformed condition is an error naming the line.

use serde::{Deserialize, Serialize};

use super::{Condition, Policy, StepFacts};
use crate::domain::{Identifier, PlannedStep, Risk};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    ApproveBefore,
    ReviewAfter,
    Auto,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApproveBefore => "approve-before",
            Self::ReviewAfter => "review-after",
            Self::Auto => "auto",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Level {
    pub mode: Mode,
    #[serde(default = "day")]
    pub expiry_secs: u64,
    #[serde(default = "hour")]
    pub reping_secs: u64,
    #[serde(default = "four_hours")]
    pub escalate_after_secs: u64,
    #[serde(default)]
    pub escalate_to: Option<String>,
    #[serde(default = "day")]
    pub review_window_secs: u64,
}

fn day() -> u64 {
    86_400
}
fn hour() -> u64 {
    3_600
}
fn four_hours() -> u64 {
    14_400
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budgets {
    #[serde(default = "actions_per_hour")]
    pub actions_per_hour: u32,
    #[serde(default = "spend")]
    pub model_spend_per_day: f64,
}

fn actions_per_hour() -> u32 {
    200
}
fn spend() -> f64 {
    5.0
}

impl Default for Budgets {
    fn default() -> Self {
        Self { actions_per_hour: actions_per_hour(), model_spend_per_day: spend() }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Breaker {
    pub failures: u32,
    pub window_secs: u64,
    pub cooldown_secs: u64,
}

impl Default for Breaker {
    fn default() -> Self {
        Self { failures: 5, window_secs: 600, cooldown_secs: 900 }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    pub adapter: Identifier,
    #[serde(default)]
    pub action: Option<Identifier>,
    pub risk: Risk,
    /// Every condition must hold for the rule to match.
    #[serde(default)]
    pub when: Vec<Condition>,
}

impl Rule {
    /// Whether the rule applies to this step; `raises` says whether it
    /// raises risk (see [`Condition::holds`]).
    pub fn matches(&self, step: &PlannedStep, facts: &StepFacts, raises: bool) -> bool {
        self.adapter == step.adapter
            && self.action.as_ref().is_none_or(|a| *a == step.action)
            && self.when.iter().all(|c| c.holds(facts, raises))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Levels {
    low: Level,
    medium: Level,
    high: Level,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    default_risk: Risk,
    levels: Levels,
    #[serde(default)]
    budgets: Budgets,
    #[serde(default)]
    breaker: Breaker,
    #[serde(default, rename = "rule")]
    rules: Vec<Rule>,
}

/// A policy file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{reason}", line.map(|l| format!("line {l}: ")).unwrap_or_default())]
pub struct PolicyError {
    pub line: Option<usize>,
    pub reason: String,
}

pub(super) fn parse(text: &str, version: String) -> Result<Policy, PolicyError> {
    let file: File = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        PolicyError { line, reason: e.message().to_owned() }
    })?;
    let mut seen = std::collections::HashSet::new();
    for rule in &file.rules {
        if !seen.insert(rule.name.as_str()) {
            return Err(PolicyError {
                line: None,
                reason: format!("two rules are named `{}`; names must be unique", rule.name),
            });
        }
        for c in &rule.when {
            c.check()
                .map_err(|reason| PolicyError { line: None, reason: format!("rule `{}`: {reason}", rule.name) })?;
        }
    }
    Ok(Policy {
        version,
        default_risk: file.default_risk,
        rules: file.rules,
        low: file.levels.low,
        medium: file.levels.medium,
        high: file.levels.high,
        budgets: file.budgets,
        breaker: file.breaker,
    })
}
