//! What steward says: one typed [`Outbound`] message per outbox row.
//!
//! The orchestrator, the approvals, the schedules and the chat channels
//! queue an `Outbound`; a deliverer matches on it. In the outbox (and on a
//! webhook notify destination) it is JSON tagged by `kind`, the format
//! existing rows and receivers already read: `{"kind": "approval_request",
//! "approval_id": …}`. A row that does not parse is refused with the reason,
//! never guessed at.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ApprovalRequest, MenuButton};

/// Where an answer came from: enough for a person to find and trust it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Citation {
    pub id: String,
    /// RFC 3339.
    pub date: String,
    pub who: String,
    pub channel: String,
    pub quote: String,
}

/// Why an approval's card is being shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Occasion {
    /// A new request to approve before acting.
    Request,
    /// The request is still waiting; `pings` reminders so far, this one too.
    Reminder { pings: u32 },
    /// Waited too long: shown to the escalation destination.
    Escalation,
    /// Done already, for review (keep or undo).
    Review,
}

/// A notice for the operator that is not a card.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// An intent stopped where only the operator can go on.
    NeedsAttention { intent_id: String, why: String },
    /// A workflow could not start a scheduled run, or keeps failing.
    Workflow { workflow: String, why: String },
}

/// A digest, rendered once for every kind of destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestMessage {
    pub schedule: String,
    pub period: String,
    #[serde(default)]
    pub catch_up: bool,
    pub subject: String,
    /// Plain text: the log, webhooks, and any channel without a richer form.
    pub text: String,
    pub telegram_html: String,
    pub discord_embed: Value,
}

/// One message from steward to one destination.
#[derive(Debug, Clone, PartialEq)]
pub enum Outbound {
    /// An answer to what someone said; on Discord a reply to `reply_to`.
    Reply {
        text: String,
        citations: Vec<Citation>,
        reply_to: Option<String>,
    },
    /// An answer to a Discord interaction: its deferred reply, then further
    /// messages. An ephemeral one is shown to the presser only.
    Followup {
        token: String,
        text: String,
        ephemeral: bool,
        citations: Vec<Citation>,
    },
    /// Telegram's answer to a button press (a toast; empty says nothing).
    CallbackAnswer {
        callback_id: String,
        text: String,
    },
    /// An approval's card, read from the approval when it is rendered.
    /// `request` is what the approval asks, for destinations without cards.
    Card {
        approval_id: String,
        occasion: Occasion,
        request: ApprovalRequest,
    },
    /// The card shown as `message_id`, expanded in place (Details).
    CardDetails {
        approval_id: String,
        message_id: String,
    },
    /// The approval was decided or closed: every card of it is edited.
    CardClosed {
        approval_id: String,
    },
    Notice(Notice),
    Digest(DigestMessage),
    /// An answer with buttons that each do one thing (see
    /// [`super::MenuButton`]); on Discord a reply to `reply_to`.
    Menu {
        text: String,
        buttons: Vec<MenuButton>,
        reply_to: Option<String>,
    },
}

impl Outbound {
    /// A plain reply.
    pub fn reply(text: impl Into<String>) -> Self {
        Self::Reply { text: text.into(), citations: vec![], reply_to: None }
    }

    /// The wire kinds of the messages that show an approval card.
    pub const CARD_KINDS: [&str; 4] = ["approval_request", "approval_reminder", "approval_escalation", "review"];

