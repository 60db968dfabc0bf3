//! Intake's HTTP API.

pub mod cases;
pub mod catalog;
pub mod dto;

use crate::AppState;
use axum::routing::{get, post};
use axum::Router;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "clearline intake",
        description = "Registers residents' requests at the window."
    ),
    paths(
        cases::create_case,
        cases::get_case,
        cases::list_cases,
        cases::add_materials,
        cases::cancel_case,
        catalog::get_catalog
    ),
    components(schemas(
        dto::CreateCase,
        dto::ApplicantInput,
        dto::AddMaterials,
        dto::CancelCase,
        dto::CaseView,
        dto::MaterialView,
        dto::ApplicantView
    ))
)]
pub struct ApiDoc;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/api/v1/cases",
            post(cases::create_case).get(cases::list_cases),
        )
        .route("/api/v1/cases/{id}", get(cases::get_case))
        .route("/api/v1/cases/{id}/materials", post(cases::add_materials))
        .route("/api/v1/cases/{id}/cancel", post(cases::cancel_case))
        .route("/api/v1/catalog", get(catalog::get_catalog))
        .with_state(state)
}
