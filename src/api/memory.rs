//! `/v1/memory`: add records, search, forget. The caller is the operator
//! (`http:api`), so every scope is readable and writable.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiState;
use super::error::ApiError;
use super::intents::{ApiJson, idempotency_key};
use crate::domain::{InvalidInput, MemoryKind, MemoryProvenance, MemoryRecord, Millis, NewMemory, Scope};
use crate::memory::{Contract, MemoryError, Query};

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
    /// question, statement, command, reply, decision, intent_outcome, note,
    /// summary or document (default note; `message` is read as statement)
    pub kind: Option<String>,
    /// Who may read it (default `operator`).
    pub scope: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[schema(value_type = Option<Object>)]
    pub meta: Option<serde_json::Value>,
    /// Why it is worth keeping.
    pub why: Option<String>,
    /// When what it says happened (RFC 3339), when that is not now:
    /// imported history keeps its dates.
    pub occurred_at: Option<DateTime<Utc>>,
    /// What it was made from (a file and its content hash, a message id):
    /// sending the same source again, to the same scope, adds nothing.
    pub source_id: Option<String>,
    /// Who said or wrote it, when not the API's caller (an imported
    /// message's author).
    pub author: Option<String>,
    /// Where it came from, when not the API (`notes`, `mbox`, …):
    /// lowercase letters, digits and `-`.
    pub via: Option<String>,
}

/// The longest `source_id`.
const MAX_SOURCE_ID: usize = 512;

/// One record, or `{"records": [...]}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum AddBody {
    Batch { records: Vec<RecordBody> },
    One(Box<RecordBody>),
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Added {
    /// Each record's id, in order (an earlier record's, for one skipped).
    pub ids: Vec<String>,
    /// How many are new.
    pub added: usize,
    /// How many were taken in before (their source, or this
    /// `Idempotency-Key`), and changed nothing.
    pub skipped: usize,
    /// A large batch (202): its records are kept, and embedded in the
    /// background; `GET /v1/memory/jobs/{job}` says how far that got.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Job {
    pub id: String,
    /// The records the batch added.
    pub records: i64,
    /// How many of them can be found by meaning (or need not be).
    pub indexed: i64,
    pub done: bool,
}

/// How far a large batch's embedding got.
#[utoipa::path(get, path = "/v1/memory/jobs/{id}", tag = "memory",
    responses((status = 200, body = Job), (status = 404, body = super::error::ErrorBody)), security(("bearer" = [])))]
pub async fn job(State(state): State<ApiState>, Path(id): Path<String>) -> Result<Json<Job>, ApiError> {
    let found = crate::store::indexing::job_progress(state.store.reader(), &id).await?;
    let (records, indexed) = found.ok_or_else(|| ApiError::not_found(format!("memory job {id}")))?;
    Ok(Json(Job { id, records, indexed, done: indexed >= records }))
}

fn parse(i: usize, r: RecordBody, now: Millis, key: Option<&str>) -> Result<NewMemory, InvalidInput> {
    let at = |e: InvalidInput| InvalidInput::new(format!("records[{i}].{}", e.field), e.reason);
    let source_id = match (r.source_id, key) {
        (Some(s), _) if s.is_empty() || s.chars().count() > MAX_SOURCE_ID || s.chars().any(char::is_control) => {
            return Err(InvalidInput::new(
                format!("records[{i}].source_id"),
                format!("must be 1 to {MAX_SOURCE_ID} characters, none of them control characters"),
            ));
        }
        (Some(s), _) => Some(s),
        // A retry of the same request is the same source.
        (None, Some(key)) => Some(format!("idempotency-key:{key}#{i}")),
        (None, None) => None,
    };
    let kind = r.kind.as_deref().unwrap_or("note").parse::<MemoryKind>().map_err(at)?;
    let scope = Scope::parse(r.scope.as_deref().unwrap_or("operator")).map_err(at)?;
    let label = |field: &str, v: Option<String>, default: &str, ok: &dyn Fn(char) -> bool| match v {
        None => Ok(default.to_owned()),
        Some(v) if !v.is_empty() && v.chars().count() <= 200 && v.chars().all(ok) => Ok(v),
        Some(_) => Err(InvalidInput::new(format!("records[{i}].{field}"), "must be 1 to 200 plain characters")),
    };
    let (api_actor, api_channel) = MemoryProvenance::API;
    let actor = label("author", r.author, api_actor, &|c: char| !c.is_control())?;
    let channel =
        label("via", r.via, api_channel, &|c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')?;
    let provenance = MemoryProvenance { actor, channel, why: r.why, ..Default::default() };
    let mut m = NewMemory::new(kind, &r.text, scope, provenance, now).map_err(at)?;
    m.tags = r.tags;
    m.source_id = source_id;
    m.occurred_at = r.occurred_at.map(|t| t.timestamp_millis());
    if let Some(meta) = r.meta {
        if !meta.is_object() {
            return Err(InvalidInput::new(format!("records[{i}].meta"), "must be a JSON object"));
        }
        m.meta = meta;
    }
    Ok(m)
}

/// Remember one record or a batch (all or none). A record whose
/// `source_id` was taken in before adds nothing; so does a retry with the
/// same `Idempotency-Key` (a reused key with other records is a 409).
#[utoipa::path(post, path = "/v1/memory", tag = "memory", request_body = AddBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key adds nothing again.")),
    responses((status = 201, body = Added), (status = 200, description = "Nothing new: every record was taken in before", body = Added),
        (status = 202, description = "A large batch: kept, and embedded in the background (see `job`)", body = Added),
        (status = 409, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)), security(("bearer" = [])))]
