//! `GET /api/v1/supervisor/flow`: what the supervisor's dashboard shows beside the counters:
//! cases received and finished since the start of the local day, the open count at the end
//! of each of the last days, and how old the open cases are.
//!
//! The local day is the caller's to define (`today_start`, e.g. local midnight in
//! Asia/Shanghai, as UTC): the backlog keeps UTC and knows no zones. Days before today are
//! taken as 24 hours each, which is exact for zones without daylight saving (China's).
//!
//! Everything comes from one pass over the unit's case rows (one statement of conditional
//! sums), so the figures are consistent with each other. Read-only.

use super::readable_unit;
use crate::store::case::{self, Entity as BacklogCases};
use crate::store::queries::OPEN_STAGES;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use clearline_platform::http::{ApiError, ApiQuery, AuthUser, Role};
use sea_orm::sea_query::{Alias, Cond, Expr, Func, Query, SimpleExpr};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

const DEFAULT_DAYS: i64 = 14;
const MAX_DAYS: i64 = 62;
/// Lower bounds (days) of the age buckets; the last is open-ended.
const AGE_BOUNDS: [i64; 6] = [0, 1, 3, 7, 14, 30];

#[derive(Debug, Deserialize, IntoParams)]
pub struct FlowQuery {
    /// Users with a unit always see their own.
    pub unit: Option<String>,
    /// The start of the caller's local day, RFC 3339.
    pub today_start: DateTime<Utc>,
    /// How many days of history, today included (default 14, at most 62).
    pub days: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HistoryPoint {
    /// The end of the day (now, for today).
    pub at: DateTime<Utc>,
    /// Cases received before `at` and not finished by then.
    pub open: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AgeBucket {
    /// Inclusive lower bound of the age, in days.
    pub from_days: i64,
    /// Exclusive upper bound; `None` for the oldest bucket.
    pub to_days: Option<i64>,
    /// Open cases of this age.
    pub open: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FlowView {
    pub generated_at: DateTime<Utc>,
    pub received_today: i64,
    pub finished_today: i64,
    /// Oldest day first.
    pub history: Vec<HistoryPoint>,
    pub ages: Vec<AgeBucket>,
}

/// Today's flow, the open count per day and the age of open cases.
#[utoipa::path(get, path = "/api/v1/supervisor/flow", params(FlowQuery),
    responses((status = 200, body = FlowView), (status = 403, description = "not a supervisor or admin, or another unit")))]
pub async fn get_flow(
    State(app): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<FlowQuery>,
) -> Result<Json<FlowView>, ApiError> {
    user.require_any(&[Role::Supervisor, Role::Admin])?;
    let unit = readable_unit(&user, query.unit)?;
    let days = query.days.unwrap_or(DEFAULT_DAYS).clamp(1, MAX_DAYS);
    let view = flow(
        &app.db,
        unit.as_deref(),
        query.today_start,
        days,
        Utc::now(),
    )
    .await?;
    Ok(Json(view))
}

fn one_if(condition: Cond) -> SimpleExpr {
    // Literal 1/0, not bound parameters: PostgreSQL cannot type a parameter inside SUM.
    Func::sum(Expr::case(condition, Expr::cust("1")).finally(Expr::cust("0"))).into()
}

fn open_at(at: DateTime<Utc>) -> Cond {
    use case::Column;
    Cond::all()
        .add(Expr::col(Column::Status).is_not_null())
        .add(Expr::col(Column::ReceivedAt).lt(at))
        .add(
            Cond::any()
                .add(Expr::col(Column::FinishedAt).is_null())
                .add(Expr::col(Column::FinishedAt).gte(at)),
        )
}

pub async fn flow<C: ConnectionTrait>(
    db: &C,
    unit: Option<&str>,
    today_start: DateTime<Utc>,
    days: i64,
    now: DateTime<Utc>,
) -> Result<FlowView, DbErr> {
    use case::Column;
    let mut select = Query::select();
    select.from(BacklogCases);
    select.expr_as(
        one_if(Cond::all().add(Expr::col(Column::ReceivedAt).gte(today_start))),
        Alias::new("received_today"),
    );
    select.expr_as(
        one_if(Cond::all().add(Expr::col(Column::FinishedAt).gte(today_start))),
        Alias::new("finished_today"),
    );
    let history_at: Vec<DateTime<Utc>> = (0..days)
        .map(|k| (today_start - Duration::days(days - 1 - k) + Duration::days(1)).min(now))
        .collect();
    for (k, at) in history_at.iter().enumerate() {
        select.expr_as(one_if(open_at(*at)), Alias::new(format!("open_{k}")));
    }
    let open_stages: Vec<&str> = OPEN_STAGES.iter().map(|s| s.as_str()).collect();
    for (k, from) in AGE_BOUNDS.iter().enumerate() {
        let mut condition = Cond::all()
            .add(Expr::col(Column::Stage).is_in(open_stages.clone()))
            .add(Expr::col(Column::ReceivedAt).lte(now - Duration::days(*from)));
        if let Some(to) = AGE_BOUNDS.get(k + 1) {
            condition = condition.add(Expr::col(Column::ReceivedAt).gt(now - Duration::days(*to)));
        }
        select.expr_as(one_if(condition), Alias::new(format!("age_{k}")));
    }
    if let Some(unit) = unit {
        select.and_where(Expr::col(Column::Unit).eq(unit));
    }
    let statement = db.get_database_backend().build(&select);
    let row = db.query_one(statement).await?;
    // SUM over no rows is NULL: zero.
    let get = |name: &str| -> Result<i64, DbErr> {
        Ok(match &row {
            Some(row) => row.try_get::<Option<i64>>("", name)?.unwrap_or(0),
            None => 0,
        })
    };
    let history = history_at
        .iter()
        .enumerate()
        .map(|(k, at)| {
            Ok(HistoryPoint {
                at: *at,
                open: get(&format!("open_{k}"))?,
            })
        })
        .collect::<Result<_, DbErr>>()?;
    let ages = AGE_BOUNDS
        .iter()
        .enumerate()
        .map(|(k, from)| {
            Ok(AgeBucket {
                from_days: *from,
                to_days: AGE_BOUNDS.get(k + 1).copied(),
                open: get(&format!("age_{k}"))?,
            })
        })
        .collect::<Result<_, DbErr>>()?;
    Ok(FlowView {
        generated_at: now,
        received_today: get("received_today")?,
        finished_today: get("finished_today")?,
        history,
        ages,
    })
}
