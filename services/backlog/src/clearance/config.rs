//! When and in which zone the units' days end: `CLEARLINE_DAY_ENDS_AT` and the working
//! calendar's zone (`CLEARLINE_CALENDAR`, UTC+8 without one).

use super::day::{DayClock, DayEnd};
use anyhow::Context as _;
use clearline_domain::calendar::WorkCalendarConfig;
use clearline_domain::WorkCalendar;
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct ClearanceConfig {
    /// Local time at which the units' working day ends: the clearance day closes and its
    /// report awaits the supervisor's sign-off. `00:00` makes days plain calendar days.
    #[arg(long, env = "CLEARLINE_DAY_ENDS_AT", default_value = "17:30")]
    pub day_ends_at: DayEnd,

    /// The working calendar (TOML: `zone_offset_hours`, `holidays`, `makeup_workdays`);
    /// its zone is the units' local time. Without it, UTC+8.
    #[arg(long, env = "CLEARLINE_CALENDAR")]
    pub calendar: Option<PathBuf>,
}

impl Default for ClearanceConfig {
    fn default() -> Self {
        ClearanceConfig {
            day_ends_at: DayClock::default().ends_at,
            calendar: None,
        }
    }
}

impl ClearanceConfig {
    /// The clock the report and the end-of-day job use; refuses a calendar it cannot read.
    pub fn clock(&self) -> anyhow::Result<DayClock> {
        let calendar = match &self.calendar {
            None => WorkCalendar::china(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading the calendar {}", path.display()))?;
                toml::from_str::<WorkCalendarConfig>(&text)
                    .with_context(|| format!("parsing the calendar {}", path.display()))?
                    .into_calendar()?
            }
        };
        Ok(DayClock::new(calendar.zone(), self.day_ends_at))
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
        let clock = config.clearance.clock().unwrap();
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
    fn the_zone_comes_from_the_calendar_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calendar.toml");
        std::fs::write(&path, "zone_offset_hours = 9\n").unwrap();
        let config = ClearanceConfig {
            calendar: Some(path),
            ..ClearanceConfig::default()
        };
        let clock = config.clock().unwrap();
        assert_eq!(clock.zone.local_minus_utc(), 9 * 3600);
        assert_eq!(clock.ends_at.to_string(), "17:30");
        let missing = ClearanceConfig {
            calendar: Some(dir.path().join("none.toml")),
            ..ClearanceConfig::default()
        };
        assert!(missing.clock().is_err());
    }
}
