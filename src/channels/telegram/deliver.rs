//! Delivering outbox messages to Telegram chats (`telegram:CHAT_ID`).
//!
//! A 429 becomes the outbox's `RetryAfter` with Telegram's `retry_after`;
//! network errors, timeouts and 5xx are retried; any other 4xx is logged with
//! its method and given up, except refused HTML, which is sent once more as
//! plain text. A message over 4,096 characters goes out in parts split at
//! paragraph boundaries; a retry resumes after the last part that was sent.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use teloxide::payloads::{
    AnswerCallbackQuery, AnswerCallbackQuerySetters, EditMessageText, EditMessageTextSetters, SendMessage,
    SendMessageSetters,
};
use teloxide::types::{CallbackQueryId, ChatId, InlineKeyboardMarkup, LinkPreviewOptions, MessageId, ParseMode};
use teloxide::{ApiError, RequestError};

use super::{Api, render};
use crate::channels::cards;
use crate::channels::outbox::{Deliver, DeliverError};
use crate::channels::text::{escape_html, html_to_plain, split, utf16_len};
use crate::domain::Outbound;
use crate::store::{Store, channels};

/// Telegram's limit on a message's text, in UTF-16 units after markup.
pub const MAX_MESSAGE: usize = 4096;

pub struct TelegramDeliver {
    bot: Api,
    store: Store,
    /// Parts of a long message already sent, by outbox id.
    progress: Mutex<HashMap<String, usize>>,
}

impl TelegramDeliver {
    pub fn new(bot: Api, store: Store) -> Self {
        Self { bot, store, progress: Mutex::default() }
    }
}

/// What a failed request means for the outbox.
fn classify(method: &str, e: RequestError) -> DeliverError {
    match e {
        RequestError::RetryAfter(s) => DeliverError::RetryAfter(s.duration()),
        // The URL (which holds the token) is cut out of network errors; a
        // test checks that no report shows the token.
        // An answer over the size limit: the server is broken or hostile,
        // and the message may have gone out; sending it again could say it
        // twice.
        RequestError::Io(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
            tracing::error!(%method, error = %e, "telegram: an answer was over the size limit; not sending again");
            DeliverError::Permanent(format!("{method}: {e}"))
        }
        e @ (RequestError::Network(_) | RequestError::Io(_)) => DeliverError::Transient(format!("{method}: {e}")),
        RequestError::InvalidJson { .. } => {
            DeliverError::Transient(format!("{method}: the answer was not the Bot API's JSON"))
        }
        RequestError::Api(ApiError::Unknown(d)) if !is_client_error(&d) => {
            DeliverError::Transient(format!("{method}: {d}"))
        }
        e => {
            tracing::error!(%method, error = %e, "telegram refused a request (HTTP 4xx)");
            DeliverError::Permanent(format!("{method}: {e}"))
        }
    }
}

/// Telegram's client errors say so in their description; anything else
/// (Internal Server Error, Bad Gateway, ...) is worth retrying.
fn is_client_error(description: &str) -> bool {
    ["Bad Request", "Forbidden", "Unauthorized", "Not Found", "Conflict"].iter().any(|p| description.starts_with(p))
}

fn chat(target: &str) -> Result<ChatId, DeliverError> {
    target
        .parse::<i64>()
        .map(ChatId)
        .map_err(|_| DeliverError::Permanent(format!("`telegram:{target}` is not a chat id (a number)")))
}

impl TelegramDeliver {
    /// Sends HTML, falling back once to plain text if Telegram cannot parse
    /// the markup.
    async fn send(
        &self,
        chat: ChatId,
        html: &str,
        kb: Option<InlineKeyboardMarkup>,
    ) -> Result<MessageId, DeliverError> {
        let quiet = LinkPreviewOptions {
            is_disabled: true,
            url: None,
            prefer_small_media: false,
            prefer_large_media: false,
            show_above_text: false,
        };
        let mut req = SendMessage::new(chat, html).parse_mode(ParseMode::Html).link_preview_options(quiet.clone());
        if let Some(kb) = kb.clone() {
            req = req.reply_markup(kb);
        }
        match self.bot.call(&req).await {
            Ok(m) => Ok(m.id),
            Err(RequestError::Api(ApiError::CantParseEntities(why))) => {
                tracing::warn!(method = "sendMessage", %why, "telegram refused the HTML (400); sending it once as plain text");
                let mut req = SendMessage::new(chat, html_to_plain(html)).link_preview_options(quiet);
                if let Some(kb) = kb {
                    req = req.reply_markup(kb);
                }
                self.bot.call(&req).await.map(|m| m.id).map_err(|e| classify("sendMessage", e))
            }
            Err(e) => Err(classify("sendMessage", e)),
        }
    }

