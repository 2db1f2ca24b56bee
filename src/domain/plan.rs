//! A plan: the ordered steps an intent will take, each an adapter action.

use serde::{Deserialize, Serialize};

use super::InvalidInput;

/// A lowercase name such as an adapter (`webhook`) or an action (`post`):
/// ASCII letters, digits, `_`, `-` and `.`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Identifier(String);

impl Identifier {
    pub const MAX_LEN: usize = 64;

    pub fn parse(field: &str, s: &str) -> Result<Self, InvalidInput> {
        let ok_start = s.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        let ok_rest = s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-.".contains(c));
        if !ok_start || !ok_rest || s.len() > Self::MAX_LEN {
            return Err(InvalidInput::new(
                field,
                format!(
                    "`{s}` is not a valid name: use at most {} lowercase letters, digits, `_`, `-` or `.`, starting with a letter",
                    Self::MAX_LEN
                ),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Identifier {
    type Error = InvalidInput;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse("name", &s)
    }
}

impl From<Identifier> for String {
    fn from(id: Identifier) -> String {
        id.0
    }
}

/// One step as planned: which adapter does what, with which arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedStep {
    pub adapter: Identifier,
    pub action: Identifier,
    /// Always a JSON object; adapters validate its fields.
    pub args: serde_json::Value,
    /// The step must succeed within this many seconds of becoming due, or it
    /// fails for good (and its intent unwinds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_secs: Option<u64>,
    /// The step waits this many seconds after it becomes due before it
    /// runs (a workflow's `wait`); a durable timer, like a retry's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_secs: Option<u64>,
    /// The step runs no sooner than this time (a workflow's `wait_until`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<super::Millis>,
}

impl PlannedStep {
    pub fn parse(adapter: &str, action: &str, args: serde_json::Value) -> Result<Self, InvalidInput> {
        let adapter = Identifier::parse("adapter", adapter)?;
        let action = Identifier::parse("action", action)?;
        if !args.is_object() {
            return Err(InvalidInput::new("args", "must be a JSON object"));
        }
        Ok(Self { adapter, action, args, within_secs: None, wait_secs: None, not_before: None })
    }
}

/// The steps of an intent, in order. A plan is never empty and never larger
/// than [`Plan::MAX_STEPS`]; a step's position in it is its sequence number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<PlannedStep>", into = "Vec<PlannedStep>")]
pub struct Plan(Vec<PlannedStep>);

impl Plan {
    pub const MAX_STEPS: usize = 32;
    /// The shortest `within_secs` a step may have. Anything shorter would
    /// make the step fail before it could run, and its intent undo what came
    /// before: a plan could undo itself on purpose.
    pub const MIN_WITHIN_SECS: u64 = 5;
    /// The longest: a year.
    pub const MAX_WITHIN_SECS: u64 = 366 * 86_400;

    pub fn new(steps: Vec<PlannedStep>) -> Result<Self, InvalidInput> {
        if steps.is_empty() {
            return Err(InvalidInput::new("plan.steps", "a plan needs at least one step"));
        }
        if steps.len() > Self::MAX_STEPS {
            return Err(InvalidInput::new("plan.steps", format!("a plan has at most {} steps", Self::MAX_STEPS)));
        }
        for (seq, step) in steps.iter().enumerate() {
            if let Some(w) = step.wait_secs.filter(|w| *w > Self::MAX_WITHIN_SECS) {
                return Err(InvalidInput::new(
                    format!("plan.steps[{seq}].wait_secs"),
                    format!("{w} is more than a year ({} seconds)", Self::MAX_WITHIN_SECS),
                ));
            }
            if let Some(w) = step.within_secs.filter(|w| !(Self::MIN_WITHIN_SECS..=Self::MAX_WITHIN_SECS).contains(w)) {
                return Err(InvalidInput::new(
                    format!("plan.steps[{seq}].within_secs"),
                    format!(
                        "{w} is out of range: give between {} and {} seconds, or leave it out",
                        Self::MIN_WITHIN_SECS,
                        Self::MAX_WITHIN_SECS
                    ),
                ));
            }
        }
        Ok(Self(steps))
    }

    pub fn steps(&self) -> &[PlannedStep] {
        &self.0
    }
}

impl TryFrom<Vec<PlannedStep>> for Plan {
    type Error = InvalidInput;
    fn try_from(steps: Vec<PlannedStep>) -> Result<Self, Self::Error> {
        Self::new(steps)
    }
}

impl From<Plan> for Vec<PlannedStep> {
    fn from(plan: Plan) -> Self {
        plan.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identifiers_are_plain_lowercase_names() {
        assert!(Identifier::parse("adapter", "webhook").is_ok());
        assert!(Identifier::parse("action", "send_v2.post").is_ok());
        for bad in ["", "Webhook", "1st", "a b", "émail", &"a".repeat(65)] {
            let err = Identifier::parse("adapter", bad).unwrap_err();
            assert_eq!(err.field, "adapter");
        }
    }

    #[test]
    fn step_args_must_be_an_object() {
        assert!(PlannedStep::parse("note", "write", json!({})).is_ok());
        let err = PlannedStep::parse("note", "write", json!([1])).unwrap_err();
        assert_eq!(err.field, "args");
    }

    #[test]
    fn plans_are_non_empty_and_bounded() {
        assert!(Plan::new(vec![]).is_err());
        let step = PlannedStep::parse("note", "write", json!({})).unwrap();
        assert!(Plan::new(vec![step.clone(); Plan::MAX_STEPS + 1]).is_err());
        assert_eq!(Plan::new(vec![step; 3]).unwrap().steps().len(), 3);
    }

    #[test]
    fn a_plan_cannot_make_a_step_fail_at_once_with_within_secs() {
        let mut step = PlannedStep::parse("note", "write", json!({})).unwrap();
        for bad in [0, 1, Plan::MIN_WITHIN_SECS - 1, Plan::MAX_WITHIN_SECS + 1, u64::MAX] {
            step.within_secs = Some(bad);
            let err = Plan::new(vec![step.clone()]).unwrap_err();
            assert_eq!(err.field, "plan.steps[0].within_secs", "{bad}");
        }
        step.within_secs = Some(Plan::MIN_WITHIN_SECS);
        assert!(Plan::new(vec![step]).is_ok());
        let raw = json!([{"adapter": "note", "action": "write", "args": {}, "within_secs": 0}]);
        assert!(serde_json::from_value::<Plan>(raw).is_err());
    }

    #[test]
    fn plans_deserialize_through_validation() {
        let bad: Result<Plan, _> = serde_json::from_value(json!([{"adapter": "Bad", "action": "x", "args": {}}]));
        assert!(bad.is_err());
        let empty: Result<Plan, _> = serde_json::from_value(json!([]));
        assert!(empty.is_err());
    }
}
