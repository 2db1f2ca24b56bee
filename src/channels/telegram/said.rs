//! What a Telegram update says, parsed once where it comes in: a text
//! message or a button press, and what the answer needs. Never panics,
//! whatever Telegram (or someone posing as it) sends.

use serde::{Deserialize, Serialize};
use teloxide::types::{Update, UpdateKind};

/// What a kept update said: a text message or a button press, with what
/// the answer needs (the press's callback, the card's message).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Said {
    Text {
        text: String,
        #[serde(default)]
        message_id: Option<i64>,
    },
    Button {
        data: String,
        callback_id: String,
        #[serde(default)]
        message_id: Option<i64>,
    },
}

/// A Telegram command as the command grammar reads it: `/approve@bot ID`
/// loses the bot's name, and `/start` (with or without a code) is help.
pub(super) fn command_text(text: &str) -> String {
    let text = text.trim();
    let Some(rest) = text.strip_prefix('/') else { return text.to_owned() };
    let (word, args) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let word = word.split('@').next().unwrap_or(word);
    if word == "start" {
        return "help".into();
    }
    format!("/{word} {}", args.trim()).trim_end().to_owned()
}

/// What an update says, if it is something steward handles: who (user id),
/// where (chat id), and what they said. Text messages and button presses;
/// everything else is `None`. Never panics, whatever Telegram (or someone
/// posing as it) sends.
pub fn said(update: &Update) -> Option<(u64, i64, Said)> {
    match &update.kind {
        UpdateKind::Message(m) => {
            let (from, text) = (m.from.as_ref()?, m.text()?);
            Some((from.id.0, m.chat.id.0, Said::Text { text: text.to_owned(), message_id: Some(i64::from(m.id.0)) }))
        }
        UpdateKind::CallbackQuery(q) => {
            let chat = q.message.as_ref().map_or(q.from.id.0 as i64, |m| m.chat().id.0);
            let message_id = q.message.as_ref().map(|m| i64::from(m.id().0));
            let data = q.data.clone().unwrap_or_default();
            Some((q.from.id.0, chat, Said::Button { data, callback_id: q.id.0.clone(), message_id }))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telegram_commands_read_as_the_grammar() {
        assert_eq!(
            command_text("/approve@steward_bot 01J0000000000000000000000A"),
            "/approve 01J0000000000000000000000A"
        );
        assert_eq!(command_text("/start"), "help");
        assert_eq!(command_text("/pending"), "/pending");
        assert_eq!(command_text("what is due?"), "what is due?");
    }
}
