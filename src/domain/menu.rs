//! Menus: a reply's buttons that do one thing each, such as starting a
//! workflow from `/workflows` or cancelling a reminder from `/reminders`.
//! A button carries only a token (`m:TOKEN`); what it does is kept with
//! the token, offered to one person, and done at most once.

use serde::{Deserialize, Serialize};

use super::{Press, Verb};

/// What a menu button does when pressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MenuAction {
    /// Starts a workflow that needs no arguments.
    Run { workflow: String },
    /// Cancels a reminder.
    CancelReminder { id: String },
    /// Decides a request found by a reference in words, once confirmed.
    Decide { target: String, decision: super::Decision },
    /// Cancels (or retries) an intent found by a reference in words.
    Control { intent: String, cancel: bool },
    /// Forgets the records found about a subject: exactly those shown.
    Forget { subject: String, records: Vec<String> },
}

/// A button on a reply: its label, and the token it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MenuButton {
    pub label: String,
    pub token: String,
}

impl MenuButton {
    /// The data the button carries: a press of it parses back.
    pub fn data(&self) -> String {
        Press::new(Verb::Menu, &self.token).data()
    }
}

/// Most buttons a reply has (Telegram shows them a row each).
pub const MAX_BUTTONS: usize = 10;
