//! `GET /api/v1/backlog` (the dashboard) and `GET /api/v1/backlog/verify` (the audit).

use super::dto::{BacklogView, VerifyReport};
use super::readable_unit;
use crate::store::queries;
use crate::{dashboard, AppState};
use axum::extract::State;
use axum::Json;
use chrono::Utc;
use clearline_platform::http::{ApiError, ApiQuery, AuthUser};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UnitQuery {
    /// One unit; users with a unit always see their own.
    pub unit: Option<String>,
}

/// Open cases by stage and status per unit, with received, finished, oldest open age and
/// overdue; counts come from the maintained counters.
#[utoipa::path(get, path = "/api/v1/backlog", params(UnitQuery),
    responses((status = 200, body = BacklogView), (status = 403, description = "another unit's backlog")))]
pub async fn get_backlog(
    State(app): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<UnitQuery>,
) -> Result<Json<BacklogView>, ApiError> {
    let unit = readable_unit(&user, query.unit)?;
    let txn = queries::snapshot(&app.db).await?;
    let view = dashboard::backlog(&txn, unit.as_deref(), Utc::now()).await?;
    txn.commit().await?;
    Ok(Json(view))
}

/// Recounts the cases per (unit, service type, status) and lists every maintained counter
/// that disagrees. `ok` is true when none does.
#[utoipa::path(get, path = "/api/v1/backlog/verify", params(UnitQuery),
    responses((status = 200, body = VerifyReport)))]
pub async fn verify(
    State(app): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<UnitQuery>,
) -> Result<Json<VerifyReport>, ApiError> {
    let unit = readable_unit(&user, query.unit)?;
    let txn = queries::snapshot(&app.db).await?;
    let report = dashboard::verify(&txn, unit.as_deref()).await?;
    txn.commit().await?;
    if !report.ok {
        tracing::warn!(
            drifted = report.drift.len(),
            "backlog counters drifted from the cases"
        );
    }
    Ok(Json(report))
}
