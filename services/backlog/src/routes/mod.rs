//! The backlog's HTTP API: read-only views of the read model.

pub mod backlog;
pub mod cases;
pub mod clearance;
pub mod dto;
pub mod received;
pub mod sla;
pub mod supervisor;

use crate::AppState;
use axum::routing::get;
use axum::Router;
use clearline_platform::http::{ApiError, AuthUser, Role};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "clearline backlog",
        description = "Every open case, its stage, age and owner; counts per unit; each case's timeline."
    ),
    paths(
        backlog::get_backlog,
        backlog::verify,
        cases::list_cases,
        cases::get_case,
        clearance::get_report,
        clearance::export_csv,
        clearance::set_reason,
        clearance::sign_off,
        clearance::rates,
        supervisor::get_flow,
        sla::units,
        sla::lookup
    ),
    components(schemas(
        dto::BacklogView,
        dto::UnitBacklog,
        dto::Figures,
        dto::OpenCounts,
        dto::CaseItem,
        dto::CasePage,
        dto::CaseDetail,
        dto::TimelineEntry,
        dto::VerifyReport,
        dto::Drift,
        dto::DueDrift,
        dto::FlowDrift,
        dto::LevelDrift,
        clearance::SetReason,
        crate::clearance::ClearanceReport,
        crate::clearance::DayFigures,
        crate::clearance::CarriedCase,
        crate::clearance::CarryReason,
        crate::clearance::ReasonCode,
        crate::clearance::SignOff,
        crate::clearance::RatesView,
        crate::clearance::UnitRates,
        crate::clearance::DayRate,
        crate::clearance::FigureSource,
        supervisor::FlowView,
        supervisor::HistoryPoint,
        supervisor::AgeBucket,
        sla::SlaView,
        sla::UnitSla,
        sla::SlaCounts,
        sla::CaseLookup
    ))
)]
pub struct ApiDoc;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/backlog", get(backlog::get_backlog))
        .route("/api/v1/backlog/verify", get(backlog::verify))
        .route("/api/v1/cases", get(cases::list_cases))
        .route("/api/v1/cases/lookup", get(sla::lookup))
        .route("/api/v1/cases/{id}", get(cases::get_case))
        .route("/api/v1/sla/units", get(sla::units))
        .route("/api/v1/supervisor/flow", get(supervisor::get_flow))
        .with_state(state)
}

/// The clearance endpoints, which also need the units' day clock.
pub fn clearance_router(state: AppState, clock: crate::clearance::DayClock) -> Router {
    clearance::router(clearance::ClearanceState {
        db: state.db,
        keys: state.keys,
        clock,
    })
}

/// The unit a reader may see: their own when they have one, else whatever they asked for
/// (`None` = every unit).
fn readable_unit(user: &AuthUser, asked: Option<String>) -> Result<Option<String>, ApiError> {
    // Every staff role may read the backlog.
    user.require_any(&Role::ALL)?;
    let asked = asked
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty());
    match (&user.unit, asked) {
        (Some(own), Some(asked)) if *own != asked => Err(wrong_unit()),
        (Some(own), _) => Ok(Some(own.clone())),
        (None, asked) => Ok(asked),
    }
}

fn wrong_unit() -> ApiError {
    ApiError::forbidden("wrong_unit", "you may read your own unit's backlog only")
}

/// Whether the reader may see a case of `unit`: the same rule as [`readable_unit`], so a
/// case in the list can always be opened.
fn require_readable(user: &AuthUser, unit: &str) -> Result<(), ApiError> {
    match &user.unit {
        Some(own) if own != unit => Err(wrong_unit()),
        _ => Ok(()),
    }
}
