//! `/api/v1/cases`: register, read, add materials, cancel.

use super::dto::{AddMaterials, CancelCase, CaseView, CreateCase};
use crate::commands::{self, CommandError, NewCase};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{Duration, Utc};
use clearline_domain::{Channel, Phone, ResidentId};
use clearline_platform::http::{ApiError, ApiJson, AuthUser, Role};
use clearline_platform::idempotency::IdempotencyKey;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};
use serde::Deserialize;
use uuid::Uuid;

/// Register a resident's request.
#[utoipa::path(post, path = "/api/v1/cases", request_body = CreateCase,
    params(("Idempotency-Key" = Option<String>, Header, description = "a retry with the same key returns the first answer")),
    responses((status = 201, body = CaseView), (status = 422, description = "invalid input; nothing written")))]
pub async fn create_case(
    State(app): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    ApiJson(request): ApiJson<CreateCase>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    user.require_any(&[Role::Clerk])?;
    let key = IdempotencyKey::from_headers(&headers, &user.id, &request)?;
    if let Some(key) = &key {
        if let Some(stored) = key.find(&app.db).await? {
            return Ok((stored.status, Json(stored.body)));
        }
    }
    let new = validate(&app, &user, request)?;
    let txn = app.db.begin().await?;
    let case = commands::register(
        &txn,
        &app.outbox,
        new,
        &user.actor(),
        &app.calendar,
        Utc::now(),
    )
    .await
    .map_err(command_error)?;
    let view =
        serde_json::to_value(CaseView::new(&case, &app.catalog)).map_err(ApiError::internal)?;
    if let Some(key) = &key {
        if key
            .remember(&txn, StatusCode::CREATED, &view)
            .await
            .is_err()
        {
            // Another request with the same key won the race; answer as it did.
            txn.rollback().await?;
            return match key.find(&app.db).await? {
                Some(stored) => Ok((stored.status, Json(stored.body))),
                None => Err(ApiError::conflict(
                    "idempotency_conflict",
                    "a request with this key is in progress; retry",
                )),
            };
        }
    }
    txn.commit().await?;
    app.outbox.wake();
    tracing::info!(case_id = %case.id, status = %case.status, "case registered");
    Ok((StatusCode::CREATED, Json(view)))
}

/// Turns the request into a [`NewCase`], collecting every problem at once so the clerk can
/// fix them in one go.
fn validate<'a>(
    app: &'a AppState,
    user: &AuthUser,
    request: CreateCase,
) -> Result<NewCase<'a>, ApiError> {
    let mut problems: Vec<(&str, &str, String)> = Vec::new();
    let unit = match (&request.unit, &user.unit) {
        (Some(asked), Some(own)) if asked != own => {
            return Err(ApiError::forbidden(
                "wrong_unit",
                "clerks register cases for their own unit only",
            ))
        }
        (Some(unit), _) | (None, Some(unit)) => unit.trim().to_string(),
        (None, None) => String::new(),
    };
    if unit.is_empty() {
        problems.push(("unit", "missing_field", "unit is required".into()));
    }
    let window = request.window.trim().to_string();
    if window.is_empty() {
        problems.push(("window", "missing_field", "window is required".into()));
    }
    let channel = match request.channel.as_deref() {
        None => Some(Channel::Window),
        Some(c) => Channel::parse(c).or_else(|| {
            problems.push((
                "channel",
                "invalid_channel",
                "channel must be window, phone_appointment, home_visit, batch or online".into(),
            ));
            None
        }),
    };
    let name = request.applicant.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 64 {
        problems.push((
            "applicant.name",
            "invalid_name",
            "the applicant's name must be 1 to 64 characters".into(),
        ));
    }
    let id = ResidentId::parse(&request.applicant.id_number)
        .map_err(|e| problems.push(("applicant.id_number", e.code(), e.to_string())))
        .ok();
    let phone = Phone::parse(&request.applicant.phone)
        .map_err(|e| problems.push(("applicant.phone", e.code(), e.to_string())))
        .ok();
    let service = app.catalog.get(&request.service_type);
    let missing = match service {
        None => {
            problems.push((
                "service_type",
                "unknown_service_type",
                "no such service type in the catalog".into(),
            ));
            None
        }
        Some(service) => service
            .missing_materials(&request.materials)
            .map_err(|e| problems.push(("materials", "unknown_material", e.to_string())))
            .ok(),
    };
    match (problems.is_empty(), service, channel, id, phone, missing) {
        (
            true,
            Some(service),
            Some(channel),
            Some(applicant_id),
            Some(applicant_phone),
            Some(missing),
        ) => Ok(NewCase {
            service,
            unit,
            window,
            channel,
            applicant_name: name,
            applicant_id,
            applicant_phone,
            provided: dedup(request.materials),
            missing,
        }),
        _ => Err(invalid(problems)),
    }
}

/// A 422 whose code is the first problem found; `errors` lists them all.
fn invalid(problems: Vec<(&str, &str, String)>) -> ApiError {
    let code = problems.first().map_or("validation_failed", |p| p.1);
    let code: &'static str = match code {
        "invalid_id_number" => "invalid_id_number",
        "invalid_id_check_digit" => "invalid_id_check_digit",
        "invalid_phone" => "invalid_phone",
        "unknown_service_type" => "unknown_service_type",
        "unknown_material" => "unknown_material",
        "missing_field" => "missing_field",
        "invalid_channel" => "invalid_channel",
        "invalid_name" => "invalid_name",
        _ => "validation_failed",
    };
    let mut error =
        ApiError::unprocessable(code, "the request has invalid fields; nothing was written");
    for (field, code, message) in &problems {
        error = error.with_field(field, code, message);
    }
    error
}

