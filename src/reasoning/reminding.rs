//! Reminders from chat, with no model: "remind me tomorrow at 9 to call
//! Bob", `/remind …`, `/reminders`, `/reminders cancel ID`. A reminder is
//! kept under the chat event that asked for it (a redelivery sets nothing
//! new) and said in the chat it came from.

use chrono::{DateTime, Utc};

use super::{Inbound, Reasoner, ReasoningError};
use crate::domain::{MAX_BUTTONS, MenuAction};
use crate::store::reminders;
use crate::workflows::{phrases, reminders as built_in};

/// How much of a reminder's id is shown, enough to cancel it by.
const SHOWN_ID: usize = 10;

fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

impl Reasoner {
    pub(super) async fn remind(&self, inbound: &Inbound, text: &str) -> Result<String, ReasoningError> {
        let now = utc(self.store.now());
        let phrase = match phrases::parse(text, now, self.workflows.zone()) {
            Ok(p) => p,
            Err(why) => return Ok(format!("No reminder set: {why}.")),
        };
        let key = format!("chat:{}:{}", inbound.channel, inbound.external_id);
        let actor = inbound.actor.to_string();
        match built_in::create(&self.store, &self.workflows, &phrase, &actor, &inbound.chat, &key).await? {
            Ok(r) => Ok(format!(
                "⏰ I'll remind you {}: {}. (/reminders lists yours; /reminders cancel {} cancels it.)",
                built_in::describe(&r, now),
                r.task,
                short(&r.id)
            )),
            Err(why) => Ok(format!("No reminder set: {why}.")),
        }
    }

    /// `/reminders`: the speaker's reminders to come, with a button to
    /// cancel each (the first ten; the rest by id).
    pub(super) async fn reminders(
        &self,
        inbound: &Inbound,
    ) -> Result<(String, Vec<(String, MenuAction)>), ReasoningError> {
        let now = self.store.now();
        let all = reminders::upcoming(self.store.reader(), &inbound.actor.to_string(), now).await?;
        if all.is_empty() {
            return Ok(("No reminders to come. Set one with: remind me tomorrow at 9 to call Bob".into(), vec![]));
        }
        let mut lines = vec![format!("Your reminders ({}):", all.len())];
        for r in &all {
            lines.push(format!("• {} {}: {}", short(&r.id), built_in::describe(r, utc(now)), r.task));
        }
        lines.push("Cancel one with its button, or: /reminders cancel ID".into());
        let buttons = all
            .iter()
            .take(MAX_BUTTONS)
            .map(|r| (format!("✖ Cancel: {}", clip(&r.task, 40)), MenuAction::CancelReminder { id: r.id.clone() }))
            .collect();
        Ok((lines.join("\n"), buttons))
    }

    pub(super) async fn cancel_reminder(&self, inbound: &Inbound, id: &str) -> Result<String, ReasoningError> {
        let now = self.store.now();
        let mut tx = self.store.begin().await?;
        let cancelled = reminders::cancel(&mut tx, id, &inbound.actor.to_string(), now).await?;
        tx.commit().await.map_err(crate::store::StoreError::from)?;
        Ok(match cancelled {
            Some(task) => {
                self.workflows.nudge().notify_one();
                format!("Cancelled the reminder: {task}.")
            }
            None => format!("No reminder of yours starts with `{id}` (/reminders lists them)."),
        })
    }
}

fn short(id: &str) -> String {
    id.chars().take(SHOWN_ID).collect::<String>().to_ascii_lowercase()
}

fn clip(text: &str, chars: usize) -> String {
    let short: String = text.chars().take(chars).collect();
    if short.len() < text.len() { format!("{short}…") } else { short }
}
