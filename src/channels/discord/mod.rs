//! Discord, through serenity: the gateway for messages and interactions,
//! slash commands registered in the configured guilds, answers with their
//! sources in an embed, approval buttons, and delivery through the outbox.
//!
//! Allowlisted users are the operator: they act and decide. Other guild
//! members may only ask, and read only what the memory contract gives them.
//! An interaction is kept in the store before it is acknowledged, so a
//! crash, a reconnect or a replayed event after a RESUME loses nothing and
//! does nothing twice.

mod deliver;
mod render;
mod rest;

use std::sync::Arc;

use async_trait::async_trait;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use serenity::all::{
    ChannelId, ClientBuilder, Context, EventHandler, GatewayIntents, Http, HttpBuilder, Interaction, InteractionId,
    Message, Ready, ResumedEvent, UserId,
};
use tokio_util::sync::CancellationToken;

use super::Core;
use super::dispatch::Handle;
use crate::config::{Config, DiscordConfig};
use crate::domain::{Actor, Citation, Command, Input, Outbound, Press, Verb};
use crate::reasoning::Inbound;
use crate::store::inbox::Event;

pub use deliver::DiscordDeliver;
pub use rest::Rest;

pub const CHANNEL: &str = "discord";

/// serenity's REST client, for its gateway connection: real Discord, or
/// (for tests and proxies) another base URL, with serenity's ratelimiter
/// off (it would not see the proxy). steward's own calls go through
/// [`Rest`], which reads answers up to a limit; the outbox honours 429s.
pub fn http(config: &DiscordConfig) -> Option<Http> {
    let token = config.token.as_ref()?;
    let mut b = HttpBuilder::new(token.expose_secret());
    if let Some(app) = config.application_id {
        b = b.application_id(app.into());
    }
    let base = config.api_url.trim_end_matches('/');
    if base != "https://discord.com" {
        b = b.proxy(base).ratelimiter_disabled(true);
    }
    Some(b.build())
}

pub struct Discord {
    rest: Arc<Rest>,
    config: DiscordConfig,
    core: Core,
    /// The bot's own user id, from READY: a message mentioning it is a question.
    me: std::sync::OnceLock<u64>,
}

/// The slash commands, registered in each configured guild on start. Each
/// is read by the command grammar as `/NAME TEXT`, TEXT being its one
/// option when it has one.
fn commands() -> Value {
    let text = |name: &str, description: &str| json!([{"type": 3, "name": name, "description": description, "required": true, "max_length": 2000}]);
    json!([
        {"name": "ask", "type": 1, "description": "Ask about the workspace", "options": text("question", "What you want to know")},
        {"name": "pending", "type": 1, "description": "Approvals waiting for the operator"},
        {"name": "digest", "type": 1, "description": "What happened in the last 24 hours"},
        {"name": "remember", "type": 1, "description": "Keep a fact in memory", "options": text("text", "The fact to keep")},
        {"name": "workflows", "type": 1, "description": "The saved workflows, with run buttons"},
        {"name": "run", "type": 1, "description": "Start a workflow", "options": text("workflow", "NAME key=value …")},
        {"name": "remind", "type": 1, "description": "A reminder", "options": text("what", "tomorrow at 9 call Bob; every monday at 8 review the pipeline")},
        {"name": "reminders", "type": 1, "description": "Your reminders, with cancel buttons"},
    ])
}

impl Discord {
    pub fn new(rest: Arc<Rest>, config: &Config, core: Core) -> Arc<Self> {
        Arc::new(Self { rest, config: config.discord.clone(), core, me: std::sync::OnceLock::new() })
    }

