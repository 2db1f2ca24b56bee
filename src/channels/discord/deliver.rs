//! Delivering outbox messages to Discord (`discord:CHANNEL_ID`): cards,
//! card edits, answers to interactions (the deferred reply edited in place,
//! then follow-ups) and replies to mentions, split within Discord's limits.
//! A 429 is retried after Discord's `retry_after`; 5xx and network errors
//! are retried; other 4xx are logged and given up, and so is an answer over
//! the size limit (the message may have gone out: never said twice).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::rest::{Rest, RestError};
use super::{channel_id, render};
use crate::channels::cards;
use crate::channels::outbox::{Deliver, DeliverError};
use crate::channels::text::{char_len, split};
use crate::domain::{Citation, Outbound};
use crate::store::{Store, channels};

pub struct DiscordDeliver {
    http: Arc<Rest>,
    store: Store,
    /// Parts of a long answer already sent, by outbox id.
    progress: Mutex<HashMap<String, usize>>,
}

impl DiscordDeliver {
    pub fn new(http: Arc<Rest>, store: Store) -> Self {
        Self { http, store, progress: Mutex::default() }
    }
}

fn classify(what: &str, e: RestError) -> DeliverError {
    match e {
        RestError::Refused { status: 429, retry_after, .. } => {
            DeliverError::RetryAfter(retry_after.unwrap_or(Duration::from_secs(1)))
        }
        RestError::Refused { status, .. } if status >= 500 => DeliverError::Transient(format!("{what}: HTTP {status}")),
        e @ RestError::Refused { .. } => {
            tracing::error!(%what, error = %e, "discord refused a request (HTTP 4xx)");
            DeliverError::Permanent(format!("{what}: {e}"))
        }
        RestError::TooLarge => {
            tracing::error!(%what, error = %e, "discord: an answer was over the size limit; not sending again");
            DeliverError::Permanent(format!("{what}: {e}"))
        }
        e @ (RestError::Network(_) | RestError::NoApplication) => DeliverError::Transient(format!("{what}: {e}")),
    }
}

/// The id of a message Discord accepted. A 2xx whose body does not say it
/// was still accepted: sending it again would say it twice.
fn accepted(what: &str, r: Result<Value, RestError>) -> Result<String, DeliverError> {
    match r {
        Ok(m) => match m["id"].as_str() {
            Some(id) => Ok(id.to_owned()),
            None => {
                tracing::warn!(%what, "discord accepted a message but its answer named no id");
                Ok(String::new())
            }
        },
        Err(e) => Err(classify(what, e)),
    }
}

fn store_err(e: crate::store::StoreError) -> DeliverError {
    DeliverError::Transient(e.to_string())
}

impl DiscordDeliver {
    async fn card(&self, approval: &str, expanded: bool) -> Result<Option<Value>, DeliverError> {
        let Some(a) = cards::load(&self.store, approval).await.map_err(store_err)? else { return Ok(None) };
        let batch = cards::low_batch(&self.store, &a).await.map_err(store_err)?;
        Ok(Some(render::card(&cards::approval_card(&a, expanded, batch, self.store.now()))))
    }

    /// Sends `text` in parts to `sink`, resuming after the parts a failed
    /// attempt already sent; the sources go with the last part.
    async fn parts(
        &self,
        key: &str,
        text: &str,
        citations: &[Citation],
        sink: &Sink<'_>,
    ) -> Result<String, DeliverError> {
        let text = if text.trim().is_empty() { "(nothing to say)" } else { text };
        let parts = split(text, render::MAX_CONTENT, char_len);
        let start = self.progress.lock().unwrap_or_else(|p| p.into_inner()).get(key).copied().unwrap_or(0);
        let mut first = String::new();
        let last = parts.len() - 1;
        for (i, part) in parts.iter().enumerate().skip(start) {
            let mut body = json!({"content": part, "allowed_mentions": {"parse": []}});
            if i == last {
                body["embeds"] = json!(render::sources(citations).into_iter().collect::<Vec<_>>());
            }
            let id = self.send_part(sink, i, body).await?;
            if first.is_empty() {
                first = id;
            }
            self.progress.lock().unwrap_or_else(|p| p.into_inner()).insert(key.to_owned(), i + 1);
        }
        self.progress.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
        Ok(first)
    }

    async fn send_part(&self, sink: &Sink<'_>, i: usize, mut body: Value) -> Result<String, DeliverError> {
        let sent = match sink {
            // The deferred answer is edited into the first part (a button's
            // deferral shows nothing: it gets an ephemeral follow-up).
            Sink::Interaction { token, ephemeral: false, channel } if i == 0 => {
                let edited = self.http.edit_original(token, &body).await;
                return self.or_in_channel(edited, *channel, false, body).await;
            }
            Sink::Interaction { token, ephemeral, channel } => {
                let plain = body.clone();
                if *ephemeral {
                    body["flags"] = json!(64);
                }
                let sent = self.http.followup(token, &body).await;
                return self.or_in_channel(sent, *channel, *ephemeral, plain).await;
            }
            Sink::Channel { channel, reply_to } => {
                if let (0, Some(to)) = (i, reply_to) {
                    body["message_reference"] = json!({"message_id": to, "fail_if_not_exists": false});
                }
                self.http.send_message(*channel, &body).await
            }
        };
        accepted("send", sent)
    }

