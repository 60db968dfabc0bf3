//! Promised-time clocks: how much of a promise a case has used, counting only the time that
//! counts, and only while the clock runs.
//!
//! A promise ([`PromisedTime`]) becomes a budget of *countable* seconds, measured from when
//! the clock starts: for a working-day promise only seconds on working days count, so a
//! weekend, a holiday or a make-up day (调休) moves the deadline exactly as the calendar
//! says; for calendar days and hours every second counts. Without a pause the deadline is
//! the promise's own due time ([`ServiceType::due_at`](crate::ServiceType::due_at)). While
//! the clock is paused (the case waits on the resident) nothing is used, so the deadline
//! moves out by the countable time the pause took.

use crate::calendar::WorkCalendar;
use crate::catalog::{PromisedTime, ServiceType};
use crate::lifecycle::Status;
use chrono::{DateTime, Days, NaiveTime, TimeDelta, TimeZone, Utc};

/// The clocks a case runs: end to end, and one per stage that has its own promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClockKind {
    Total,
    Approval,
    Fulfilment,
}

impl ClockKind {
    pub const ALL: [ClockKind; 3] = [ClockKind::Total, ClockKind::Approval, ClockKind::Fulfilment];

    pub fn as_str(self) -> &'static str {
        match self {
            ClockKind::Total => "total",
            ClockKind::Approval => "approval",
            ClockKind::Fulfilment => "fulfilment",
        }
    }

    pub fn parse(s: &str) -> Option<ClockKind> {
        ClockKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the clock runs while the case is in `status`. The total clock stops while
    /// the case waits on the resident: for missing materials (awaiting materials) and for
    /// a finished card or certificate to be collected (fulfilled).
    pub fn runs_in(self, status: Status) -> bool {
        match self {
            ClockKind::Total => matches!(
                status,
                Status::Received
                    | Status::PendingApproval
                    | Status::AwaitingFulfilment
                    | Status::InFulfilment
            ),
            ClockKind::Approval => status == Status::PendingApproval,
            ClockKind::Fulfilment => {
                matches!(status, Status::AwaitingFulfilment | Status::InFulfilment)
            }
        }
    }

    /// The service's promise for this clock, if it makes one.
    pub fn promise(self, service: &ServiceType) -> Option<PromisedTime> {
        match self {
            ClockKind::Total => Some(service.promised),
            ClockKind::Approval => service.stage_promised.approval,
            ClockKind::Fulfilment => service.stage_promised.fulfilment,
        }
    }
}

/// Which seconds a clock counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Seconds on working days only (local dates of the calendar's zone).
    WorkingDays,
    /// Every second.
    AllTime,
}

impl Measure {
    /// What a promise counts: working days count working time; the rest count all time.
    pub fn of(promise: PromisedTime) -> Measure {
        match promise {
            PromisedTime::WorkingDays(_) => Measure::WorkingDays,
            PromisedTime::CalendarDays(_) | PromisedTime::Hours(_) => Measure::AllTime,
        }
    }
}

/// A promise made at `start`, as an amount of countable time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub measure: Measure,
    pub seconds: i64,
}

/// A stretch of time during which a clock ran; `until: None` = it still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub from: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
}

/// Far enough ahead for any promise; beyond it a deadline saturates instead of looping.
const HORIZON_DAYS: u32 = 3 * 366;

impl Budget {
    /// The budget of `promise` for a clock started at `start`.
    pub fn of(promise: PromisedTime, start: DateTime<Utc>, cal: &WorkCalendar) -> Budget {
        let due = match promise {
            PromisedTime::WorkingDays(days) => cal.add_working_days(start, days),
            PromisedTime::CalendarDays(days) => cal.add_calendar_days(start, days),
            PromisedTime::Hours(hours) => start
                .checked_add_signed(TimeDelta::hours(i64::from(hours)))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        };
        Budget::between(Measure::of(promise), start, due, cal)
    }

    /// The budget of a promise already made: due at `due` for a clock started at `start`.
    /// A case keeps the promise it was given at the window, even if the catalog changes.
    pub fn between(
        measure: Measure,
        start: DateTime<Utc>,
        due: DateTime<Utc>,
        cal: &WorkCalendar,
    ) -> Budget {
        Budget {
            measure,
            seconds: countable(cal, measure, start, due),
        }
    }

