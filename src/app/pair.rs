//! `steward pair telegram|discord`: a one-time code that adds whoever sends
//! it to the bot (`/start CODE` on Telegram) to the channel's allowlist.

use std::process::ExitCode;

use anyhow::Context;
use rand::Rng;

use crate::config::Config;
use crate::store::{Store, channels};

/// How long a code is valid.
pub const VALID_MS: i64 = 10 * 60 * 1000;

/// Letters and digits that cannot be mistaken for each other.
const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

pub fn new_code() -> String {
    let mut rng = rand::thread_rng();
    (0..8).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()
}

pub async fn pair(config: &Config, channel: &str) -> anyhow::Result<ExitCode> {
    let configured = match channel {
        "telegram" => config.telegram.token.is_some(),
        _ => anyhow::bail!("pairing works for telegram; `{channel}` is not a channel that pairs"),
    };
    if !configured {
        anyhow::bail!(
            "the {channel} channel is not configured: set {channel}.token (or STEWARD_TELEGRAM__TOKEN) first"
        );
    }
    let path = config.database_path();
    let store = Store::open(&path, &config.store).await.with_context(|| format!("cannot open {}", path.display()))?;
    let code = new_code();
    let now = store.now();
    let mut tx = store.begin().await?;
    channels::new_pairing_code(&mut tx, channel, &code, now, now + VALID_MS).await?;
    tx.commit().await?;
    store.close().await;
    println!("Pairing code: {code}");
    println!("Send this to your bot on Telegram within 10 minutes:\n\n    /start {code}\n");
    println!("It works once. Whoever sends it can talk to steward and decide approvals.");
    Ok(ExitCode::SUCCESS)
}
