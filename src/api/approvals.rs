//! `/v1/approvals`: list, decide one, decide many. The approver is the
//! authenticated caller (`http:api`), who must be on the allowlist.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ApiState;
use super::error::ApiError;
use super::intents::{ApiJson, ApiQuery};
use crate::domain::{Actor, ApprovalState, Decision, InvalidInput, Refusal, Risk};
use crate::orchestrator::decisions::{self as decide_mod, Ask, DecideError};
use crate::store::StoreError;
use crate::store::approvals::{self, Approval, Filter};

/// The identity of whoever holds the API token.
fn caller() -> Actor {
    Actor::new("http", "api")
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// pending, approved, rejected, expired, superseded, confirmed, undone
    pub state: Option<String>,
    /// low, medium or high
    pub risk: Option<String>,
    /// How many, 1–500 (default 100).
    pub limit: Option<u32>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
}

/// A page of approvals, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalPage {
    pub items: Vec<ApprovalView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A cursor is the last item's `requested_at` (ms) and id: `MS.ID`.
fn parse_cursor(cursor: &str) -> Result<(i64, String), ApiError> {
    let bad = || ApiError::invalid("`cursor` must be a `next_cursor` this API returned");
    let (ms, id) = cursor.split_once('.').ok_or_else(bad)?;
    let ms: i64 = ms.parse().map_err(|_| bad())?;
    if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(bad());
    }
    Ok((ms, id.to_owned()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalView {
    pub id: String,
    pub intent_id: String,
    /// approve_before or review_after
    pub kind: String,
    pub state: String,
    pub risk: String,
    pub rule: String,
    /// Everything needed to decide: summary, who asked, steps with arguments,
    /// risk and rule, cost estimate, compensation plan, expiry, keys.
    #[schema(value_type = Object)]
    pub request: crate::domain::ApprovalRequest,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_via: Option<String>,
    pub comment: Option<String>,
}

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

impl From<Approval> for ApprovalView {
    fn from(a: Approval) -> Self {
        Self {
            id: a.id,
            intent_id: a.intent_id.to_string(),
            kind: serde_json::to_value(a.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
            state: a.state.to_string(),
            risk: a.risk.to_string(),
            rule: a.rule,
            request: a.request,
            requested_at: time(a.requested_at),
            expires_at: time(a.expires_at),
            decided_by: a.decided_by,
            decided_via: a.decided_via,
            comment: a.comment,
        }
    }
}

impl From<DecideError> for ApiError {
    fn from(e: DecideError) -> Self {
        match e {
            DecideError::Refused(Refusal::NotFound) => ApiError::not_found("approval"),
            DecideError::Refused(r @ Refusal::NotAnApprover) => {
                ApiError::new(StatusCode::FORBIDDEN, "not_an_approver", r.to_string())
            }
            DecideError::Refused(r @ Refusal::NotAnAnswer(_)) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "not_an_answer", r.to_string())
            }
            DecideError::Refused(r) => ApiError::new(StatusCode::CONFLICT, "stale_decision", r.to_string()),
            DecideError::Store(e) => e.into(),
        }
    }
}

/// Approvals, oldest first (pending ones by default).
#[utoipa::path(get, path = "/v1/approvals", tag = "approvals", params(ListQuery),
    responses((status = 200, body = ApprovalPage), (status = 401, body = super::error::ErrorBody)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<ApprovalPage>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("`limit` must be 1–500"));
    }
    let filter = Filter {
        state: Some(q.state.as_deref().unwrap_or("pending").parse::<ApprovalState>()?),
        risk: q.risk.as_deref().map(str::parse::<Risk>).transpose()?,
        intent: None,
        after: q.cursor.as_deref().map(parse_cursor).transpose()?,
        limit: Some(limit),
    };
    let found = approvals::list(state.store.reader(), &filter).await?;
    let next_cursor = match found.last() {
        Some(last) if found.len() == limit as usize => Some(format!("{}.{}", last.requested_at, last.id)),
        _ => None,
    };
    Ok(Json(ApprovalPage { items: found.into_iter().map(Into::into).collect(), next_cursor }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// approve or reject (for a review: confirm or undo); not for a question
    pub decision: Option<String>,
    /// A workflow's question: one of its choices, by name or number from 1
    pub answer: Option<String>,
    pub comment: Option<String>,
}

/// Decide one approval, exactly once: `decision` for a request or a review,
/// `answer` for a workflow's question. A stale, duplicate or expired
/// decision is refused with 409 and a reason, an answer that is none of the
/// question's choices with 422 and the choices, a caller not on the
/// allowlist with 403.
#[utoipa::path(post, path = "/v1/approvals/{id}/decision", tag = "approvals", request_body = DecisionBody,
    params(("id" = String, Path, description = "The approval's id")),
    responses((status = 200, body = ApprovalView), (status = 403, body = super::error::ErrorBody),
              (status = 404, body = super::error::ErrorBody), (status = 409, body = super::error::ErrorBody),
              (status = 422, body = super::error::ErrorBody)),
    security(("bearer" = [])))]
