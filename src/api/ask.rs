//! `/v1/messages`: talk to steward as a chat channel would, through the
//! reasoning tiers; `/v1/costs`: the cost ledger's summary.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiState;
use super::error::ApiError;
use super::intents::{ApiJson, ApiQuery, idempotency_key};
use super::pending::Waited;
use crate::domain::{Actor, Press};
use crate::reasoning::{Inbound, Input, Kind, ReasoningError};
use crate::store::ledger::{self, Line};

impl From<ReasoningError> for ApiError {
    fn from(e: ReasoningError) -> Self {
        match e {
            ReasoningError::Store(e) => e.into(),
            ReasoningError::Memory(e) => e.into(),
            ReasoningError::Setup(m) => ApiError::invalid(m),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    /// What was said. Exactly one of `text` and `button`.
    pub text: Option<String>,
    /// A button's callback data, as a channel would pass it on.
    pub button: Option<String>,
    /// Speak as this identity (`channel:id`), as a channel bridge would:
    /// only one listed under `http.bridge_actors`, never an approver.
    /// Default `http:api`, the operator.
    pub actor: Option<String>,
}

/// Who speaks: the token holder (`http:api`, the operator), or an identity
/// a bridge was allowed to speak as. The token does not lend anyone's right
/// to approve, so an approver is refused even when listed.
fn speaker(state: &ApiState, actor: Option<String>) -> Result<Actor, ApiError> {
    let Some(named) = actor.filter(|a| a != OPERATOR) else { return Ok(Actor::try_from(OPERATOR.to_owned())?) };
    let actor = Actor::try_from(named)?;
    let listed = state.bridge_actors.iter().any(|b| b.trim() == actor.to_string());
    if !listed || actor.is_in(&state.approvers.get()) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "actor_not_allowed",
            format!(
                "this token may not speak as `{actor}`: list it under http.bridge_actors (approvers cannot be listed), or leave `actor` out"
            ),
        ));
    }
    Ok(actor)
}

/// The identity of whoever holds the API token.
const OPERATOR: &str = "http:api";

/// Send a message through the reasoning tiers. The `Idempotency-Key` header
/// makes a retry return what the first delivery produced. When a model is
/// still working as the request's time runs out, the answer is 202 with the
/// message's id, and `GET /v1/messages/{id}` waits for it.
#[utoipa::path(post, path = "/v1/messages", tag = "reasoning", request_body = MessageBody,
    responses((status = 200, body = Object), (status = 202, body = Object, description = "still working: poll GET /v1/messages/{id}"),
        (status = 403, body = super::error::ErrorBody), (status = 429, body = super::error::ErrorBody),
        (status = 409, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)), security(("bearer" = [])))]
pub async fn message(
    State(state): State<ApiState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<MessageBody>,
) -> Result<Response, ApiError> {
    let input = match (body.text, body.button) {
        (Some(t), None) => {
            crate::domain::IntentText::parse(t.clone())?;
            Input::from_text(&t)
        }
        (None, Some(b)) => Input::Press(Press::parse(&b)?),
        _ => return Err(ApiError::invalid("give exactly one of `text` and `button`")),
    };
    let actor = speaker(&state, body.actor)?;
    let external_id = idempotency_key(&headers)?.unwrap_or_else(|| ulid::Ulid::new().to_string());
    let payload = serde_json::to_string(&input).map_err(|e| ApiError::invalid(e.to_string()))?;
    let who = actor.to_string();
    let inbound =
        Inbound { channel: CHANNEL.into(), external_id: external_id.clone(), actor, input, chat: "operator".into() };
    let reasoner = state.reasoner.clone();
    let work = async move { reasoner.handle(&inbound).await.map_err(ApiError::from) };
    let waited = state.in_flight.run(&external_id, &who, &payload, state.answer_within, work).await?;
    respond(waited, &external_id)
}

/// The channel `/v1/messages` speaks as.
const CHANNEL: &str = "http";

/// An answer (200), a refusal, or that the work goes on (202).
fn respond(waited: Waited, id: &str) -> Result<Response, ApiError> {
    let outcome = match waited {
        Waited::Done(outcome) => outcome?,
        Waited::Pending => {
            let body = serde_json::json!({"id": id, "status": "pending",
                "poll": format!("/v1/messages/{id}?wait=30")});
            return Ok((StatusCode::ACCEPTED, Json(body)).into_response());
        }
    };
    if outcome.kind == Kind::Limited {
        let why =
            if outcome.text.is_empty() { "still over the rate limit; wait a minute".into() } else { outcome.text };
        return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", why));
    }
    Ok(Json(outcome).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WaitQuery {
    /// Seconds to wait for the answer (at most what a request may take).
    pub wait: Option<u64>,
}

/// The answer to a message sent before, by its id (its `Idempotency-Key`):
/// 200 with the answer, 202 while a model is still working (after waiting
/// up to `wait` seconds), 404 for an id steward has not seen.
#[utoipa::path(get, path = "/v1/messages/{id}", tag = "reasoning", params(("id" = String, Path), WaitQuery),
    responses((status = 200, body = Object), (status = 202, body = Object), (status = 404, body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn answer(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<WaitQuery>,
) -> Result<Response, ApiError> {
    let budget = Duration::from_secs(q.wait.unwrap_or(0)).min(state.answer_within);
    if let Some(waited) = state.in_flight.wait(&id, budget).await {
        return respond(waited, &id);
    }
    match state.reasoner.answered(CHANNEL, &id).await? {
        Some(answer) => Ok(Json(answer).into_response()),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no message `{id}` was sent here"))),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CostsQuery {
    /// RFC 3339; default the last 7 days.
    pub since: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Costs {
    pub since: DateTime<Utc>,
    pub calls: i64,
    pub cost_usd: f64,
    /// Today's spend (UTC) and the policy's daily budget.
    pub spent_today_usd: f64,
    pub budget_per_day_usd: f64,
    pub by_day: Vec<Line>,
}

/// Model calls summarised by day, tier and model.
#[utoipa::path(get, path = "/v1/costs", tag = "reasoning", params(CostsQuery),
    responses((status = 200, body = Costs), (status = 422, body = super::error::ErrorBody)), security(("bearer" = [])))]
pub async fn costs(State(state): State<ApiState>, ApiQuery(q): ApiQuery<CostsQuery>) -> Result<Json<Costs>, ApiError> {
    Ok(Json(summarise(&state.store, q.since, state.policy.get().budgets.model_spend_per_day).await?))
}

/// The summary `/v1/costs` and `steward costs` print.
pub async fn summarise(
    store: &crate::store::Store,
    since: Option<DateTime<Utc>>,
    budget: f64,
) -> Result<Costs, crate::store::StoreError> {
    let now = store.now();
    let since = since.unwrap_or_else(|| crate::schedules::utc(now) - chrono::Duration::days(7));
    let by_day = ledger::summary(store.reader(), since.timestamp_millis()).await?;
    Ok(Costs {
        since,
        calls: by_day.iter().map(|l| l.calls).sum(),
        cost_usd: ledger::total(by_day.iter().map(|l| l.cost_usd)),
        spent_today_usd: ledger::spent_on_day(store.reader(), now).await?,
        budget_per_day_usd: budget,
        by_day,
    })
}
