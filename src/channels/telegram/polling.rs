//! Long polling: getUpdates in a loop, each update kept before the offset
//! moves past it. A 409 (another instance polls with this token, or a
//! webhook is set) is logged once, reported to /readyz and doctor, and
//! waited out with backoff; polling resumes by itself when it ends.
//!
//! A batch whose answer is over the size limit is asked for again in
//! smaller batches; one update that alone is over it is skipped (logged and
//! reported), so a hostile or broken server can neither exhaust memory nor
//! wedge polling on one update.

use std::sync::Arc;
use std::time::Duration;

use teloxide::payloads::{DeleteWebhook, GetUpdates, GetUpdatesSetters};
use teloxide::{ApiError, RequestError};
use tokio_util::sync::CancellationToken;

use super::api::Updates;
use super::{ALLOWED, Telegram};
use crate::channels::backoff;

/// The most updates Telegram gives per call.
const BATCH: u8 = 100;

/// How one round went: the state to report, its detail, and how long to
/// wait before the next round.
struct Round {
    state: &'static str,
    detail: String,
    wait: Option<Duration>,
}

impl Round {
    fn ok(detail: &str) -> Self {
        Self { state: "ok", detail: detail.to_owned(), wait: None }
    }
}

impl Telegram {
    pub(super) async fn poll(self: Arc<Self>, mut registered: bool, shutdown: CancellationToken) {
        if let Err(e) = self.bot.call(&DeleteWebhook::new()).await {
            tracing::warn!(error = %e, "telegram: deleteWebhook failed; polling anyway");
        }
        let mut offset: Option<i32> = None;
        let mut failures: u32 = 0;
        let mut batch = BATCH;
        let mut last_state = String::new();
        loop {
            let mut req =
                GetUpdates::new().timeout(self.config.poll_timeout_secs).allowed_updates(ALLOWED).limit(batch);
            if let Some(o) = offset {
                req = req.offset(o);
            }
            let got = tokio::select! {
                _ = shutdown.cancelled() => return,
                got = self.bot.updates(&req) => got,
            };
            let round = match got {
                Ok(Updates::Got(updates)) => {
                    if !registered {
                        registered = self.register_commands().await;
                    }
                    batch = batch.saturating_mul(2).min(BATCH);
                    let mut kept = Ok(());
                    for u in updates {
                        // Kept before the offset moves past it: a crash
                        // here means Telegram sends it again.
                        kept = self.admit(&u).await;
                        if kept.is_err() {
                            break;
                        }
                        offset = Some(u.id.0 as i32 + 1);
                    }
                    match kept {
                        Ok(()) => {
                            failures = 0;
                            Round::ok("polling")
                        }
                        Err(e) => {
                            failures += 1;
                            let detail = format!("cannot keep updates ({e}); Telegram will send them again");
                            Round { state: "error", detail, wait: Some(backoff(failures)) }
                        }
                    }
                }
                Ok(Updates::Oversized { .. }) if batch > 1 => {
                    batch /= 2;
                    tracing::warn!(batch, "telegram: a batch of updates was over the size limit; asking for fewer");
                    Round::ok("polling")
                }
                Ok(Updates::Oversized { first_id: Some(id) }) => {
                    offset = Some(id.saturating_add(1));
                    batch = BATCH;
                    let detail = format!(
                        "skipped update {id}: alone it is over {} bytes, far more than Telegram sends",
                        crate::channels::wire::ANSWER_LIMIT
                    );
                    Round { state: "error", detail, wait: None }
                }
                Ok(Updates::Oversized { first_id: None }) => {
                    failures += 1;
                    let detail = format!(
                        "getUpdates answered with more than {} bytes and no update id; is telegram.api_url the Bot API?",
                        crate::channels::wire::ANSWER_LIMIT
                    );
                    Round { state: "error", detail, wait: Some(backoff(failures)) }
                }
                Err(e) => self.failed(e, &mut failures),
            };
            if round.state != last_state || round.state == "error" && round.wait.is_none() {
                match round.state {
                    "ok" => tracing::info!("telegram: polling"),
                    "conflict" => tracing::error!("telegram: {}; backing off until it ends", round.detail),
                    _ => tracing::warn!("telegram: {}; retrying with backoff", round.detail),
                }
                self.core.report(round.state, &round.detail).await;
                last_state = round.state.to_owned();
            }
            if let Some(wait) = round.wait {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
    }

    /// A getUpdates call that failed: a conflict, a rate limit or another
    /// error, each waited out.
    fn failed(&self, e: RequestError, failures: &mut u32) -> Round {
        let conflict = |failures: &mut u32, detail: &str| {
            *failures += 1;
            Round { state: "conflict", detail: detail.to_owned(), wait: Some(backoff(*failures)) }
        };
        match e {
            RequestError::Api(ApiError::CantGetUpdates) => conflict(
                failures,
                "409 Conflict: a webhook is set for this bot token, so it cannot be polled; \
                 another deployment uses webhook mode with it (or set telegram.mode = \"webhook\")",
            ),
            RequestError::Api(ApiError::TerminatedByOtherGetUpdates) => conflict(
                failures,
                "409 Conflict: another instance is polling with this bot token; \
                 stop the other one (or give each instance its own bot)",
            ),
            RequestError::RetryAfter(s) => Round { wait: Some(s.duration()), ..Round::ok("rate limited") },
            e => {
                *failures += 1;
                Round { state: "error", detail: format!("getUpdates failed: {e}"), wait: Some(backoff(*failures)) }
            }
        }
    }
}
