//! The day's report as a pure function of the unit's cases, the day and the clock.
//!
//! Definitions (a case counts once it has been received; bookings without a `received` are
//! not yet work):
//!
//! - **received**: received during the day.
//! - **finished**: closed, rejected or cancelled during the day, whenever it was received.
//! - **carried over**: received before the day's end and not finished by then, that is
//!   open at the end of the day. While the day is still running, "the end" is now.
//! - **open at start**: carried over from the previous day, by the same rule.
//! - **rate**: `finished / (open at start + received)`, the share of the work the unit had
//!   on its plate that day which it finished. `None` when it had none. Rounded to 4 places.
//!
//! `open at start + received − finished = carried over` whenever each case was received
//! before it finished.

use super::day::{ClearanceDay, DayClock};
use super::reason::ReasonCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// What the report needs of one `backlog_cases` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFacts {
    pub case_id: Uuid,
    pub case_number: String,
    pub service_type: String,
    pub status: Option<String>,
    pub received_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A reason recorded for a carried-over case, and who recorded it when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CarryReason {
    pub code: ReasonCode,
    /// Required for `other`; never personal data (supervisors write about the case).
    pub text: Option<String>,
    /// The staff user id.
    pub set_by: String,
    pub set_at: DateTime<Utc>,
}

/// The day's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DayFigures {
    pub open_at_start: i64,
    pub received: i64,
    pub finished: i64,
    pub carried_over: i64,
}

impl DayFigures {
    /// `finished / (open at start + received)`, 4 places; `None` when there was no work.
    pub fn rate(&self) -> Option<f64> {
        let workload = self.open_at_start + self.received;
        (workload > 0).then(|| {
            let rate = self.finished as f64 / workload as f64;
            (rate * 10_000.0).round() / 10_000.0
        })
    }
}

/// A carried-over case in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CarriedCase {
    pub case_id: Uuid,
    pub case_number: String,
    pub service_type: String,
    /// The status when the report was made (at sign-off for a signed report).
    pub status: Option<String>,
    pub received_at: DateTime<Utc>,
    /// `received_at` in the unit's zone, `YYYY-MM-DD HH:MM`.
    pub received_at_local: String,
    /// `None` until a supervisor records why.
    pub reason: Option<CarryReason>,
}

/// Who signed the day off, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SignOff {
    /// The staff user id.
    pub by: String,
    pub role: String,
    pub at: DateTime<Utc>,
}

/// One unit's clearance report for one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClearanceReport {
    pub unit: String,
    pub day: NaiveDate,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The instant the figures describe: the day's end once it is over, else now.
    pub as_of: DateTime<Utc>,
    /// Whether the day is over.
    pub complete: bool,
    #[serde(flatten)]
    pub figures: DayFigures,
    pub rate: Option<f64>,
    /// Carried-over cases still without a reason; sign-off needs 0.
    pub reasons_missing: i64,
    /// Oldest received first.
    pub carried_over_cases: Vec<CarriedCase>,
    /// Set once signed; the report is then frozen as it was at sign-off.
    pub sign_off: Option<SignOff>,
}

/// Whether the case was open at `at`: received before, and not finished before.
pub fn open_at(at: DateTime<Utc>, case: &CaseFacts) -> bool {
    case.received_at < at && case.finished_at.is_none_or(|f| f >= at)
}

/// The figures of `day` for these cases, as of `now` (capped at the day's end).
pub fn figures(day: &ClearanceDay, now: DateTime<Utc>, cases: &[CaseFacts]) -> DayFigures {
    let cutoff = now.min(day.ends_at);
    let mut figures = DayFigures::default();
    for case in cases {
        figures.open_at_start += i64::from(open_at(day.starts_at, case));
        figures.received += i64::from(within(case.received_at, day.starts_at, cutoff));
        figures.finished += i64::from(
            case.finished_at
                .is_some_and(|f| within(f, day.starts_at, cutoff)),
        );
        figures.carried_over += i64::from(open_at(cutoff, case));
    }
    figures
}

fn within(at: DateTime<Utc>, from: DateTime<Utc>, until: DateTime<Utc>) -> bool {
    from <= at && at < until
}

/// The report of `day` for `unit`: figures and the carried-over cases with their reasons.
pub fn report(
    unit: &str,
    clock: &DayClock,
    day: &ClearanceDay,
    now: DateTime<Utc>,
    cases: &[CaseFacts],
    reasons: &HashMap<Uuid, CarryReason>,
) -> ClearanceReport {
    let as_of = now.min(day.ends_at);
    let figures = figures(day, now, cases);
    let mut carried: Vec<CarriedCase> = cases
        .iter()
        .filter(|c| open_at(as_of, c))
        .map(|c| CarriedCase {
            case_id: c.case_id,
            case_number: c.case_number.clone(),
            service_type: c.service_type.clone(),
            status: c.status.clone(),
            received_at: c.received_at,
            received_at_local: clock.local(c.received_at),
            reason: reasons.get(&c.case_id).cloned(),
        })
        .collect();
    carried.sort_by_key(|c| (c.received_at, c.case_id));
    let reasons_missing = carried.iter().filter(|c| c.reason.is_none()).count();
    ClearanceReport {
        unit: unit.to_string(),
        day: day.date,
        starts_at: day.starts_at,
        ends_at: day.ends_at,
        as_of,
        complete: now >= day.ends_at,
        figures,
        rate: figures.rate(),
        reasons_missing: i64::try_from(reasons_missing).unwrap_or(i64::MAX),
        carried_over_cases: carried,
        sign_off: None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::{Duration, FixedOffset, TimeZone};

    fn clock() -> DayClock {
        DayClock::new(
            FixedOffset::east_opt(8 * 3600).unwrap(),
            "17:30".parse().unwrap(),
        )
    }

    fn case(received: DateTime<Utc>, finished: Option<DateTime<Utc>>) -> CaseFacts {
        CaseFacts {
            case_id: Uuid::now_v7(),
            case_number: "N".into(),
            service_type: "s".into(),
            status: None,
            received_at: received,
            finished_at: finished,
        }
    }

    #[test]
    fn figures_add_up_and_the_rate_is_the_share_finished() {
        let day = clock().day(NaiveDate::from_ymd_opt(2026, 3, 5).unwrap());
        let h = Duration::hours(1);
        let before = day.starts_at - h;
        let cases = [
            case(before, None),                         // open at start, carried
            case(before, Some(day.starts_at + h)),      // open at start, finished
            case(before - h, Some(before)),             // done before the day
            case(day.starts_at + h, None),              // received, carried
            case(day.starts_at + h, Some(day.ends_at)), // finished at the end: next day's
            case(day.ends_at, None),                    // next day's
        ];
        let f = figures(&day, day.ends_at + h, &cases);
        assert_eq!(
            f,
            DayFigures {
                open_at_start: 2,
                received: 2,
                finished: 1,
                carried_over: 3
            }
        );
        assert_eq!(f.open_at_start + f.received - f.finished, f.carried_over);
        assert_eq!(f.rate(), Some(0.25));
        assert_eq!(DayFigures::default().rate(), None);
        // Before the day is over, the figures stop at now.
        let early = figures(&day, day.starts_at + Duration::minutes(30), &cases);
        assert_eq!(
            (early.received, early.finished, early.carried_over),
            (0, 0, 2)
        );
        let t = Utc.with_ymd_and_hms(2026, 3, 5, 0, 0, 0).unwrap();
        assert!(!report("u", &clock(), &day, t, &cases, &HashMap::new()).complete);
    }
}
