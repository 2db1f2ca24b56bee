//! The chat channels' checks: the token against the API, and what the
//! running server last reported about its connection.

use secrecy::ExposeSecret;

use super::{Check, Status, check, describe};
use crate::config::Config;

/// What a running server last reported about a channel's connection.
async fn channel_health(config: &Config, channel: &str) -> Option<crate::store::channels::Health> {
    let path = config.database_path();
    if !path.exists() {
        return None;
    }
    let store = crate::store::Store::open(&path, &config.store).await.ok()?;
    let all = crate::store::channels::health(store.reader()).await.ok()?;
    store.close().await;
    all.into_iter().find(|h| h.channel == channel)
}

pub async fn telegram(config: &Config, http: &reqwest::Client) -> Check {
    let Some(token) = &config.telegram.token else {
        return check(
            "telegram",
            Status::Off,
            "not configured",
            Some("set STEWARD_TELEGRAM__TOKEN to a token from @BotFather"),
        );
    };
    if let Some(problem) = config.telegram.webhook_problem() {
        return check("telegram", Status::Error, problem, Some("set it, or use telegram.mode = \"polling\""));
    }
    let url = format!("{}/bot{}/getMe", config.telegram.api_url.trim_end_matches('/'), token.expose_secret());
    match http.get(url).send().await {
        Ok(r) if r.status().is_success() => match channel_health(config, "telegram").await {
            Some(h) if h.state == "conflict" => check(
                "telegram",
                Status::Error,
                format!("{} (since {})", h.detail, crate::reasoning::when(h.since)),
                Some(
                    "stop the other instance polling with this token, or give each its own bot; steward resumes by itself",
                ),
            ),
            Some(h) if h.state != "ok" => check(
                "telegram",
                Status::Warn,
                format!("the token works, but the running server reports: {}", h.detail),
                None,
            ),
            _ => {
                check("telegram", Status::Ok, format!("bot API at {} accepts the token", config.telegram.api_url), None)
            }
        },
        Ok(r) if r.status().as_u16() == 401 || r.status().as_u16() == 404 => {
            check("telegram", Status::Error, "the bot token was rejected", Some("get a new token from @BotFather"))
        }
        Ok(r) => check("telegram", Status::Error, format!("getMe answered {}", r.status()), None),
        Err(e) => check(
            "telegram",
            Status::Error,
            format!("cannot reach {}: {}", config.telegram.api_url, describe(e)),
            Some("check telegram.api_url and the network"),
        ),
    }
}

pub async fn discord(config: &Config, http: &reqwest::Client) -> Check {
    let Some(token) = &config.discord.token else {
        return check(
            "discord",
            Status::Off,
            "not configured",
            Some("set STEWARD_DISCORD__TOKEN to your bot's token (Developer Portal → Bot)"),
        );
    };
    let url = format!("{}/api/v10/users/@me", config.discord.api_url.trim_end_matches('/'));
    let response = http.get(url).header("Authorization", format!("Bot {}", token.expose_secret())).send().await;
    match response {
        Ok(r) if r.status().is_success() => match channel_health(config, "discord").await {
            Some(h) if h.state != "ok" => check(
                "discord",
                Status::Warn,
                format!("the token works, but the running server reports: {}", h.detail),
                Some("steward reconnects by itself; check the network and Discord's status"),
            ),
            _ => check("discord", Status::Ok, format!("REST at {} accepts the token", config.discord.api_url), None),
        },
        Ok(r) if r.status().as_u16() == 401 => check(
            "discord",
            Status::Error,
            "the bot token was rejected",
            Some("reset the token in the Developer Portal"),
        ),
        Ok(r) => check("discord", Status::Error, format!("users/@me answered {}", r.status()), None),
        Err(e) => check(
            "discord",
            Status::Error,
            format!("cannot reach {}: {}", config.discord.api_url, describe(e)),
            Some("check discord.api_url and the network"),
        ),
    }
}
