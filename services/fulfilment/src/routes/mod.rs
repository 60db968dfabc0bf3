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

const LIST: &str = "/api/v1/fulfilments";
const TASK: &str = "/api/v1/fulfilments/{case_id}";
const START: &str = "/api/v1/fulfilments/{case_id}/start";
const FULFIL: &str = "/api/v1/fulfilments/{case_id}/fulfil";
const CLOSE: &str = "/api/v1/fulfilments/{case_id}/close";

pub fn router(state: AppState) -> Router {
    Router::new()
        .route(LIST, get(fulfilments::list_fulfilments))
        .route(TASK, get(fulfilments::get_fulfilment))
        .route(START, post(fulfilments::start))
        .route(FULFIL, post(fulfilments::fulfil))
        .route(CLOSE, post(fulfilments::close))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    #[test]
    fn every_route_is_documented() {
        let doc = super::ApiDoc::openapi();
        for path in [
            super::LIST,
            super::TASK,
            super::START,
            super::FULFIL,
            super::CLOSE,
        ] {
            assert!(
                doc.paths.paths.contains_key(path),
                "{path} has no #[utoipa::path]"
            );
        }
    }
}
