//! Memory records: what steward keeps, with where it came from (provenance)
//! and who may see it (scope).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{InvalidInput, Millis};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryKind {
    /// Something someone asked: searchable ("what did I ask about X?"),
    /// never cited as the answer to a question.
    Question,
    /// Something someone said was so: a fact as good as a note.
    Statement,
    /// Something someone asked steward to do (an intent's request).
    Command,
    /// What steward said back.
    Reply,
    Decision,
    IntentOutcome,
    Note,
    Summary,
    Document,
}

impl MemoryKind {
    pub const ALL: [Self; 9] = [
        Self::Question,
        Self::Statement,
        Self::Command,
        Self::Reply,
        Self::Decision,
        Self::IntentOutcome,
        Self::Note,
        Self::Summary,
        Self::Document,
    ];

    /// What people said in a conversation: the kinds `message` names.
    pub const MESSAGES: [Self; 4] = [Self::Question, Self::Statement, Self::Command, Self::Reply];

    /// The kinds an answer may rest on: what is so, not what was asked,
    /// asked for, or said back.
    pub const CITABLE: [Self; 6] =
        [Self::Statement, Self::Decision, Self::IntentOutcome, Self::Note, Self::Summary, Self::Document];

    /// The kinds a name stands for: `message` for every kind of message,
    /// any other kind's name for that kind.
    pub fn named(name: &str) -> Result<Vec<Self>, InvalidInput> {
        match name {
            "message" => Ok(Self::MESSAGES.to_vec()),
            other => Ok(vec![other.parse()?]),
        }
    }

    /// Whether an answer may rest on a record of this kind.
    pub fn citable(self) -> bool {
        Self::CITABLE.contains(&self)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Question => "question",
            Self::Statement => "statement",
            Self::Command => "command",
            Self::Reply => "reply",
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
    /// A kind's name; `message` (the one kind every message had before
    /// they were told apart) is read as a statement.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "message" {
            return Ok(Self::Statement);
        }
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

impl MemoryProvenance {
    /// The operator writing straight to memory over the API (its default
    /// author, with the token) and from the command line.
    pub const API: (&'static str, &'static str) = ("api", "http");
    pub const CLI: (&'static str, &'static str) = ("cli", "cli");

    /// Whether the operator wrote it straight to memory (not a speaker an
    /// import or a caller named).
    pub fn written_by_operator(&self) -> bool {
        [Self::API, Self::CLI].iter().any(|(actor, channel)| self.actor == *actor && self.channel == *channel)
    }
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
    /// When steward takes it in.
    pub created_at: Millis,
    /// When what it says happened, when that is not when it is taken in
    /// (imported history).
    pub occurred_at: Option<Millis>,
    /// What it was made from (a file and its content hash, a message id):
    /// the same source again in the same scope adds nothing.
    pub source_id: Option<String>,
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
            occurred_at: None,
            source_id: None,
        })
    }

    /// When what it says happened.
    pub fn occurred(&self) -> Millis {
        self.occurred_at.unwrap_or(self.created_at)
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
    #[serde(serialize_with = "super::stamp::serialize")]
    pub created_at: Millis,
    /// When what it says happened (`created_at` unless it was given).
    #[serde(serialize_with = "super::stamp::serialize")]
    pub occurred_at: Millis,
    pub source_id: Option<String>,
    #[serde(serialize_with = "super::stamp::serialize_option")]
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
        assert_eq!("message".parse::<MemoryKind>().unwrap(), MemoryKind::Statement, "the old name still reads");
        assert_eq!(MemoryKind::named("message").unwrap().len(), 4);
        assert!(!MemoryKind::CITABLE.contains(&MemoryKind::Question), "a question is never an answer");
    }
}
