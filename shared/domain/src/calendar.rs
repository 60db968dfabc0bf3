//! Working days in one time zone, with public holidays and China's make-up working days
//! (调休: a weekend day worked to bridge a long holiday).
//!
//! Holiday dates change every year and by announcement, so they are configuration
//! ([`WorkCalendarConfig`]), never constants here.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use serde::Deserialize;

/// China Standard Time, UTC+8, with no daylight saving.
// `east_opt` is `const`, so this is checked when the crate compiles and cannot fail at run time.
#[allow(clippy::panic)]
const CHINA_STANDARD_TIME: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(zone) => zone,
    None => panic!("UTC+8 is a valid offset"),
};

/// The last second of a day: a promise "within N days" holds until the day is over.
#[allow(clippy::panic)]
const END_OF_DAY: NaiveTime = match NaiveTime::from_hms_opt(23, 59, 59) {
    Some(time) => time,
    None => panic!("23:59:59 is a valid time"),
};

/// Which local dates are working days, and due times counted in them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkCalendar {
    /// The zone whose local dates count: a case received at 01:00 Beijing time is received
    /// "today" there, though it is still yesterday in UTC.
    zone: FixedOffset,
    /// Days off even when they fall Monday to Friday.
    holidays: BTreeSet<NaiveDate>,
    /// Saturdays or Sundays that are worked (调休).
    makeup_workdays: BTreeSet<NaiveDate>,
}

impl WorkCalendar {
    /// A calendar in `zone` with Monday to Friday working and no holidays yet.
    pub fn new(zone: FixedOffset) -> Self {
        Self {
            zone,
            holidays: BTreeSet::new(),
            makeup_workdays: BTreeSet::new(),
        }
    }

    /// UTC+8 with no holidays: a start before a deployment's holiday list is loaded.
    pub fn china() -> Self {
        Self::new(CHINA_STANDARD_TIME)
    }

    /// Adds public holidays. A date that is both a holiday and a make-up day is a holiday.
    #[must_use]
    pub fn with_holidays(mut self, dates: impl IntoIterator<Item = NaiveDate>) -> Self {
        self.holidays.extend(dates);
        self
    }

    /// Adds make-up working days (weekend days that are worked).
    #[must_use]
    pub fn with_makeup_workdays(mut self, dates: impl IntoIterator<Item = NaiveDate>) -> Self {
        self.makeup_workdays.extend(dates);
        self
    }

    /// The zone whose local dates this calendar counts in.
    pub fn zone(&self) -> FixedOffset {
        self.zone
    }

    /// Monday to Friday unless a holiday; Saturday and Sunday only if a make-up day.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.holidays.contains(&date) {
            return false;
        }
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        !weekend || self.makeup_workdays.contains(&date)
    }

    /// The due time of a promise of `days` working days made at `start`.
    ///
    /// It is the end (23:59:59 local) of the `days`-th working day after the start's local
    /// date. The start day itself never counts, whatever time it is: a request received on
    /// a Friday morning with 1 working day is due Monday at the end of the day. With
    /// `days == 0` it is the end of the start's own local day, working day or not.
    ///
    /// Saturates at the latest representable time instead of overflowing.
    pub fn add_working_days(&self, start: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        let mut date = self.local_date(start);
        let mut remaining = days;
        while remaining > 0 {
            let Some(next) = date.succ_opt() else {
                return DateTime::<Utc>::MAX_UTC;
            };
            date = next;
            if self.is_working_day(date) {
                remaining -= 1;
            }
        }
        self.end_of_day(date)
    }

    /// The end (23:59:59 local) of the local day `days` calendar days after `start`'s.
    ///
    /// Saturates at the latest representable time instead of overflowing.
    pub fn add_calendar_days(&self, start: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        match self
            .local_date(start)
            .checked_add_days(Days::new(u64::from(days)))
        {
            Some(date) => self.end_of_day(date),
            None => DateTime::<Utc>::MAX_UTC,
        }
    }

    /// The date `at` falls on in this calendar's zone.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.zone).date_naive()
    }

    fn end_of_day(&self, date: NaiveDate) -> DateTime<Utc> {
        // A fixed offset has exactly one mapping for each local time; `None` only when the
        // result leaves chrono's range, which is far in the future.
        self.zone
            .from_local_datetime(&date.and_time(END_OF_DAY))
            .single()
            .map_or(DateTime::<Utc>::MAX_UTC, |local| local.with_timezone(&Utc))
    }
}

