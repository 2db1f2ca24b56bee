//! Writing what the wizard found: `steward.toml`, with every secret in a
//! file of its own (`secrets/NAME` beside the config, the directory 0700,
//! each file 0600), referenced by absolute path through `*_file` keys.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use toml::{Table, Value};

use super::Setup;
use crate::config::{EmailConfig, SmtpSecurity};
use crate::store::files;

#[derive(Debug)]
pub struct Telegram {
    pub token: String,
    pub api_url: String,
    pub user: i64,
}

#[derive(Debug)]
pub struct Discord {
    pub token: String,
    pub application_id: u64,
    pub user: u64,
}

#[derive(Debug)]
pub struct Llm {
    pub url: String,
    pub model: String,
    pub key: Option<String>,
}

#[derive(Debug)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    /// starttls, tls or none.
    pub security: String,
    pub user: Option<String>,
    pub password: Option<String>,
    pub from: String,
}

impl Smtp {
    /// The `[email]` section it stands for.
    pub fn config(&self) -> EmailConfig {
        let security = match self.security.as_str() {
            "tls" => SmtpSecurity::Tls,
            "none" => SmtpSecurity::None,
            _ => SmtpSecurity::Starttls,
        };
        EmailConfig {
            host: Some(self.host.clone()),
            port: self.port,
            security,
            username: self.user.clone(),
            password: self.password.clone().map(Into::into),
            from: Some(self.from.clone()),
            ..EmailConfig::default()
        }
    }
}

/// What was written besides the config.
pub struct Written {
    pub secrets: Vec<PathBuf>,
}

struct Secrets {
    dir: PathBuf,
    written: Vec<PathBuf>,
}

impl Secrets {
    /// Writes one secret, 0600, and returns its path for a `*_file` key.
    fn put(&mut self, name: &str, value: &str) -> anyhow::Result<Value> {
        files::private_dir(&self.dir).with_context(|| format!("cannot create {}", self.dir.display()))?;
        let path = self.dir.join(name);
        let mut file = files::private_file(&path).with_context(|| format!("cannot write {}", path.display()))?;
        writeln!(file, "{}", value.trim())?;
        file.sync_all()?;
        self.written.push(path.clone());
        Ok(Value::String(path.display().to_string()))
    }
}

fn table(pairs: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    Value::Table(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

pub fn all(config_path: &Path, data_dir: &Path, setup: &Setup) -> anyhow::Result<Written> {
    let config_path = std::path::absolute(config_path)?;
    let dir = config_path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let mut secrets = Secrets { dir: dir.join("secrets"), written: vec![] };
    let mut doc = Table::new();
    doc.insert("data_dir".into(), Value::String(std::path::absolute(data_dir)?.display().to_string()));
    if let Some(t) = &setup.telegram {
        let mut section = vec![
            ("token_file", secrets.put("telegram_token", &t.token)?),
            ("allowed_users", Value::Array(vec![Value::Integer(t.user)])),
        ];
        if t.api_url != crate::config::TelegramConfig::default().api_url {
            section.push(("api_url", Value::String(t.api_url.clone())));
        }
        doc.insert("telegram".into(), table(section));
    }
    if let Some(d) = &setup.discord {
        // Discord ids are 64-bit unsigned; TOML integers are signed, and
        // every real id fits.
        let id = |n: u64| Value::Integer(i64::try_from(n).unwrap_or(i64::MAX));
        doc.insert(
            "discord".into(),
            table([
                ("token_file", secrets.put("discord_token", &d.token)?),
                ("application_id", id(d.application_id)),
                ("allowed_users", Value::Array(vec![id(d.user)])),
            ]),
        );
    }
    if let Some(l) = &setup.llm {
        let key = l.key.as_deref().map(|k| secrets.put("llm_api_key", k)).transpose()?;
        let tier = || {
            let mut t = vec![("base_url", Value::String(l.url.clone())), ("model", Value::String(l.model.clone()))];
            if let Some(key) = &key {
                t.push(("api_key_file", key.clone()));
            }
            table(t)
        };
        doc.insert("llm".into(), table([("fast", tier()), ("deep", tier())]));
    }
    if let Some(s) = &setup.smtp {
        let mut section = vec![
            ("host", Value::String(s.host.clone())),
            ("port", Value::Integer(s.port.into())),
            ("security", Value::String(s.security.clone())),
            ("from", Value::String(s.from.clone())),
        ];
        if let Some(user) = &s.user {
            section.push(("username", Value::String(user.clone())));
        }
        if let Some(password) = &s.password {
            section.push(("password_file", secrets.put("smtp_password", password)?));
        }
        doc.insert("email".into(), table(section));
    }
    let text = format!(
        "# Written by `steward setup`; every setting is described in steward.example.toml\n\
         # (`steward init` writes it) and in the README. Secrets are in the files named here.\n\n{}",
        toml::to_string(&doc)?
    );
    let tmp = config_path.with_extension("toml.tmp");
    let mut file = files::private_file(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, &config_path).with_context(|| format!("cannot write {}", config_path.display()))?;
    Ok(Written { secrets: secrets.written })
}
