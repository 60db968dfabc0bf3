//! The case list's receipt-date filter: `received_from` and `received_to`, each a date
//! (`YYYY-MM-DD`, a local day in the units' zone, the working calendar's) or an RFC 3339
//! instant. A date `to` includes that whole day. The result is a half-open UTC range, so the
//! query compares plain instants and can use the `received_at` index.

use chrono::{DateTime, Days, FixedOffset, NaiveDate, TimeZone, Utc};
use clearline_platform::http::ApiError;

/// `[from, before)`; either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReceivedRange {
    pub from: Option<DateTime<Utc>>,
    pub before: Option<DateTime<Utc>>,
}

/// Which end of the range a value is, for the error and for how a date is read.
#[derive(Clone, Copy)]
enum End {
    From,
    To,
}

impl End {
    fn field(self) -> &'static str {
        match self {
            End::From => "received_from",
            End::To => "received_to",
        }
    }
}

impl ReceivedRange {
    /// Reads both ends; a value that is neither a date nor an instant, or a range that ends
    /// before it starts, is a 400 naming the field.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        zone: FixedOffset,
    ) -> Result<ReceivedRange, ApiError> {
        let range = ReceivedRange {
            from: bound(from, End::From, zone)?,
            before: bound(to, End::To, zone)?,
        };
        if let (Some(from), Some(before)) = (range.from, range.before) {
            if before <= from {
                return Err(ApiError::bad_request(
                    "invalid_date_range",
                    "received_to must not be before received_from",
                )
                .with_field(
                    "received_to",
                    "before_start",
                    "ends before the range starts",
                ));
            }
        }
        Ok(range)
    }
}

fn bound(
    value: Option<&str>,
    end: End,
    zone: FixedOffset,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(text) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(Some(at.with_timezone(&Utc)));
    }
    let start_of = |date: NaiveDate| {
        zone.from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
            .single()
            .map(|t| t.with_timezone(&Utc))
    };
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
    let instant = match end {
        End::From => date.and_then(start_of),
        // The whole day `to` is in: the range stops at the next local midnight.
        End::To => date
            .and_then(|d| d.checked_add_days(Days::new(1)))
            .and_then(start_of),
    };
    instant.map(Some).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_date",
            format!(
                "{} must be a date (YYYY-MM-DD) or an RFC 3339 time",
                end.field()
            ),
        )
        .with_field(end.field(), "invalid_date", "not a date")
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn beijing() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }

    #[test]
    fn dates_are_local_days_and_to_includes_its_day() {
        let range =
            ReceivedRange::parse(Some("2026-11-02"), Some("2026-11-03"), beijing()).unwrap();
        assert_eq!(
            range.from,
            Some(Utc.with_ymd_and_hms(2026, 11, 1, 16, 0, 0).unwrap())
        );
        assert_eq!(
            range.before,
            Some(Utc.with_ymd_and_hms(2026, 11, 3, 16, 0, 0).unwrap())
        );
        let one_day = ReceivedRange::parse(Some("2026-11-02"), Some("2026-11-02"), beijing());
        assert!(one_day.is_ok(), "a single day is a range");
    }

    #[test]
    fn instants_pass_through_and_bad_input_is_refused() {
        let range = ReceivedRange::parse(Some("2026-11-02T03:00:00Z"), None, beijing()).unwrap();
        assert_eq!(
            range.from,
            Some(Utc.with_ymd_and_hms(2026, 11, 2, 3, 0, 0).unwrap())
        );
        assert_eq!(range.before, None);
        assert_eq!(
            ReceivedRange::parse(None, Some(" "), beijing()).unwrap(),
            ReceivedRange::default()
        );
        for (from, to) in [
            (Some("2026-13-01"), None),
            (None, Some("yesterday")),
            (Some("2026-11-05"), Some("2026-11-04")),
        ] {
            assert!(
                ReceivedRange::parse(from, to, beijing()).is_err(),
                "{from:?} {to:?}"
            );
        }
    }
}