    /// The seconds a share (0.0–1.0) of the budget stands for, rounded up: a warning at 75%
    /// never comes before three quarters have passed.
    pub fn share(&self, share: f64) -> i64 {
        let share = share.clamp(0.0, 1.0);
        // Budgets are at most a few years of seconds: exact in an f64.
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let seconds = (self.seconds as f64 * share).ceil() as i64;
        seconds
    }

    /// Countable seconds used by `runs` up to `now`.
    pub fn used(&self, cal: &WorkCalendar, runs: &[Run], now: DateTime<Utc>) -> i64 {
        runs.iter()
            .map(|run| {
                let until = run.until.unwrap_or(now).min(now);
                countable(cal, self.measure, run.from, until)
            })
            .sum()
    }

    /// When the clock reaches `target` countable seconds, or `None` if it stopped short of
    /// it (paused or finished: the moment is not known, or never comes).
    pub fn reaches(&self, cal: &WorkCalendar, runs: &[Run], target: i64) -> Option<DateTime<Utc>> {
        let mut used = 0;
        for run in runs {
            match run.until {
                Some(until) => {
                    let spent = countable(cal, self.measure, run.from, until);
                    if used + spent >= target {
                        return Some(advance(cal, self.measure, run.from, target - used));
                    }
                    used += spent;
                }
                None => return Some(advance(cal, self.measure, run.from, target - used)),
            }
        }
        None
    }
}

