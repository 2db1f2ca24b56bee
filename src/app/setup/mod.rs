//! `steward setup`: the wizard that gets a new operator from nothing to a
//! checked `steward.toml` in a few minutes. It asks for the Telegram bot
//! token and checks it (`getMe`), finds the operator's user id by waiting
//! for their `/start`, optionally sets up Discord, a model endpoint
//! (checked with `/models`) and SMTP, writes the config with every secret in
//! a file of its own (mode 0600), and runs `doctor`.
//!
//! Every question has a flag; with `--non-interactive` nothing is asked and
//! a missing answer is an error naming its flag, so scripts can use it.

mod ask;
mod checks;
mod write;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};

pub use ask::Prompter;

use crate::config::Config;

/// Every answer the wizard can be given up front.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct Answers {
    /// Ask nothing: take every answer from the flags (for scripts).
    #[arg(long)]
    pub non_interactive: bool,
    /// Replace an existing config file (its secrets directory is reused).
    #[arg(long)]
    pub force: bool,
    /// The Telegram bot token from @BotFather; `-` for none.
    #[arg(long, value_name = "TOKEN")]
    pub telegram_token: Option<String>,
    /// The Telegram Bot API server (a self-hosted one, say).
    #[arg(long, value_name = "URL", default_value = "https://api.telegram.org")]
    pub telegram_api_url: String,
    /// The operator's Telegram user id, instead of waiting for their /start.
    #[arg(long, value_name = "ID")]
    pub telegram_user: Option<i64>,
    /// How long to wait for the operator's /start.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub wait_secs: u64,
    /// The Discord bot token; `-` for none.
    #[arg(long, value_name = "TOKEN")]
    pub discord_token: Option<String>,
    /// The Discord application id (Developer Portal).
    #[arg(long, value_name = "ID")]
    pub discord_application_id: Option<u64>,
    /// The operator's Discord user id.
    #[arg(long, value_name = "ID")]
    pub discord_user: Option<u64>,
    /// An OpenAI-compatible endpoint for the model tiers (…/v1); `-` for none.
    #[arg(long, value_name = "URL")]
    pub llm_url: Option<String>,
    /// The model to use at both model tiers.
    #[arg(long, value_name = "NAME")]
    pub llm_model: Option<String>,
    /// The endpoint's API key, if it needs one; `-` for none.
    #[arg(long, value_name = "KEY")]
    pub llm_key: Option<String>,
    /// The SMTP server for the email adapter; `-` for none.
    #[arg(long, value_name = "HOST")]
    pub smtp_host: Option<String>,
    #[arg(long, value_name = "PORT")]
    pub smtp_port: Option<u16>,
    /// starttls (587), tls (465) or none (a relay on loopback only).
    #[arg(long, value_name = "MODE")]
    pub smtp_security: Option<String>,
    #[arg(long, value_name = "USER")]
    pub smtp_user: Option<String>,
    #[arg(long, value_name = "PASSWORD")]
    pub smtp_password: Option<String>,
    /// The sender: `steward <steward@example.com>`.
    #[arg(long, value_name = "ADDRESS")]
    pub smtp_from: Option<String>,
}

/// `-` (or nothing) declines an optional part.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty() && *v != "-")
}

/// What the wizard found out, to be written.
#[derive(Debug, Default)]
pub(super) struct Setup {
    pub telegram: Option<write::Telegram>,
    pub discord: Option<write::Discord>,
    pub llm: Option<write::Llm>,
    pub smtp: Option<write::Smtp>,
}

pub async fn run(config: &Config, config_path: &Path, answers: Answers) -> anyhow::Result<ExitCode> {
    if config_path.exists() && !answers.force {
        bail!("{} exists already: edit it, or run `steward setup --force` to write it again", config_path.display());
    }
    let mut ask = Prompter::new(!answers.non_interactive);
    ask.say("steward setup: a few questions, each with a flag for scripts (steward setup --help).\n");
    let setup = Setup {
        telegram: telegram(&mut ask, &answers).await?,
        discord: discord(&mut ask, &answers).await?,
        llm: llm(&mut ask, &answers).await?,
        smtp: smtp(&mut ask, &answers).await?,
    };
    let written = write::all(config_path, &config.data_dir, &setup)?;
    ask.say(&format!("\nwrote {}", config_path.display()));
    for secret in &written.secrets {
        ask.say(&format!("wrote {} (mode 0600)", secret.display()));
    }
    ask.say("\nchecking it with `steward doctor`:\n");
    let config = Config::load(&crate::config::Sources {
        file: Some(config_path.to_owned()),
        data_dir: Some(config.data_dir.clone()),
    })
    .context("the config just written does not load")?;
    let code = super::doctor::run(&config, false).await?;
    ask.say(&format!(
        "\nstart it:  steward --config {} serve\nor as a service:  steward --config {} service install",
        config_path.display(),
        config_path.display()
    ));
    Ok(code)
}

