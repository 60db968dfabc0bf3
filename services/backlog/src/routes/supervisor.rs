//! `GET /api/v1/supervisor/flow`: what the supervisor's dashboard shows beside the counters:
//! cases received and finished since the start of the local day, the open count at the end
//! of each of the last days, and how old the open cases are.
//!
//! The local day is the caller's to define (`today_start`, e.g. local midnight in
//! Asia/Shanghai, as UTC): the backlog keeps UTC and knows no zones. Days before today are
//! taken as 24 hours each, which is exact for zones without daylight saving (China's).
//!
//! Every figure is a sum of the half-hourly flow counters ([`crate::projection::flow`]),
//! read in one snapshot, so the answer costs the same at 100,000 open cases as at ten.
//! Counting per half hour sets two rules: the day must start on the hour or the half hour
//! (UTC), as it does in every zone but a few quarter-hour ones, and a case's age is counted
//! in whole half hours from the start of the one it was received in.
use super::readable_unit;
use crate::projection::flow::{on_a_slot, slot_of, Measure};
use crate::store::flow_count::{self, SLOTS_PER_DAY};
use crate::store::queries::snapshot;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use clearline_platform::http::{ApiError, ApiQuery, AuthUser, Role};
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
    responses((status = 200, body = FlowView),
        (status = 400, description = "invalid_day_start: today_start is not on the hour or the half hour"),
        (status = 403, description = "not a supervisor or admin, or another unit")))]
pub async fn get_flow(
    State(app): State<AppState>,
    user: AuthUser,
    ApiQuery(query): ApiQuery<FlowQuery>,
) -> Result<Json<FlowView>, ApiError> {
    user.require_any(&[Role::Supervisor, Role::Admin])?;
    let unit = readable_unit(&user, query.unit)?;
    let days = query.days.unwrap_or(DEFAULT_DAYS).clamp(1, MAX_DAYS);
    if !on_a_slot(query.today_start) {
        return Err(ApiError::bad_request(
            "invalid_day_start",
            "today_start must fall on the hour or the half hour (UTC): the flow is counted per half hour",
        ));
    }
    let txn = snapshot(&app.db).await?;
    let view = flow(&txn, unit.as_deref(), query.today_start, days, Utc::now()).await?;
    txn.commit().await?;
    Ok(Json(view))
}

/// The flow view, from the counters: the history on the grid of local days through
/// `today_start`, the ages on the grid of days ending with the running slot.
pub async fn flow<C: ConnectionTrait>(
    db: &C,
    unit: Option<&str>,
    today_start: DateTime<Utc>,
    days: i64,
    now: DateTime<Utc>,
) -> Result<FlowView, DbErr> {
    let today = slot_of(today_start);
    let history_at: Vec<DateTime<Utc>> = (0..days)
        .map(|k| (today_start - Duration::days(days - 1 - k) + Duration::days(1)).min(now))
        .collect();
    let sums =
        flow_count::day_sums(db, unit, today - (days - 1) * SLOTS_PER_DAY, &Measure::ALL).await?;
    let open_now = sums.open_now();
    let open_at = |at: DateTime<Utc>| {
        if at >= now {
            open_now
        } else {
            sums.open_at(slot_of(at))
        }
    };
    // Ages: whole days back from the end of the running slot.
    let next = slot_of(now) + 1;
    let oldest = AGE_BOUNDS[AGE_BOUNDS.len() - 1];
    let ages_from = next - oldest * SLOTS_PER_DAY;
    let aged = flow_count::day_sums(db, unit, ages_from, &[Measure::Open]).await?;
    let history = history_at
        .iter()
        .map(|at| HistoryPoint {
            at: *at,
            open: open_at(*at),
        })
        .collect();
    let ages = AGE_BOUNDS
        .iter()
        .enumerate()
        .map(|(k, from)| {
            let to = AGE_BOUNDS.get(k + 1).copied();
            // Received in the slots (now − to days, now − from days].
            let newer = aged.open_received_before(next - from * SLOTS_PER_DAY);
            let older = to.map_or(0, |to| aged.open_received_before(next - to * SLOTS_PER_DAY));
            AgeBucket {
                from_days: *from,
                to_days: to,
                open: newer - older,
            }
        })
        .collect();
    Ok(FlowView {
        generated_at: now,
        received_today: sums.since(Measure::Received, today),
        finished_today: sums.since(Measure::Finished, today),
        history,
        ages,
    })
}