#[tracing::instrument(skip(state, body))]
pub async fn decide(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> Result<Json<ApprovalView>, ApiError> {
    let decision = match (body.decision.as_deref(), body.answer.as_deref()) {
        (Some(d), None) => d.parse::<Decision>()?,
        (None, Some(said)) => {
            let mut conn = state.store.reader().acquire().await.map_err(StoreError::from)?;
            decide_mod::chosen(&mut conn, &id, said).await?
        }
        _ => {
            let why = "give either `decision` (approve, reject, confirm, undo) or, for a question, `answer`";
            return Err(InvalidInput::new("decision", why).into());
        }
    };
    let approver = caller();
    let ask = Ask { approval: &id, decision, approver: &approver, comment: body.comment.as_deref() };
    let decided = decide_mod::decide(&state.store, &ask, &state.approvers.get()).await?;
    state.runner.wake();
    Ok(Json(decided.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    /// The decision for every item unless overridden.
    pub decision: String,
    /// Which approvals; without ids, every pending one (of `risk`, if given).
    pub ids: Option<Vec<String>>,
    pub risk: Option<String>,
    /// Per-item decisions that differ from `decision`.
    #[serde(default)]
    pub overrides: HashMap<String, String>,
    pub comment: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchItem {
    pub id: String,
    /// The approval's state after this decision, when it was taken.
    pub state: Option<String>,
    /// Why it was refused, when it was.
    pub refused: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResult {
    pub decided: usize,
    pub refused: usize,
    pub items: Vec<BatchItem>,
}

/// Decide many approvals in one request. Each is its own decision: decided
/// at most once and audited on its own.
#[utoipa::path(post, path = "/v1/approvals/batch", tag = "approvals", request_body = BatchBody,
    responses((status = 200, body = BatchResult), (status = 422, body = super::error::ErrorBody)), security(("bearer" = [])))]
pub async fn batch(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<BatchBody>,
) -> Result<Json<BatchResult>, ApiError> {
    let default: Decision = body.decision.parse()?;
    let mut overrides = HashMap::new();
    for (id, d) in &body.overrides {
        overrides.insert(
            id.clone(),
            d.parse::<Decision>().map_err(|e| InvalidInput::new(format!("overrides.{id}"), e.reason))?,
        );
    }
    let ids = match body.ids {
        Some(ids) => ids,
        None => {
            let filter = Filter {
                state: Some(ApprovalState::Pending),
                risk: body.risk.as_deref().map(str::parse).transpose()?,
                ..Default::default()
            };
            approvals::list(state.store.reader(), &filter).await?.into_iter().map(|a| a.id).collect()
        }
    };
    let result = decide_many(&state, &ids, default, &overrides, body.comment.as_deref()).await?;
    state.runner.wake();
    Ok(Json(result))
}

async fn decide_many(
    state: &ApiState,
    ids: &[String],
    default: Decision,
    overrides: &HashMap<String, Decision>,
    comment: Option<&str>,
) -> Result<BatchResult, ApiError> {
    let approver = caller();
    let now = state.store.now();
    let mut tx = state.store.begin().await?;
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        let decision = overrides.get(id).copied().unwrap_or(default);
        let ask = Ask { approval: id, decision, approver: &approver, comment };
        items.push(match decide_mod::decide_in(&mut tx, &ask, &state.approvers.get(), now).await {
            Ok(a) => BatchItem { id: id.clone(), state: Some(a.state.to_string()), refused: None },
            Err(DecideError::Refused(r)) => BatchItem { id: id.clone(), state: None, refused: Some(r.to_string()) },
            Err(DecideError::Store(e)) => return Err(e.into()),
        });
    }
    tx.commit().await.map_err(StoreError::from)?;
    let decided = items.iter().filter(|i| i.state.is_some()).count();
    Ok(BatchResult { decided, refused: items.len() - decided, items })
}
