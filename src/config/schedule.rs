//! The email adapter's SMTP settings, scheduled digests, and workflows.

use std::path::PathBuf;

use serde::Deserialize;

use super::SecretString;
use crate::domain::RetryPolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (port 587); refused if the
    /// server does not offer it.
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on loopback.
    None,
}

/// The `email` adapter: an SMTP server to send through.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailConfig {
    /// Off unless set.
    pub host: Option<String>,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub password_file: Option<PathBuf>,
    /// The sender, e.g. `steward <steward@example.com>`.
    pub from: Option<String>,
    /// Past it, a send whose outcome is unknown goes to the operator.
    pub timeout_secs: u64,
    pub retry: RetryPolicy,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            host: None,
            port: 587,
            security: SmtpSecurity::Starttls,
            username: None,
            password: None,
            password_file: None,
            from: None,
            timeout_secs: 30,
            retry: RetryPolicy::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenEmpty {
    /// Nothing happened: send nothing.
    #[default]
    Skip,
    /// Nothing happened: say so in one line.
    OneLine,
}

/// One scheduled digest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    pub name: String,
    /// Five fields (minute hour day-of-month month day-of-week), or six with
    /// seconds first.
    pub cron: String,
    /// An IANA time zone, e.g. `Europe/Berlin`; default UTC.
    #[serde(default = "utc")]
    pub timezone: String,
    /// `email:ADDRESS`, `telegram:CHAT_ID`, `discord:CHANNEL_ID`,
    /// `webhook:URL` or `log:NAME`.
    pub destination: String,
    #[serde(default)]
    pub when_empty: WhenEmpty,
}

fn utc() -> String {
    "UTC".into()
}

/// Where workflow files are, and how often they are read again.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkflowsConfig {
    /// A folder of `*.toml` workflow files; relative to the working
    /// directory. A missing folder means no workflows.
    pub dir: PathBuf,
    /// How often the folder is read again for changes.
    pub reload_secs: u64,
    /// The operator's IANA time zone: reminders from chat ("tomorrow at
    /// 9") are read in it.
    pub timezone: String,
}

impl Default for WorkflowsConfig {
    fn default() -> Self {
        Self { dir: PathBuf::from("workflows"), reload_secs: 2, timezone: "UTC".into() }
    }
}
