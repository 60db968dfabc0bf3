//! The due-day counters: open cases per (unit, UTC day of their due time), maintained like
//! [`super::counts`] in the projection's transaction. "Overdue" is a question about the
//! clock (open and due before now), so no counter can hold it outright; but every day
//! before today is wholly past, so overdue at `now` is the sum of the counters of earlier
//! days plus an indexed count of today's cases due before `now` (at most a day's worth).
//! The counters are a pure function of the rows, whatever the clock says, so a recount
//! checks them exactly and a rebuild gives the same ones.

use super::counts::{add, summed};
use super::derive::CaseState;
use crate::store::{case, queries};
use chrono::{DateTime, Utc};
use clearline_domain::Status;
use sea_orm::{ConnectionTrait, DbErr, Value};

const SECONDS_PER_DAY: i64 = 86_400;

/// Where an open case with a due time is counted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DueKey {
    pub unit: String,
    /// Days since 1970-01-01 (UTC) of the due time; see [`day_of`].
    pub due_day: i64,
}

/// The UTC day a time falls in, as days since the epoch (floor, so times before 1970 too).
pub fn day_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(SECONDS_PER_DAY)
}

/// The first instant of a day numbered as [`day_of`] numbers it.
pub fn day_start(day: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(day.saturating_mul(SECONDS_PER_DAY), 0).unwrap_or_default()
}

impl DueKey {
    fn of(unit: &str, status: Option<Status>, due_at: Option<DateTime<Utc>>) -> Option<DueKey> {
        let open = status.is_some_and(|s| !s.is_finished());
        Some(DueKey {
            unit: unit.to_string(),
            due_day: day_of(due_at.filter(|_| open)?),
        })
    }

    pub fn of_state(state: &CaseState) -> Option<DueKey> {
        DueKey::of(&state.unit, state.status, state.due_at)
    }

    pub fn of_row(row: &case::Model) -> Option<DueKey> {
        DueKey::of(&row.unit, row.status(), row.due_at)
    }
}

/// Writes due-counter changes summed per counter, in key order (see
/// [`super::counts::bump_all`] for why).
pub async fn bump_all<C: ConnectionTrait>(db: &C, moves: &[(DueKey, i64)]) -> Result<(), DbErr> {
    for (key, delta) in summed(moves) {
        let values = vec![Value::from(key.unit.clone()), Value::from(key.due_day)];
        add(db, "due_counts", &["unit", "due_day"], values, delta).await?;
    }
    Ok(())
}

/// Counts every case into empty due-day counters (a new table, or a repair's rewrite).
pub async fn count_all<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    let recounted: Vec<(DueKey, i64)> = queries::recount_due(db, None)
        .await?
        .into_iter()
        .map(|row| {
            let key = DueKey {
                unit: row.unit,
                due_day: row.due_day,
            };
            (key, row.n)
        })
        .collect();
    bump_all(db, &recounted).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_day_runs_from_utc_midnight_to_midnight() {
        let late = Utc.with_ymd_and_hms(2026, 11, 29, 23, 59, 59).unwrap();
        let next = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
        assert_eq!(day_of(late) + 1, day_of(next));
        assert_eq!(day_start(day_of(late)), next - chrono::Duration::days(1));
        assert_eq!(
            day_of(Utc.with_ymd_and_hms(1969, 12, 31, 12, 0, 0).unwrap()),
            -1
        );
    }

    #[test]
    fn only_open_cases_with_a_due_time_count() {
        let at = Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 0).unwrap();
        let due = Some(at);
        let key = DueKey::of("u1", Some(Status::PendingApproval), due).unwrap();
        assert_eq!(key.due_day, day_of(at));
        assert_eq!(DueKey::of("u1", Some(Status::Closed), due), None);
        assert_eq!(DueKey::of("u1", None, due), None);
        assert_eq!(
            DueKey::of("u1", Some(Status::AwaitingMaterials), None),
            None
        );
    }
}
