//! Memory records: what steward keeps, with where it came from (provenance)
//! and who may see it (scope).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{InvalidInput, Millis};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryKind {
    Message,
    Decision,
    IntentOutcome,
    Note,
    Summary,
    Document,
}

impl MemoryKind {
    pub const ALL: [Self; 6] =
        [Self::Message, Self::Decision, Self::IntentOutcome, Self::Note, Self::Summary, Self::Document];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Message => "message",
            Self::Decision => "decision",
            Self::IntentOutcome => "intent_outcome",
            Self::Note => "note",
            Self::Summary => "summary",
            Self::Document => "document",
        }
    }
}

impl fmt::Display for MemoryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for MemoryKind {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            let known: Vec<_> = Self::ALL.iter().map(|k| k.as_str()).collect();
            InvalidInput::new("kind", format!("unknown kind `{s}`; expected one of {}", known.join(", ")))
        })
    }
}

/// Who may read a record: `public`, `team`, `operator`, or a person's own
/// `user:<channel>:<id>`. Lowercase letters, digits and `:_.-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Scope(String);

impl Scope {
    pub fn parse(s: &str) -> Result<Self, InvalidInput> {
        let ok = !s.is_empty()
            && s.len() <= 96
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ":_.-".contains(c));
        if !ok {
            return Err(InvalidInput::new(
                "scope",
                format!("`{s}` is not a scope: use lowercase letters, digits and `:_.-`"),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The private scope of one person on one channel.
    pub fn user(channel: &str, id: &str) -> Self {
        Self(format!("user:{}:{}", channel.to_ascii_lowercase(), id.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Scope {
    type Error = InvalidInput;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Scope> for String {
    fn from(s: Scope) -> String {
        s.0
    }
}

/// Where a record came from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MemoryProvenance {
    pub actor: String,
    pub channel: String,
    pub intent_id: Option<String>,
    pub agent_version: Option<String>,
    pub why: Option<String>,
}

/// A record to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMemory {
    pub kind: MemoryKind,
    pub text: String,
    pub scope: Scope,
    pub tags: Vec<String>,
    pub meta: serde_json::Value,
    pub provenance: MemoryProvenance,
    pub summary_of: Vec<String>,
    /// When it happened; now, unless imported from elsewhere.
    pub created_at: Millis,
}

impl NewMemory {
    pub const MAX_CHARS: usize = 20_000;

    pub fn new(
        kind: MemoryKind,
        text: &str,
        scope: Scope,
        provenance: MemoryProvenance,
        created_at: Millis,
    ) -> Result<Self, InvalidInput> {
        let text = text.trim();
        if text.is_empty() {
            return Err(InvalidInput::new("text", "must not be empty"));
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(InvalidInput::new("text", format!("must be at most {} characters", Self::MAX_CHARS)));
        }
        Ok(Self {
            kind,
            text: text.to_owned(),
            scope,
            tags: vec![],
            meta: serde_json::json!({}),
            provenance,
            summary_of: vec![],
            created_at,
        })
    }
}

/// A record as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryRecord {
    pub id: String,
    pub kind: MemoryKind,
    pub text: String,
    pub scope: Scope,
    pub tags: Vec<String>,
    pub meta: serde_json::Value,
    pub provenance: MemoryProvenance,
    pub created_at: Millis,
    pub archived_at: Option<Millis>,
    pub summary_of: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_plain_names() {
        assert!(Scope::parse("team").is_ok());
        assert_eq!(Scope::user("Telegram", "42").as_str(), "user:telegram:42");
        assert!(Scope::parse("Team Stuff").is_err());
        assert!(Scope::parse("").is_err());
    }

    #[test]
    fn records_need_text_and_kinds_parse() {
        let p = MemoryProvenance::default();
        assert!(NewMemory::new(MemoryKind::Note, "  ", Scope::parse("team").unwrap(), p.clone(), 0).is_err());
        assert_eq!("intent_outcome".parse::<MemoryKind>().unwrap(), MemoryKind::IntentOutcome);
        assert!("memo".parse::<MemoryKind>().is_err());
    }
}
