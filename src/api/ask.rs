//! `/v1/messages`: talk to steward as a chat channel would, through the
//! reasoning tiers; `/v1/costs`: the cost ledger's summary.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiState;
use super::error::ApiError;
use super::intents::{ApiJson, ApiQuery, idempotency_key};
use crate::domain::{Actor, Press};
use crate::reasoning::{Answer, Inbound, Input, Kind, ReasoningError};
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
/// makes a retry return what the first delivery produced.
#[utoipa::path(post, path = "/v1/messages", tag = "reasoning", request_body = MessageBody,
    responses((status = 200, body = Object), (status = 403, body = super::error::ErrorBody), (status = 429, body = super::error::ErrorBody),
        (status = 409, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)), security(("bearer" = [])))]
pub async fn message(
    State(state): State<ApiState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<MessageBody>,
) -> Result<Json<Answer>, ApiError> {
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
    let inbound = Inbound { channel: "http".into(), external_id, actor, input, chat: "operator".into() };
    let outcome = state.reasoner.handle(&inbound).await?;
    if outcome.kind == Kind::Limited {
        let why =
            if outcome.text.is_empty() { "still over the rate limit; wait a minute".into() } else { outcome.text };
        return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", why));
    }
    Ok(Json(outcome))
}

#[derive(Debug, Deserialize, IntoParams)]
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
        cost_usd: by_day.iter().map(|l| l.cost_usd).sum(),
        spent_today_usd: ledger::spent_on_day(store.reader(), now).await?,
        budget_per_day_usd: budget,
        by_day,
    })
}
