//! What an approval asks, as the person deciding sees it: stored with the
//! approval, sent on its cards and notices, returned by the API. Typed, so
//! a card never shows a silent blank for a field steward wrote itself; a
//! request whose text was forgotten says so.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::{Millis, Risk};

/// An approval's request (before it runs) or review (after).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    pub intent_id: String,
    /// What the intent is about, in the asker's words.
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub asked_by: String,
    #[serde(default)]
    pub channel: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<Risk>,
    /// The policy rule that set the risk (approval requests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(default)]
    pub steps: Vec<StepView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_estimate: Option<CostEstimate>,
    /// When an approval request is denied for want of a decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Millis>,
    /// Until when a review can still undo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo_until: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<String>,
    /// Its text was forgotten (`forget`, or retention): only the ids remain.
    #[serde(default, skip_serializing_if = "is_false", deserialize_with = "flag")]
    pub scrubbed: bool,
    /// A workflow's question (an `ask` step), answered by a choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<Question>,
}

/// A question with named choices; `default` is the answer when nobody
/// gives one before the approval expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub text: String,
    pub choices: Vec<String>,
    pub default: String,
}

impl Question {
    /// The most choices a question offers (one button each, a digit in the
    /// button's data).
    pub const MAX_CHOICES: usize = 8;

    /// Which choice an answer in words is: a choice's name in any case, or
    /// its number counted from 1.
    pub fn choice(&self, said: &str) -> Option<u8> {
        let said = said.trim();
        let by_name = self.choices.iter().position(|c| c.trim().eq_ignore_ascii_case(said));
        let by_number = said.parse::<usize>().ok().filter(|n| (1..=self.choices.len()).contains(n)).map(|n| n - 1);
        by_name.or(by_number).and_then(|i| u8::try_from(i).ok())
    }
}

/// One step as a person deciding about it needs it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepView {
    pub seq: u32,
    pub adapter: String,
    pub action: String,
    /// Every address the step may reach, its undo's included.
    #[serde(default)]
    pub destinations: Vec<DestinationView>,
    #[serde(default)]
    pub args: Value,
    #[serde(default)]
    pub risk: Option<String>,
    #[serde(default)]
    pub rule: Option<String>,
    #[serde(default)]
    pub idempotency_key: String,
    /// How it would be undone: the compensating call, or words.
    #[serde(default)]
    pub compensation: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DestinationView {
    pub arg: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostEstimate {
    pub model_usd: f64,
    pub actions: usize,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `true`, or `1` as SQLite's `json_object` writes it.
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::Number(n) => n.as_i64() != Some(0),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stored_requests_read_back_scrubbed_ones_too() {
        let stored = json!({"intent_id": "I", "summary": "Pay", "asked_by": "telegram:1", "channel": "telegram",
            "reason": null, "risk": "high", "rule": "amount", "expires_at": 5, "policy_version": "v1",
            "cost_estimate": {"model_usd": 0.0, "actions": 1},
            "steps": [{"seq": 0, "adapter": "webhook", "action": "call", "args": {"url": "http://x"},
                       "destinations": [{"arg": "url", "value": "http://x"}], "risk": "high", "rule": "amount",
                       "idempotency_key": "k", "compensation": "none: this step cannot be undone"}]});
        let r: ApprovalRequest = serde_json::from_value(stored).unwrap();
        assert_eq!(
            (r.summary.as_str(), r.risk, r.steps[0].destinations[0].value.as_str()),
            ("Pay", Some(Risk::High), "http://x")
        );
        let again: ApprovalRequest = serde_json::from_value(serde_json::to_value(&r).unwrap()).unwrap();
        assert_eq!(again, r);
        let scrubbed: ApprovalRequest = serde_json::from_value(json!({"intent_id": "I", "scrubbed": 1})).unwrap();
        assert!(scrubbed.scrubbed && scrubbed.summary.is_empty());
    }

    #[test]
    fn an_answer_is_a_choice_by_name_in_any_case_or_by_number() {
        let choices = vec!["yes".to_owned(), "Not yet".to_owned()];
        let q = Question { text: "Follow up?".into(), choices, default: "yes".into() };
        assert_eq!(q.choice("YES"), Some(0));
        assert_eq!(q.choice(" not yet "), Some(1));
        assert_eq!(q.choice("2"), Some(1));
        for none in ["maybe", "0", "3", "", "-1"] {
            assert_eq!(q.choice(none), None, "{none:?} is none of the choices");
        }
    }
}