async fn telegram(ask: &mut Prompter, a: &Answers) -> anyhow::Result<Option<write::Telegram>> {
    let token = match ask.optional(&a.telegram_token, "Telegram bot token from @BotFather (- to skip Telegram)")? {
        Some(t) => t,
        None => return Ok(None),
    };
    if a.telegram_user.is_none() && !ask.interactive() {
        bail!("--telegram-user is needed with --non-interactive (your Telegram user id)");
    }
    let bot = checks::telegram_bot(&token, &a.telegram_api_url)?;
    let name = checks::telegram_me(&bot).await?;
    ask.say(&format!("  token works: the bot is @{name}"));
    let user = match a.telegram_user {
        Some(id) => id,
        None => {
            ask.say(&format!("  now send /start to @{name} from your own Telegram account; waiting…"));
            let (id, who) = checks::telegram_start(&bot, Duration::from_secs(a.wait_secs)).await?;
            ask.say(&format!("  got it: {who} (user id {id}) is the operator"));
            id
        }
    };
    Ok(Some(write::Telegram { token, api_url: a.telegram_api_url.clone(), user }))
}

async fn discord(ask: &mut Prompter, a: &Answers) -> anyhow::Result<Option<write::Discord>> {
    let Some(token) = ask.optional(&a.discord_token, "Discord bot token (- to skip Discord)")? else {
        return Ok(None);
    };
    let application_id = match a.discord_application_id {
        Some(id) => id,
        None => ask.number("--discord-application-id", "Discord application id")?,
    };
    let user = match a.discord_user {
        Some(id) => id,
        None => ask.number("--discord-user", "your Discord user id (Developer Mode → Copy User ID)")?,
    };
    let name = checks::discord_me(&token).await?;
    ask.say(&format!("  token works: the bot is {name}"));
    Ok(Some(write::Discord { token, application_id, user }))
}

async fn llm(ask: &mut Prompter, a: &Answers) -> anyhow::Result<Option<write::Llm>> {
    let Some(url) = ask.optional(
        &a.llm_url,
        "an OpenAI-compatible model endpoint, e.g. http://127.0.0.1:11434/v1 (- for none: rules and memory only)",
    )?
    else {
        return Ok(None);
    };
    let key = ask.optional(&a.llm_key, "its API key (- for none)")?;
    let models = checks::models(&url, key.as_deref()).await?;
    ask.say(&format!("  the endpoint answers; it offers {}", models.join(", ")));
    let model = match given(&a.llm_model) {
        Some(m) => m.to_owned(),
        None if models.len() == 1 => models[0].clone(),
        None => ask.required("--llm-model", "which model")?,
    };
    if !models.is_empty() && !models.contains(&model) {
        bail!("the endpoint does not offer `{model}`; it offers {}", models.join(", "));
    }
    Ok(Some(write::Llm { url, model, key }))
}

async fn smtp(ask: &mut Prompter, a: &Answers) -> anyhow::Result<Option<write::Smtp>> {
    let Some(host) = ask.optional(&a.smtp_host, "an SMTP server to send email through (- to skip email)")? else {
        return Ok(None);
    };
    let security = match given(&a.smtp_security) {
        Some(s) => s.to_owned(),
        None if !ask.interactive() => "starttls".to_owned(),
        None => ask.default("security: starttls, tls or none", "starttls")?,
    };
    let default_port = match security.as_str() {
        "starttls" => 587,
        "tls" => 465,
        "none" => 25,
        other => bail!("--smtp-security `{other}`: use starttls, tls or none"),
    };
    let port = match a.smtp_port {
        Some(p) => p,
        None if !ask.interactive() => default_port,
        None => ask.default("port", &default_port.to_string())?.parse().context("a port is a number")?,
    };
    let user = ask.optional(&a.smtp_user, "SMTP user name (- for none)")?;
    let password = match &user {
        Some(_) => Some(ask.required_secret(&a.smtp_password, "--smtp-password", "SMTP password")?),
        None => None,
    };
    let from = match given(&a.smtp_from) {
        Some(f) => f.to_owned(),
        None => ask.required("--smtp-from", "the sender, e.g. steward <steward@example.com>")?,
    };
    let smtp = write::Smtp { host, port, security, user, password, from };
    checks::smtp(&smtp).await?;
    ask.say(&format!("  {}:{} answers", smtp.host, smtp.port));
    Ok(Some(smtp))
}

/// Where the config goes: `--config`, or `./steward.toml`.
pub fn config_path(given: Option<&Path>) -> PathBuf {
    given.map_or_else(|| PathBuf::from(crate::config::DEFAULT_FILE), Path::to_path_buf)
}