/// Countable seconds in `[from, until)`.
pub fn countable(
    cal: &WorkCalendar,
    measure: Measure,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> i64 {
    if until <= from {
        return 0;
    }
    match measure {
        Measure::AllTime => (until - from).num_seconds(),
        Measure::WorkingDays => {
            let mut total = 0;
            let mut cursor = from;
            while cursor < until {
                let day_end = next_midnight(cal, cursor).min(until);
                if cal.is_working_day(cal.local_date(cursor)) {
                    total += (day_end - cursor).num_seconds();
                }
                cursor = day_end;
            }
            total
        }
    }
}

/// The instant `seconds` countable seconds after `from`.
pub fn advance(
    cal: &WorkCalendar,
    measure: Measure,
    from: DateTime<Utc>,
    seconds: i64,
) -> DateTime<Utc> {
    let seconds = seconds.max(0);
    match measure {
        Measure::AllTime => from
            .checked_add_signed(TimeDelta::seconds(seconds))
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
        Measure::WorkingDays => {
            let mut left = seconds;
            let mut cursor = from;
            for _ in 0..HORIZON_DAYS {
                let day_end = next_midnight(cal, cursor);
                if cal.is_working_day(cal.local_date(cursor)) {
                    let available = (day_end - cursor).num_seconds();
                    if left <= available {
                        return cursor + TimeDelta::seconds(left);
                    }
                    left -= available;
                }
                cursor = day_end;
            }
            DateTime::<Utc>::MAX_UTC
        }
    }
}

/// The start of the local day after the one `at` falls on.
fn next_midnight(cal: &WorkCalendar, at: DateTime<Utc>) -> DateTime<Utc> {
    cal.local_date(at)
        .checked_add_days(Days::new(1))
        .and_then(|date| {
            cal.zone()
                .from_local_datetime(&date.and_time(NaiveTime::MIN))
                .single()
        })
        .map_or(DateTime::<Utc>::MAX_UTC, |local| local.with_timezone(&Utc))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn beijing(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        let second = if (h, min) == (23, 59) { 59 } else { 0 };
        WorkCalendar::china()
            .zone()
            .with_ymd_and_hms(y, m, d, h, min, second)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// National Day 2026: 1–7 October off, Saturday 10 October worked (调休).
    fn national_day() -> WorkCalendar {
        WorkCalendar::china()
            .with_holidays((1..=7).map(|d| date(2026, 10, d)))
            .with_makeup_workdays([date(2026, 10, 10)])
    }

    #[test]
    fn without_a_pause_the_deadline_is_the_promises_due_time() {
        let cal = national_day();
        for start in [
            beijing(2026, 9, 28, 10, 0),
            beijing(2026, 9, 30, 23, 30),
            beijing(2026, 10, 3, 9, 0),
        ] {
            for promise in [
                PromisedTime::WorkingDays(5),
                PromisedTime::CalendarDays(2),
                PromisedTime::Hours(4),
            ] {
                let budget = Budget::of(promise, start, &cal);
                let runs = [Run {
                    from: start,
                    until: None,
                }];
                let due = match promise {
                    PromisedTime::WorkingDays(d) => cal.add_working_days(start, d),
                    PromisedTime::CalendarDays(d) => cal.add_calendar_days(start, d),
                    PromisedTime::Hours(h) => start + TimeDelta::hours(i64::from(h)),
                };
                assert_eq!(budget.reaches(&cal, &runs, budget.seconds), Some(due));
            }
        }
    }

    #[test]
    fn holidays_do_not_count_and_a_makeup_saturday_does() {
        let cal = national_day();
        // Received Wednesday 30 September at 09:00; 3 working days: 8 and 9 October
        // (Thu, Fri after the holiday), then Saturday 10 October (worked).
        let start = beijing(2026, 9, 30, 9, 0);
        let budget = Budget::of(PromisedTime::WorkingDays(3), start, &cal);
        let runs = [Run {
            from: start,
            until: None,
        }];
        let due = budget.reaches(&cal, &runs, budget.seconds).unwrap();
        assert_eq!(due, beijing(2026, 10, 10, 23, 59));
        // Nothing is used during the holiday week.
        let used_before = budget.used(&cal, &runs, beijing(2026, 10, 1, 0, 0));
        let used_after = budget.used(&cal, &runs, beijing(2026, 10, 8, 0, 0));
        assert_eq!(used_before, used_after);
        assert_eq!(used_before, 15 * 3600);
    }

    #[test]
    fn a_pause_moves_the_deadline_by_the_countable_time_it_took() {
        let cal = WorkCalendar::china();
        // Monday 2 November 2026, 10:00; 5 working days: due Monday 9 November end of day.
        let start = beijing(2026, 11, 2, 10, 0);
        let budget = Budget::of(PromisedTime::WorkingDays(5), start, &cal);
        // Paused from Tuesday 10:00 to Thursday 10:00: two working days.
        let runs = [
            Run {
                from: start,
                until: Some(beijing(2026, 11, 3, 10, 0)),
            },
            Run {
                from: beijing(2026, 11, 5, 10, 0),
                until: None,
            },
        ];
        let due = budget.reaches(&cal, &runs, budget.seconds).unwrap();
        assert_eq!(due, beijing(2026, 11, 11, 23, 59));
        // While paused, the deadline is not known and nothing is used.
        let paused = &runs[..1];
        assert_eq!(budget.reaches(&cal, paused, budget.seconds), None);
        assert_eq!(
            budget.used(&cal, paused, beijing(2026, 11, 20, 0, 0)),
            24 * 3600
        );
    }

    #[test]
    fn a_pause_over_a_weekend_costs_nothing_extra() {
        let cal = WorkCalendar::china();
        let start = beijing(2026, 11, 6, 9, 0); // Friday
        let budget = Budget::of(PromisedTime::WorkingDays(1), start, &cal);
        // Paused from Friday 18:00 to Monday 00:00: only Friday's last six hours count.
        let runs = [
            Run {
                from: start,
                until: Some(beijing(2026, 11, 6, 18, 0)),
            },
            Run {
                from: beijing(2026, 11, 9, 0, 0),
                until: None,
            },
        ];
        let unpaused = cal.add_working_days(start, 1);
        let due = budget.reaches(&cal, &runs, budget.seconds).unwrap();
        assert_eq!(due - unpaused, TimeDelta::hours(6));
    }

    #[test]
    fn the_warning_share_rounds_up() {
        let budget = Budget {
            measure: Measure::AllTime,
            seconds: 10,
        };
        assert_eq!(budget.share(0.75), 8);
        assert_eq!(budget.share(1.0), 10);
        assert_eq!(budget.share(2.0), 10);
    }
}