    /// The `kind` it is stored under.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Reply { .. } => "reply",
            Self::Followup { .. } => "followup",
            Self::CallbackAnswer { .. } => "callback_answer",
            Self::Card { occasion, .. } => match occasion {
                Occasion::Request => "approval_request",
                Occasion::Reminder { .. } => "approval_reminder",
                Occasion::Escalation => "approval_escalation",
                Occasion::Review => "review",
            },
            Self::CardDetails { .. } => "card_details",
            Self::CardClosed { .. } => "approval_closed",
            Self::Notice(Notice::NeedsAttention { .. }) => "needs_attention",
            Self::Notice(Notice::Workflow { .. }) => "workflow_notice",
            Self::Digest(_) => "digest",
            Self::Menu { .. } => "menu",
        }
    }

    /// The message as one short line for the log: its kind, the ids it is
    /// about and the start of its text. Never the whole message, which may
    /// carry a plan's arguments or memory.
    pub fn summary(&self) -> String {
        let clip = |t: &str| format!("“{}”", t.chars().take(80).collect::<String>());
        let mut parts = vec![self.kind().to_owned()];
        match self {
            Self::Reply { text, .. }
            | Self::Followup { text, .. }
            | Self::CallbackAnswer { text, .. }
            | Self::Menu { text, .. } => {
                parts.push(clip(text));
            }
            Self::Card { approval_id, request, .. } => {
                parts.push(format!("intent_id={}", request.intent_id));
                parts.push(format!("approval_id={approval_id}"));
                parts.push(clip(&request.summary));
            }
            Self::CardDetails { approval_id, .. } | Self::CardClosed { approval_id } => {
                parts.push(format!("approval_id={approval_id}"));
            }
            Self::Notice(Notice::NeedsAttention { intent_id, why }) => {
                parts.push(format!("intent_id={intent_id}"));
                parts.push(clip(why));
            }
            Self::Notice(Notice::Workflow { workflow, why }) => {
                parts.push(format!("workflow={workflow}"));
                parts.push(clip(why));
            }
            Self::Digest(d) => parts.push(clip(&d.subject)),
        }
        parts.join(" ")
    }

    /// The message as plain text, for a destination that shows only text.
    /// Cards are rendered from their approval by the chat channels; this is
    /// their fallback.
    pub fn text(&self) -> String {
        match self {
            Self::Reply { text, .. } | Self::Followup { text, .. } | Self::CallbackAnswer { text, .. } => text.clone(),
            Self::Card { approval_id, request, .. } => {
                let about = if request.scrubbed { "(its text was forgotten)" } else { request.summary.as_str() };
                format!("{}: {about} (approval {approval_id})", self.kind())
            }
            Self::CardDetails { approval_id, .. } | Self::CardClosed { approval_id } => {
                format!("{}: approval {approval_id}", self.kind())
            }
            Self::Notice(Notice::NeedsAttention { intent_id, why }) => {
                format!("Needs your attention: intent {intent_id}\n{why}")
            }
            Self::Notice(Notice::Workflow { workflow, why }) => format!("Workflow {workflow}: {why}"),
            Self::Digest(d) => d.text.clone(),
            Self::Menu { text, buttons, .. } => {
                let labels: Vec<String> = buttons.iter().map(|b| format!("[{}]", b.label)).collect();
                format!("{text}\n{}", labels.join(" "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Guarantee: what was queued before the typed outbox still delivers:
    /// every kind of stored row reads back as the message it was.
    #[test]
    fn stored_rows_of_every_kind_read_back() {
        let rows = [
            json!({"kind": "reply", "text": "hi", "citations": [{"id": "m1", "date": "2026-01-01T00:00:00Z",
                   "who": "telegram:1", "channel": "telegram", "quote": "q"}]}),
            json!({"kind": "reply", "text": "hi", "reply_to": "42"}),
            json!({"kind": "followup", "token": "t", "text": "x", "ephemeral": true}),
            json!({"kind": "callback_answer", "callback_id": "c", "text": ""}),
            json!({"kind": "approval_request", "approval_id": "A", "request": {"intent_id": "I", "summary": "s"}}),
            json!({"kind": "approval_reminder", "approval_id": "A", "pings": 2, "request": {"intent_id": "I"}}),
            json!({"kind": "approval_escalation", "approval_id": "A", "request": {"intent_id": "I"}}),
            json!({"kind": "review", "approval_id": "A", "request": {"intent_id": "I", "scrubbed": 1}}),
            json!({"kind": "card_details", "approval_id": "tok", "message_id": 17}),
            json!({"kind": "card_details", "approval_id": "tok", "message_id": "1234567890123"}),
            json!({"kind": "approval_closed", "approval_id": "A"}),
            json!({"kind": "needs_attention", "intent_id": "I", "why": "a step failed"}),
            json!({"kind": "workflow_notice", "workflow": "w", "why": "a template failed"}),
            json!({"kind": "digest", "schedule": "daily", "period": "2026-01-01", "catch_up": false,
                   "subject": "s", "text": "t", "telegram_html": "<b>t</b>", "discord_embed": {"title": "t"}}),
        ];
        for row in rows {
            let o: Outbound = serde_json::from_value(row.clone()).unwrap_or_else(|e| panic!("{row}: {e}"));
            assert_eq!(o.kind(), row["kind"], "{row}");
            let again: Outbound = serde_json::from_value(serde_json::to_value(&o).unwrap()).unwrap();
            assert_eq!(again, o, "{row} round-trips");
        }
        let older: Outbound =
            serde_json::from_value(json!({"kind": "needs_attention", "intent_id": "I", "why": {"error": "x"}}))
                .unwrap();
        assert_eq!(older.text(), "Needs your attention: intent I\n{\"error\":\"x\"}");
    }

    #[test]
    fn a_row_that_is_not_a_message_is_refused_with_the_reason() {
        for (row, why) in [
            (json!({"kind": "carrier_pigeon"}), "unknown variant"),
            (json!({"kind": "reply"}), "missing field `text`"),
            (json!({"text": "no kind"}), "missing field `kind`"),
            (json!({"kind": "card_details", "approval_id": "t", "message_id": [1]}), "a message id"),
        ] {
            let err = serde_json::from_value::<Outbound>(row.clone()).unwrap_err().to_string();
            assert!(err.contains(why), "{row}: {err}");
        }
    }

    #[test]
    fn a_summary_names_the_message_but_never_carries_its_arguments() {
        let card = Outbound::Card {
            approval_id: "01A".into(),
            occasion: Occasion::Request,
            request: serde_json::from_value(json!({"intent_id": "01I", "summary": "pay Globex",
                "steps": [{"seq": 0, "adapter": "webhook", "action": "call", "args": {"token": "sk-live-123"}}]}))
            .unwrap(),
        };
        assert_eq!(card.summary(), "approval_request intent_id=01I approval_id=01A “pay Globex”");
        assert!(!card.summary().contains("sk-live"));
    }
}