    /// Connects to the gateway and keeps connected until `shutdown`: a
    /// failed start is retried with backoff, never a crash loop.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let dispatcher = self.core.start(&self, &shutdown).await;
        let mut failures = 0u32;
        while !shutdown.is_cancelled() {
            let intents = GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGES | GatewayIntents::DIRECT_MESSAGES;
            let Some(http) = http(&self.config) else { return };
            let client = ClientBuilder::new_with_http(http, intents).event_handler(Gateway(self.clone())).await;
            let mut client = match client {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "discord: cannot build the client");
                    return;
                }
            };
            let manager = client.shard_manager.clone();
            let since = std::time::Instant::now();
            let started = tokio::select! {
                r = client.start() => Some(r),
                _ = shutdown.cancelled() => None,
            };
            match started {
                None => {
                    manager.shutdown_all().await;
                    break;
                }
                Some(r) => {
                    // A connection that held for a while starts the backoff afresh.
                    if since.elapsed() > std::time::Duration::from_secs(60) {
                        failures = 0;
                    }
                    failures += 1;
                    let why = r.err().map_or_else(|| "the gateway connection ended".to_owned(), |e| e.to_string());
                    tracing::warn!(error = %why, "discord: gateway stopped; reconnecting with backoff");
                    self.core.report("error", &format!("gateway: {why}")).await;
                    let wait = super::backoff(failures);
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = shutdown.cancelled() => break,
                    }
                }
            }
        }
        dispatcher.drained().await;
    }

    async fn on_ready(&self, ready: &Ready) {
        tracing::info!(user = %ready.user.name, "discord: connected to the gateway");
        let _ = self.me.set(ready.user.id.get());
        // Follow-ups go to /webhooks/{application}/...: learn it if unset.
        self.rest.learn_application(ready.application.id.get());
        for guild in &self.config.guild_ids {
            if let Err(e) = self.rest.guild_commands(*guild, &commands()).await {
                tracing::warn!(guild, error = %e, "discord: cannot register slash commands in a guild");
            }
        }
        self.core.report("ok", "connected").await;
    }

    async fn on_message(&self, msg: &Message) {
        let me = self.me.get().copied();
        if msg.author.bot || !me.is_some_and(|b| msg.mentions.iter().any(|u| u.id.get() == b)) {
            return;
        }
        let text = strip_mentions(&msg.content);
        let event = Event {
            channel: CHANNEL.into(),
            external_id: format!("m:{}", msg.id),
            conversation: msg.channel_id.to_string(),
            actor: Actor::new(CHANNEL, &msg.author.id.to_string()),
            said: kept(&Said::Mention { text, message_id: msg.id.to_string() }),
        };
        if let Err(e) = self.core.admit(event).await {
            tracing::error!(error = %e, "discord: cannot keep a mention");
        }
    }

    async fn on_interaction(&self, interaction: &Interaction) {
        let Some(Pressed { id, token, user, channel, said, ack }) = pressed(interaction) else { return };
        let event = Event {
            channel: CHANNEL.into(),
            external_id: format!("i:{id}"),
            conversation: channel.to_string(),
            actor: Actor::new(CHANNEL, &user.to_string()),
            said: kept(&said),
        };
        // Kept, then acknowledged (Discord shows "thinking" until the answer
        // replaces it), then handled: the answer never races the ack. A
        // replayed interaction is kept already and acknowledged already.
        let event = match self.core.keep(event).await {
            Ok(Some(event)) => event,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(error = %e, "discord: cannot keep an interaction; not acknowledging it");
                return;
            }
        };
        if let Err(e) = self.rest.acknowledge(id.get(), &token, &ack).await {
            tracing::warn!(error = %e, "discord: cannot acknowledge an interaction");
        }
        self.core.dispatch(event);
    }
}

/// What an interaction asks, if steward handles it: a slash command or a
/// button press, with the acknowledgement to send for it.
pub struct Pressed {
    pub id: InteractionId,
    pub token: String,
    pub user: UserId,
    pub channel: ChannelId,
    pub said: Said,
    pub ack: Value,
}

/// What a kept event said: a mention, a slash command or a button press,
/// with what the answer needs (the interaction's token, the message).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Said {
    Mention { text: String, message_id: String },
    Command { name: String, text: String, token: String },
    Button { data: String, token: String, message_id: String },
}

/// Where an answer goes.
enum ReplyTo {
    /// A reply to the mention with this message id.
    Reply(String),
    /// The interaction's answer; an ephemeral one only its presser sees.
    Interaction { token: String, ephemeral: bool },
}

/// A kept event's payload: `Said` as JSON, which cannot fail.
fn kept(said: &Said) -> Value {
    serde_json::to_value(said).unwrap_or_default()
}

/// Reads an interaction; anything else is `None`. Never panics.
pub fn pressed(interaction: &Interaction) -> Option<Pressed> {
    match interaction {
        Interaction::Command(c) => {
            let text = c.data.options.first().and_then(|o| o.value.as_str()).unwrap_or("").to_owned();
            let said = Said::Command { name: c.data.name.clone(), text, token: c.token.clone() };
            let (id, token, user, channel) = (c.id, c.token.clone(), c.user.id, c.channel_id);
            Some(Pressed { id, token, user, channel, said, ack: json!({"type": 5}) })
        }
        Interaction::Component(c) => {
            let said = Said::Button {
                data: c.data.custom_id.clone(),
                token: c.token.clone(),
                message_id: c.message.id.to_string(),
            };
            let (id, token, user, channel) = (c.id, c.token.clone(), c.user.id, c.channel_id);
            Some(Pressed { id, token, user, channel, said, ack: json!({"type": 6}) })
        }
        _ => None,
    }
}

