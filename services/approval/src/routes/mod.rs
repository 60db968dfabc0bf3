//! Approval's HTTP API.

pub mod approvals;
pub mod dto;

use crate::AppState;
use axum::routing::{get, post};
use axum::Router;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "clearline approval",
        description = "The approvers' queue: approve, reject or return submitted cases."
    ),
    paths(approvals::list_approvals, approvals::get_approval, approvals::decide),
    components(schemas(dto::DecisionRequest, dto::TaskView))
)]
pub struct ApiDoc;

const QUEUE: &str = "/api/v1/approvals";
const TASK: &str = "/api/v1/approvals/{case_id}";
const DECISION: &str = "/api/v1/approvals/{case_id}/decision";

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(QUEUE, get(approvals::list_approvals))
        .route(TASK, get(approvals::get_approval))
        .route(DECISION, post(approvals::decide))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    #[test]
    fn every_route_is_documented() {
        let doc = super::ApiDoc::openapi();
        for path in [super::QUEUE, super::TASK, super::DECISION] {
            assert!(
                doc.paths.paths.contains_key(path),
                "{path} has no #[utoipa::path]"
            );
        }
    }
}
