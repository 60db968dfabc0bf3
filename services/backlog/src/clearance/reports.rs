//! Reading reports and rates: frozen figures where a day was recorded, the read model
//! (through the pure [`super::report`]) where it was not.

use super::day::{ClearanceDay, DayClock};
use super::error::ClearanceError;
use super::report::{self, ClearanceReport, DayFigures, SignOff};
use super::store::{self, day_row};
use crate::projection::flow::{self, Measure};
use crate::store::flow_count;
use chrono::{DateTime, Days, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

/// The report of a unit's day: as frozen at sign-off once signed, else as the read model
/// says now (so a supervisor signs what is true at the moment of signing).
pub async fn load<C: ConnectionTrait>(
    db: &C,
    clock: &DayClock,
    unit: &str,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<ClearanceReport, ClearanceError> {
    let day = clock.day(date);
    if day.starts_at > now {
        return Err(ClearanceError::DayInFuture);
    }
    if let Some(row) = store::day(db, unit, date).await? {
        if let Some(frozen) = frozen(&row)? {
            return Ok(frozen);
        }
    }
    Ok(live(db, clock, unit, &day, now).await?)
}

/// The report computed from the read model as of `now`.
pub async fn live<C: ConnectionTrait>(
    db: &C,
    clock: &DayClock,
    unit: &str,
    day: &ClearanceDay,
    now: DateTime<Utc>,
) -> Result<ClearanceReport, DbErr> {
    let cases = store::cases_between(db, unit, day.starts_at, now.min(day.ends_at)).await?;
    let reasons = store::reasons(db, unit, day.date).await?;
    Ok(report::report(unit, clock, day, now, &cases, &reasons))
}

/// The signed report kept in the row, if the day is signed off.
fn frozen(row: &day_row::Model) -> Result<Option<ClearanceReport>, DbErr> {
    match (&row.signed_off_at, &row.report) {
        (Some(_), Some(json)) => serde_json::from_value(json.clone()).map(Some).map_err(|e| {
            DbErr::Custom(format!("a signed clearance report does not read back: {e}"))
        }),
        _ => Ok(None),
    }
}

/// Where a day's figures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FigureSource {
    /// Computed from the read model now: the day is running, or was never recorded.
    Live,
    /// Recorded by the end-of-day job when the day ended; awaiting sign-off.
    Closed,
    /// As signed off.
    Signed,
}

/// One unit's day in the clearance-rate series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DayRate {
    pub day: NaiveDate,
    #[serde(flatten)]
    pub figures: DayFigures,
    /// `finished / (open_at_start + received)`; `None` when there was no work.
    pub rate: Option<f64>,
    /// Whether the day is over.
    pub complete: bool,
    pub source: FigureSource,
    pub sign_off: Option<SignOff>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UnitRates {
    pub unit: String,
    /// Oldest first, one entry per day.
    pub days: Vec<DayRate>,
}

/// `GET /api/v1/clearance/rates`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RatesView {
    pub from: NaiveDate,
    pub until: NaiveDate,
    pub units: Vec<UnitRates>,
}

