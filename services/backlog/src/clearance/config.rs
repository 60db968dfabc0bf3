//! When and in which zone the units' days end: `CLEARLINE_DAY_ENDS_AT` and the working
//! calendar's zone (`CLEARLINE_CALENDAR`, UTC+8 without one).

use super::day::{DayClock, DayEnd};
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
    /// working calendar's zone (the one the promised-time clocks use too).
    pub fn clock(&self, calendar: &WorkCalendar) -> DayClock {
        DayClock::new(calendar.zone(), self.day_ends_at)
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
        let clock = config.clearance.clock(&WorkCalendar::china());
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
    fn the_zone_comes_from_the_calendar() {
        let calendar = clearline_platform::config::load_calendar(None).unwrap();
        let clock = ClearanceConfig::default().clock(&calendar);
        assert_eq!(clock.zone.local_minus_utc(), 8 * 3600);
        assert_eq!(clock.ends_at.to_string(), "17:30");
    }
}
