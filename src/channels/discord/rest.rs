//! The Discord REST calls steward makes (messages, interaction answers,
//! slash commands), sent by steward so that an answer is read only up to a
//! size limit; serenity reads every answer whole. The requests are the ones
//! serenity sends (`{api_url}/api/v10/…`, `Authorization: Bot …`, a JSON
//! body). The gateway stays serenity's.
//!
//! A 429's wait is read defensively from its body's `retry_after` or the
//! `Retry-After` header; anything unreadable falls back to one second.

use std::sync::OnceLock;
use std::time::Duration;

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::channels::wire::{self, Failed};
use crate::config::DiscordConfig;
use crate::domain::parse_retry_after;

const USER_AGENT: &str = concat!("DiscordBot (https://github.com/steward, ", env!("CARGO_PKG_VERSION"), ")");

/// How long one call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// Discord's REST API with one bot's token.
pub struct Rest {
    client: reqwest::Client,
    /// `…/api/v10`, without a trailing slash.
    base: String,
    auth: SecretString,
    /// Follow-ups and commands are addressed by the application: from the
    /// config, or learned from the gateway's READY.
    application: OnceLock<u64>,
}

/// Why a call did not succeed.
#[derive(Debug)]
pub enum RestError {
    /// No answer (network, timeout); worth trying again.
    Network(String),
    /// An answer over the size limit: broken or hostile; not read.
    TooLarge,
    /// Discord answered with an error status.
    Refused { status: u16, message: Option<String>, retry_after: Option<Duration> },
    /// The application id is not known yet (before READY).
    NoApplication,
}

impl std::fmt::Display for RestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestError::Network(e) => write!(f, "{e}"),
            RestError::TooLarge => write!(f, "the answer is over {} bytes; not read", wire::ANSWER_LIMIT),
            RestError::Refused { status, message: Some(m), .. } => write!(f, "HTTP {status}: {m}"),
            RestError::Refused { status, message: None, .. } => write!(f, "HTTP {status}"),
            RestError::NoApplication => write!(f, "the application id is not known yet (set discord.application_id)"),
        }
    }
}

impl Rest {
    pub fn new(config: &DiscordConfig) -> Option<Self> {
        let token = config.token.as_ref()?.expose_secret();
        let token = token.strip_prefix("Bot ").unwrap_or(token);
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(CALL_TIMEOUT)
            .build()
            .expect("a reqwest client with a timeout builds");
        let application = OnceLock::new();
        if let Some(app) = config.application_id {
            let _ = application.set(app);
        }
        Some(Self {
            client,
            base: format!("{}/api/v10", config.api_url.trim_end_matches('/')),
            auth: SecretString::from(format!("Bot {token}")),
            application,
        })
    }

    /// Learns the application id from READY, unless the config set it.
    pub fn learn_application(&self, id: u64) {
        let _ = self.application.set(id);
    }

    fn application(&self) -> Result<u64, RestError> {
        self.application.get().copied().ok_or(RestError::NoApplication)
    }

    /// One call; the answer's JSON (`null` for an empty body), or why not.
    async fn call(&self, method: Method, path: &str, body: &Value) -> Result<Value, RestError> {
        let request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header(reqwest::header::AUTHORIZATION, self.auth.expose_secret())
            .header(reqwest::header::USER_AGENT, USER_AGENT)
            .json(body);
        let answer = wire::exchange(request, wire::ANSWER_LIMIT).await.map_err(|e| match e {
            Failed::Network(e) => RestError::Network(e.to_string()),
            Failed::TooLarge { .. } => RestError::TooLarge,
        })?;
        let json: Option<Value> = serde_json::from_slice(&answer.body).ok();
        if answer.status.is_success() {
            return Ok(json.unwrap_or(Value::Null));
        }
        let json = json.unwrap_or(Value::Null);
        // Discord's own words for it, when it gave any (cut short).
        let message = json["message"].as_str().map(|m| m.chars().take(300).collect());
        let retry_after = (answer.status.as_u16() == 429).then(|| retry_after(&json, &answer.headers));
        Err(RestError::Refused { status: answer.status.as_u16(), message, retry_after })
    }

