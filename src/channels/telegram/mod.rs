//! Telegram, through teloxide: long polling (or a webhook), the allowlist
//! and pairing, commands, approval cards with inline buttons, and delivery
//! of everything steward says to a chat through the outbox.
//!
//! An update is kept in the store before the polling offset moves past it,
//! so a crash loses nothing and a redelivered update is the same row. Only
//! allowed users reach reasoning; a stranger gets one polite refusal, and a
//! stranger's button press is refused with the reason.

mod api;
mod deliver;
mod polling;
mod render;
mod said;
mod webhook;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;
use teloxide::payloads::{SetMyCommands, SetWebhook, SetWebhookSetters};
use teloxide::types::{AllowedUpdate, BotCommand, Update};
use tokio_util::sync::CancellationToken;

use super::Core;
use super::dispatch::Handle;
use crate::config::{Config, TelegramConfig, TelegramMode};
use crate::domain::{Actor, Input, Outbound, Press, Verb};
use crate::reasoning::Inbound;
use crate::reasoning::limits::{Limiter, Verdict};
use crate::store::StoreError;
use crate::store::audit::{self, Entry};
use crate::store::channels as kept;
use crate::store::inbox::Event;

pub use api::Api;
pub use deliver::TelegramDeliver;
use said::command_text;
pub use said::{Said, said};
pub use webhook::{routes, webhook};

pub const CHANNEL: &str = "telegram";

/// The commands registered with setMyCommands.
const COMMANDS: [(&str, &str); 13] = [
    ("help", "what I understand"),
    ("ask", "ask about the workspace"),
    ("pending", "approvals waiting for you"),
    ("approve", "approve a request: /approve ID"),
    ("reject", "reject a request: /reject ID"),
    ("digest", "what happened in the last 24 hours"),
    ("status", "what is running, waiting and failing"),
    ("undo", "undo an action done for review: /undo ID"),
    ("answer", "answer a workflow's question: /answer ID CHOICE"),
    ("workflows", "the saved workflows, with run buttons"),
    ("run", "start a workflow: /run NAME key=value"),
    ("remind", "a reminder: /remind tomorrow 9am call Bob"),
    ("reminders", "your reminders: /reminders cancel ID cancels one"),
];

/// The updates steward asks for: messages and button presses.
const ALLOWED: [AllowedUpdate; 2] = [AllowedUpdate::Message, AllowedUpdate::CallbackQuery];

pub const REFUSAL: &str = "Sorry, this is a private assistant and I can only talk to the people its owner allowed. \
                           If that is you, ask the owner for a pairing code and send /start CODE.";

/// The bot client for the configured API, or `None` without a token.
pub fn bot(config: &TelegramConfig) -> anyhow::Result<Option<Api>> {
    let Some(token) = &config.token else { return Ok(None) };
    let url = reqwest::Url::parse(&config.api_url)
        .map_err(|e| anyhow::anyhow!("telegram.api_url `{}` is not a URL: {e}", config.api_url))?;
    Ok(Some(Api::new(url, token.clone())))
}

pub struct Telegram {
    bot: Api,
    config: TelegramConfig,
    core: Core,
    /// Pairing attempts per stranger: a code cannot be guessed by trying.
    pairing: Limiter,
}

/// Pairing attempts one stranger may make per window.
const PAIRING_ATTEMPTS: u32 = 5;
const PAIRING_WINDOW: std::time::Duration = std::time::Duration::from_secs(600);

impl Telegram {
    pub fn new(bot: Api, config: &Config, core: Core) -> Arc<Self> {
        let pairing = Limiter::new(PAIRING_ATTEMPTS, PAIRING_WINDOW);
        Arc::new(Self { bot, config: config.telegram.clone(), core, pairing })
    }

    /// Who may talk to steward here: the approvers, which are the users
    /// `telegram.allowed_users` lists, those pairing added, and any
    /// `telegram:ID` in `approvals.approvers`.
    fn is_allowed(&self, user: u64) -> bool {
        self.core.is_approver(&user.to_string())
    }

