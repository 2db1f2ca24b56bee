//! `/v1/intents`: create (idempotent with `Idempotency-Key`), list, show.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::ApiState;
use super::error::ApiError;
use super::views::{ControlResult, CreateIntent, IntentPage, IntentView, ListQuery, StepView};
use crate::adapters::Catalog;
use crate::domain::{Intent, IntentId, IntentState, IntentText, InvalidInput, Millis, Provenance};
use crate::orchestrator::control::{self, ControlError};
use crate::store::audit;
use crate::store::inbox::Inbound;
use crate::store::intents::{self, Created, ListFilter};

/// `Json` whose rejections are API errors.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `Query` whose rejections are API errors.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// The caller of the API: whoever holds the bearer token.
pub(super) const API_ACTOR: &str = "api";
const IDEMPOTENCY_HEADER: &str = "idempotency-key";

pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_HEADER) else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or_default().trim();
    if key.is_empty() || key.len() > 255 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        ));
    }
    Ok(Some(key.to_owned()))
}

fn parse_intent(body: CreateIntent, catalog: &Catalog, now: Millis) -> Result<Intent, InvalidInput> {
    let text = IntentText::parse(body.text)?;
    let plan = body.plan.map(|p| p.parse(catalog)).transpose()?;
    let mut provenance = Provenance::operator("http", API_ACTOR);
    provenance.reason = body.reason.filter(|r| !r.trim().is_empty());
    let mut intent = Intent::new(text, provenance, plan, now);
    intent.deadline = body.deadline.map(|d| d.timestamp_millis());
    Ok(intent)
}

/// Create an intent. Retrying with the same `Idempotency-Key` and body returns
/// the intent the first request created (200 instead of 201).
#[utoipa::path(
    post, path = "/v1/intents", tag = "intents",
    request_body = CreateIntent,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key returns the same intent.")),
    responses(
        (status = 201, description = "Created", body = IntentView),
        (status = 200, description = "Replayed: this key already created an intent", body = IntentView),
        (status = 401, description = "Missing or wrong token", body = super::error::ErrorBody),
        (status = 409, description = "The key was used for a different request", body = super::error::ErrorBody),
        (status = 422, description = "Invalid request", body = super::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(intent_id))]