pub async fn add(
    State(state): State<ApiState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<AddBody>,
) -> Result<(StatusCode, Json<Added>), ApiError> {
    let key = idempotency_key(&headers)?;
    let bodies = match body {
        AddBody::Batch { records } => records,
        AddBody::One(r) => vec![*r],
    };
    if bodies.is_empty() || bodies.len() > 1000 {
        return Err(ApiError::invalid("records: send 1 to 1000 records"));
    }
    let now = state.store.now();
    let records =
        bodies.into_iter().enumerate().map(|(i, r)| parse(i, r, now, key.as_deref())).collect::<Result<Vec<_>, _>>()?;
    let added = state.memory.add(&records, &Contract::operator()).await?;
    if let Some(key) = &key {
        let earlier: Vec<String> = added.records.iter().filter(|r| !r.new).map(|r| r.id.clone()).collect();
        let kept = crate::store::memory::get_many(state.store.reader(), &earlier).await?;
        let by_key = format!("idempotency-key:{key}#");
        let by_this_key = |k: &&MemoryRecord| k.source_id.as_deref().is_some_and(|s| s.starts_with(&by_key));
        if kept
            .iter()
            .filter(by_this_key)
            .any(|k| !records.iter().any(|r| r.source_id == k.source_id && r.text == k.text))
        {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_conflict",
                "this Idempotency-Key was used for other records; use a new key for new records",
            ));
        }
    }
    let (ids, new) = (added.ids(), added.new_count());
    let status = match (&added.job, new) {
        (Some(_), _) => StatusCode::ACCEPTED,
        (None, 0) => StatusCode::OK,
        (None, _) => StatusCode::CREATED,
    };
    Ok((status, Json(Added { skipped: ids.len() - new, ids, added: new, job: added.job })))
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

/// The kinds a search names (`message` names every kind of message).
fn kinds(names: &[String]) -> Result<Vec<MemoryKind>, InvalidInput> {
    let mut out = Vec::new();
    for name in names {
        for k in MemoryKind::named(name)? {
            if !out.contains(&k) {
                out.push(k);
            }
        }
    }
    Ok(out)
}

/// Hybrid search (words and meaning, fused by score), best first, with the
/// score from each retriever and each record's provenance, as
/// `{items, next_cursor}`. While the vector index cannot be used, the
/// items come from words alone and `degraded` says so.
#[utoipa::path(post, path = "/v1/memory/search", tag = "memory", request_body = SearchBody,
    responses((status = 200, body = Object), (status = 422, body = super::error::ErrorBody)), security(("bearer" = [])))]
pub async fn search(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<SearchBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let query = Query {
        text: body.query,
        scopes: body.scopes.iter().map(|s| Scope::parse(s)).collect::<Result<_, _>>()?,
        kinds: kinds(&body.kinds)?,
        since: body.since.map(|t| t.timestamp_millis()),
        until: body.until.map(|t| t.timestamp_millis()),
        limit: body.limit.unwrap_or(10),
        vector: None,
    };
    Ok(Json(state.memory.search(&query, &Contract::operator()).await?.to_json()))
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourcesBody {
    pub scope: String,
    /// What the source ids begin with.
    pub prefix: String,
}

/// The records of a scope whose `source_id` begins with a prefix, as
/// `[id, source_id]` pairs: what an import compares with what it read.
#[utoipa::path(post, path = "/v1/memory/sources", tag = "memory", request_body = SourcesBody,
    responses((status = 200, body = Object), (status = 422, body = super::error::ErrorBody)), security(("bearer" = [])))]
pub async fn sources(
    State(state): State<ApiState>,
    ApiJson(body): ApiJson<SourcesBody>,
) -> Result<Json<Vec<(String, String)>>, ApiError> {
    let scope = Scope::parse(&body.scope)?;
    if body.prefix.is_empty() || body.prefix.len() > MAX_SOURCE_ID {
        return Err(ApiError::invalid(format!("prefix: must be 1 to {MAX_SOURCE_ID} bytes")));
    }
    Ok(Json(crate::store::memory::sourced_under(state.store.reader(), &scope, &body.prefix).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Reindexing {
    /// Ask `GET /v1/memory/jobs/{job}` how far it got.
    pub job: String,
    pub records: u64,
}

/// Rebuilds the vector index from the records: the index is emptied, and
/// the server's indexer embeds every record again while search goes on
/// with words. Answers 202 at once, with the job to poll.
#[utoipa::path(post, path = "/v1/memory/reindex", tag = "memory",
    responses((status = 202, body = Reindexing)), security(("bearer" = [])))]
pub async fn reindex(State(state): State<ApiState>) -> Result<(StatusCode, Json<Reindexing>), ApiError> {
    let (job, records) = state.memory.reindex_later().await?;
    tracing::info!(job = %job, records, "memory reindex started");
    Ok((StatusCode::ACCEPTED, Json(Reindexing { job, records })))
}

/// Records by kind, how many wait for their vectors, and the index's size.
#[utoipa::path(get, path = "/v1/memory/stats", tag = "memory",
    responses((status = 200, body = Object)), security(("bearer" = [])))]
pub async fn stats(State(state): State<ApiState>) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(state.memory.stats().await?))
}
