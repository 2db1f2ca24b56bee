//! The chat channels' sections of `steward.toml`: `[telegram]` and `[discord]`.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelegramConfig {
    pub token: Option<SecretString>,
    pub token_file: Option<PathBuf>,
    /// The Bot API base URL; a stand-in in tests.
    pub api_url: String,
    /// Telegram user ids allowed to talk to steward (they are approvers).
    pub allowed_users: Vec<i64>,
    /// `polling` (default) or `webhook`.
    pub mode: TelegramMode,
    /// Long-poll timeout for getUpdates.
    pub poll_timeout_secs: u32,
    /// Webhook mode: the public https URL that reaches `/telegram/webhook`.
    pub webhook_url: Option<String>,
    /// Webhook mode: the secret Telegram sends back with every update.
    pub webhook_secret: Option<SecretString>,
    pub webhook_secret_file: Option<PathBuf>,
}

impl TelegramConfig {
    /// Why webhook mode cannot start as configured, if it cannot. Without a
    /// secret, anyone who reaches the listener could post an update as an
    /// allowlisted user, so a webhook without one is refused.
    pub fn webhook_problem(&self) -> Option<&'static str> {
        if self.mode != TelegramMode::Webhook {
            return None;
        }
        if self.webhook_url.is_none() {
            return Some(
                "telegram.mode = \"webhook\" needs telegram.webhook_url (the public https URL of /telegram/webhook)",
            );
        }
        let usable = |s: &str| {
            (1..=256).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        match &self.webhook_secret {
            Some(s) if usable(secrecy::ExposeSecret::expose_secret(s)) => None,
            _ => Some(
                "telegram.mode = \"webhook\" needs telegram.webhook_secret (or webhook_secret_file): without it anyone \
                 who reaches /telegram/webhook can speak as an allowlisted user. Use 1-256 characters of A-Z, a-z, 0-9, _ and -",
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TelegramMode {
    Polling,
    Webhook,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        Self {
            token: None,
            token_file: None,
            api_url: "https://api.telegram.org".into(),
            allowed_users: vec![],
            mode: TelegramMode::Polling,
            poll_timeout_secs: 30,
            webhook_url: None,
            webhook_secret: None,
            webhook_secret_file: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscordConfig {
    pub token: Option<SecretString>,
    pub token_file: Option<PathBuf>,
    pub application_id: Option<u64>,
    pub guild_ids: Vec<u64>,
    /// The REST base URL; a stand-in in tests.
    pub api_url: String,
    /// Discord user ids allowed to act (approve, remember).
    pub allowed_users: Vec<u64>,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        Self {
            token: None,
            token_file: None,
            application_id: None,
            guild_ids: vec![],
            api_url: "https://discord.com".into(),
            allowed_users: vec![],
        }
    }
}
