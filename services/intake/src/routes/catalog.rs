//! `GET /api/v1/catalog`: the public service catalog, as posted at the window.

use crate::AppState;
use axum::extract::State;
use axum::Json;
use clearline_domain::Catalog;

/// Every service type with its steps, required materials and promised time. No sign-in.
#[utoipa::path(get, path = "/api/v1/catalog", responses((status = 200, description = "the catalog")))]
pub async fn get_catalog(State(app): State<AppState>) -> Json<Catalog> {
    Json(app.catalog.as_ref().clone())
}
