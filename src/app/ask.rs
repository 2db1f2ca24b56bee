//! `steward ask "…"`: one message through the reasoning tiers, answered as
//! a chat would answer it, with its sources. Beside a running server it goes
//! through that server's `/v1/messages` (and waits out a slow model); with
//! no server it reasons here, on the same data directory, and an intent it
//! creates is kept and runs when `steward serve` next starts.

use std::process::ExitCode;

use anyhow::Context;
use serde_json::{Value, json};

use super::assembly::Assembly;
use super::remote::Remote;
use super::{lock_data_dir, print_json};
use crate::config::Config;
use crate::domain::{Citation, IntentText, MenuButton, Press, SystemClock};
use crate::reasoning::{Inbound, Input};

/// What to say: words, or a button from an earlier answer.
pub enum Said {
    Text(String),
    Press(String),
}

pub async fn run(config: &Config, said: Said, json: bool) -> anyhow::Result<ExitCode> {
    let answer = match lock_data_dir(config) {
        Ok(free) => {
            drop(free);
            here(config, said).await?
        }
        Err(locked) => served(&Remote::find(config).map_err(|e| e.context(locked))?, said).await?,
    };
    if json {
        print_json(&answer)?;
    } else {
        print!("{}", render(&answer));
    }
    Ok(ExitCode::SUCCESS)
}

/// Reasons in this process; the data directory is locked meanwhile.
async fn here(config: &Config, said: Said) -> anyhow::Result<Value> {
    let input = match said {
        Said::Text(t) => {
            IntentText::parse(t.clone())?;
            Input::from_text(&t)
        }
        Said::Press(data) => Input::Press(Press::parse(&data)?),
    };
    let steward = Assembly::assemble(config, SystemClock::shared()).await?;
    // A one-off question waits for the model: it has no warm-up to ride out.
    steward.memory.embedder().warmed().await?;
    steward.reasoner.warm().await;
    let inbound = Inbound {
        channel: "cli".into(),
        external_id: ulid::Ulid::new().to_string(),
        actor: super::approvals::me(),
        input,
        chat: "operator".into(),
    };
    let answer = steward.reasoner.handle(&inbound).await;
    steward.store.close().await;
    let mut answer = serde_json::to_value(answer?)?;
    if !answer["intent_id"].is_null() {
        answer["note"] =
            "steward is not running: the intent is kept, and it goes on when `steward serve` starts".into();
    }
    Ok(answer)
}

/// Asks the running server, waiting while a model works (202).
async fn served(remote: &Remote, said: Said) -> anyhow::Result<Value> {
    let id = ulid::Ulid::new().to_string();
    let body = match said {
        Said::Text(t) => json!({"text": t}),
        Said::Press(data) => json!({"button": data}),
    };
    let mut answer = remote.post_keyed("/v1/messages", &body, &id).await?;
    // A model that never answers is cut off by the server's own limits;
    // this bound only keeps a lost server from holding the command forever.
    for _ in 0..40 {
        if answer["status"] != "pending" {
            return Ok(answer);
        }
        answer = remote.get(&format!("/v1/messages/{id}?wait=30")).await?;
    }
    anyhow::bail!("the running steward is still working on it; its answer will be at GET /v1/messages/{id}")
}

/// The answer as plain text: what to say, its sources, the intent it made
/// and the buttons it offers (as commands that press them).
fn render(answer: &Value) -> String {
    let mut out = answer["text"].as_str().unwrap_or_default().trim_end().to_owned();
    out.push('\n');
    let cites: Vec<Citation> = serde_json::from_value(answer["citations"].clone()).unwrap_or_default();
    if !cites.is_empty() {
        out.push_str("\nSources\n");
        for c in &cites {
            let date = c.date.get(..10).unwrap_or(&c.date);
            out.push_str(&format!("  [{}] {date} · {} · {}: “{}”\n", c.id, c.who, c.channel, c.quote));
        }
    }
    if let Some(intent) = answer["intent_id"].as_str() {
        let state = answer["intent_state"].as_str().unwrap_or("unknown");
        out.push_str(&format!("\nintent {intent}: {state} (steward intents show {intent})\n"));
    }
    if let Some(note) = answer["note"].as_str() {
        out.push_str(&format!("{note}\n"));
    }
    let buttons: Vec<MenuButton> = serde_json::from_value(answer["buttons"].clone()).unwrap_or_default();
    if !buttons.is_empty() {
        out.push_str("\nTo answer with a button:\n");
        for b in &buttons {
            out.push_str(&format!("  {}: steward ask --press {}\n", b.label, b.data()));
        }
    }
    out
}

impl Remote {
    /// POSTs with an `Idempotency-Key`, so a retry of the command's own
    /// request is answered once.
    async fn post_keyed(&self, path: &str, body: &Value, key: &str) -> anyhow::Result<Value> {
        self.post_with(path, body, &[("Idempotency-Key", key)]).await.context("asking the running steward")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_reads_with_its_sources_intent_and_buttons() {
        let answer = json!({
            "text": "Globex pays net 30.",
            "citations": [{"id": "01ABC", "date": "2026-11-02T10:00:00Z", "who": "cli:ana", "channel": "cli",
                "quote": "Globex pays net 30"}],
            "intent_id": "01INTENT", "intent_state": "awaiting_approval",
            "buttons": [{"label": "Forget 2 records", "token": "abc"}],
        });
        let text = render(&answer);
        assert!(text.starts_with("Globex pays net 30.\n"), "{text}");
        assert!(text.contains("[01ABC] 2026-11-02 · cli:ana · cli: “Globex pays net 30”"), "{text}");
        assert!(text.contains("intent 01INTENT: awaiting_approval"), "{text}");
        assert!(text.contains("Forget 2 records: steward ask --press m:abc"), "{text}");
    }
}