    pub async fn send_message(&self, channel: u64, body: &Value) -> Result<Value, RestError> {
        self.call(Method::POST, &format!("/channels/{channel}/messages"), body).await
    }

    pub async fn edit_message(&self, channel: u64, message: u64, body: &Value) -> Result<Value, RestError> {
        self.call(Method::PATCH, &format!("/channels/{channel}/messages/{message}"), body).await
    }

    /// Edits an interaction's first answer (the deferred "thinking…").
    pub async fn edit_original(&self, token: &str, body: &Value) -> Result<Value, RestError> {
        let app = self.application()?;
        self.call(Method::PATCH, &format!("/webhooks/{app}/{}/messages/@original", segment(token)), body).await
    }

    pub async fn followup(&self, token: &str, body: &Value) -> Result<Value, RestError> {
        let app = self.application()?;
        self.call(Method::POST, &format!("/webhooks/{app}/{}", segment(token)), body).await
    }

    /// Acknowledges an interaction.
    pub async fn acknowledge(&self, interaction: u64, token: &str, body: &Value) -> Result<(), RestError> {
        self.call(Method::POST, &format!("/interactions/{interaction}/{}/callback", segment(token)), body).await?;
        Ok(())
    }

    /// Replaces the slash commands registered in a guild.
    pub async fn guild_commands(&self, guild: u64, commands: &Value) -> Result<(), RestError> {
        let app = self.application()?;
        self.call(Method::PUT, &format!("/applications/{app}/guilds/{guild}/commands"), commands).await?;
        Ok(())
    }
}

/// An interaction token as one path segment: Discord's are URL-safe; one
/// that is not (from a hostile gateway) cannot reach another path.
fn segment(token: &str) -> String {
    let kept: String = token.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect();
    // Never `.` or `..`, which a URL resolves as a step up.
    if kept.chars().all(|c| c == '.') { "_".repeat(kept.len().max(1)) } else { kept }
}

/// A 429's wait: the body's `retry_after` (seconds, a fraction allowed),
/// else the `Retry-After` header's seconds, else one second. Read
/// defensively; Discord sends seconds, so an HTTP date is not read (a "now"
/// past every date makes it fall back).
fn retry_after(body: &Value, headers: &reqwest::header::HeaderMap) -> Duration {
    let seconds = |s: &str| parse_retry_after(s, i64::MAX);
    let from_body = match &body["retry_after"] {
        Value::Number(n) => seconds(&n.to_string()),
        Value::String(s) => seconds(s),
        _ => None,
    };
    from_body
        .or_else(|| seconds(headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?))
        .unwrap_or(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_limit_wait_is_read_defensively() {
        let none = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&serde_json::json!({"retry_after": 0.25}), &none), Duration::from_millis(250));
        assert_eq!(retry_after(&serde_json::json!({"retry_after": -5}), &none), Duration::from_secs(1));
        assert_eq!(retry_after(&serde_json::json!({"retry_after": "NaN"}), &none), Duration::from_secs(1));
        assert_eq!(retry_after(&serde_json::json!({"retry_after": 1e300}), &none), Duration::from_secs(3600));
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&Value::Null, &headers), Duration::from_secs(3));
    }

    #[test]
    fn an_interaction_token_stays_one_path_segment() {
        assert_eq!(segment("aW50ZXJhY3Rpb24.abc-_1"), "aW50ZXJhY3Rpb24.abc-_1");
        assert_eq!(segment("../../channels/1/messages?x=1"), "....channels1messagesx1");
        assert_eq!(segment(".."), "__");
        assert_eq!(segment(""), "_");
    }
}
