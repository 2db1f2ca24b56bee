//! What the wizard checks before it writes anything: the Telegram token
//! (`getMe`), the operator's `/start`, the Discord token, the model
//! endpoint (`/models`) and the SMTP server. Errors never carry a URL, which
//! may hold a token; answers are read up to a size limit.

use std::time::Duration;

use anyhow::{anyhow, bail};
use secrecy::SecretString;
use serde_json::Value;
use teloxide::payloads::{GetMe, GetUpdates, GetUpdatesSetters, SendMessage};
use teloxide::requests::Payload;
use teloxide::types::{AllowedUpdate, UpdateKind};
use teloxide::{ApiError, RequestError};

use crate::channels::telegram::Api;

/// The most of an answer read: these are small JSON documents.
const ANSWER_LIMIT: usize = 1 << 20;

fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().timeout(Duration::from_secs(40)).build()?)
}

/// An answer's JSON, read up to the limit; the error names `what`.
async fn json_of(res: reqwest::Response, what: &str) -> anyhow::Result<(reqwest::StatusCode, Value)> {
    let status = res.status();
    let (body, more) = crate::adapters::read_limited(res, ANSWER_LIMIT).await;
    if more {
        bail!("{what}: the answer is over {ANSWER_LIMIT} bytes");
    }
    let value = serde_json::from_slice(&body).map_err(|_| anyhow!("{what} answered {status}, not JSON"))?;
    Ok((status, value))
}

/// The Telegram Bot API with one bot's token: the same client `serve`
/// uses, so answers are read up to its limit and errors carry no URL.
pub struct TelegramBot {
    api: Api,
}

pub fn telegram_bot(token: &str, api_url: &str) -> anyhow::Result<TelegramBot> {
    let url = reqwest::Url::parse(api_url).map_err(|e| anyhow!("--telegram-api-url `{api_url}` is not a URL: {e}"))?;
    if !token.contains(':') || token.chars().any(char::is_whitespace) {
        bail!("that is not a bot token: @BotFather gives one like 123456789:AA…");
    }
    Ok(TelegramBot { api: Api::new(url, SecretString::from(token.to_owned())) })
}

impl TelegramBot {
    async fn call<P>(&self, payload: &P) -> anyhow::Result<P::Output>
    where
        P: Payload + serde::Serialize,
        P::Output: serde::de::DeserializeOwned,
    {
        self.api.call(payload).await.map_err(|e| match e {
            RequestError::Api(ApiError::InvalidToken) => {
                anyhow!("Telegram refused the token: get a new one from @BotFather")
            }
            // The transport already took the URL (and its token) out.
            RequestError::Network(e) => anyhow!("cannot reach the Telegram Bot API: {e}"),
            other => anyhow!("Telegram's {} failed: {other}", P::NAME),
        })
    }
}

/// The bot's user name, which proves the token works.
pub async fn telegram_me(bot: &TelegramBot) -> anyhow::Result<String> {
    let me = bot.call(&GetMe::new()).await?;
    me.user.username.ok_or_else(|| anyhow!("Telegram's getMe named no bot"))
}

/// Waits for someone to send the bot `/start`; returns their user id and
/// name, answers them, and confirms the updates read so that `serve` does
/// not take that `/start` for a pairing attempt.
pub async fn telegram_start(bot: &TelegramBot, within: Duration) -> anyhow::Result<(i64, String)> {
    let deadline = tokio::time::Instant::now() + within;
    let mut offset = 0_i32;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            bail!("no /start within {}s; run setup again, or give --telegram-user", within.as_secs());
        }
        let wait = left.as_secs().clamp(1, 25) as u32;
        let poll = GetUpdates::new().offset(offset).timeout(wait).allowed_updates([AllowedUpdate::Message]);
        for update in bot.call(&poll).await? {
            offset = offset.max(update.id.0 as i32 + 1);
            let UpdateKind::Message(m) = update.kind else { continue };
            let started = m.text().is_some_and(|t| t.trim() == "/start" || t.starts_with("/start "));
            let Some(from) = m.from.as_ref().filter(|_| started && m.chat.is_private()) else { continue };
            let name = from.username.as_ref().map_or_else(|| from.first_name.clone(), |u| format!("@{u}"));
            bot.call(&GetUpdates::new().offset(offset).timeout(0)).await?;
            let hello = "Hello! You are steward's operator now. Finish the setup in your terminal, then start steward.";
            bot.call(&SendMessage::new(m.chat.id, hello)).await?;
            return Ok((from.id.0 as i64, name));
        }
    }
}

/// The Discord bot's name, which proves the token works.
pub async fn discord_me(token: &str) -> anyhow::Result<String> {
    let res = client()?
        .get("https://discord.com/api/v10/users/@me")
        .header("Authorization", format!("Bot {token}"))
        .send()
        .await
        .map_err(|e| anyhow!("cannot reach Discord: {}", e.without_url()))?;
    let (status, me) = json_of(res, "Discord").await?;
    if status.as_u16() == 401 {
        bail!("Discord refused the token: reset it in the Developer Portal (Bot → Reset Token)");
    }
    me["username"].as_str().map(str::to_owned).ok_or_else(|| anyhow!("Discord answered {status} without a bot name"))
}

/// The models an OpenAI-compatible endpoint offers (`GET …/models`).
pub async fn models(base_url: &str, key: Option<&str>) -> anyhow::Result<Vec<String>> {
    let url = reqwest::Url::parse(base_url).map_err(|e| anyhow!("`{base_url}` is not a URL: {e}"))?;
    let mut req = client()?.get(format!("{}/models", url.as_str().trim_end_matches('/')));
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    let res = req.send().await.map_err(|e| anyhow!("cannot reach {base_url}: {}", e.without_url()))?;
    let (status, body) = json_of(res, &format!("{base_url}/models")).await?;
    if status.as_u16() == 401 || status.as_u16() == 403 {
        bail!("{base_url} refused the API key ({status})");
    }
    if !status.is_success() {
        bail!("{base_url}/models answered {status}: is it an OpenAI-compatible endpoint ending in /v1?");
    }
    let ids = body["data"].as_array().into_iter().flatten().filter_map(|m| m["id"].as_str().map(str::to_owned));
    Ok(ids.collect())
}

/// The SMTP server answers on `host:port` with that security.
pub async fn smtp(smtp: &super::write::Smtp) -> anyhow::Result<()> {
    let config = smtp.config();
    let (transport, _) =
        crate::adapters::email::transport(&config).map_err(|e| anyhow!(e))?.ok_or_else(|| anyhow!("no SMTP host"))?;
    match tokio::time::timeout(Duration::from_secs(15), transport.test_connection()).await {
        Ok(Ok(true)) => Ok(()),
        Ok(Ok(false)) => bail!("{}:{} did not accept a session", smtp.host, smtp.port),
        Ok(Err(e)) => bail!("{}:{}: {e}", smtp.host, smtp.port),
        Err(_) => bail!("{}:{} did not answer within 15 s", smtp.host, smtp.port),
    }
}
