//! The clearance day: which instants belong to a unit's working day, in the unit's zone.
//!
//! A clearance day `D` runs from the end of `D − 1` to the end of `D`, where a day ends at
//! [`DayEnd`] local time (17:30 by default). Work that arrives after the 17:30 report is
//! therefore the next day's work, and every instant belongs to exactly one clearance day:
//! what one day carries over is exactly what the next day starts with. With the end set to
//! midnight (`00:00` or `24:00`), clearance days are plain local calendar days.

use chrono::{DateTime, Days, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use std::fmt;
use std::str::FromStr;

/// When a unit's working day ends, local time. Midnight means the end of the calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayEnd(NaiveTime);

impl DayEnd {
    pub fn new(time: NaiveTime) -> Self {
        DayEnd(time)
    }

    pub fn time(self) -> NaiveTime {
        self.0
    }
}

impl FromStr for DayEnd {
    type Err = String;

    /// `HH:MM` (or `HH:MM:SS`); `24:00` is midnight, the same as `00:00`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text == "24:00" {
            return Ok(DayEnd(NaiveTime::MIN));
        }
        NaiveTime::parse_from_str(text, "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M:%S"))
            .map(DayEnd)
            .map_err(|_| format!("expected a local time such as 17:30, got {text:?}"))
    }
}

impl fmt::Display for DayEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%H:%M"))
    }
}

/// Where and when the units' days end. Every unit shares one zone and one end of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayClock {
    pub zone: FixedOffset,
    pub ends_at: DayEnd,
}

/// One clearance day: its local date and the UTC instants it spans, `[starts_at, ends_at)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClearanceDay {
    pub date: NaiveDate,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

impl Default for DayClock {
    /// China Standard Time, the day ending at 17:30.
    fn default() -> Self {
        DayClock {
            zone: clearline_domain::WorkCalendar::china().zone(),
            ends_at: DayEnd(NaiveTime::from_hms_opt(17, 30, 0).unwrap_or(NaiveTime::MIN)),
        }
    }
}

impl DayClock {
    pub fn new(zone: FixedOffset, ends_at: DayEnd) -> Self {
        DayClock { zone, ends_at }
    }

    /// The instant local date `date` ends. A fixed offset maps each local time to one
    /// instant; chrono's range ends in the year 262143, so saturating there is harmless.
    pub fn end_of(&self, date: NaiveDate) -> DateTime<Utc> {
        let date = if self.ends_at.0 == NaiveTime::MIN {
            date.checked_add_days(Days::new(1)).unwrap_or(date)
        } else {
            date
        };
        self.zone
            .from_local_datetime(&date.and_time(self.ends_at.0))
            .single()
            .map_or(DateTime::<Utc>::MAX_UTC, |t| t.with_timezone(&Utc))
    }

    /// The clearance day `date`.
    pub fn day(&self, date: NaiveDate) -> ClearanceDay {
        let before = date.checked_sub_days(Days::new(1)).unwrap_or(date);
        ClearanceDay {
            date,
            starts_at: self.end_of(before),
            ends_at: self.end_of(date),
        }
    }

    /// The clearance day `at` falls in.
    pub fn day_of(&self, at: DateTime<Utc>) -> ClearanceDay {
        let local = at.with_timezone(&self.zone).date_naive();
        let today = self.day(local);
        if at >= today.ends_at {
            self.day(local.checked_add_days(Days::new(1)).unwrap_or(local))
        } else {
            today
        }
    }

    /// The local wall-clock time of `at`, as reports print it: `2026-03-05 09:12`.
    pub fn local(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.zone)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }
}

/// A day as the API takes it: `YYYY-MM-DD`, nothing else.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    (text.len() == 10)
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn beijing() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        beijing()
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_day_runs_from_the_last_end_of_day_to_its_own() {
        let clock = DayClock::new(beijing(), "17:30".parse().unwrap());
        let day = clock.day(date(2026, 3, 5));
        assert_eq!(day.starts_at, at(2026, 3, 4, 17, 30));
        assert_eq!(day.ends_at, at(2026, 3, 5, 17, 30));
        assert_eq!(clock.day_of(at(2026, 3, 5, 17, 29)).date, date(2026, 3, 5));
        assert_eq!(clock.day_of(at(2026, 3, 5, 17, 30)).date, date(2026, 3, 6));
        // 00:30 in Beijing is still the previous day in UTC; the local date decides.
        let after_midnight = at(2026, 3, 6, 0, 30);
        assert_eq!(after_midnight.date_naive(), date(2026, 3, 5));
        assert_eq!(clock.day_of(after_midnight).date, date(2026, 3, 6));
    }

    #[test]
    fn midnight_gives_calendar_days() {
        for text in ["00:00", "24:00"] {
            let clock = DayClock::new(beijing(), text.parse().unwrap());
            let day = clock.day(date(2026, 3, 5));
            assert_eq!(
                (day.starts_at, day.ends_at),
                (at(2026, 3, 5, 0, 0), at(2026, 3, 6, 0, 0))
            );
            assert_eq!(clock.day_of(at(2026, 3, 5, 23, 59)).date, date(2026, 3, 5));
            assert_eq!(clock.day_of(at(2026, 3, 6, 0, 0)).date, date(2026, 3, 6));
        }
    }

    #[test]
    fn bad_end_times_and_days_are_refused() {
        assert!("25:00".parse::<DayEnd>().is_err());
        assert!("5pm".parse::<DayEnd>().is_err());
        assert_eq!(parse_date("2026-03-05"), Some(date(2026, 3, 5)));
        for bad in ["2026-3-5", "2026-02-30", "20260305", "2026-03-05T00:00", ""] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }
}