/// A [`WorkCalendar`] as an administrator writes it:
///
/// ```toml
/// zone_offset_hours = 8
/// holidays = ["2026-10-01", "2026-10-02"]
/// makeup_workdays = ["2026-09-27"]
/// ```
///
/// Dates are quoted `YYYY-MM-DD` strings. Unknown keys are refused so a misspelt
/// `holidays` cannot silently leave every holiday a working day.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkCalendarConfig {
    /// Whole hours east of UTC; defaults to 8 (China Standard Time).
    #[serde(default = "default_zone_offset_hours")]
    pub zone_offset_hours: i32,
    #[serde(default)]
    pub holidays: Vec<NaiveDate>,
    #[serde(default)]
    pub makeup_workdays: Vec<NaiveDate>,
}

fn default_zone_offset_hours() -> i32 {
    8
}

/// Why a [`WorkCalendarConfig`] cannot become a calendar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarConfigError {
    #[error("zone_offset_hours must be between -23 and 23, got {0}")]
    ZoneOffset(i32),
    /// Almost certainly a copy-paste slip in the announcement dates.
    #[error("{0} is listed both as a holiday and as a make-up working day")]
    HolidayAndMakeup(NaiveDate),
}

impl WorkCalendarConfig {
    /// Checks the offset and that no date is both a holiday and a make-up day.
    pub fn into_calendar(self) -> Result<WorkCalendar, CalendarConfigError> {
        let zone = self
            .zone_offset_hours
            .checked_mul(3600)
            .and_then(FixedOffset::east_opt)
            .ok_or(CalendarConfigError::ZoneOffset(self.zone_offset_hours))?;
        let holidays: BTreeSet<NaiveDate> = self.holidays.into_iter().collect();
        if let Some(both) = self.makeup_workdays.iter().find(|d| holidays.contains(d)) {
            return Err(CalendarConfigError::HolidayAndMakeup(*both));
        }
        Ok(WorkCalendar {
            zone,
            holidays,
            makeup_workdays: self.makeup_workdays.into_iter().collect(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// A UTC instant from a Beijing local time.
    fn beijing(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        CHINA_STANDARD_TIME
            .with_ymd_and_hms(y, m, d, h, min, s)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn friday_plus_one_working_day_is_end_of_monday() {
        let cal = WorkCalendar::china();
        // 2026-03-06 is a Friday.
        let due = cal.add_working_days(beijing(2026, 3, 6, 9, 30, 0), 1);
        assert_eq!(due, beijing(2026, 3, 9, 23, 59, 59));
    }

    #[test]
    fn local_date_decides_the_start_day() {
        let cal = WorkCalendar::china();
        // Friday 00:30 in Beijing is still Thursday in UTC; Beijing's Friday counts.
        let start = beijing(2026, 3, 6, 0, 30, 0);
        assert_eq!(start.date_naive(), date(2026, 3, 5));
        assert_eq!(
            cal.add_working_days(start, 1),
            beijing(2026, 3, 9, 23, 59, 59)
        );
    }

    #[test]
    fn holidays_are_skipped() {
        // National Day week 2026: Thu 1 Oct to Wed 7 Oct off (Thu–Fri and Mon–Wed are weekdays).
        let cal = WorkCalendar::china().with_holidays((1..=7).map(|d| date(2026, 10, d)));
        let due = cal.add_working_days(beijing(2026, 9, 30, 10, 0, 0), 1);
        assert_eq!(due, beijing(2026, 10, 8, 23, 59, 59));
        assert!(!cal.is_working_day(date(2026, 10, 5)));
    }

    #[test]
    fn sunday_makeup_day_counts() {
        // Sunday 2026-09-27 worked to bridge the holiday.
        let cal = WorkCalendar::china().with_makeup_workdays([date(2026, 9, 27)]);
        assert!(cal.is_working_day(date(2026, 9, 27)));
        assert!(!cal.is_working_day(date(2026, 9, 26)));
        let due = cal.add_working_days(beijing(2026, 9, 25, 16, 0, 0), 1);
        assert_eq!(due, beijing(2026, 9, 27, 23, 59, 59));
    }

    #[test]
    fn holiday_wins_over_makeup_day() {
        let day = date(2026, 9, 27);
        let cal = WorkCalendar::china()
            .with_holidays([day])
            .with_makeup_workdays([day]);
        assert!(!cal.is_working_day(day));
    }

    #[test]
    fn zero_days_is_end_of_the_same_local_day() {
        let cal = WorkCalendar::china();
        // A Saturday: zero days means today even when today is not a working day.
        let start = beijing(2026, 3, 7, 23, 0, 0);
        assert_eq!(
            cal.add_working_days(start, 0),
            beijing(2026, 3, 7, 23, 59, 59)
        );
        assert_eq!(
            cal.add_calendar_days(start, 0),
            beijing(2026, 3, 7, 23, 59, 59)
        );
    }

    #[test]
    fn calendar_days_ignore_weekends() {
        let cal = WorkCalendar::china();
        let due = cal.add_calendar_days(beijing(2026, 3, 6, 9, 0, 0), 3);
        assert_eq!(due, beijing(2026, 3, 9, 23, 59, 59));
    }

    #[test]
    fn huge_promises_saturate_instead_of_panicking() {
        let cal = WorkCalendar::china();
        let start = beijing(2026, 3, 6, 9, 0, 0);
        assert_eq!(
            cal.add_calendar_days(start, u32::MAX),
            DateTime::<Utc>::MAX_UTC
        );
    }

    #[test]
    fn config_from_toml() {
        let config: WorkCalendarConfig = toml::from_str(
            r#"
            zone_offset_hours = 8
            holidays = ["2026-10-01", "2026-10-02"]
            makeup_workdays = ["2026-09-27"]
            "#,
        )
        .unwrap();
        let cal = config.into_calendar().unwrap();
        assert_eq!(cal.zone(), CHINA_STANDARD_TIME);
        assert!(!cal.is_working_day(date(2026, 10, 1)));
        assert!(cal.is_working_day(date(2026, 9, 27)));
    }

    #[test]
    fn config_defaults_to_china_with_no_holidays() {
        let config: WorkCalendarConfig = toml::from_str("").unwrap();
        assert_eq!(config.into_calendar().unwrap(), WorkCalendar::china());
    }

    #[test]
    fn config_mistakes_are_refused() {
        let typo = toml::from_str::<WorkCalendarConfig>(r#"holiday = ["2026-10-01"]"#);
        assert!(typo.is_err());
        let bad_zone = WorkCalendarConfig {
            zone_offset_hours: 30,
            holidays: vec![],
            makeup_workdays: vec![],
        };
        assert_eq!(
            bad_zone.into_calendar(),
            Err(CalendarConfigError::ZoneOffset(30))
        );
        let both = WorkCalendarConfig {
            zone_offset_hours: 8,
            holidays: vec![date(2026, 10, 1)],
            makeup_workdays: vec![date(2026, 10, 1)],
        };
        assert_eq!(
            both.into_calendar(),
            Err(CalendarConfigError::HolidayAndMakeup(date(2026, 10, 1)))
        );
    }
}
