//! `steward setup`, the wizard, through a pseudo-terminal as a new operator
//! would meet it: against the Telegram stand-in (the token checked with
//! getMe, the operator's id taken from their /start), the scripted model
//! server (`/models`) and the SMTP sink; the config it writes keeps every
//! secret in a 0600 file and passes doctor. And the same with flags only.

mod helpers;
#[path = "support/openai.rs"]
mod openai;
#[path = "support/smtp.rs"]
mod smtp;
#[path = "support/telegram.rs"]
mod telegram;
#[path = "support/telegram_api.rs"]
mod telegram_api;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use telegram::FakeTelegram;

const OPERATOR: i64 = 5151;

fn wizard(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_steward"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("STEWARD_") {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(dir)
        .env("STEWARD_EMBEDDING__BACKEND", "hash")
        .env("STEWARD_WORKFLOWS__DIR", dir.join("workflows"))
        .args(["--config", "steward.toml", "--data-dir", "data", "setup"])
        .args(args);
    cmd
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn config_of(dir: &Path) -> toml::Table {
    std::fs::read_to_string(dir.join("steward.toml")).unwrap().parse().unwrap()
}

// The wizard blocks on the terminal while the stand-ins answer on other threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wizard_asks_checks_and_writes_a_config_that_passes_doctor() {
    let tg = FakeTelegram::start().await;
    let llm = openai::ScriptedLlm::start().await;
    let sink = smtp::SmtpSink::start("ok");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    let (tg_url, token, llm_url, port) = (tg.url(), tg.token.clone(), llm.base_url(), sink.port.to_string());
    let session = tokio::task::spawn_blocking(move || {
        let cmd = wizard(&path, &["--telegram-api-url", &tg_url, "--wait-secs", "30"]);
        let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).unwrap();
        p.exp_string("Telegram bot token").unwrap();
        p.send_line("not a token").unwrap();
        p.exp_string("not a bot token").unwrap();
        p.exp_eof().unwrap();
        // A token of the right form that Telegram does not know.
        let cmd = wizard(&path, &["--telegram-api-url", &tg_url, "--wait-secs", "30"]);
        let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).unwrap();
        p.exp_string("Telegram bot token").unwrap();
        p.send_line("123456:not-the-bots-token").unwrap();
        p.exp_string("Telegram refused the token").unwrap();
        p.exp_eof().unwrap();
        // Again, with the real token this time.
        let cmd = wizard(&path, &["--telegram-api-url", &tg_url, "--wait-secs", "30"]);
        let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).unwrap();
        p.exp_string("Telegram bot token").unwrap();
        p.send_line(&token).unwrap();
        p.exp_string("the bot is @steward_test_bot").unwrap();
        p.exp_string("send /start").unwrap();
        p
    })
    .await
    .unwrap();
    // The operator sends /start from their own account.
    tg.message(OPERATOR, "/start");
    let status = tokio::task::spawn_blocking(move || {
        let mut p = session;
        p.exp_string(&format!("user id {OPERATOR}")).unwrap();
        p.exp_string("Discord bot token").unwrap();
        p.send_line("-").unwrap();
        p.exp_string("model endpoint").unwrap();
        p.send_line(&llm_url).unwrap();
        p.exp_string("API key").unwrap();
        p.send_line("sk-test-secret-42").unwrap();
        p.exp_string("it offers scripted").unwrap();
        p.exp_string("SMTP server").unwrap();
        p.send_line("127.0.0.1").unwrap();
        p.exp_string("security").unwrap();
        p.send_line("none").unwrap();
        p.exp_string("port [25]").unwrap();
        p.send_line(&port).unwrap();
        p.exp_string("SMTP user name").unwrap();
        p.send_line("-").unwrap();
        p.exp_string("the sender").unwrap();
        p.send_line("steward <steward@example.com>").unwrap();
        p.exp_string("answers").unwrap();
        p.exp_string("checking it with `steward doctor`").unwrap();
        let rest = p.exp_eof().unwrap();
        (rest, p.process.wait().unwrap())
    })
    .await
    .unwrap();
    let (rest, exit) = status;
    assert!(rest.contains("telegram") && rest.contains("accepts the token"), "doctor ran: {rest}");
    assert!(matches!(exit, rexpect::process::wait::WaitStatus::Exited(_, 0)), "doctor passed: {exit:?} {rest}");
    let welcomed = tg.sent_to(OPERATOR);
    assert!(welcomed.iter().any(|m| m.text.contains("operator")), "the operator is greeted: {welcomed:?}");

    let config = config_of(dir.path());
    assert_eq!(config["telegram"]["allowed_users"].as_array().unwrap()[0].as_integer(), Some(OPERATOR));
    assert_eq!(config["llm"]["fast"]["model"].as_str(), Some("scripted"));
    let text = std::fs::read_to_string(dir.path().join("steward.toml")).unwrap();
    assert!(!text.contains(&tg.token) && !text.contains("sk-test-secret-42"), "no secret in the config: {text}");
    for name in ["telegram_token", "llm_api_key"] {
        let secret = dir.path().join("secrets").join(name);
        assert_eq!(mode(&secret), 0o600, "{name}");
        assert_eq!(config_path_of(&config, name), secret.display().to_string());
    }
    assert_eq!(mode(&dir.path().join("secrets")), 0o700);
    // The /start was confirmed: a server starting now does not see it again.
    let confirmed = tg.unconfirmed();
    assert_eq!(confirmed, 0, "the /start update is confirmed");

    // Run again, it refuses to overwrite; with --force and flags only, it
    // needs no terminal at all.
    let again = wizard(dir.path(), &["--non-interactive"]).output().unwrap();
    assert!(!again.status.success() && helpers::stderr(&again).contains("--force"), "{}", helpers::stderr(&again));
    let scripted = wizard(
        dir.path(),
        &[
            "--non-interactive",
            "--force",
            "--telegram-api-url",
            &tg.url(),
            "--telegram-token",
            &tg.token,
            "--telegram-user",
            "99",
        ],
    )
    .output()
    .unwrap();
    assert!(scripted.status.success(), "{}{}", helpers::stdout(&scripted), helpers::stderr(&scripted));
    let config = config_of(dir.path());
    assert_eq!(config["telegram"]["allowed_users"].as_array().unwrap()[0].as_integer(), Some(99));
    assert!(config.get("llm").is_none() && config.get("email").is_none(), "no flags, no parts: {config:?}");
    let missing = wizard(dir.path(), &["--non-interactive", "--force", "--telegram-token", &tg.token])
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert!(helpers::stderr(&missing).contains("--telegram-user"), "{}", helpers::stderr(&missing));
}

/// The secret file a section's `*_file` key names.
fn config_path_of(config: &toml::Table, secret: &str) -> String {
    let key = match secret {
        "telegram_token" => &config["telegram"]["token_file"],
        _ => &config["llm"]["fast"]["api_key_file"],
    };
    key.as_str().unwrap().to_owned()
}
