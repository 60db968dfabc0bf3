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
