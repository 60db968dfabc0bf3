//! `/api/v1/clearance/...`: the daily clearance report, its reasons, its sign-off, its
//! CSV export and the clearance rates. Every staff role of a unit reads; supervisors and
//! admins set reasons and sign off. A refused request writes nothing.

use super::readable_unit;
use crate::clearance::reason::ReasonError;
use crate::clearance::sign::{self, Staff};
use crate::clearance::{
    csv, day, reports, store, CarryReason, ClearanceError, ClearanceReport, DayClock, RatesView,
};
use axum::extract::{FromRef, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{NaiveDate, Utc};
use clearline_platform::http::{ApiError, ApiJson, ApiPath, ApiQuery, AuthUser, JwtKeys, Role};
use sea_orm::DatabaseConnection;
use serde::Deserialize;
use std::sync::Arc;
use utoipa::ToSchema;
use uuid::Uuid;

/// Who may set reasons and sign a day off.
const SIGNERS: [Role; 2] = [Role::Supervisor, Role::Admin];
const DEFAULT_DAYS: u32 = 30;
const MAX_DAYS: u32 = 90;

#[derive(Clone)]
pub struct ClearanceState {
    pub db: DatabaseConnection,
    pub keys: Arc<JwtKeys>,
    pub clock: DayClock,
}

impl FromRef<ClearanceState> for Arc<JwtKeys> {
    fn from_ref(state: &ClearanceState) -> Self {
        state.keys.clone()
    }
}

pub fn router(state: ClearanceState) -> Router {
    let day = "/api/v1/clearance/{unit}/{day}";
    Router::new()
        .route("/api/v1/clearance/rates", get(rates))
        .route(day, get(get_report))
        .route(&format!("{day}/report.csv"), get(export_csv))
        .route(&format!("{day}/cases/{{case_id}}/reason"), put(set_reason))
        .route(&format!("{day}/sign-off"), post(sign_off))
        .with_state(state)
}

/// A unit's clearance report for one day (`YYYY-MM-DD`, the unit's local date): frozen
/// as signed once signed off, else as the read model stands now.
#[utoipa::path(get, path = "/api/v1/clearance/{unit}/{day}",
    params(("unit" = String, Path), ("day" = String, Path, description = "YYYY-MM-DD")),
    responses((status = 200, body = ClearanceReport),
        (status = 400, description = "invalid_day"),
        (status = 403, description = "wrong_unit"),
        (status = 422, description = "day_not_started")))]
pub async fn get_report(
    State(app): State<ClearanceState>,
    user: AuthUser,
    ApiPath((unit, day)): ApiPath<(String, String)>,
) -> Result<Json<ClearanceReport>, ApiError> {
    let (unit, date) = readable_day(&user, unit, &day)?;
    let report = reports::load(&app.db, &app.clock, &unit, date, Utc::now())
        .await
        .map_err(to_api)?;
    Ok(Json(report))
}

/// The report's carried-over cases as CSV: unit, day, case number, service type, status,
/// received at (local), reason code and text.
#[utoipa::path(get, path = "/api/v1/clearance/{unit}/{day}/report.csv",
    params(("unit" = String, Path), ("day" = String, Path, description = "YYYY-MM-DD")),
    responses((status = 200, content_type = "text/csv", body = String),
        (status = 400, description = "invalid_day"),
        (status = 403, description = "wrong_unit")))]
pub async fn export_csv(
    State(app): State<ClearanceState>,
    user: AuthUser,
    ApiPath((unit, day)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let (unit, date) = readable_day(&user, unit, &day)?;
    let report = reports::load(&app.db, &app.clock, &unit, date, Utc::now())
        .await
        .map_err(to_api)?;
    // The unit comes from the path: only safe characters go into the header.
    let name: String = unit
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    let disposition = format!("attachment; filename=\"clearance-{name}-{date}.csv\"");
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            ),
        ],
        csv::export(&report),
    )
        .into_response())
}

/// Why a case is carried over.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SetReason {
    /// materials, another_agency, production, appointment or other.
    pub code: String,
    /// Required for `other`; at most 500 characters; no personal data.
    pub text: Option<String>,
}

/// Records why a case was carried over (replacing an earlier reason). Supervisors and
/// admins only.
#[utoipa::path(put, path = "/api/v1/clearance/{unit}/{day}/cases/{case_id}/reason",
    params(("unit" = String, Path), ("day" = String, Path, description = "YYYY-MM-DD"), ("case_id" = Uuid, Path)),
    request_body = SetReason,
    responses((status = 200, body = CarryReason),
        (status = 400, description = "invalid_day"),
        (status = 403, description = "forbidden_role or wrong_unit"),
        (status = 409, description = "not_carried_over or already_signed_off"),
        (status = 422, description = "unknown_reason_code, reason_text_required, reason_text_too_long")))]
pub async fn set_reason(
    State(app): State<ClearanceState>,
    user: AuthUser,
    ApiPath((unit, day, case_id)): ApiPath<(String, String, Uuid)>,
    ApiJson(body): ApiJson<SetReason>,
) -> Result<Json<CarryReason>, ApiError> {
    let (unit, date) = signing_day(&user, unit, &day)?;
    let by = staff(&user);
    let reason = sign::set_reason(
        &app.db,
        &app.clock,
        &unit,
        date,
        case_id,
        &body.code,
        body.text.as_deref(),
        by,
        Utc::now(),
    )
    .await
    .map_err(to_api)?;
    Ok(Json(reason))
}

