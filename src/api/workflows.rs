//! `/v1/workflows`: the saved workflows, and starting a run of one. A run
//! is an intent; `Idempotency-Key` makes a retried start return the same
//! run (with other arguments it is a 409).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiState;
use super::error::ApiError;
use super::intents::{API_ACTOR, ApiJson, idempotency_key};
use crate::workflows::{Start, StartError, Started, Workflow};

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowView {
    pub name: String,
    pub description: String,
    /// The file's content hash, recorded on every run.
    pub version: String,
    pub params: Vec<ParamView>,
    /// `cron`, `at`, `command`, each with its name.
    pub triggers: Vec<String>,
    pub steps: Vec<String>,
    pub paused: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParamView {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub required: bool,
    pub description: String,
}

impl WorkflowView {
    pub fn new(w: &Workflow, paused: bool) -> Self {
        Self {
            name: w.name.clone(),
            description: w.description.clone(),
            version: w.version.clone(),
            params: w
                .params
                .iter()
                .map(|p| ParamView {
                    name: p.name.clone(),
                    ty: p.ty.name(),
                    required: p.default.is_none(),
                    description: p.description.clone(),
                })
                .collect(),
            triggers: w.triggers.iter().map(|t| format!("{} ({})", t.name, t.kind.label())).collect(),
            steps: w.steps.iter().map(|s| format!("{}: {}.{}", s.id, s.adapter, s.action)).collect(),
            paused,
        }
    }
}

/// The saved workflows in force.
#[utoipa::path(
    get, path = "/v1/workflows", tag = "workflows",
    responses((status = 200, body = [WorkflowView]), (status = 401, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list(State(state): State<ApiState>) -> Result<Json<Vec<WorkflowView>>, ApiError> {
    let paused = crate::store::workflows::paused(state.store.reader()).await?;
    Ok(Json(state.workflows.all().iter().map(|w| WorkflowView::new(w, paused.contains(&w.name))).collect()))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunBody {
    /// Values for the workflow's parameters.
    #[serde(default)]
    pub args: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunView {
    pub workflow: String,
    pub version: String,
    /// The run's intent; none when the run had nothing to do.
    pub intent_id: Option<String>,
    pub skipped: Option<String>,
}

/// Starts a run of a workflow.
#[utoipa::path(
    post, path = "/v1/workflows/{name}/runs", tag = "workflows", request_body = RunBody,
    params(("name" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "The same key returns the same run.")),
    responses(
        (status = 201, description = "Started", body = RunView),
        (status = 200, description = "Replayed: this key started a run already", body = RunView),
        (status = 404, body = super::error::ErrorBody),
        (status = 409, description = "The key started a run with other arguments", body = super::error::ErrorBody),
        (status = 422, description = "Arguments, a template or a rendered step are wrong", body = super::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn run(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RunBody>,
) -> Result<Response, ApiError> {
    let workflow = state.workflows.get(&name).ok_or_else(|| ApiError::not_found(format!("workflow `{name}`")))?;
    let key = match idempotency_key(&headers)? {
        Some(k) => format!("http:{k}"),
        None => format!("http:{}", ulid::Ulid::new()),
    };
    let start = Start {
        workflow: &workflow,
        trigger: "manual",
        key,
        args: body.args,
        payload: serde_json::json!({"kind": "api"}),
        actor: API_ACTOR.into(),
        channel: "http".into(),
        period: None,
    };
    let started = crate::workflows::start(&state.store, &state.catalog, &start).await.map_err(|e| match e {
        StartError::Invalid(why) => ApiError::invalid(why),
        StartError::Conflict(_) => ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_key_reused",
            "this Idempotency-Key started a run with other arguments",
        ),
        StartError::Store(e) => e.into(),
    })?;
    let view = |intent_id: Option<String>, skipped: Option<String>| RunView {
        workflow: workflow.name.clone(),
        version: workflow.version.clone(),
        intent_id,
        skipped,
    };
    Ok(match started {
        Started::New(id) => {
            state.runner.wake();
            state.metrics.inc("steward_intents_created_total", &[]);
            (StatusCode::CREATED, Json(view(Some(id.to_string()), None))).into_response()
        }
        Started::Skipped(why) => (StatusCode::CREATED, Json(view(None, Some(why)))).into_response(),
        Started::Existing(id) => {
            let mut r = (StatusCode::OK, Json(view(id.map(|i| i.to_string()), None))).into_response();
            r.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            r
        }
    })
}