    /// Registers the command list; false when Telegram could not be reached
    /// (polling tries again once it can).
    async fn register_commands(&self) -> bool {
        let commands: Vec<BotCommand> = COMMANDS.iter().map(|(c, d)| BotCommand::new(*c, *d)).collect();
        match self.bot.call(&SetMyCommands::new(commands)).await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(error = %e, "telegram: cannot register the command list (setMyCommands) yet; commands work regardless");
                false
            }
        }
    }

    /// Registers the commands, resumes kept events and starts receiving:
    /// a polling loop, or (webhook mode) the webhook registration. Runs
    /// until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let registered = self.register_commands().await;
        let dispatcher = self.core.start(&self, &shutdown).await;
        match self.config.mode {
            TelegramMode::Polling => self.clone().poll(registered, shutdown).await,
            TelegramMode::Webhook => {
                self.register_webhook().await;
                shutdown.cancelled().await;
            }
        }
        dispatcher.drained().await;
    }

    async fn register_webhook(&self) {
        use secrecy::ExposeSecret;
        let Some(url) = self.config.webhook_url.as_deref().and_then(|u| reqwest::Url::parse(u).ok()) else {
            tracing::error!(
                "telegram: webhook mode needs telegram.webhook_url (the public https URL of /telegram/webhook)"
            );
            return;
        };
        let mut req = SetWebhook::new(url).allowed_updates(ALLOWED);
        if let Some(secret) = &self.config.webhook_secret {
            req = req.secret_token(secret.expose_secret().to_owned());
        }
        match self.bot.call(&req).await {
            Ok(_) => self.core.report("ok", "webhook registered").await,
            Err(e) => {
                tracing::error!(error = %e, "telegram: setWebhook failed");
                self.core.report("error", &format!("setWebhook failed: {e}")).await;
            }
        }
    }

    /// Takes one update in: pairing, the allowlist, then kept and handed to
    /// its chat's worker. Errors only when the store fails.
    pub async fn admit(&self, update: &Update) -> Result<(), StoreError> {
        let Some((user, chat, said)) = said(update) else { return Ok(()) };
        let destination = format!("{CHANNEL}:{chat}");
        if !self.is_allowed(user) {
            return self.stranger(user, &destination, &said).await;
        }
        let event = Event {
            channel: CHANNEL.into(),
            external_id: update.id.0.to_string(),
            conversation: chat.to_string(),
            actor: Actor::new(CHANNEL, &user.to_string()),
            said: serde_json::to_value(&said).map_err(|e| StoreError::corrupt("inbox", e))?,
        };
        self.core.admit(event).await
    }

    /// Someone not allowed: `/start CODE` may pair them; a button press is
    /// refused with the reason (and audited); anything else gets one polite
    /// refusal per person, and nothing they sent is kept.
    async fn stranger(&self, user: u64, destination: &str, said: &Said) -> Result<(), StoreError> {
        let who = Actor::new(CHANNEL, &user.to_string());
        let text = match said {
            Said::Button { data, callback_id, .. } => {
                let why = self.core.refuse_press(&who, data).await?;
                tracing::warn!(user, "telegram: refused a button press from someone not allowed");
                let answer = Outbound::CallbackAnswer { callback_id: callback_id.clone(), text: why };
                return self.core.say(destination, &answer, None).await;
            }
            Said::Text { text, .. } => text.trim(),
        };
        if let Some(code) = text.strip_prefix("/start").map(str::trim).filter(|c| !c.is_empty()) {
            match self.pairing.check(&who.to_string(), std::time::Instant::now()) {
                Verdict::Allow => {}
                Verdict::Drop => return Ok(()),
                Verdict::Refuse => {
                    tracing::warn!(user, "telegram: too many pairing attempts; refusing for a while");
                    let mut tx = self.core.store.begin().await?;
                    let detail = json!({"channel": CHANNEL, "attempts": PAIRING_ATTEMPTS});
                    let entry = Entry { actor: &who.to_string(), action: "pairing.limited", subject: None, detail };
                    audit::append(&mut tx, self.core.store.now(), &entry).await?;
                    tx.commit().await?;
                    let text = "Too many pairing attempts. Wait ten minutes, then ask for a new code.";
                    return self.core.say(destination, &Outbound::reply(text), None).await;
                }
            }
            let mut tx = self.core.store.begin().await?;
            let paired = kept::pair(&mut tx, CHANNEL, code, &user.to_string(), self.core.store.now()).await?;
            tx.commit().await?;
            if paired {
                self.core.approvers.add(who.to_string());
                tracing::info!(user, "telegram: paired a new user");
                let welcome = Outbound::reply(format!("Paired: you are {who}. Send /help to see what I do."));
                return self.core.say(destination, &welcome, Some(&format!("paired:{who}"))).await;
            }
            tracing::warn!(user, "telegram: a pairing code was wrong, used or expired");
            let wrong = Outbound::reply(
                "That pairing code is wrong, used or expired. Ask for a new one (steward pair telegram).",
            );
            // One such reply per stranger per window, however many codes they try.
            let slot = self.core.store.now() / PAIRING_WINDOW.as_millis() as i64;
            return self.core.say(destination, &wrong, Some(&format!("pair-wrong:{who}:{slot}"))).await;
        }
        tracing::warn!(user, "telegram: refused a message from someone not allowed (not kept)");
        let refusal = Outbound::reply(REFUSAL);
        self.core.say(destination, &refusal, Some(&format!("refused:{who}"))).await
    }

    /// A Details press: the card expanded in place.
    async fn details(
        &self,
        event: &Event,
        destination: &str,
        press: Press,
        callback_id: String,
        message_id: Option<i64>,
    ) -> anyhow::Result<()> {
        let answer = Outbound::CallbackAnswer { callback_id, text: String::new() };
        let Some(message_id) = message_id else {
            // A press on a message Telegram no longer shows: nothing to expand.
            return self.core.finish(event, destination, &[answer]).await;
        };
        let edit = Outbound::CardDetails { approval_id: press.token, message_id: message_id.to_string() };
        self.core.finish(event, destination, &[answer, edit]).await
    }
}

