//! The outbox's stored form of an [`Outbound`]: flat JSON tagged by
//! `kind`, the format existing rows and webhook receivers already read.
//! `Outbound` serialises through it.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::outbound::{Citation, DigestMessage, Notice, Occasion, Outbound};
use super::{ApprovalRequest, MenuButton};

/// The stored form: flat JSON tagged by `kind`.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Wire {
    Reply {
        text: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        citations: Vec<Citation>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<String>,
    },
    Followup {
        token: String,
        text: String,
        #[serde(default)]
        ephemeral: bool,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        citations: Vec<Citation>,
    },
    CallbackAnswer {
        callback_id: String,
        #[serde(default)]
        text: String,
    },
    ApprovalRequest {
        approval_id: String,
        #[serde(default)]
        request: ApprovalRequest,
    },
    ApprovalReminder {
        approval_id: String,
        pings: u32,
        #[serde(default)]
        request: ApprovalRequest,
    },
    ApprovalEscalation {
        approval_id: String,
        #[serde(default)]
        request: ApprovalRequest,
    },
    Review {
        approval_id: String,
        #[serde(default)]
        request: ApprovalRequest,
    },
    CardDetails {
        approval_id: String,
        #[serde(deserialize_with = "string_or_number")]
        message_id: String,
    },
    ApprovalClosed {
        approval_id: String,
    },
    NeedsAttention {
        intent_id: String,
        #[serde(deserialize_with = "any_as_text")]
        why: String,
    },
    WorkflowNotice {
        workflow: String,
        why: String,
    },
    Digest(DigestMessage),
    Menu {
        text: String,
        buttons: Vec<MenuButton>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<String>,
    },
}

/// Platform message ids: Telegram's are numbers, Discord's strings.
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(D::Error::custom(format!("a message id is a string or a number, not {other}"))),
    }
}

/// A reason written as a string, or as any JSON (older rows), as text.
fn any_as_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        other => other.to_string(),
    })
}

impl From<&Outbound> for Wire {
    fn from(o: &Outbound) -> Self {
        let o = o.clone();
        match o {
            Outbound::Reply { text, citations, reply_to } => Wire::Reply { text, citations, reply_to },
            Outbound::Followup { token, text, ephemeral, citations } => {
                Wire::Followup { token, text, ephemeral, citations }
            }
            Outbound::CallbackAnswer { callback_id, text } => Wire::CallbackAnswer { callback_id, text },
            Outbound::Card { approval_id, occasion, request } => match occasion {
                Occasion::Request => Wire::ApprovalRequest { approval_id, request },
                Occasion::Reminder { pings } => Wire::ApprovalReminder { approval_id, pings, request },
                Occasion::Escalation => Wire::ApprovalEscalation { approval_id, request },
                Occasion::Review => Wire::Review { approval_id, request },
            },
            Outbound::CardDetails { approval_id, message_id } => Wire::CardDetails { approval_id, message_id },
            Outbound::CardClosed { approval_id } => Wire::ApprovalClosed { approval_id },
            Outbound::Notice(Notice::NeedsAttention { intent_id, why }) => Wire::NeedsAttention { intent_id, why },
            Outbound::Notice(Notice::Workflow { workflow, why }) => Wire::WorkflowNotice { workflow, why },
            Outbound::Digest(d) => Wire::Digest(d),
            Outbound::Menu { text, buttons, reply_to } => Wire::Menu { text, buttons, reply_to },
        }
    }
}

impl From<Wire> for Outbound {
    fn from(w: Wire) -> Self {
        let card = |approval_id, occasion, request| Outbound::Card { approval_id, occasion, request };
        match w {
            Wire::Reply { text, citations, reply_to } => Outbound::Reply { text, citations, reply_to },
            Wire::Followup { token, text, ephemeral, citations } => {
                Outbound::Followup { token, text, ephemeral, citations }
            }
            Wire::CallbackAnswer { callback_id, text } => Outbound::CallbackAnswer { callback_id, text },
            Wire::ApprovalRequest { approval_id, request } => card(approval_id, Occasion::Request, request),
            Wire::ApprovalReminder { approval_id, pings, request } => {
                card(approval_id, Occasion::Reminder { pings }, request)
            }
            Wire::ApprovalEscalation { approval_id, request } => card(approval_id, Occasion::Escalation, request),
            Wire::Review { approval_id, request } => card(approval_id, Occasion::Review, request),
            Wire::CardDetails { approval_id, message_id } => Outbound::CardDetails { approval_id, message_id },
            Wire::ApprovalClosed { approval_id } => Outbound::CardClosed { approval_id },
            Wire::NeedsAttention { intent_id, why } => Outbound::Notice(Notice::NeedsAttention { intent_id, why }),
            Wire::WorkflowNotice { workflow, why } => Outbound::Notice(Notice::Workflow { workflow, why }),
            Wire::Digest(d) => Outbound::Digest(d),
            Wire::Menu { text, buttons, reply_to } => Outbound::Menu { text, buttons, reply_to },
        }
    }
}

impl Serialize for Outbound {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Wire::from(self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Outbound {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Wire::deserialize(d).map(Outbound::from)
    }
}