/// The clearance rate of each unit for the `days` days ending with `until` (never later
/// than the day running now). Recorded days (closed or signed) give their recorded
/// figures, so history does not change when a late event arrives; the others are summed
/// from the flow counters, so a month costs the same at 100,000 open cases as at ten.
pub async fn rates<C: ConnectionTrait>(
    db: &C,
    clock: &DayClock,
    units: &[String],
    until: NaiveDate,
    days: u32,
    now: DateTime<Utc>,
) -> Result<RatesView, DbErr> {
    let until = until.min(clock.day_of(now).date);
    let from = until
        .checked_sub_days(Days::new(u64::from(days.saturating_sub(1))))
        .unwrap_or(until);
    let dates: Vec<NaiveDate> = from.iter_days().take_while(|d| *d <= until).collect();
    let unit_filter = (units.len() == 1).then(|| units[0].as_str());
    let mut recorded: HashMap<(String, NaiveDate), day_row::Model> = HashMap::new();
    for row in store::days(db, unit_filter, from, until).await? {
        if let Some(date) = super::day::parse_date(&row.day) {
            recorded.insert((row.unit.clone(), date), row);
        }
    }
    let mut out = Vec::with_capacity(units.len());
    for unit in units {
        let missing: Vec<NaiveDate> = dates
            .iter()
            .copied()
            .filter(|d| !recorded.contains_key(&(unit.clone(), *d)))
            .collect();
        let live = match (missing.first(), missing.last()) {
            (Some(first), Some(last)) => Live::read(db, clock, unit, *first, *last, now).await?,
            _ => Live::Counted(flow_count::DaySums::default()),
        };
        let series = dates
            .iter()
            .map(|date| {
                let day = clock.day(*date);
                match recorded.get(&(unit.clone(), *date)) {
                    Some(row) => recorded_rate(row, &day, now),
                    None => rate_of(&day, live.figures(&day, now), now, FigureSource::Live, None),
                }
            })
            .collect();
        out.push(UnitRates {
            unit: unit.clone(),
            days: series,
        });
    }
    Ok(RatesView {
        from,
        until,
        units: out,
    })
}

/// Where the days not recorded get their figures: the flow counters when days start and
/// end on a half hour (UTC), as the default 17:30 in UTC+8 does, so a month costs the same
/// at 100,000 open cases as at ten; the cases themselves otherwise.
enum Live {
    Counted(flow_count::DaySums),
    Cases(Vec<report::CaseFacts>),
}

impl Live {
    async fn read<C: ConnectionTrait>(
        db: &C,
        clock: &DayClock,
        unit: &str,
        first: NaiveDate,
        last: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Live, DbErr> {
        let starts_at = clock.day(first).starts_at;
        if flow::on_a_slot(starts_at) {
            let from = flow::slot_of(starts_at);
            let sums = flow_count::day_sums(db, Some(unit), from, &Measure::ALL).await?;
            return Ok(Live::Counted(sums));
        }
        let until = now.min(clock.day(last).ends_at);
        let cases = store::cases_between(db, unit, starts_at, until).await?;
        Ok(Live::Cases(cases))
    }

    /// A day's figures; from the counters as [`report::figures`] computes them from the
    /// cases, a day still running counting everything so far.
    fn figures(&self, day: &ClearanceDay, now: DateTime<Utc>) -> DayFigures {
        let sums = match self {
            Live::Cases(cases) => return report::figures(day, now, cases),
            Live::Counted(sums) => sums,
        };
        let start = flow::slot_of(day.starts_at);
        let open_at_start = sums.open_at(start);
        if now < day.ends_at {
            return DayFigures {
                open_at_start,
                received: sums.since(Measure::Received, start),
                finished: sums.since(Measure::Finished, start),
                carried_over: sums.open_now(),
            };
        }
        let end = flow::slot_of(day.ends_at);
        DayFigures {
            open_at_start,
            received: sums.between(Measure::Received, start, end),
            finished: sums.between(Measure::Finished, start, end),
            carried_over: sums.open_at(end),
        }
    }
}

fn recorded_rate(row: &day_row::Model, day: &ClearanceDay, now: DateTime<Utc>) -> DayRate {
    let figures = DayFigures {
        open_at_start: row.open_at_start,
        received: row.received,
        finished: row.finished,
        carried_over: row.carried_over,
    };
    let sign_off = match (&row.signed_off_by, &row.signed_off_at) {
        (Some(by), Some(at)) => Some(SignOff {
            by: by.clone(),
            role: row.signed_off_role.clone().unwrap_or_default(),
            at: *at,
        }),
        _ => None,
    };
    let source = if sign_off.is_some() {
        FigureSource::Signed
    } else {
        FigureSource::Closed
    };
    rate_of(day, figures, now, source, sign_off)
}

fn rate_of(
    day: &ClearanceDay,
    figures: DayFigures,
    now: DateTime<Utc>,
    source: FigureSource,
    sign_off: Option<SignOff>,
) -> DayRate {
    DayRate {
        day: day.date,
        figures,
        rate: figures.rate(),
        complete: now >= day.ends_at,
        source,
        sign_off,
    }
}
