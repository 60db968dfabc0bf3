//! Times as the units read them: stored and sent in UTC, shown in the units' zone
//! (Asia/Shanghai unless configured).

use crate::i18n::Lang;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

#[derive(Debug, Clone, Copy)]
pub struct Zone(Tz);

impl Zone {
    /// An IANA zone whose days start on the hour or the half hour (UTC): the backlog counts
    /// the flow (received and finished today, the open count at each day's end) per half
    /// hour.
    pub fn parse(name: &str) -> anyhow::Result<Zone> {
        let zone = name.parse::<Tz>().map(Zone).map_err(|_| {
            anyhow::anyhow!("unknown time zone {name:?}; use an IANA name such as Asia/Shanghai")
        })?;
        if zone.day_start(Utc::now()).timestamp() % 1_800 != 0 {
            anyhow::bail!(
                "time zone {name:?} starts its days off the hour and the half hour (UTC); the \
                 dashboard's daily figures are counted per half hour"
            );
        }
        Ok(zone)
    }

    /// `2026-11-29 14:05`.
    pub fn datetime(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.0)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }

    /// `14:05:09`, for "as of" stamps.
    pub fn clock(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.0).format("%H:%M:%S").to_string()
    }

    /// `11-29`, for chart axes.
    pub fn month_day(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.0).format("%m-%d").to_string()
    }

    /// The start of the local day that `now` falls in, in UTC.
    pub fn day_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let date = now.with_timezone(&self.0).date_naive();
        self.midnight(date).unwrap_or(now)
    }

    /// Local midnight of a date, in UTC (the earliest, should a zone skip midnight).
    pub fn midnight(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        self.0
            .from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    }

    /// A `<input type="datetime-local">` value (`2026-12-01T09:30`) read in the zone.
    pub fn parse_local(&self, value: &str) -> Option<DateTime<Utc>> {
        let naive = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M").ok()?;
        self.0
            .from_local_datetime(&naive)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    }

    /// A `<input type="date">` value read as that local day's midnight.
    pub fn parse_date(&self, value: &str) -> Option<DateTime<Utc>> {
        self.midnight(NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()?)
    }
}

/// `3天4小时` / `3d 4h`: the two largest units.
pub fn age(lang: Lang, seconds: i64) -> String {
    let t = lang.t();
    let d = Duration::seconds(seconds.max(0));
    let (days, hours, minutes) = (d.num_days(), d.num_hours() % 24, d.num_minutes() % 60);
    let sep = if lang.is_zh() { "" } else { " " };
    if days > 0 {
        format!("{days}{}{sep}{hours}{}", t.days_short, t.hours_short)
    } else if hours > 0 {
        format!("{hours}{}{sep}{minutes}{}", t.hours_short, t.minutes_short)
    } else {
        format!("{minutes}{}", t.minutes_short)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn shanghai_is_eight_hours_ahead_and_days_start_at_local_midnight() {
        let zone = Zone::parse("Asia/Shanghai").unwrap();
        let at = Utc.with_ymd_and_hms(2026, 11, 28, 17, 30, 0).unwrap();
        assert_eq!(zone.datetime(at), "2026-11-29 01:30");
        assert_eq!(
            zone.day_start(at),
            Utc.with_ymd_and_hms(2026, 11, 28, 16, 0, 0).unwrap()
        );
        assert_eq!(
            zone.parse_local("2026-12-01T09:30"),
            Some(Utc.with_ymd_and_hms(2026, 12, 1, 1, 30, 0).unwrap())
        );
    }

    #[test]
    fn a_zone_whose_days_start_off_the_half_hour_is_refused() {
        assert!(Zone::parse("Asia/Kathmandu").is_err());
        assert!(Zone::parse("Asia/Kolkata").is_ok());
        assert!(Zone::parse("Europe/Berlin").is_ok());
        assert!(Zone::parse("Mars/Olympus").is_err());
    }

    #[test]
    fn ages_show_two_units() {
        assert_eq!(age(Lang::Zh, 3 * 86_400 + 4 * 3600), "3天4小时");
        assert_eq!(age(Lang::En, 3600 + 120), "1h 2m");
        assert_eq!(age(Lang::En, 59), "0m");
    }
}
