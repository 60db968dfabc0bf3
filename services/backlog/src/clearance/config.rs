//! When and in which zone the units' days end: `CLEARLINE_DAY_ENDS_AT` and the working
//! calendar's zone (`CLEARLINE_CALENDAR`, UTC+8 without one).

use super::day::{DayClock, DayEnd};
use crate::projection::flow::SLOT_SECONDS;
use chrono::Timelike;
use clearline_domain::WorkCalendar;

#[derive(Debug, Clone, clap::Args)]
pub struct ClearanceConfig {
    /// Local time at which the units' working day ends: the clearance day closes and its
    /// report awaits the supervisor's sign-off. `00:00` makes days plain calendar days.
    #[arg(long, env = "CLEARLINE_DAY_ENDS_AT", default_value = "17:30")]
    pub day_ends_at: DayEnd,
}

impl Default for ClearanceConfig {
    fn default() -> Self {
        ClearanceConfig {
            day_ends_at: DayClock::default().ends_at,
        }
    }
}

impl ClearanceConfig {
    /// The clock the report and the end-of-day job use: days end at `day_ends_at` in the
    /// working calendar's zone (the one the promised-time clocks use too). The end must
    /// fall on the hour or the half hour in UTC: the clearance rates are summed from the
    /// half-hourly flow counters ([`crate::projection::flow`]).
    pub fn clock(&self, calendar: &WorkCalendar) -> anyhow::Result<DayClock> {
        let clock = DayClock::new(calendar.zone(), self.day_ends_at);
        let end = i64::from(self.day_ends_at.time().num_seconds_from_midnight());
        let offset = i64::from(clock.zone.local_minus_utc());
        if (end - offset).rem_euclid(SLOT_SECONDS) != 0 {
            anyhow::bail!(
                "CLEARLINE_DAY_ENDS_AT {} does not fall on the hour or the half hour in UTC \
                 (the calendar's zone is {}); the daily figures are counted per half hour",
                self.day_ends_at,
                clock.zone
            );
        }
        Ok(clock)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[test]
    fn the_flags_fit_the_service_command_line() {
        crate::Config::command().debug_assert();
        let config = crate::Config::try_parse_from([
            "clearline-backlog",
            "--database-url",
            "sqlite::memory:",
            "--day-ends-at",
            "18:00",
        ])
        .unwrap();
        let clock = config.clearance.clock(&WorkCalendar::china()).unwrap();
        assert_eq!(clock.ends_at.to_string(), "18:00");
        assert_eq!(clock.zone, WorkCalendar::china().zone());
        let bad = crate::Config::try_parse_from([
            "clearline-backlog",
            "--database-url",
            "sqlite::memory:",
            "--day-ends-at",
            "late",
        ]);
        assert!(bad.is_err());
    }

    #[test]
    fn a_day_must_end_on_the_hour_or_the_half_hour() {
        let at = |end: &str| ClearanceConfig {
            day_ends_at: end.parse().unwrap(),
        };
        let calendar = WorkCalendar::china();
        assert!(at("18:30").clock(&calendar).is_ok());
        assert!(at("24:00").clock(&calendar).is_ok());
        assert!(at("17:45").clock(&calendar).is_err());
    }

    #[test]
    fn the_zone_comes_from_the_calendar() {
        let calendar = clearline_platform::config::load_calendar(None).unwrap();
        let clock = ClearanceConfig::default().clock(&calendar).unwrap();
        assert_eq!(clock.zone.local_minus_utc(), 8 * 3600);
        assert_eq!(clock.ends_at.to_string(), "17:30");
    }
}