    /// An interaction Discord no longer knows (never acknowledged because
    /// steward died before its ack arrived, or past its 15 minutes) cannot
    /// be answered: the answer goes to the channel as a message instead.
    /// An ephemeral one is meant for one person only, so it is dropped.
    async fn or_in_channel(
        &self,
        sent: Result<Value, RestError>,
        channel: u64,
        ephemeral: bool,
        body: Value,
    ) -> Result<String, DeliverError> {
        let gone = matches!(&sent, Err(RestError::Refused { status: 401 | 404, .. }));
        if !gone {
            return accepted("answer interaction", sent);
        }
        if ephemeral {
            tracing::warn!("discord: an interaction can no longer be answered; its private answer is dropped");
            return Ok(String::new());
        }
        tracing::warn!(%channel, "discord: an interaction can no longer be answered (it was never acknowledged, or expired); answering in the channel instead");
        accepted("create message", self.http.send_message(channel, &body).await)
    }
}

/// Where the parts of an answer go.
enum Sink<'a> {
    /// An interaction's answer; `channel` is where it goes when the
    /// interaction can no longer be answered.
    Interaction {
        token: &'a str,
        ephemeral: bool,
        channel: u64,
    },
    Channel {
        channel: u64,
        reply_to: Option<&'a str>,
    },
}

#[async_trait]
impl Deliver for DiscordDeliver {
    fn kind(&self) -> &'static str {
        super::CHANNEL
    }

    async fn deliver(&self, target: &str, message: &Outbound, key: &str) -> Result<String, DeliverError> {
        let Some(channel) = channel_id(target) else {
            return Err(DeliverError::Permanent(format!("`discord:{target}` is not a channel id (a number)")));
        };
        let channel = channel.get();
        let http = &self.http;
        match message {
            Outbound::Card { approval_id, .. } => {
                let Some(body) = self.card(approval_id, false).await? else {
                    return Err(DeliverError::Permanent(format!("no approval {approval_id}")));
                };
                accepted("create message", http.send_message(channel, &body).await)
            }
            Outbound::CardClosed { approval_id } => {
                let destination = format!("{}:{target}", super::CHANNEL);
                let shown = channels::cards(self.store.reader(), &destination, approval_id, &Outbound::CARD_KINDS)
                    .await
                    .map_err(store_err)?;
                if let Some(body) = self.card(approval_id, false).await? {
                    for id in shown.iter().filter_map(|m| m.parse::<u64>().ok()) {
                        match http.edit_message(channel, id, &body).await {
                            Ok(_) => {}
                            Err(RestError::Refused { status: 404, .. }) => {
                                tracing::info!("discord: the card to edit is gone; nothing to update");
                            }
                            Err(e) => return Err(classify("edit message", e)),
                        }
                    }
                }
                Ok(format!("edited {}", shown.len()))
            }
            Outbound::CardDetails { approval_id, message_id } => {
                let Some(id) = message_id.parse::<u64>().ok().filter(|id| *id != 0) else {
                    return Err(DeliverError::Permanent(format!("`{message_id}` is not a Discord message id")));
                };
                if let Some(body) = self.card(approval_id, true).await? {
                    http.edit_message(channel, id, &body).await.map_err(|e| classify("edit message", e))?;
                }
                Ok(id.to_string())
            }
            Outbound::Followup { token, text, ephemeral, citations } => {
                let sink = Sink::Interaction { token, ephemeral: *ephemeral, channel };
                self.parts(key, text, citations, &sink).await
            }
            Outbound::Reply { text, citations, reply_to } => {
                let sink = Sink::Channel { channel, reply_to: reply_to.as_deref() };
                self.parts(key, text, citations, &sink).await
            }
            Outbound::Digest(d) if d.discord_embed.is_object() => {
                let body = json!({"embeds": [d.discord_embed], "allowed_mentions": {"parse": []}});
                accepted("create message", http.send_message(channel, &body).await)
            }
            Outbound::Menu { text, buttons, reply_to } => {
                let mut body = render::menu(text, buttons);
                if let Some(to) = reply_to {
                    body["message_reference"] = json!({"message_id": to, "fail_if_not_exists": false});
                }
                accepted("create message", http.send_message(channel, &body).await)
            }
            // A press's toast is Telegram's: Discord's presses are answered
            // by their acknowledgement and follow-ups.
            Outbound::CallbackAnswer { .. } => Ok(String::new()),
            Outbound::Digest(_) | Outbound::Notice(_) => {
                let sink = Sink::Channel { channel, reply_to: None };
                self.parts(key, &message.text(), &[], &sink).await
            }
        }
    }
}