fn dedup(mut codes: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    codes.retain(|c| seen.insert(c.clone()));
    codes
}

async fn load(app: &AppState, user: &AuthUser, id: Uuid) -> Result<crate::store::Case, ApiError> {
    let case = commands::find(&app.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("case_not_found", "no such case"))?;
    user.require_unit(&case.unit)?;
    Ok(case)
}

/// One case, with the resident's data masked.
#[utoipa::path(get, path = "/api/v1/cases/{id}", responses((status = 200, body = CaseView), (status = 404)))]
pub async fn get_case(
    State(app): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<Json<CaseView>, ApiError> {
    let case = load(&app, &user, id).await?;
    Ok(Json(CaseView::new(&case, &app.catalog)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    pub window: Option<String>,
    /// Only cases received in the last N hours (default 24).
    pub hours: Option<i64>,
    pub limit: Option<u64>,
}

/// The unit's (or one window's) recent cases, newest first: the clerk's "today".
#[utoipa::path(get, path = "/api/v1/cases", params(ListQuery), responses((status = 200, body = [CaseView])))]
pub async fn list_cases(
    State(app): State<AppState>,
    user: AuthUser,
    Query(query): Query<ListQuery>,
) -> Result<Json<Vec<CaseView>>, ApiError> {
    use crate::store::case::Column;
    let since = Utc::now() - Duration::hours(query.hours.unwrap_or(24).clamp(1, 24 * 31));
    let mut select = crate::store::Cases::find().filter(Column::ReceivedAt.gte(since));
    if let Some(unit) = &user.unit {
        select = select.filter(Column::Unit.eq(unit.clone()));
    }
    if let Some(window) = &query.window {
        select = select.filter(Column::ServiceWindow.eq(window.clone()));
    }
    let cases = select
        .order_by_desc(Column::ReceivedAt)
        .limit(query.limit.unwrap_or(100).min(500))
        .all(&app.db)
        .await?;
    Ok(Json(
        cases
            .iter()
            .map(|c| CaseView::new(c, &app.catalog))
            .collect(),
    ))
}

/// Record materials the resident brought; submits the case when nothing is missing.
#[utoipa::path(post, path = "/api/v1/cases/{id}/materials", request_body = AddMaterials,
    responses((status = 200, body = CaseView), (status = 409, description = "the case is not waiting for materials")))]
pub async fn add_materials(
    State(app): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
    ApiJson(request): ApiJson<AddMaterials>,
) -> Result<Json<CaseView>, ApiError> {
    user.require_any(&[Role::Clerk])?;
    let txn = app.db.begin().await?;
    let case = load_for_update(&txn, &user, id).await?;
    let service = app.catalog.get(&case.service_type).ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!("case's service type left the catalog"))
    })?;
    if request.materials.is_empty() {
        return Err(ApiError::unprocessable(
            "missing_field",
            "materials must list at least one code",
        )
        .with_field("materials", "missing_field", "at least one material code"));
    }
    service
        .missing_materials(&request.materials)
        .map_err(|e| invalid(vec![("materials", "unknown_material", e.to_string())]))?;
    let case = commands::add_materials(
        &txn,
        &app.outbox,
        case,
        service,
        &request.materials,
        &user.actor(),
        Utc::now(),
    )
    .await
    .map_err(command_error)?;
    txn.commit().await?;
    app.outbox.wake();
    Ok(Json(CaseView::new(&case, &app.catalog)))
}

/// Withdraw the case (the resident asked); allowed from any open status.
#[utoipa::path(post, path = "/api/v1/cases/{id}/cancel", request_body = CancelCase,
    responses((status = 200, body = CaseView), (status = 409, description = "the case is already finished")))]
pub async fn cancel_case(
    State(app): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
    ApiJson(request): ApiJson<CancelCase>,
) -> Result<Json<CaseView>, ApiError> {
    user.require_any(&[Role::Clerk, Role::Supervisor])?;
    let reason = request.reason.trim().to_string();
    if reason.is_empty() {
        return Err(
            ApiError::unprocessable("missing_field", "a reason is required").with_field(
                "reason",
                "missing_field",
                "why the resident withdrew",
            ),
        );
    }
    let txn = app.db.begin().await?;
    let case = load_for_update(&txn, &user, id).await?;
    let case = commands::cancel(&txn, &app.outbox, case, reason, &user.actor(), Utc::now())
        .await
        .map_err(command_error)?;
    txn.commit().await?;
    app.outbox.wake();
    Ok(Json(CaseView::new(&case, &app.catalog)))
}

/// Reads the case inside the transaction to change it (row-locked on PostgreSQL).
async fn load_for_update(
    txn: &sea_orm::DatabaseTransaction,
    user: &AuthUser,
    id: Uuid,
) -> Result<crate::store::Case, ApiError> {
    let case = commands::find_for_update(txn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("case_not_found", "no such case"))?;
    user.require_unit(&case.unit)?;
    Ok(case)
}

fn command_error(error: CommandError) -> ApiError {
    match error {
        CommandError::NotAllowed(why) => ApiError::conflict("invalid_transition", why.to_string()),
        CommandError::Db(e) => ApiError::internal(e),
    }
}