/// Signs the unit's day off once it is over and every carried-over case has a reason;
/// records who and when and freezes the report. Supervisors and admins only.
#[utoipa::path(post, path = "/api/v1/clearance/{unit}/{day}/sign-off",
    params(("unit" = String, Path), ("day" = String, Path, description = "YYYY-MM-DD")),
    responses((status = 200, body = ClearanceReport),
        (status = 400, description = "invalid_day"),
        (status = 403, description = "forbidden_role or wrong_unit"),
        (status = 409, description = "reasons_missing (each case listed in errors), already_signed_off, day_not_over")))]
pub async fn sign_off(
    State(app): State<ClearanceState>,
    user: AuthUser,
    ApiPath((unit, day)): ApiPath<(String, String)>,
) -> Result<Json<ClearanceReport>, ApiError> {
    let (unit, date) = signing_day(&user, unit, &day)?;
    let report = sign::sign_off(&app.db, &app.clock, &unit, date, staff(&user), Utc::now())
        .await
        .map_err(to_api)?;
    Ok(Json(report))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct RatesQuery {
    /// One unit; users with a unit always see their own.
    pub unit: Option<String>,
    /// The last day of the series (YYYY-MM-DD); the running day by default.
    pub until: Option<String>,
    /// How many days, 1 to 90; 30 by default.
    pub days: Option<u32>,
}

/// Per unit and day: received, finished, carried over, the clearance rate
/// `finished / (open_at_start + received)` and the sign-off, over the last 30 days.
#[utoipa::path(get, path = "/api/v1/clearance/rates", params(RatesQuery),
    responses((status = 200, body = RatesView),
        (status = 400, description = "invalid_day or invalid_days"),
        (status = 403, description = "wrong_unit")))]
pub async fn rates(
    State(app): State<ClearanceState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<RatesQuery>,
) -> Result<Json<RatesView>, ApiError> {
    let unit = readable_unit(&user, query.unit)?;
    let now = Utc::now();
    let until = match query.until.as_deref() {
        Some(text) => parse_day(text)?,
        None => app.clock.day_of(now).date,
    };
    let days = query.days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ApiError::bad_request(
            "invalid_days",
            format!("days must be between 1 and {MAX_DAYS}"),
        ));
    }
    let units = match unit {
        Some(unit) => vec![unit],
        None => store::units(&app.db).await?,
    };
    let view = reports::rates(&app.db, &app.clock, &units, until, days, now).await?;
    Ok(Json(view))
}

/// A unit and day the user may read.
fn readable_day(user: &AuthUser, unit: String, day: &str) -> Result<(String, NaiveDate), ApiError> {
    let unit = readable_unit(user, Some(unit))?.unwrap_or_default();
    Ok((unit, parse_day(day)?))
}

/// A unit and day the user may set reasons for and sign off.
fn signing_day(user: &AuthUser, unit: String, day: &str) -> Result<(String, NaiveDate), ApiError> {
    user.require_any(&SIGNERS)?;
    user.require_unit(&unit)?;
    Ok((unit, parse_day(day)?))
}

fn parse_day(text: &str) -> Result<NaiveDate, ApiError> {
    day::parse_date(text).ok_or_else(|| {
        ApiError::bad_request("invalid_day", "the day must be a date written YYYY-MM-DD")
    })
}

fn staff(user: &AuthUser) -> Staff<'_> {
    // The role the signature counts in: the strongest the user holds.
    let role = if user.has_role(Role::Supervisor) {
        Role::Supervisor
    } else {
        Role::Admin
    };
    Staff {
        id: &user.id,
        role: role.as_str(),
    }
}

fn to_api(error: ClearanceError) -> ApiError {
    match error {
        ClearanceError::DayInFuture => {
            ApiError::unprocessable("day_not_started", "that day has not started yet")
        }
        ClearanceError::DayNotOver => {
            ApiError::conflict("day_not_over", "the day can be signed off once it is over")
        }
        ClearanceError::AlreadySignedOff => {
            ApiError::conflict("already_signed_off", "this day is already signed off")
        }
        ClearanceError::ReasonsMissing(cases) => {
            let detail = format!(
                "{} carried-over case(s) have no reason yet; give each one before signing off",
                cases.len()
            );
            cases.iter().fold(
                ApiError::conflict("reasons_missing", detail),
                |e, number| {
                    e.with_field(
                        number,
                        "reason_missing",
                        "this carried-over case needs a reason",
                    )
                },
            )
        }
        ClearanceError::NotCarriedOver => ApiError::conflict(
            "not_carried_over",
            "that case of this unit was not open at the end of that day",
        ),
        ClearanceError::Reason(ReasonError::UnknownCode) => ApiError::unprocessable(
            "unknown_reason_code",
            "the code must be materials, another_agency, production, appointment or other",
        )
        .with_field("code", "unknown_reason_code", "not a reason code"),
        ClearanceError::Reason(ReasonError::TextRequired) => ApiError::unprocessable(
            "reason_text_required",
            "the reason `other` needs a text saying what",
        )
        .with_field("text", "required", "say why the case is still open"),
        ClearanceError::Reason(ReasonError::TextTooLong) => ApiError::unprocessable(
            "reason_text_too_long",
            "the reason's text is longer than 500 characters",
        )
        .with_field("text", "too_long", "at most 500 characters"),
        ClearanceError::Db(error) => ApiError::internal(error),
    }
}
