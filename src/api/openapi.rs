//! The OpenAPI description of the API, generated from the handlers.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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
        views::AuditView, views::IntentPage, views::ControlResult, approvals::DecisionBody, approvals::BatchBody, approvals::ApprovalView, approvals::BatchResult, approvals::BatchItem, memory::RecordBody, memory::AddBody, memory::Added, memory::Job, memory::Reindexing, memory::SourcesBody, memory::SearchBody, ask::MessageBody, ask::Costs, crate::store::ledger::Line, error::ErrorBody, error::ErrorDetail,
        workflows::WorkflowView, workflows::ParamView, workflows::RunBody, workflows::RunView
    )),
    modifiers(&BearerAuth)
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