pub async fn create(
    State(state): State<ApiState>,
    headers: HeaderMap,
    ApiJson(raw): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let body: CreateIntent = serde_json::from_value(raw.clone()).map_err(|e| ApiError::invalid(e.to_string()))?;
    let intent = parse_intent(body, &state.catalog, state.store.now())?;
    let external_id = key.clone().unwrap_or_else(|| intent.id.to_string());
    let inbound = Inbound { channel: "http", external_id: &external_id, actor: API_ACTOR, payload: &raw };
    let (status, id) = match intents::create(&state.store, intent, Some(&inbound)).await? {
        Created::New(intent) => {
            state.metrics.inc("steward_intents_created_total", &[]);
            tracing::info!(intent_id = %intent.id, "intent created");
            state.runner.wake();
            (StatusCode::CREATED, intent.id)
        }
        Created::Existing(id) => (StatusCode::OK, id),
    };
    tracing::Span::current().record("intent_id", tracing::field::display(id));
    if status == StatusCode::CREATED {
        judged_soon(&state, id).await?;
    }
    let view = load_view(&state, id).await?;
    let mut response = (status, Json(view)).into_response();
    if status == StatusCode::OK {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// How long a new intent's answer waits for the policy's judgement, so the
/// risk it shows is the one that holds (or shows that none is known yet).
const JUDGED_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Waits, briefly, until the runner's gate has judged a planned intent.
async fn judged_soon(state: &ApiState, id: IntentId) -> Result<(), ApiError> {
    let deadline = tokio::time::Instant::now() + JUDGED_WITHIN;
    loop {
        let intent =
            intents::get(&state.store, id).await?.ok_or_else(|| ApiError::not_found(format!("intent {id}")))?;
        let waiting = intent.state == IntentState::Planned && intent.provenance.policy_version == Provenance::NO_POLICY;
        if !waiting || tokio::time::Instant::now() >= deadline {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

async fn load_view(state: &ApiState, id: IntentId) -> Result<IntentView, ApiError> {
    let intent = intents::get(&state.store, id).await?.ok_or_else(|| ApiError::not_found(format!("intent {id}")))?;
    let mut view = IntentView::from(&intent);
    let steps = intents::steps(&state.store, id).await?;
    view.steps = Some(steps.iter().map(StepView::from).collect());
    let trail = audit::for_subject(state.store.reader(), &id.to_string()).await?;
    view.audit = Some(trail.into_iter().map(Into::into).collect());
    Ok(view)
}

/// List intents, newest first.
#[utoipa::path(
    get, path = "/v1/intents", tag = "intents", params(ListQuery),
    responses((status = 200, body = IntentPage), (status = 401, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<IntentPage>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid("limit: must be between 1 and 200"));
    }
    let filter = ListFilter {
        state: q.state.as_deref().map(str::parse).transpose()?,
        before: q
            .cursor
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e: InvalidInput| InvalidInput::new("cursor", e.reason))?,
        // One more than asked, to know whether another page exists.
        limit: limit + 1,
    };
    let mut found = intents::list(&state.store, &filter).await?;
    let more = found.len() > limit as usize;
    found.truncate(limit as usize);
    let next_cursor = more.then(|| found.last().map(|i| i.id.to_string())).flatten();
    Ok(Json(IntentPage { items: found.iter().map(IntentView::from).collect(), next_cursor }))
}

/// One intent with its steps and its audit trail.
#[utoipa::path(
    get, path = "/v1/intents/{id}", tag = "intents",
    params(("id" = String, Path, description = "The intent's ULID")),
    responses((status = 200, body = IntentView), (status = 401, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn show(State(state): State<ApiState>, Path(id): Path<String>) -> Result<Json<IntentView>, ApiError> {
    let id: IntentId = id.parse()?;
    Ok(Json(load_view(&state, id).await?))
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> Self {
        match e {
            ControlError::NotFound(id) => ApiError::not_found(format!("intent {id}")),
            refused @ ControlError::Refused { .. } => {
                ApiError::new(StatusCode::CONFLICT, "invalid_state", refused.to_string())
            }
            ControlError::Store(e) => e.into(),
        }
    }
}

/// Wakes the runner for the changed intent and answers with its new state.
fn controlled(state: &ApiState, id: IntentId, after: crate::domain::IntentState) -> Json<ControlResult> {
    state.runner.wake();
    Json(ControlResult { id: id.to_string(), state: after.to_string() })
}

/// Cancel an intent. One that has not started stops; a running one undoes
/// what already ran, in reverse order, and ends `compensated`.
#[utoipa::path(
    post, path = "/v1/intents/{id}/cancel", tag = "intents",
    params(("id" = String, Path, description = "The intent's ULID")),
    responses((status = 200, body = ControlResult), (status = 404, body = super::error::ErrorBody), (status = 409, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[tracing::instrument(skip(state), fields(intent_id = %id))]
pub async fn cancel(State(state): State<ApiState>, Path(id): Path<String>) -> Result<Json<ControlResult>, ApiError> {
    let id: IntentId = id.parse()?;
    let after = control::cancel(&state.store, id, API_ACTOR).await?;
    Ok(controlled(&state, id, after))
}

/// Retry a failed intent or one that needs attention, with the same keys.
#[utoipa::path(
    post, path = "/v1/intents/{id}/retry", tag = "intents",
    params(("id" = String, Path, description = "The intent's ULID")),
    responses((status = 200, body = ControlResult), (status = 404, body = super::error::ErrorBody), (status = 409, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
#[tracing::instrument(skip(state), fields(intent_id = %id))]
pub async fn retry(State(state): State<ApiState>, Path(id): Path<String>) -> Result<Json<ControlResult>, ApiError> {
    let id: IntentId = id.parse()?;
    let after = control::retry(&state.store, id, API_ACTOR).await?;
    Ok(controlled(&state, id, after))
}
