//! The OpenAPI description of the API, generated from the handlers.

use utoipa::openapi::path::{Operation, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HttpMethod, ObjectBuilder, PathItem, Ref, RefOr, Required, Response, ResponseBuilder,
};
use utoipa::{Modify, OpenApi};

use super::{approvals, ask, error, intents, memory, ops, views, workflows};

#[derive(OpenApi)]
#[openapi(
    info(title = "steward", description = "The steward HTTP API. Every /v1 route needs `Authorization: Bearer <token>`."),
    paths(ops::healthz, ops::readyz, ops::metrics, intents::create, intents::list, intents::show, intents::cancel, intents::retry,
        approvals::list, approvals::decide, approvals::batch,
        memory::add, memory::search, memory::job, memory::sources, memory::stats, memory::reindex, memory::forget, ask::message, ask::answer, ask::costs, workflows::list, workflows::run, workflows::hook),
    components(schemas(
        views::CreateIntent, views::PlanBody, views::StepBody, views::IntentView, views::StepView,
        views::AuditView, views::IntentPage, views::ControlResult, approvals::DecisionBody, approvals::BatchBody, approvals::ApprovalView, approvals::ApprovalPage, approvals::BatchResult, approvals::BatchItem, memory::RecordBody, memory::AddBody, memory::Added, memory::Job, memory::Reindexing, memory::SourcesBody, memory::SearchBody, ask::MessageBody, ask::Costs, crate::store::ledger::Line, error::ErrorBody, error::ErrorDetail,
        workflows::WorkflowView, workflows::WorkflowPage, workflows::ParamView, workflows::RunBody, workflows::RunView
    )),
    modifiers(&BearerAuth, &Undecorated, &ErrorResponses)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// An error answer: the status's meaning, with the error body.
fn error_response(description: &str) -> RefOr<Response> {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
    RefOr::T(ResponseBuilder::new().description(description).content("application/json", content).build())
}

/// The errors any route can answer with, added to each operation where
/// they can happen (never over one a handler documents itself): 408 for
/// every route (the request timeout), 401 where a token is needed, 400
/// for an unreadable path or query, 404 for a path naming something, and
/// 413, 415 and 422 for a JSON body that is too large, not JSON, or not
/// the shape asked for.
struct ErrorResponses;

impl ErrorResponses {
    fn add(path: &str, op: &mut Operation) {
        let mut add = |code: &str, description: &str| {
            op.responses.responses.entry(code.to_owned()).or_insert_with(|| error_response(description));
        };
        add("408", "the request took longer than http.request_timeout_secs and was abandoned");
        if path.starts_with("/v1/") {
            add("401", "no bearer token, or the wrong one");
        }
        if path.contains('{') || op.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
            add("400", "the path or the query could not be read");
        }
        if path.contains('{') {
            add("404", "nothing by that name or id");
        }
        if op.request_body.is_some() {
            add("400", "the body is not well-formed JSON");
            add("413", "the body is larger than http.body_limit_bytes");
            add("415", "the body is not `Content-Type: application/json`");
            add("422", "the body is JSON of the wrong shape or with invalid values");
        }
    }
}

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let ops = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
                &mut item.head,
                &mut item.options,
                &mut item.trace,
            ];
            for op in ops.into_iter().flatten() {
                Self::add(path, op);
                // Handlers share names (`list` in three modules): an
                // operation id is its tag and its handler's name, unique.
                let tag = op.tags.as_ref().and_then(|t| t.first()).cloned();
                if let (Some(tag), Some(id)) = (tag, op.operation_id.as_mut()) {
                    if !id.starts_with(&format!("{tag}_")) {
                        *id = format!("{tag}_{id}");
                    }
                }
            }
        }
    }
}

/// Routes with no annotated handler: `GET /openapi.json` itself, and
/// `POST /telegram/webhook`, which the Telegram channel mounts beside the
/// API in webhook mode.
struct Undecorated;

impl Modify for Undecorated {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let describe = OperationBuilder::new()
            .tag("operations")
            .summary(Some("This description of the API (OpenAPI 3.1)"))
            .operation_id(Some("openapi"))
            .response("200", ResponseBuilder::new().description("the OpenAPI document"))
            .build();
        openapi.paths.paths.insert("/openapi.json".into(), PathItem::new(HttpMethod::Get, describe));
        let secret = ParameterBuilder::new()
            .name("X-Telegram-Bot-Api-Secret-Token")
            .parameter_in(ParameterIn::Header)
            .required(Required::True)
            .description(Some("telegram.webhook_secret, which Telegram echoes with every update"))
            .schema(Some(ObjectBuilder::new().schema_type(utoipa::openapi::schema::Type::String)))
            .build();
        let update =
            ContentBuilder::new().schema(Some(ObjectBuilder::new().description(Some("A Telegram Update")))).build();
        let op = OperationBuilder::new()
            .tag("telegram")
            .summary(Some("An update from Telegram (webhook mode only)"))
            .description(Some(
                "Mounted when `telegram.mode = \"webhook\"`. The update is kept before the 200 that tells Telegram it arrived; \
                 it is not authenticated by the API token but by the secret Telegram echoes.",
            ))
            .operation_id(Some("telegram_webhook"))
            .parameter(secret)
            .request_body(Some(
                RequestBodyBuilder::new().content("application/json", update).required(Some(Required::True)).build(),
            ))
            .response("200", ResponseBuilder::new().description("kept; Telegram will not send it again"))
            .response("401", ResponseBuilder::new().description("the secret token is missing or wrong"))
            .response("404", ResponseBuilder::new().description("the Telegram channel is not in webhook mode"))
            .response("503", ResponseBuilder::new().description("the update could not be kept; Telegram sends it again"))
            .build();
        openapi.paths.paths.insert("/telegram/webhook".into(), PathItem::new(HttpMethod::Post, op));
    }
}
