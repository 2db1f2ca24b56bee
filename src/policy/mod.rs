//! Risk policy: which actions are low, medium or high risk, and what each
//! level means for the operator (approve before, review after, or nothing).
//!
//! The policy is a TOML file, versioned by its content hash; every intent
//! records the version that judged it (invariant 7). Risk comes from the
//! policy and the step's adapter, action and arguments alone: nothing an
//! intent's text says can lower it. A broken file is refused with its line
//! and reason, and the policy in force stays.

mod conditions;
mod facts;
mod file;
mod vocabulary;
mod watch;

use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::{Plan, PlannedStep, Risk};

pub use conditions::Condition;
pub use facts::{AddressClass, StepFacts, host_of};
pub use file::{Breaker, Budgets, Level, Mode, PolicyError, Rule};
pub use vocabulary::Vocabulary;
pub use watch::{PolicyHandle, read};

/// The policy steward starts with when no file is configured: webhooks are
/// medium (reviewed after), notes low, anything unknown high.
pub const DEFAULT: &str = include_str!("default_policy.toml");

#[derive(Debug, Clone)]
pub struct Policy {
    pub version: String,
    pub default_risk: Risk,
    pub rules: Vec<Rule>,
    pub low: Level,
    pub medium: Level,
    pub high: Level,
    pub budgets: Budgets,
    pub breaker: Breaker,
}

/// The judgement of one plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judgement {
    pub risk: Risk,
    pub mode: Mode,
    /// The rule that set the highest risk, or `default`.
    pub rule: String,
    /// Per step: its risk and the rule that set it.
    pub steps: Vec<(Risk, String)>,
    pub policy_version: String,
}

impl Policy {
    /// Parses a policy file's text; the version is the hash of that text.
    pub fn parse(text: &str) -> Result<Self, PolicyError> {
        let version = hex::encode(&Sha256::digest(text.as_bytes())[..8]);
        file::parse(text, version)
    }

    pub fn builtin() -> Self {
        Self::parse(DEFAULT).expect("the built-in policy parses")
    }

    pub fn level(&self, risk: Risk) -> &Level {
        match risk {
            Risk::Low => &self.low,
            Risk::Medium => &self.medium,
            Risk::High => &self.high,
        }
    }

    /// The risk of one step: the highest among the rules that match it, or
    /// the default when none does. A rule whose risk is below the default
    /// lowers risk, so a value its conditions cannot read makes it fail.
    pub fn judge_step(&self, step: &PlannedStep, facts: &StepFacts) -> (Risk, String) {
        self.rules
            .iter()
            .filter(|r| r.matches(step, facts, r.risk >= self.default_risk))
            .map(|r| (r.risk, r.name.clone()))
            .max_by_key(|(risk, _)| *risk)
            .unwrap_or((self.default_risk, "default".into()))
    }

    /// Whether judging needs the destinations' names resolved: only when a
    /// rule asks what class of address a host is.
    pub fn needs_dns(&self) -> bool {
        self.rules.iter().flat_map(|r| &r.when).any(|c| c.host_in_class.is_some())
    }

    /// The risk of a plan is that of its riskiest step. `facts` has one
    /// entry per step; a missing one is judged on the arguments alone.
    pub fn judge(&self, plan: &Plan, facts: &[StepFacts]) -> Judgement {
        let steps: Vec<(Risk, String)> = plan
            .steps()
            .iter()
            .enumerate()
            .map(|(i, s)| match facts.get(i) {
                Some(f) => self.judge_step(s, f),
                None => self.judge_step(s, &StepFacts::from_args(&s.args)),
            })
            .collect();
        let (risk, rule) =
            steps.iter().max_by_key(|(r, _)| *r).cloned().unwrap_or((self.default_risk, "default".into()));
        Judgement { risk, mode: self.level(risk).mode, rule, steps, policy_version: self.version.clone() }
    }

    pub fn approval_expiry(&self, risk: Risk) -> Duration {
        Duration::from_secs(self.level(risk).expiry_secs)
    }
}

#[cfg(test)]
mod tests;
