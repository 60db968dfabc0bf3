//! Fulfilment's HTTP API.

pub mod dto;
pub mod fulfilments;

use crate::AppState;
use axum::routing::{get, post};
use axum::Router;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "clearline fulfilment",
        description = "Carries approved cases out: start, fulfil, close."
    ),
    paths(
        fulfilments::list_fulfilments,
        fulfilments::get_fulfilment,
        fulfilments::start,
        fulfilments::fulfil,
        fulfilments::close
    ),
    components(schemas(dto::StartRequest, dto::NoFields, dto::TaskView))
)]
pub struct ApiDoc;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/fulfilments", get(fulfilments::list_fulfilments))
        .route(
            "/api/v1/fulfilments/{case_id}",
            get(fulfilments::get_fulfilment),
        )
        .route(
            "/api/v1/fulfilments/{case_id}/start",
            post(fulfilments::start),
        )
        .route(
            "/api/v1/fulfilments/{case_id}/fulfil",
            post(fulfilments::fulfil),
        )
        .route(
            "/api/v1/fulfilments/{case_id}/close",
            post(fulfilments::close),
        )
        .with_state(state)
}
