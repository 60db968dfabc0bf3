//! The flow counters behind the supervisor's flow panel: per unit and UTC hour, how many
//! cases were received, how many were finished, and how many of those received are still
//! open. Maintained like [`super::counts`] in the projection's transaction, so the panel
//! (today's flow, the open count at each day's end, the age histogram) is a sum of a few
//! hundred counters instead of a pass over every case the unit ever had.
//!
//! A case counts once it has a status and a receipt time:
//! - `received` under the hour it was received;
//! - `finished` under the hour it was finished, or received if that is later (a clock
//!   behind another service's must not finish a case before it began), once finished;
//! - `open` under the hour it was received, while not finished.
//!
//! So `received = finished + open` over all hours, and the cases open at an hour's start
//! are those received before it less those finished before it. Like the due-day counters,
//! they are a pure function of the rows, so a recount checks them exactly.

use super::counts::summed;
use super::derive::CaseState;
use crate::store::case;
use chrono::{DateTime, Utc};
use clearline_domain::Status;
use sea_orm::{ConnectionTrait, DbErr, Statement, Value};

const SECONDS_PER_HOUR: i64 = 3_600;

/// What a flow counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Measure {
    Received,
    Finished,
    Open,
}

impl Measure {
    pub const ALL: [Measure; 3] = [Measure::Received, Measure::Finished, Measure::Open];

    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Received => "received",
            Measure::Finished => "finished",
            Measure::Open => "open",
        }
    }

    pub fn parse(s: &str) -> Option<Measure> {
        Measure::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// One flow counter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlowKey {
    pub unit: String,
    pub measure: Measure,
    /// Hours since 1970-01-01T00:00Z; see [`hour_of`].
    pub hour: i64,
}

/// The UTC hour a time falls in, as hours since the epoch (floor, so before 1970 too).
pub fn hour_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(SECONDS_PER_HOUR)
}

/// The first instant of an hour numbered as [`hour_of`] numbers it.
pub fn hour_start(hour: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(hour.saturating_mul(SECONDS_PER_HOUR), 0).unwrap_or_default()
}

/// The counters one case counts under (none, one received with one finished or open).
pub fn keys_of(
    unit: &str,
    status: Option<Status>,
    received_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
) -> Vec<FlowKey> {
    let (Some(_), Some(received)) = (status, received_at) else {
        return Vec::new();
    };
    let key = |measure, at| FlowKey {
        unit: unit.to_string(),
        measure,
        hour: hour_of(at),
    };
    let then = match finished_at {
        Some(finished) => key(Measure::Finished, finished.max(received)),
        None => key(Measure::Open, received),
    };
    vec![key(Measure::Received, received), then]
}

pub fn keys_of_state(state: &CaseState) -> Vec<FlowKey> {
    keys_of(
        &state.unit,
        state.status,
        state.received_at,
        state.finished_at,
    )
}

pub fn keys_of_row(row: &case::Model) -> Vec<FlowKey> {
    keys_of(&row.unit, row.status(), row.received_at, row.finished_at)
}

/// The changes that move a case from the counters it was under to those it is under now.
pub fn changes(old: Vec<FlowKey>, new: Vec<FlowKey>) -> Vec<(FlowKey, i64)> {
    let gone = old.into_iter().map(|k| (k, -1));
    gone.chain(new.into_iter().map(|k| (k, 1))).collect()
}

/// Writes flow-counter changes summed per counter, in key order (see
/// [`super::counts::bump_all`] for why).
pub async fn bump_all<C: ConnectionTrait>(db: &C, moves: &[(FlowKey, i64)]) -> Result<(), DbErr> {
    for (key, delta) in summed(moves) {
        db.execute(Statement::from_sql_and_values(
            db.get_database_backend(),
            "INSERT INTO flow_counts (unit, measure, hour, n) VALUES ($1, $2, $3, $4)
             ON CONFLICT (unit, measure, hour) DO UPDATE SET n = flow_counts.n + excluded.n",
            [
                Value::from(key.unit.clone()),
                Value::from(key.measure.as_str()),
                Value::from(key.hour),
                Value::from(delta),
            ],
        ))
        .await?;
    }
    Ok(())
}

/// Counts every case into empty flow counters (a new table, or a repair's rewrite).
pub async fn count_all<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    let recounted: Vec<(FlowKey, i64)> = crate::store::flow_count::recount(db, None)
        .await?
        .into_iter()
        .filter_map(|row| Some((row.key()?, row.n)))
        .collect();
    bump_all(db, &recounted).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 29, h, m, 0).unwrap()
    }

    #[test]
    fn an_hour_runs_from_its_first_second_to_the_next_hour() {
        assert_eq!(hour_of(at(8, 59)), hour_of(at(8, 0)));
        assert_eq!(hour_of(at(9, 0)), hour_of(at(8, 0)) + 1);
        assert_eq!(hour_start(hour_of(at(8, 59))), at(8, 0));
    }

    #[test]
    fn a_case_counts_as_received_and_then_open_or_finished() {
        let open = keys_of("u1", Some(Status::PendingApproval), Some(at(8, 10)), None);
        let measures: Vec<Measure> = open.iter().map(|k| k.measure).collect();
        assert_eq!(measures, [Measure::Received, Measure::Open]);
        assert!(open.iter().all(|k| k.hour == hour_of(at(8, 0))));

        let closed = keys_of("u1", Some(Status::Closed), Some(at(8, 10)), Some(at(15, 5)));
        assert_eq!(closed[1].measure, Measure::Finished);
        assert_eq!(closed[1].hour, hour_of(at(15, 0)));
    }

    #[test]
    fn a_case_is_never_finished_before_it_was_received() {
        let skewed = keys_of("u1", Some(Status::Closed), Some(at(9, 30)), Some(at(7, 0)));
        assert_eq!(skewed[1].hour, hour_of(at(9, 0)));
    }

    #[test]
    fn without_a_status_or_a_receipt_nothing_counts() {
        assert!(keys_of("u1", None, Some(at(8, 0)), None).is_empty());
        assert!(keys_of("u1", Some(Status::Booked), None, None).is_empty());
    }

    #[test]
    fn closing_moves_open_to_finished_and_keeps_received() {
        let before = keys_of("u1", Some(Status::Fulfilled), Some(at(8, 10)), None);
        let after = keys_of("u1", Some(Status::Closed), Some(at(8, 10)), Some(at(9, 0)));
        let moves = changes(before, after);
        let net: Vec<(&FlowKey, i64)> = summed(&moves).into_iter().collect();
        assert_eq!(net.len(), 2);
        assert!(net
            .iter()
            .any(|(k, d)| k.measure == Measure::Open && *d == -1));
        assert!(net
            .iter()
            .any(|(k, d)| k.measure == Measure::Finished && *d == 1));
    }
}