/// The text of a mention without the mentions themselves.
pub fn strip_mentions(content: &str) -> String {
    let mut out = String::with_capacity(content.len());
    let mut rest = content;
    while let Some(at) = rest.find("<@") {
        out.push_str(&rest[..at]);
        match rest[at..].find('>') {
            Some(end) => rest = &rest[at + end + 1..],
            None => {
                out.push_str(&rest[at..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct Gateway(Arc<Discord>);

#[async_trait]
impl EventHandler for Gateway {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        self.0.on_ready(&ready).await;
    }

    async fn resume(&self, _ctx: Context, _: ResumedEvent) {
        tracing::info!("discord: gateway session resumed");
        self.0.core.report("ok", "resumed").await;
    }

    async fn message(&self, _ctx: Context, msg: Message) {
        self.0.on_message(&msg).await;
    }

    async fn interaction_create(&self, _ctx: Context, interaction: Interaction) {
        self.0.on_interaction(&interaction).await;
    }
}

#[async_trait]
impl Handle for Discord {
    #[tracing::instrument(name = "chat", skip_all, fields(channel = CHANNEL, chat = %event.conversation, event = %event.external_id))]
    async fn handle(&self, event: &Event) -> anyhow::Result<()> {
        let destination = format!("{CHANNEL}:{}", event.conversation);
        let said: Said = match serde_json::from_value(event.said.clone()) {
            Ok(said) => said,
            Err(e) => return self.core.unreadable(event, &e).await,
        };
        let who = event.actor.clone();
        let operator = self.core.approvers.admit(&who);
        let followup = |token: &str, text: &str, ephemeral: bool, citations: Vec<Citation>| Outbound::Followup {
            token: token.to_owned(),
            text: text.to_owned(),
            ephemeral,
            citations,
        };
        // Where the answer goes: a reply to a mention, an interaction's
        // answer (private for a press) otherwise.
        let (input, answer_to) = match said {
            Said::Button { data, token, message_id } => {
                if !operator {
                    let why = self.core.refuse_press(&who, &data).await?;
                    tracing::warn!(user = %who.id, "discord: refused a button press from someone who may not decide");
                    return self.core.finish(event, &destination, &[followup(&token, &why, true, vec![])]).await;
                }
                let press = match Press::parse(&data) {
                    Ok(press) => press,
                    Err(e) => {
                        let no = followup(&token, &e.reason, true, vec![]);
                        return self.core.finish(event, &destination, &[no]).await;
                    }
                };
                if press.verb == Verb::Details {
                    let edit = Outbound::CardDetails { approval_id: press.token, message_id };
                    return self.core.finish(event, &destination, &[edit]).await;
                }
                if press.verb == Verb::Menu {
                    // A menu's button does what it was offered for: reasoning's.
                    (Input::Press(press), ReplyTo::Interaction { token, ephemeral: true })
                } else {
                    let answer = |text: String| vec![followup(&token, &text, true, vec![])];
                    return self.core.press(event, &destination, &who, &press, answer).await;
                }
            }
            Said::Command { name, text, token } => {
                if name == "remember" && !operator {
                    let no = "Only the operator can add to memory; you can /ask questions.";
                    return self.core.finish(event, &destination, &[followup(&token, no, true, vec![])]).await;
                }
                let command = Command::parse(&format!("/{name} {text}")).unwrap_or_else(|| Command::ask(&text));
                (Input::Command(command), ReplyTo::Interaction { token, ephemeral: false })
            }
            // What follows the mention is read as typed text: a command in
            // the grammar, or free text for the reasoning tiers.
            Said::Mention { text, message_id } => (Input::from_text(&text), ReplyTo::Reply(message_id)),
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
                let (text, citations) = (o.text.clone(), o.citations.clone());
                let buttons = o.buttons.clone();
                match answer_to {
                    ReplyTo::Reply(to) if !buttons.is_empty() => {
                        vec![Outbound::Menu { text, buttons, reply_to: Some(to) }]
                    }
                    ReplyTo::Reply(to) => vec![Outbound::Reply { text, citations, reply_to: Some(to) }],
                    // A follow-up carries no buttons: the menu is a message
                    // of its own in the channel, and the interaction says so.
                    ReplyTo::Interaction { token, .. } if !buttons.is_empty() => vec![
                        followup(&token, "Sent below, with its buttons.", true, vec![]),
                        Outbound::Menu { text, buttons, reply_to: None },
                    ],
                    ReplyTo::Interaction { token, ephemeral } => vec![followup(&token, &text, ephemeral, citations)],
                }
            })
            .await
    }
}

/// Where a destination points, for the deliverer.
fn channel_id(target: &str) -> Option<ChannelId> {
    target.parse::<u64>().ok().filter(|id| *id != 0).map(ChannelId::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_stripped_from_the_question() {
        assert_eq!(strip_mentions("<@123> what is   due <@!45>?"), "what is due ?");
        assert_eq!(strip_mentions("a <@ b"), "a <@ b");
    }

    #[test]
    fn every_registered_command_is_one_the_grammar_reads() {
        let names: Vec<String> =
            commands().as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect();
        assert_eq!(names, ["ask", "pending", "digest", "remember", "workflows", "run", "remind", "reminders"]);
        for c in commands().as_array().unwrap() {
            let option = if c["options"].is_array() { " x" } else { "" };
            let said = format!("/{}{option}", c["name"].as_str().unwrap());
            let parsed = Command::parse(&said).unwrap();
            assert!(!matches!(parsed, Command::Help | Command::Usage(_)), "{said} reads as {parsed:?}");
        }
    }
}
