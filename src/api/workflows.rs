//! `/v1/workflows`: the saved workflows, and starting a run of one. A run
//! is an intent; `Idempotency-Key` makes a retried start return the same
//! run (with other arguments it is a 409).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiState;
use super::error::ApiError;
use super::intents::{API_ACTOR, ApiJson, idempotency_key};
use crate::config::ExposeSecret;
use crate::workflows::{Cause, Start, StartError, Started, TriggerKind, Workflow, hooks};

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
            steps: w.steps.iter().map(|s| format!("{}: {}", s.id, s.describe())).collect(),
            paused,
        }
    }
}

/// The workflows in force, in the list shape every list has. They are
/// few and held in memory, so one page holds them all.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowPage {
    pub items: Vec<WorkflowView>,
    /// Always absent: every workflow is on the one page.
    pub next_cursor: Option<String>,
}

/// The saved workflows in force.
#[utoipa::path(
    get, path = "/v1/workflows", tag = "workflows",
    responses((status = 200, body = WorkflowPage), (status = 401, body = super::error::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list(State(state): State<ApiState>) -> Result<Json<WorkflowPage>, ApiError> {
    let paused = crate::store::workflows::paused(state.store.reader()).await?;
    let items = state.workflows.all().iter().map(|w| WorkflowView::new(w, paused.contains(&w.name))).collect();
    Ok(Json(WorkflowPage { items, next_cursor: None }))
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
    /// The run's intent; none when the run had nothing to do, or waits
    /// before its first.
    pub intent_id: Option<String>,
    pub skipped: Option<String>,
    /// What a run with no intent yet waits for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting: Option<String>,
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
        cause: Cause::Api,
        actor: API_ACTOR.into(),
        channel: "http".into(),
        period: None,
    };
    let conflict = "this Idempotency-Key started a run with other arguments";
    answer(&state, &workflow, &start, StatusCode::CREATED, conflict).await
}

/// Starts the run and answers: `created` for a new run, 200 (marked as a
/// replay) for one its key started before.
async fn answer(
    state: &ApiState,
    workflow: &Workflow,
    start: &Start<'_>,
    created: StatusCode,
    conflict: &str,
) -> Result<Response, ApiError> {
    let started =
        crate::workflows::start(&state.store, &state.catalog, start).await.map_err(|e| refused(e, conflict))?;
    let view = |intent_id: Option<String>, skipped: Option<String>| RunView {
        workflow: workflow.name.clone(),
        version: workflow.version.clone(),
        intent_id,
        skipped,
        waiting: None,
    };
    Ok(match started {
        Started::New(id) => {
            state.runner.wake();
            state.metrics.inc("steward_intents_created_total", &[]);
            (created, Json(view(Some(id.to_string()), None))).into_response()
        }
        Started::Skipped(why) => (created, Json(view(None, Some(why)))).into_response(),
        Started::Waiting(what) => (created, Json(RunView { waiting: Some(what), ..view(None, None) })).into_response(),
        Started::Existing(id) => {
            let mut r = (StatusCode::OK, Json(view(id.map(|i| i.to_string()), None))).into_response();
            r.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            r
        }
    })
}

fn refused(e: StartError, conflict: &str) -> ApiError {
    match e {
        StartError::Invalid(why) => ApiError::invalid(why),
        StartError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "idempotency_key_reused", conflict),
        StartError::Store(e) => e.into(),
    }
}

