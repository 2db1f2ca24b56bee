//! Operational endpoints, open without a token: liveness, readiness, metrics.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde_json::json;

use super::ApiState;
use crate::domain::IntentState;
use crate::store::{breaker, intents, outbox};
use crate::telemetry::Gauge;

/// Alive: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "Alive")))]
pub async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// Ready: the store answers and the server is not draining; degraded
/// while a chat channel cannot receive or the vector index cannot be used.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses((status = 200, description = "Ready"), (status = 503, description = "Not ready")))]
pub async fn readyz(State(state): State<ApiState>) -> impl IntoResponse {
    let store = match state.store.ping().await {
        Ok(()) => "ok".to_owned(),
        Err(e) => format!("error: {e}"),
    };
    let draining = state.draining.is_cancelled();
    let cooldown = (state.policy.get().breaker.cooldown_secs * 1000) as i64;
    let assisted = breaker::open_now(state.store.reader(), cooldown, state.store.now()).await.ok().flatten();
    let ready = store == "ok" && !draining;
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    // A chat channel that cannot receive (a 409 polling conflict, say)
    // leaves the server ready but degraded, and says why.
    let channels = crate::store::channels::health(state.store.reader()).await.unwrap_or_default();
    // So does a vector index that cannot be used: search answers from
    // words alone meanwhile.
    let index = state.memory.index_health().await;
    let degraded = channels.iter().any(|h| h.state != "ok") || !index.is_ok();
    let channels: serde_json::Map<String, serde_json::Value> = channels
        .into_iter()
        .map(|h| (h.channel.clone(), json!({"state": h.state, "detail": h.detail, "since": h.since})))
        .collect();
    // Still loading the embedding model: answering, meanwhile search uses
    // words alone.
    let warming = state.memory.embedder().warming();
    let body = json!({
        "status": match (ready, warming, degraded) {
            (false, _, _) => "not_ready",
            (true, true, _) => "warming",
            (true, false, true) => "degraded",
            (true, false, false) => "ready",
        },
        "channels": channels,
        "checks": {
            "store": store,
            "draining": draining,
            "embedding": if warming { format!("{} (warming up)", state.memory.embedder().name()) } else { state.memory.embedder().name().to_owned() },
            "vector_index": index.describe(),
        },
        "assisted_mode": assisted.is_some(),
        "assisted_reason": assisted,
        "policy_version": state.policy.get().version,
        "policy_refused": state.policy.refused(),
    });
    (status, Json(body))
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<ApiState>) -> impl IntoResponse {
    let counts = intents::count_by_state(&state.store).await.unwrap_or_default();
    let gauges: Vec<Gauge> = IntentState::ALL
        .into_iter()
        .map(|s| Gauge {
            name: "steward_intents",
            help: "Intents by state.",
            labels: vec![("state", s.as_str().to_owned())],
            value: counts.iter().find(|(st, _)| *st == s).map_or(0, |(_, n)| *n) as f64,
        })
        .collect();
    let mut gauges = gauges;
    if let Ok((pending, oldest_ms)) = outbox::lag(state.store.reader(), state.store.now()).await {
        let lag = oldest_ms as f64 / 1000.0;
        gauges.push(Gauge {
            name: "steward_outbox_pending",
            help: "Outbound messages not yet confirmed.",
            labels: vec![],
            value: pending as f64,
        });
        gauges.push(Gauge {
            name: "steward_outbox_lag_seconds",
            help: "Age of the oldest unconfirmed outbound message.",
            labels: vec![],
            value: lag,
        });
    }
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render(&gauges))
}
