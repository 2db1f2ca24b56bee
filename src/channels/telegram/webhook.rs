//! Webhook mode: Telegram POSTs each update to `/telegram/webhook`.

use std::sync::Arc;

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use teloxide::types::Update;

use super::Telegram;
use crate::config::TelegramMode;

/// The route Telegram posts to, mounted beside the API's. Authenticated by
/// the secret token Telegram echoes, not by the API's bearer token; without
/// the channel it answers 404.
pub fn routes(tg: Option<Arc<Telegram>>) -> axum::Router {
    axum::Router::new().route(
        "/telegram/webhook",
        post(move |headers: HeaderMap, Json(update): Json<Update>| async move {
            match &tg {
                Some(tg) => webhook(tg, &headers, &update).await,
                None => StatusCode::NOT_FOUND,
            }
        }),
    )
}

/// `POST /telegram/webhook`: an update from Telegram, checked against the
/// secret token, kept before the 200 that tells Telegram it arrived.
pub async fn webhook(tg: &Telegram, headers: &HeaderMap, update: &Update) -> StatusCode {
    use secrecy::ExposeSecret;
    if tg.config.mode != TelegramMode::Webhook {
        return StatusCode::NOT_FOUND;
    }
    // No secret, no webhook: `serve` refuses to start that way, and this
    // refuses every update should it ever be reached without one.
    let Some(secret) = &tg.config.webhook_secret else { return StatusCode::UNAUTHORIZED };
    let given = headers.get("x-telegram-bot-api-secret-token").and_then(|v| v.to_str().ok()).unwrap_or("");
    if secret.expose_secret().is_empty() || !crate::config::secret_matches(secret, given) {
        return StatusCode::UNAUTHORIZED;
    }
    match tg.admit(update).await {
        Ok(()) => StatusCode::OK,
        Err(e) => {
            tracing::error!(error = %e, "telegram: cannot keep a webhook update; Telegram will send it again");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}
