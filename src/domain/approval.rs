//! Approvals: the operator's say before a risky action runs, or their review
//! after a medium one did. A decision happens at most once (invariant 4).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::InvalidInput;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalKind {
    /// Nothing runs until it is approved.
    ApproveBefore,
    /// It ran; confirm it, or undo it within the window.
    ReviewAfter,
    /// A workflow's question: one of its named choices is the answer, and
    /// when nobody answers in time its default is.
    Ask,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    Pending,
    Approved,
    Rejected,
    /// Not decided in time: denied.
    Expired,
    /// Its intent was cancelled or replaced while it waited.
    Superseded,
    /// A review confirmed the action, or let its window lapse.
    Confirmed,
    /// A review asked to undo the action.
    Undone,
    /// A question got its answer (a choice, or its default in time).
    Answered,
}

impl ApprovalState {
    pub const ALL: [Self; 8] = [
        Self::Pending,
        Self::Approved,
        Self::Rejected,
        Self::Expired,
        Self::Superseded,
        Self::Confirmed,
        Self::Undone,
        Self::Answered,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
            Self::Superseded => "superseded",
            Self::Confirmed => "confirmed",
            Self::Undone => "undone",
            Self::Answered => "answered",
        }
    }
}

impl fmt::Display for ApprovalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for ApprovalState {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| InvalidInput::new("state", format!("unknown approval state `{s}`")))
    }
}

/// What an approver says. `approve`/`reject` answer a request;
/// `confirm`/`undo` answer a review (and `approve`/`reject` are accepted
/// there as the same); a question is answered by one of its choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
    /// The choice at this position of a question's choices.
    Choose(u8),
}

impl Decision {
    /// The state this decision puts an approval of `kind` in; `None` when
    /// it does not answer that kind (a choice for a request, approve for a
    /// question).
    pub fn outcome(self, kind: ApprovalKind) -> Option<ApprovalState> {
        Some(match (kind, self) {
            (ApprovalKind::ApproveBefore, Self::Approve) => ApprovalState::Approved,
            (ApprovalKind::ApproveBefore, Self::Reject) => ApprovalState::Rejected,
            (ApprovalKind::ReviewAfter, Self::Approve) => ApprovalState::Confirmed,
            (ApprovalKind::ReviewAfter, Self::Reject) => ApprovalState::Undone,
            (ApprovalKind::Ask, Self::Choose(_)) => ApprovalState::Answered,
            _ => return None,
        })
    }
}

impl FromStr for Decision {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "approve" | "approved" | "confirm" => Ok(Self::Approve),
            "reject" | "rejected" | "undo" => Ok(Self::Reject),
            _ => Err(InvalidInput::new(
                "decision",
                format!("`{s}` is not a decision; use approve, reject, confirm or undo"),
            )),
        }
    }
}

/// Whoever says something to steward, a stranger as much as the operator:
/// a channel identity such as `telegram:123456` or `http:api`. Whether they
/// may decide is asked of the [`Approvers`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Actor {
    pub channel: String,
    pub id: String,
}

impl Actor {
    pub fn new(channel: &str, id: &str) -> Self {
        Self { channel: channel.to_owned(), id: id.to_owned() }
    }

    /// Whether an allowlist entry (`channel:id`, or `channel:*`) names them.
    pub fn is_in(&self, allowlist: &[String]) -> bool {
        allowlist.iter().any(|entry| match entry.split_once(':') {
            Some((ch, "*")) => ch == self.channel,
            Some((ch, id)) => ch == self.channel && id == self.id,
            None => false,
        })
    }
}

/// Who may decide, shared by everything that checks: the configured
/// allowlist plus the channel users pairing adds while steward runs.
#[derive(Debug, Clone, Default)]
pub struct Approvers(std::sync::Arc<std::sync::RwLock<std::sync::Arc<Vec<String>>>>);

impl Approvers {
    /// Whether `actor` may decide approvals (and act) right now.
    pub fn admit(&self, actor: &Actor) -> bool {
        actor.is_in(&self.get())
    }

    pub fn new(entries: Vec<String>) -> Self {
        Self(std::sync::Arc::new(std::sync::RwLock::new(std::sync::Arc::new(entries))))
    }

    /// The allowlist as it is now.
    pub fn get(&self) -> std::sync::Arc<Vec<String>> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Adds an entry (`telegram:123`) unless it is there already.
    pub fn add(&self, entry: String) {
        let mut all = self.0.write().unwrap_or_else(|p| p.into_inner());
        if !all.contains(&entry) {
            let mut next = all.as_ref().clone();
            next.push(entry);
            *all = std::sync::Arc::new(next);
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.channel, self.id)
    }
}

impl TryFrom<String> for Actor {
    type Error = InvalidInput;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        match s.split_once(':') {
            Some((ch, id)) if !ch.is_empty() && !id.is_empty() => Ok(Self::new(ch, id)),
            _ => Err(InvalidInput::new("approver", format!("`{s}` is not `channel:id`"))),
        }
    }
}

impl From<Actor> for String {
    fn from(a: Actor) -> String {
        a.to_string()
    }
}

/// Why a decision was refused, in words a channel can show the presser.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no such approval")]
    NotFound,
    #[error("you are not an approver for this workspace")]
    NotAnApprover,
    #[error("already {state} by {by}")]
    AlreadyDecided { state: ApprovalState, by: String },
    #[error("this request expired; nothing ran")]
    Expired,
    #[error("this request was superseded; its intent changed")]
    Superseded,
    /// A question answered with approve or reject, a request with a choice.
    #[error("that does not answer this: {0}")]
    NotAnAnswer(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlists_match_exact_ids_and_whole_channels() {
        let list = vec!["telegram:42".to_owned(), "cli:*".to_owned()];
        assert!(Actor::new("telegram", "42").is_in(&list));
        assert!(!Actor::new("telegram", "43").is_in(&list));
        assert!(Actor::new("cli", "alice").is_in(&list));
        assert!(!Actor::new("discord", "42").is_in(&list));
    }

    #[test]
    fn decisions_mean_different_things_for_requests_and_reviews() {
        assert_eq!(Decision::Approve.outcome(ApprovalKind::ApproveBefore), Some(ApprovalState::Approved));
        assert_eq!(Decision::Reject.outcome(ApprovalKind::ReviewAfter), Some(ApprovalState::Undone));
        assert_eq!(Decision::Choose(1).outcome(ApprovalKind::Ask), Some(ApprovalState::Answered));
        assert_eq!(Decision::Approve.outcome(ApprovalKind::Ask), None, "a question wants one of its choices");
        assert_eq!(Decision::Choose(0).outcome(ApprovalKind::ApproveBefore), None);
        assert_eq!("undo".parse::<Decision>().unwrap(), Decision::Reject);
        assert!("maybe".parse::<Decision>().is_err());
        assert!(Actor::try_from("nocolon".to_owned()).is_err());
    }
}
