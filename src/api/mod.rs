//! The HTTP API (axum): a front end over the same services the chat
//! channels use. `/v1` routes behind a bearer token, operational routes
//! (`/healthz`, `/readyz`, `/metrics`, `/openapi.json`) open; the channels
//! that take webhooks (Telegram) mount their own routes beside these. Every
//! error is JSON, bodies are size-limited and requests time out.

pub mod approvals;
pub mod ask;
mod auth;
mod error;
mod intents;
mod memory;
mod openapi;
mod ops;
pub mod pending;
pub mod views;
mod workflows;

pub use workflows::{WorkflowPage, WorkflowView};

use std::sync::Arc;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{BoxError, Json, Router};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;
use tower::ServiceBuilder;
use utoipa::OpenApi;

use crate::adapters::Catalog;
use crate::domain::Approvers;
use crate::memory::Memory;
use crate::orchestrator::RunnerHandle;
use crate::policy::PolicyHandle;
use crate::store::Store;
use crate::telemetry::Metrics;

pub use error::ApiError;
pub use openapi::ApiDoc;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub store: Store,
    pub metrics: Arc<Metrics>,
    /// Cancelled when the server starts draining, so `/readyz` can say so
    /// and a load balancer stops sending new work.
    pub draining: CancellationToken,
    /// The adapters, to validate plans before they are accepted.
    pub catalog: Catalog,
    /// Wakes the runner when an intent is created or changed.
    pub runner: RunnerHandle,
    /// The risk policy in force (for readiness: the breaker's cool-down).
    pub policy: PolicyHandle,
    /// Who may decide approvals.
    pub approvers: Approvers,
    pub memory: Memory,
    /// The saved workflows, to list and start.
    pub workflows: crate::workflows::Library,
    /// The reasoning tiers, for `/v1/messages`.
    pub reasoner: Arc<crate::reasoning::Reasoner>,
    /// Identities a bridge may speak as on `/v1/messages` (`http.bridge_actors`).
    pub bridge_actors: Arc<Vec<String>>,
    /// Messages still being reasoned about, and how long a request waits
    /// for one before it answers 202 (within the HTTP timeout).
    pub in_flight: Arc<pending::InFlight>,
    pub answer_within: Duration,
}

/// Limits applied to every request.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub body_bytes: usize,
    pub timeout: Duration,
}

/// The API's routes, with `channels`' own routes (webhooks) beside them,
/// under the same limits.
pub fn router(state: ApiState, token: SecretString, limits: Limits, channels: Router) -> Router {
    let v1 = Router::new()
        .route("/intents", get(intents::list).post(intents::create))
        .route("/intents/{id}", get(intents::show))
        .route("/intents/{id}/cancel", post(intents::cancel))
        .route("/intents/{id}/retry", post(intents::retry))
        .route("/approvals", get(approvals::list))
        .route("/approvals/batch", post(approvals::batch))
        .route("/approvals/{id}/decision", post(approvals::decide))
        .route("/messages", post(ask::message))
        .route("/messages/{id}", get(ask::answer))
        .route("/costs", get(ask::costs))
        .route("/memory", post(memory::add))
        .route("/memory/search", post(memory::search))
        .route("/memory/jobs/{id}", get(memory::job))
        .route("/memory/sources", post(memory::sources))
        .route("/memory/stats", get(memory::stats))
        .route("/memory/reindex", post(memory::reindex))
        .route("/memory/{id}", axum::routing::delete(memory::forget))
        .route("/workflows", get(workflows::list))
        .route("/workflows/{name}/runs", post(workflows::run))
        .route_layer(middleware::from_fn_with_state(Arc::new(token), auth::require_bearer));
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .route("/hooks/{name}", post(workflows::hook))
        .nest("/v1", v1)
        .with_state(state.clone())
        .merge(channels)
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route; see /openapi.json") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed on this route")
        })
        .layer(middleware::from_fn_with_state(state, count_requests))
        .layer(DefaultBodyLimit::max(limits.body_bytes))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(|_: BoxError| async {
                    ApiError::new(StatusCode::REQUEST_TIMEOUT, "timeout", "the request took too long and was abandoned")
                }))
                .timeout(limits.timeout),
        )
}

async fn count_requests(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    state.metrics.inc("steward_http_requests_total", &[("status", response.status().as_str())]);
    response
}
