//! Operational endpoints, open without a token: liveness, readiness, metrics.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde_json::json;

use super::ApiState;
use crate::domain::IntentState;
use crate::store::{breaker, gauges, intents, outbox};
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
    let mut gauges: Vec<Gauge> = IntentState::ALL
        .into_iter()
        .map(|s| Gauge {
            name: "steward_intents",
            help: "Intents by state.",
            labels: vec![("state", s.as_str().to_owned())],
            value: counts.iter().find(|(st, _)| *st == s).map_or(0, |(_, n)| *n) as f64,
        })
        .collect();
    let gauge = |name, help, labels: Vec<(&'static str, String)>, value: f64| Gauge { name, help, labels, value };
    if let Ok((pending, oldest_ms)) = outbox::lag(state.store.reader(), state.store.now()).await {
        gauges.push(gauge("steward_outbox_pending", "Outbound messages not yet confirmed.", vec![], pending as f64));
        let lag = oldest_ms as f64 / 1000.0;
        gauges.push(gauge(
            "steward_outbox_lag_seconds",
            "Age of the oldest unconfirmed outbound message.",
            vec![],
            lag,
        ));
    }
    let mut totals = Vec::new();
    if let Ok(snap) = gauges::snapshot(state.store.reader()).await {
        for risk in ["low", "medium", "high"] {
            let n = snap.approvals_waiting.iter().find(|(r, _)| r == risk).map_or(0, |(_, n)| *n);
            gauges.push(gauge(
                "steward_approvals_waiting",
                "Approvals waiting for a decision, by risk.",
                vec![("risk", risk.into())],
                n as f64,
            ));
        }
        let waited = snap.oldest_waiting.map_or(0.0, |at| (state.store.now() - at).max(0) as f64 / 1000.0);
        gauges.push(gauge(
            "steward_approvals_oldest_waiting_seconds",
            "How long the oldest waiting approval has waited.",
            vec![],
            waited,
        ));
        gauges.push(gauge(
            "steward_vectors_pending",
            "Memory records waiting for their vector.",
            vec![],
            snap.vectors_pending as f64,
        ));
        gauges.push(gauge(
            "steward_vector_deletes_pending",
            "Vector deletions queued for the index.",
            vec![],
            snap.vector_deletes_pending as f64,
        ));
        gauges.push(gauge(
            "steward_audit_rows",
            "Rows in the audit chain (its head's sequence number).",
            vec![],
            snap.audit_rows as f64,
        ));
        for u in &snap.model_use {
            let tier = || vec![("tier", u.tier.to_string())];
            let with = |kind: &str| vec![("tier", u.tier.to_string()), ("kind", kind.to_owned())];
            totals.push(gauge(
                "steward_model_tokens_total",
                "Model tokens on the ledger, by tier and kind (prompt, completion).",
                with("prompt"),
                u.tokens_in as f64,
            ));
            totals.push(gauge(
                "steward_model_tokens_total",
                "Model tokens on the ledger, by tier and kind (prompt, completion).",
                with("completion"),
                u.tokens_out as f64,
            ));
            totals.push(gauge(
                "steward_model_prompt_tokens_cached_total",
                "Prompt tokens the provider served from its prompt cache, by tier (part of the prompt kind above).",
                tier(),
                u.tokens_cached as f64,
            ));
            totals.push(gauge(
                "steward_model_cost_usd_total",
                "Model cost on the ledger in USD, by tier.",
                tier(),
                u.cost_usd,
            ));
        }
    }
    // Tokens and cost are listed by tier, each family together.
    totals.sort_by_key(|g| g.name);
    for h in crate::store::channels::health(state.store.reader()).await.unwrap_or_default() {
        let up = if h.state == "ok" { 1.0 } else { 0.0 };
        gauges.push(gauge(
            "steward_channel_up",
            "1 while a chat channel receives, 0 while it cannot (a 409 conflict, say).",
            vec![("channel", h.channel)],
            up,
        ));
    }
    let cooldown = (state.policy.get().breaker.cooldown_secs * 1000) as i64;
    let open = breaker::open_now(state.store.reader(), cooldown, state.store.now()).await.ok().flatten().is_some();
    gauges.push(gauge(
        "steward_breaker_open",
        "1 while the breaker sends everything to the operator (assisted mode).",
        vec![],
        if open { 1.0 } else { 0.0 },
    ));
    gauges.push(gauge(
        "steward_build_info",
        "The running steward's version.",
        vec![("version", env!("CARGO_PKG_VERSION").into())],
        1.0,
    ));
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render(&gauges, &totals))
}
