//! `/api/v1/approvals`: the queue, one task, and the decision on it.

use super::dto::{DecisionRequest, ListQuery, TaskView};
use crate::commands::{self, CommandError, DecisionInput, DecisionKind};
use crate::store::{self, task::Column, TaskStatus, Tasks};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use chrono::Utc;
use clearline_platform::http::{ApiError, ApiJson, ApiPath, ApiQuery, AuthUser, Role};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};
use uuid::Uuid;

/// Who may look at the queue.
const READERS: [Role; 3] = [Role::Approver, Role::Supervisor, Role::Admin];

/// The approvers' queue, what is due first at the top.
#[utoipa::path(get, path = "/api/v1/approvals", params(ListQuery),
    responses((status = 200, body = [TaskView]), (status = 403, description = "not an approver, supervisor or admin, or another unit"),
        (status = 422, description = "unknown status")))]
pub async fn list_approvals(
    State(app): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<TaskView>>, ApiError> {
    user.require_any(&READERS)?;
    let status = match query.status.as_deref() {
        None => TaskStatus::Pending,
        Some(s) => TaskStatus::parse(s).ok_or_else(|| {
            ApiError::unprocessable("invalid_status", "unknown status").with_field(
                "status",
                "invalid_status",
                "status must be pending, approved, rejected, returned or cancelled",
            )
        })?,
    };
    let now = Utc::now();
    let mut select = Tasks::find().filter(Column::Status.eq(status.as_str()));
    if let Some(unit) = user.visible_unit(query.unit)? {
        select = select.filter(Column::Unit.eq(unit));
    }
    if let Some(service_type) = query.service_type {
        select = select.filter(Column::ServiceType.eq(service_type));
    }
    select = match query.overdue {
        Some(true) => select.filter(Column::DueAt.lt(now)),
        Some(false) => select.filter(Column::DueAt.gte(now)),
        None => select,
    };
    let tasks = select
        .order_by_asc(Column::DueAt)
        .order_by_asc(Column::CaseId)
        .limit(query.limit.unwrap_or(100).clamp(1, 500))
        .all(&app.db)
        .await?;
    Ok(Json(tasks.iter().map(|t| TaskView::new(t, now)).collect()))
}

/// One case's approval task.
#[utoipa::path(get, path = "/api/v1/approvals/{case_id}", params(("case_id" = Uuid, Path)),
    responses((status = 200, body = TaskView), (status = 404, description = "task_not_found")))]
pub async fn get_approval(
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

/// Approve, reject (with a reason) or return for materials (listing them).
#[utoipa::path(post, path = "/api/v1/approvals/{case_id}/decision", params(("case_id" = Uuid, Path)), request_body = DecisionRequest,
    responses((status = 200, body = TaskView),
        (status = 403, description = "forbidden_role, wrong unit, or approver_is_receiving_clerk"),
        (status = 404, description = "task_not_found"),
        (status = 409, description = "not_pending: already decided or cancelled"),
        (status = 422, description = "invalid_decision, reason_required, materials_required, unknown_material; nothing written")))]
pub async fn decide(
    State(app): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(request): ApiJson<DecisionRequest>,
) -> Result<Json<TaskView>, ApiError> {
    user.require_any(&[Role::Approver])?;
    let kind = DecisionKind::parse(request.decision.trim()).ok_or_else(|| {
        ApiError::unprocessable("invalid_decision", "unknown decision").with_field(
            "decision",
            "invalid_decision",
            "decision must be approve, reject or return",
        )
    })?;
    let input = DecisionInput {
        kind,
        reason: request.reason,
        materials: request.materials,
    };
    // Acting as an approver, whatever other roles the user holds.
    let actor = user.actor();
    let now = Utc::now();
    let txn = app.db.begin().await?;
    let task = store::find_for_update(&txn, id)
        .await?
        .ok_or_else(not_found)?;
    user.require_unit(&task.unit)?;
    let service = app.catalog.get(&task.service_type);
    let task = commands::decide(&txn, &app.outbox, task, input, service, &actor, now)
        .await
        .map_err(command_error)?;
    txn.commit().await?;
    app.outbox.wake();
    metrics::counter!("approval_decisions_total", "decision" => kind.as_str()).increment(1);
    tracing::info!(case_id = %task.case_id, status = %task.status, "case decided");
    Ok(Json(TaskView::new(&task, now)))
}

fn not_found() -> ApiError {
    ApiError::not_found("task_not_found", "no approval task for this case")
}

fn command_error(error: CommandError) -> ApiError {
    match error {
        CommandError::ReceivingClerk => ApiError::forbidden(
            "approver_is_receiving_clerk",
            "the clerk who received a case may not approve it",
        ),
        CommandError::NotPending(_) => ApiError::conflict(
            "not_pending",
            "only a pending task can be decided; this one is decided or cancelled",
        ),
        CommandError::Invalid(problem) => {
            let message = problem.to_string();
            ApiError::unprocessable(problem.code(), &message).with_field(
                problem.field(),
                problem.code(),
                &message,
            )
        }
        CommandError::Db(e) => ApiError::internal(e),
    }
}
