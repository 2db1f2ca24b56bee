//! An intent: one request from the operator that steward will act on,
//! written down before anything happens.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use ulid::Ulid;

use super::{InvalidInput, Millis, Plan, Provenance, Risk};

/// The id of an intent: a ULID, so ids sort by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IntentId(Ulid);

impl IntentId {
    pub fn new() -> Self {
        Self(Ulid::new())
    }
}

impl Default for IntentId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for IntentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for IntentId {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ulid::from_string(s.trim())
            .map(Self)
            .map_err(|_| InvalidInput::new("id", format!("`{s}` is not an intent id (a 26-character ULID)")))
    }
}

/// What the operator asked for, in their words. Never empty, bounded in size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct IntentText(String);

impl IntentText {
    pub const MAX_CHARS: usize = 10_000;

    pub fn parse(s: impl Into<String>) -> Result<Self, InvalidInput> {
        let s = s.into();
        let trimmed = s.trim();
        if trimmed.is_empty() {
            return Err(InvalidInput::new("text", "must not be empty"));
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(InvalidInput::new("text", format!("must be at most {} characters", Self::MAX_CHARS)));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The life of an intent. The transitions between these states belong to the
/// orchestrator; this type only knows names and which states are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentState {
    Received,
    Planned,
    AwaitingApproval,
    Running,
    Succeeded,
    Failed,
    Compensating,
    Compensated,
    Cancelled,
    Expired,
    NeedsAttention,
}

impl IntentState {
    pub const ALL: [IntentState; 11] = [
        Self::Received,
        Self::Planned,
        Self::AwaitingApproval,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::Compensating,
        Self::Compensated,
        Self::Cancelled,
        Self::Expired,
        Self::NeedsAttention,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Planned => "planned",
            Self::AwaitingApproval => "awaiting_approval",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Compensating => "compensating",
            Self::Compensated => "compensated",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
            Self::NeedsAttention => "needs_attention",
        }
    }

    /// A terminal intent is finished: nothing will run for it again.
    /// `failed` is terminal only once nothing is left to compensate, which the
    /// orchestrator decides; as a stored state it is final.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Compensated | Self::Cancelled | Self::Expired)
    }
}

impl fmt::Display for IntentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for IntentState {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| {
            let known: Vec<_> = Self::ALL.iter().map(|st| st.as_str()).collect();
            InvalidInput::new("state", format!("unknown state `{s}`; expected one of {}", known.join(", ")))
        })
    }
}

/// An intent as stored: what was asked, by whom and why, and its plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Intent {
    pub id: IntentId,
    pub text: IntentText,
    pub state: IntentState,
    pub risk: Risk,
    pub provenance: Provenance,
    pub plan: Option<Plan>,
    pub deadline: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl Intent {
    /// A new intent, not yet stored. With a plan it starts `planned`, without
    /// one it starts `received` and waits for the reasoning tiers.
    pub fn new(text: IntentText, provenance: Provenance, plan: Option<Plan>, now: Millis) -> Self {
        let state = if plan.is_some() { IntentState::Planned } else { IntentState::Received };
        Self {
            id: IntentId::new(),
            text,
            state,
            risk: Risk::Low,
            provenance,
            plan,
            deadline: None,
            created_at: now,
            updated_at: now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_round_trip() {
        for st in IntentState::ALL {
            assert_eq!(st.as_str().parse::<IntentState>().unwrap(), st);
        }
        let err = "done".parse::<IntentState>().unwrap_err();
        assert!(err.reason.contains("needs_attention"), "{err}");
    }

    #[test]
    fn only_finished_states_are_terminal() {
        let terminal: Vec<_> = IntentState::ALL.into_iter().filter(|s| s.is_terminal()).collect();
        assert_eq!(
            terminal,
            [
                IntentState::Succeeded,
                IntentState::Failed,
                IntentState::Compensated,
                IntentState::Cancelled,
                IntentState::Expired
            ]
        );
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(IntentText::parse("  hi ").unwrap().as_str(), "hi");
        assert!(IntentText::parse("   ").is_err());
        assert!(IntentText::parse("x".repeat(IntentText::MAX_CHARS + 1)).is_err());
    }

    #[test]
    fn ids_parse_only_ulids() {
        let id = IntentId::new();
        assert_eq!(id.to_string().parse::<IntentId>().unwrap(), id);
        assert!("not-an-id".parse::<IntentId>().is_err());
    }

    #[test]
    fn a_planned_intent_starts_planned() {
        let prov = Provenance::operator("cli", "test");
        let plan = Plan::new(vec![PlannedStepFixture::note()]).unwrap();
        let with = Intent::new(IntentText::parse("a").unwrap(), prov.clone(), Some(plan), 0);
        let without = Intent::new(IntentText::parse("a").unwrap(), prov, None, 0);
        assert_eq!(with.state, IntentState::Planned);
        assert_eq!(without.state, IntentState::Received);
    }

    struct PlannedStepFixture;
    impl PlannedStepFixture {
        fn note() -> crate::domain::PlannedStep {
            crate::domain::PlannedStep::parse("note", "write", serde_json::json!({"text": "x"})).unwrap()
        }
    }
}
