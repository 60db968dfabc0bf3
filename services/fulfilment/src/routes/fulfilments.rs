//! `/api/v1/fulfilments`: the officers' work list, one task, and the steps start, fulfil
//! and close.

use super::dto::{ListQuery, NoFields, StartRequest, TaskView};
use crate::commands::{self, Action, CommandError};
use crate::store::{self, task::Column, TaskStatus, Tasks};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use chrono::Utc;
use clearline_domain::FulfilmentMode;
use clearline_platform::http::{ApiError, ApiJson, ApiPath, ApiQuery, AuthUser, Role};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};
use uuid::Uuid;

/// Who may look at the work list.
const READERS: [Role; 3] = [Role::Fulfilment, Role::Supervisor, Role::Admin];

/// The work list, what is due first at the top.
#[utoipa::path(get, path = "/api/v1/fulfilments", params(ListQuery),
    responses((status = 200, body = [TaskView]), (status = 403, description = "not fulfilment, supervisor or admin, or another unit"),
        (status = 422, description = "invalid_status or invalid_mode")))]
pub async fn list_fulfilments(
    State(app): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<TaskView>>, ApiError> {
    user.require_any(&READERS)?;
    let statuses: Vec<&str> = match query.status.as_deref() {
        None => TaskStatus::OPEN.iter().map(|s| s.as_str()).collect(),
        Some(s) => vec![TaskStatus::parse(s)
            .map(TaskStatus::as_str)
            .ok_or_else(|| {
                invalid_field(
                    "status",
                    "invalid_status",
                    "status must be awaiting, in_fulfilment, fulfilled, closed or cancelled",
                )
            })?],
    };
    let mut select = Tasks::find().filter(Column::Status.is_in(statuses));
    if let Some(mode) = query.mode.as_deref() {
        let mode = FulfilmentMode::parse(mode).ok_or_else(|| {
            invalid_field(
                "mode",
                "invalid_mode",
                "mode must be counter_pickup, mail or home_visit",
            )
        })?;
        select = select.filter(Column::Mode.eq(mode.as_str()));
    }
    if let Some(unit) = user.visible_unit(query.unit)? {
        select = select.filter(Column::Unit.eq(unit));
    }
    let tasks = select
        .order_by_asc(Column::DueAt)
        .order_by_asc(Column::CaseId)
        .limit(query.limit.unwrap_or(100).clamp(1, 500))
        .all(&app.db)
        .await?;
    let now = Utc::now();
    Ok(Json(tasks.iter().map(|t| TaskView::new(t, now)).collect()))
}

/// One case's fulfilment task.
#[utoipa::path(get, path = "/api/v1/fulfilments/{case_id}", params(("case_id" = Uuid, Path)),
    responses((status = 200, body = TaskView), (status = 404, description = "task_not_found")))]
pub async fn get_fulfilment(
    State(app): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<TaskView>, ApiError> {
    user.require_any(&READERS)?;
    let task = Tasks::find_by_id(id)
        .one(&app.db)
        .await?
        .ok_or_else(not_found)?;
    user.require_unit(&task.unit)?;
    Ok(Json(TaskView::new(&task, Utc::now())))
}

/// Start fulfilment: counter pickup, mail, or a home visit booked for `scheduled_for`.
#[utoipa::path(post, path = "/api/v1/fulfilments/{case_id}/start", params(("case_id" = Uuid, Path)), request_body = StartRequest,
    responses((status = 200, body = TaskView), (status = 403, description = "forbidden_role or another unit"),
        (status = 404, description = "task_not_found"), (status = 409, description = "invalid_transition: not awaiting fulfilment"),
        (status = 422, description = "invalid_mode, invalid_scheduled_for, scheduled_for_required; nothing written")))]
pub async fn start(
    State(app): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<StartRequest>,
) -> Result<Json<TaskView>, ApiError> {
    user.require_any(&[Role::Fulfilment])?;
    let action = Action::start(&request.mode, request.scheduled_for.as_deref())
        .map_err(|problem| invalid_field(problem.field(), problem.code(), &problem.to_string()))?;
    perform(&app, &user, id, action).await
}

/// The result is ready or delivered.
#[utoipa::path(post, path = "/api/v1/fulfilments/{case_id}/fulfil", params(("case_id" = Uuid, Path)), request_body = NoFields,
    responses((status = 200, body = TaskView), (status = 404, description = "task_not_found"),
        (status = 409, description = "invalid_transition: not in fulfilment")))]
pub async fn fulfil(
    State(app): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(_empty): ApiJson<NoFields>,
) -> Result<Json<TaskView>, ApiError> {
    user.require_any(&[Role::Fulfilment])?;
    perform(&app, &user, id, Action::Fulfil).await
}

/// The resident has it: the case is finished.
#[utoipa::path(post, path = "/api/v1/fulfilments/{case_id}/close", params(("case_id" = Uuid, Path)), request_body = NoFields,
    responses((status = 200, body = TaskView), (status = 404, description = "task_not_found"),
        (status = 409, description = "invalid_transition: not fulfilled")))]
pub async fn close(
    State(app): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(_empty): ApiJson<NoFields>,
) -> Result<Json<TaskView>, ApiError> {
    user.require_any(&[Role::Fulfilment])?;
    perform(&app, &user, id, Action::Close).await
}

/// Loads and locks the task, applies `action` and commits it with its event.
async fn perform(
    app: &AppState,
    user: &AuthUser,
    id: Uuid,
    action: Action,
) -> Result<Json<TaskView>, ApiError> {
    // Acting as a fulfilment officer, whatever other roles the user holds.
    let actor = user.actor();
    let now = Utc::now();
    let txn = app.db.begin().await?;
    let task = store::find_for_update(&txn, id)
        .await?
        .ok_or_else(not_found)?;
    user.require_unit(&task.unit)?;
    let task = commands::act(&txn, &app.outbox, task, action, &actor, now)
        .await
        .map_err(|error| match error {
            CommandError::NotAllowed(why) => {
                ApiError::conflict("invalid_transition", why.to_string())
            }
            CommandError::Db(e) => ApiError::internal(e),
        })?;
    txn.commit().await?;
    app.outbox.wake();
    metrics::counter!("fulfilment_steps_total", "step" => action.name()).increment(1);
    tracing::info!(case_id = %task.case_id, status = %task.status, "fulfilment step recorded");
    Ok(Json(TaskView::new(&task, now)))
}

fn not_found() -> ApiError {
    ApiError::not_found("task_not_found", "no fulfilment task for this case")
}

fn invalid_field(field: &str, code: &'static str, message: &str) -> ApiError {
    ApiError::unprocessable(code, message).with_field(field, code, message)
}