/// A signed delivery to a workflow's webhook trigger. The signature is
/// checked over the raw body before it is read; a bad or missing one is a
/// 401 and starts nothing. The delivery id keys the run: a redelivery is a
/// 200 with the run it started.
#[utoipa::path(
    post, path = "/hooks/{name}", tag = "workflows",
    request_body(content = Object, description = "The provider's event, exactly as signed"),
    params(("name" = String, Path, description = "The workflow")),
    responses(
        (status = 202, description = "Started", body = RunView),
        (status = 200, description = "A redelivery: this delivery started a run already", body = RunView),
        (status = 401, description = "A bad or missing signature; nothing started", body = super::error::ErrorBody),
        (status = 404, body = super::error::ErrorBody),
        (status = 422, description = "The body is not JSON, or the trigger's arguments do not fit", body = super::error::ErrorBody),
        (status = 503, description = "The workflow is paused; send it again later", body = super::error::ErrorBody),
    )
)]
pub async fn hook(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let no_hook = || ApiError::not_found(format!("a webhook trigger for `{name}`"));
    let workflow = state.workflows.get(&name).ok_or_else(no_hook)?;
    let trigger =
        workflow.triggers.iter().find(|t| matches!(t.kind, TriggerKind::Webhook { .. })).ok_or_else(no_hook)?;
    let TriggerKind::Webhook { scheme, secret, when, correlate } = &trigger.kind else { return Err(no_hook()) };
    let key = state.workflows.secret(secret).ok_or_else(|| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_configured", "the trigger's secret is not configured")
    })?;
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let now_secs = state.store.now() / 1000;
    let delivery = hooks::verify(scheme, key.expose_secret().as_bytes(), &header, &body, now_secs).map_err(|why| {
        tracing::warn!(workflow = %name, error = %why, "a webhook delivery was refused");
        state.metrics.inc("steward_webhooks_refused_total", &[]);
        ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", why)
    })?;
    if crate::store::workflows::paused(state.store.reader()).await?.contains(&workflow.name) {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "paused",
            format!("{name} is paused; send it again later"),
        ));
    }
    let parsed: serde_json::Value = if body.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::invalid(format!("the body is not JSON: {e}")))?
    };
    let cause = Cause::Webhook { delivery: delivery.clone(), body: parsed };
    let woke = match correlate {
        Some(c) => wake_waiting(&state, &workflow.name, c, &cause).await?,
        None => 0,
    };
    let starts = match when {
        Some(w) => crate::workflows::template::holds(
            &crate::workflows::template::environment(),
            w,
            &serde_json::json!({"trigger": cause}),
        )
        .map_err(|e| ApiError::invalid(format!("the trigger's `when` cannot be read over this delivery: {e}")))?,
        None => true,
    };
    if !starts {
        // Not an event that starts a run (it may have woken runs waiting
        // for it): accepted, and nothing more to do.
        return Ok((StatusCode::OK, Json(serde_json::json!({"started": false, "woke": woke}))).into_response());
    }
    let start = Start {
        workflow: &workflow,
        trigger: &trigger.name,
        key: format!("hook:{}:{}:{delivery}", workflow.name, trigger.name),
        args: Default::default(),
        cause,
        actor: format!("webhook:{}", workflow.name),
        channel: "webhook".into(),
        period: None,
    };
    let conflict = "this delivery id started a run with another body";
    answer(&state, &workflow, &start, StatusCode::ACCEPTED, conflict).await
}

/// Hands a delivery to the runs waiting for it (`wait_for` this workflow,
/// with the key its `correlate` gives this delivery). A redelivery finds
/// them gone on already. Returns how many it woke.
async fn wake_waiting(state: &ApiState, workflow: &str, correlate: &str, cause: &Cause) -> Result<u64, ApiError> {
    let ctx = serde_json::json!({"trigger": cause});
    let key = match crate::workflows::template::render_text(&crate::workflows::template::environment(), correlate, &ctx)
    {
        Ok(serde_json::Value::String(k)) => k,
        Ok(serde_json::Value::Null) | Err(_) => return Ok(0),
        Ok(other) => other.to_string(),
    };
    let Cause::Webhook { delivery, body } = cause else { return Ok(0) };
    let event = serde_json::json!({"body": body, "delivery": delivery, "timed_out": false});
    let mut tx = state.store.begin().await?;
    let woke = crate::store::workflow_parts::deliver(&mut tx, workflow, &key, &event, state.store.now()).await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    if woke > 0 {
        tracing::info!(%workflow, woke, "a delivery woke runs waiting for it");
        state.workflows.progress().notify_one();
    }
    Ok(woke)
}
