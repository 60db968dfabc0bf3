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

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/approvals", get(approvals::list_approvals))
        .route("/api/v1/approvals/{case_id}", get(approvals::get_approval))
        .route(
            "/api/v1/approvals/{case_id}/decision",
            post(approvals::decide),
        )
        .with_state(state)
}
