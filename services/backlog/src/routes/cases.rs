//! `GET /api/v1/cases` (filtered, paged) and `GET /api/v1/cases/{id}` (with its timeline).

use super::dto::{CaseDetail, CaseItem, CasePage, TimelineEntry};
use super::received::ReceivedRange;
use super::{readable_unit, require_readable};
use crate::store::queries::{self, CaseFilter};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use chrono::Utc;
use clearline_domain::{Stage, Status, WaitReason};
use clearline_platform::http::{ApiError, ApiPath, ApiQuery, AuthUser};
use serde::Deserialize;
use uuid::Uuid;

const DEFAULT_LIMIT: u64 = 50;
const MAX_LIMIT: u64 = 500;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// Users with a unit always see their own.
    pub unit: Option<String>,
    /// intake, approval, fulfilment or done.
    pub stage: Option<String>,
    /// A status name, e.g. pending_approval.
    pub status: Option<String>,
    pub service_type: Option<String>,
    /// true: only open cases past their due time; false: only the others.
    pub overdue: Option<bool>,
    pub case_number: Option<String>,
    /// What the case waits on, e.g. resident_materials or needs_attention.
    pub wait_reason: Option<String>,
    /// warning or breached.
    pub sla_level: Option<String>,
    /// Received on or after: a date (YYYY-MM-DD, the units' local day) or an RFC 3339 time.
    pub received_from: Option<String>,
    /// Received on or before this local day (the whole day), or before an RFC 3339 time.
    pub received_to: Option<String>,
    /// At most 500; 50 by default.
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

/// Cases matching the filters, soonest due first, then oldest received.
#[utoipa::path(get, path = "/api/v1/cases", params(ListQuery),
    responses((status = 200, body = CasePage),
        (status = 400, description = "invalid_stage, invalid_status, invalid_wait_reason, invalid_sla_level, invalid_date or invalid_date_range")))]
pub async fn list_cases(
    State(app): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<CasePage>, ApiError> {
    let unit = readable_unit(&user, query.unit)?;
    let stage = match query.stage.as_deref() {
        None => None,
        Some(s) => Some(Stage::parse(s).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_stage",
                "stage must be intake, approval, fulfilment or done",
            )
        })?),
    };
    let status = match query.status.as_deref() {
        None => None,
        Some(s) => Some(
            Status::parse(s)
                .ok_or_else(|| ApiError::bad_request("invalid_status", "no such status"))?,
        ),
    };
    let wait_reason =
        match query.wait_reason.as_deref() {
            None => None,
            Some(r) => Some(WaitReason::parse(r).ok_or_else(|| {
                ApiError::bad_request("invalid_wait_reason", "no such wait reason")
            })?),
        };
    let sla_level = match query.sla_level.as_deref() {
        None => None,
        Some(level @ ("warning" | "breached")) => Some(level.to_string()),
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_sla_level",
                "sla_level must be warning or breached",
            ))
        }
    };
    let received = ReceivedRange::parse(
        query.received_from.as_deref(),
        query.received_to.as_deref(),
        app.policy.calendar.zone(),
    )?;
    let filter = CaseFilter {
        unit,
        stage,
        status,
        service_type: query.service_type,
        overdue: query.overdue,
        case_number: query.case_number,
        wait_reason,
        sla_level,
        received_from: received.from,
        received_before: received.before,
    };
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let offset = query.offset.unwrap_or(0);
    let now = Utc::now();
    let txn = queries::snapshot(&app.db).await?;
    let (rows, total) = queries::list_cases(&txn, &filter, now, limit, offset).await?;
    txn.commit().await?;
    Ok(Json(CasePage {
        items: rows.iter().map(|row| CaseItem::new(row, now)).collect(),
        total: total.n,
        total_capped: total.capped,
        limit,
        offset,
    }))
}

/// One case as the backlog sees it, and its timeline in the order every service agrees on.
#[utoipa::path(get, path = "/api/v1/cases/{id}",
    responses((status = 200, body = CaseDetail), (status = 404, description = "case_not_found")))]
pub async fn get_case(
    State(app): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<CaseDetail>, ApiError> {
    readable_unit(&user, None)?;
    let row = queries::find_case(&app.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("case_not_found", "no such case"))?;
    require_readable(&user, &row.unit)?;
    let timeline = queries::timeline(&app.db, id).await?;
    Ok(Json(CaseDetail {
        case: CaseItem::new(&row, Utc::now()),
        finished_at: row.finished_at,
        event_count: row.event_count,
        timeline: timeline.into_iter().map(TimelineEntry::from).collect(),
    }))
}