    async fn edit(
        &self,
        chat: ChatId,
        id: MessageId,
        html: &str,
        kb: Option<InlineKeyboardMarkup>,
    ) -> Result<(), DeliverError> {
        let mut req = EditMessageText::new(chat, id, html).parse_mode(ParseMode::Html);
        if let Some(kb) = kb.clone() {
            req = req.reply_markup(kb);
        }
        let plain = match self.bot.call(&req).await {
            Ok(_) => return Ok(()),
            Err(RequestError::Api(ApiError::MessageNotModified)) => return Ok(()),
            Err(RequestError::Api(ApiError::MessageToEditNotFound)) => {
                tracing::info!(chat = chat.0, "telegram: the card to edit is gone; nothing to update");
                return Ok(());
            }
            Err(RequestError::Api(ApiError::CantParseEntities(why))) => {
                tracing::warn!(method = "editMessageText", %why, "telegram refused the HTML (400); editing once as plain text");
                html_to_plain(html)
            }
            Err(e) => return Err(classify("editMessageText", e)),
        };
        let mut req = EditMessageText::new(chat, id, plain);
        if let Some(kb) = kb {
            req = req.reply_markup(kb);
        }
        self.bot.call(&req).await.map(|_| ()).map_err(|e| classify("editMessageText", e))
    }

    /// Sends a long message in parts, resuming after the parts a failed
    /// attempt already sent; `kb`, a menu's buttons, goes under the last.
    /// Returns the first part's id.
    async fn send_parts(
        &self,
        chat: ChatId,
        html: &str,
        key: &str,
        kb: Option<InlineKeyboardMarkup>,
    ) -> Result<String, DeliverError> {
        let parts = split(html, MAX_MESSAGE, |s| utf16_len(&html_to_plain(s)));
        let start = self.progress.lock().unwrap_or_else(|p| p.into_inner()).get(key).copied().unwrap_or(0);
        let mut first = None;
        for (i, part) in parts.iter().enumerate().skip(start) {
            let last = i + 1 == parts.len();
            let id = self.send(chat, part, kb.clone().filter(|_| last)).await?;
            first.get_or_insert(id.0);
            self.progress.lock().unwrap_or_else(|p| p.into_inner()).insert(key.to_owned(), i + 1);
        }
        self.progress.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
        Ok(first.map(|id| id.to_string()).unwrap_or_default())
    }

    async fn card(
        &self,
        approval: &str,
        expanded: bool,
    ) -> Result<Option<(String, Option<InlineKeyboardMarkup>)>, DeliverError> {
        let store = |e: crate::store::StoreError| DeliverError::Transient(e.to_string());
        let Some(a) = cards::load(&self.store, approval).await.map_err(store)? else { return Ok(None) };
        let batch = cards::low_batch(&self.store, &a).await.map_err(store)?;
        Ok(Some(render::card(&cards::approval_card(&a, expanded, batch, self.store.now()))))
    }
}

#[async_trait]
impl Deliver for TelegramDeliver {
    fn kind(&self) -> &'static str {
        super::CHANNEL
    }

    async fn deliver(&self, target: &str, message: &Outbound, key: &str) -> Result<String, DeliverError> {
        let chat = chat(target)?;
        match message {
            Outbound::Card { approval_id, .. } => {
                let Some((html, kb)) = self.card(approval_id, false).await? else {
                    return Err(DeliverError::Permanent(format!("no approval {approval_id}")));
                };
                Ok(self.send(chat, &html, kb).await?.to_string())
            }
            Outbound::CardClosed { approval_id } => {
                let destination = format!("{}:{target}", super::CHANNEL);
                let shown = channels::cards(self.store.reader(), &destination, approval_id, &Outbound::CARD_KINDS)
                    .await
                    .map_err(|e| DeliverError::Transient(e.to_string()))?;
                if let Some((html, _)) = self.card(approval_id, false).await? {
                    for id in shown.iter().filter_map(|m| m.parse::<i32>().ok()) {
                        self.edit(chat, MessageId(id), &html, None).await?;
                    }
                }
                Ok(format!("edited {}", shown.len()))
            }
            Outbound::CardDetails { approval_id, message_id } => {
                let Ok(id) = message_id.parse::<i32>() else {
                    return Err(DeliverError::Permanent(format!("`{message_id}` is not a Telegram message id")));
                };
                if let Some((html, kb)) = self.card(approval_id, true).await? {
                    self.edit(chat, MessageId(id), &html, kb).await?;
                }
                Ok(id.to_string())
            }
            Outbound::CallbackAnswer { callback_id, text } => {
                let text: String = text.chars().take(200).collect();
                let mut req = AnswerCallbackQuery::new(CallbackQueryId(callback_id.clone()));
                if !text.is_empty() {
                    req = req.text(text);
                }
                match self.bot.call(&req).await {
                    Ok(_) => Ok(String::new()),
                    // Too late to answer: the press already timed out on the
                    // presser's screen; the card edit still tells them.
                    Err(RequestError::Api(ApiError::InvalidQueryId)) => Ok(String::new()),
                    Err(e) => Err(classify("answerCallbackQuery", e)),
                }
            }
            Outbound::Reply { text, citations, .. } | Outbound::Followup { text, citations, .. } => {
                self.send_parts(chat, &render::reply(text, citations), key, None).await
            }
            Outbound::Menu { text, buttons, .. } => {
                self.send_parts(chat, &escape_html(text), key, render::menu(buttons)).await
            }
            Outbound::Digest(d) => self.send_parts(chat, &d.telegram_html, key, None).await,
            Outbound::Notice(_) => self.send_parts(chat, &escape_html(&message.text()), key, None).await,
        }
    }
}
