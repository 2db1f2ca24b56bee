//! `/v1/memory`: add records, search, forget. The caller is the operator
//! (`http:api`), so every scope is readable and writable.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiState;
use super::error::ApiError;
use super::intents::ApiJson;
use crate::domain::{InvalidInput, MemoryKind, MemoryProvenance, Millis, NewMemory, Scope};
use crate::memory::{Contract, Hit, MemoryError, Query};

impl From<MemoryError> for ApiError {
    fn from(e: MemoryError) -> Self {
        match e {
            MemoryError::Invalid(m) => ApiError::invalid(m),
            e @ MemoryError::Forbidden(_) => ApiError::new(StatusCode::FORBIDDEN, "forbidden_scope", e.to_string()),
            MemoryError::Store(e) => e.into(),
            e @ MemoryError::OverBudget(_) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "search_over_budget", e.to_string())
            }
            other => {
                tracing::error!(error = %other, "memory error");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "memory_unavailable", other.to_string())
            }
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordBody {
    pub text: String,
    /// message, decision, intent_outcome, note, summary or document (default note)
    pub kind: Option<String>,
    /// Who may read it (default `operator`).
    pub scope: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[schema(value_type = Option<Object>)]
    pub meta: Option<serde_json::Value>,
    /// Why it is worth keeping.
    pub why: Option<String>,
}

/// One record, or `{"records": [...]}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum AddBody {
    Batch { records: Vec<RecordBody> },
    One(RecordBody),
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Added {
    pub ids: Vec<String>,
}

fn parse(i: usize, r: RecordBody, now: Millis) -> Result<NewMemory, InvalidInput> {
    let at = |e: InvalidInput| InvalidInput::new(format!("records[{i}].{}", e.field), e.reason);
    let kind = r.kind.as_deref().unwrap_or("note").parse::<MemoryKind>().map_err(at)?;
    let scope = Scope::parse(r.scope.as_deref().unwrap_or("operator")).map_err(at)?;
    let provenance = MemoryProvenance { actor: "api".into(), channel: "http".into(), why: r.why, ..Default::default() };
    let mut m = NewMemory::new(kind, &r.text, scope, provenance, now).map_err(at)?;
    m.tags = r.tags;
    if let Some(meta) = r.meta {
        if !meta.is_object() {
            return Err(InvalidInput::new(format!("records[{i}].meta"), "must be a JSON object"));
        }
        m.meta = meta;
    }
    Ok(m)
}

/// Remember one record or a batch (all or none).
#[utoipa::path(post, path = "/v1/memory", tag = "memory", request_body = AddBody,
    responses((status = 201, body = Added), (status = 422, body = super::error::ErrorBody)), security(("bearer" = [])))]
pub async fn add(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<AddBody>,
) -> Result<(StatusCode, Json<Added>), ApiError> {
    let bodies = match body {
        AddBody::Batch { records } => records,
        AddBody::One(r) => vec![r],
    };
    if bodies.is_empty() || bodies.len() > 1000 {
        return Err(ApiError::invalid("records: send 1 to 1000 records"));
    }
    let now = state.store.now();
    let records = bodies.into_iter().enumerate().map(|(i, r)| parse(i, r, now)).collect::<Result<Vec<_>, _>>()?;
    let ids = state.memory.add(&records, &Contract::operator()).await?;
    Ok((StatusCode::CREATED, Json(Added { ids })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchBody {
    pub query: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub kinds: Vec<String>,
    pub limit: Option<usize>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Hybrid search (words and meaning, fused by rank), best first, with the
/// score from each retriever and each record's provenance.
#[utoipa::path(post, path = "/v1/memory/search", tag = "memory", request_body = SearchBody,
    responses((status = 200, body = Object), (status = 422, body = super::error::ErrorBody)), security(("bearer" = [])))]
pub async fn search(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<SearchBody>,
) -> Result<Json<Vec<Hit>>, ApiError> {
    let query = Query {
        text: body.query,
        scopes: body.scopes.iter().map(|s| Scope::parse(s)).collect::<Result<_, _>>()?,
        kinds: body.kinds.iter().map(|k| k.parse()).collect::<Result<_, _>>()?,
        since: body.since.map(|t| t.timestamp_millis()),
        until: body.until.map(|t| t.timestamp_millis()),
        limit: body.limit.unwrap_or(10),
        vector: None,
    };
    Ok(Json(state.memory.search(&query, &Contract::operator()).await?))
}

/// Forget a record: from SQLite, full-text search and the vector index.
#[utoipa::path(delete, path = "/v1/memory/{id}", tag = "memory", params(("id" = String, Path, description = "The record's id")),
    responses((status = 204), (status = 404, body = super::error::ErrorBody)), security(("bearer" = [])))]
pub async fn forget(State(state): State<ApiState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    if state.memory.forget(&id, "api").await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("memory {id}")))
    }
}