#[async_trait]
impl Handle for Telegram {
    #[tracing::instrument(name = "chat", skip_all, fields(channel = CHANNEL, chat = %event.conversation, event = %event.external_id))]
    async fn handle(&self, event: &Event) -> anyhow::Result<()> {
        let destination = format!("{CHANNEL}:{}", event.conversation);
        let said: Said = match serde_json::from_value(event.said.clone()) {
            Ok(said) => said,
            Err(e) => return self.core.unreadable(event, &e).await,
        };
        let who = event.actor.clone();
        let (input, pressed) = match said {
            Said::Button { data, callback_id, message_id } => match Press::parse(&data) {
                Ok(press) if press.verb == Verb::Details => {
                    return self.details(event, &destination, press, callback_id, message_id).await;
                }
                // A menu's button does what it was offered for: reasoning's.
                Ok(press) if press.verb == Verb::Menu => (Input::Press(press), Some(callback_id)),
                pressed => {
                    return match pressed {
                        Ok(press) => {
                            let answer = |text| vec![Outbound::CallbackAnswer { callback_id, text }];
                            self.core.press(event, &destination, &who, &press, answer).await
                        }
                        Err(e) => {
                            let answer = Outbound::CallbackAnswer { callback_id, text: e.reason };
                            self.core.finish(event, &destination, &[answer]).await
                        }
                    };
                }
            },
            Said::Text { text, .. } => (Input::from_text(&command_text(&text)), None),
        };
        let inbound = Inbound {
            channel: CHANNEL.into(),
            external_id: event.external_id.clone(),
            actor: who,
            input,
            chat: destination.clone(),
        };
        self.core
            .answer(event, &inbound, &destination, |o| {
                let mut out: Vec<Outbound> = pressed
                    .into_iter()
                    .map(|callback_id| Outbound::CallbackAnswer { callback_id, text: String::new() })
                    .collect();
                out.push(match o.buttons.is_empty() {
                    true => Outbound::Reply { text: o.text.clone(), citations: o.citations.clone(), reply_to: None },
                    false => Outbound::Menu { text: o.text.clone(), buttons: o.buttons.clone(), reply_to: None },
                });
                out
            })
            .await
    }
}
