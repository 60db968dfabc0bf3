//! The flow counters behind the supervisor's flow panel and the clearance rates: per unit
//! and half-hour slot (UTC), how many cases were received, how many were finished, and how
//! many of those received are still open. Maintained like [`super::counts`] in the
//! projection's transaction, so the panel (today's flow, the open count at each day's end,
//! the age histogram) and a month of daily clearance figures are sums of a few thousand
//! counters instead of a pass over every case the unit has.
//!
//! A case counts once it has a status and a receipt time:
//! - `received` under the slot it was received in;
//! - `finished` under the slot it was finished in, or received in if that is later (a
//!   clock behind another service's must not finish a case before it began), once finished;
//! - `open` under the slot it was received in, while not finished.
//!
//! Each is counted twice: under its unit, and under [`ALL_UNITS`] for the city-wide views,
//! so those read as few counters as a unit's.
//!
//! So `received = finished + open` over all slots, and the cases open at a slot's start
//! are those received before it less those finished before it. Half hours, because days
//! end on them (a clearance day at 17:30; midnight in every zone a half-hour offset from
//! UTC). Like the due-day counters, they are a pure function of the rows, so a recount
//! checks them exactly.

use super::counts::{add, summed};
use super::derive::CaseState;
use crate::store::case;
use chrono::{DateTime, Utc};
use clearline_domain::Status;
use sea_orm::{ConnectionTrait, DbErr, Statement, Value};

/// How long a slot lasts.
const SLOT_SECONDS: i64 = 1_800;

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

/// The unit the city-wide counters are kept under. No case has it: intake refuses a case
/// without a unit.
pub const ALL_UNITS: &str = "";

/// One flow counter.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlowKey {
    pub unit: String,
    pub measure: Measure,
    /// Half hours since 1970-01-01T00:00Z; see [`slot_of`].
    pub slot: i64,
}

/// The half-hour slot a time falls in, numbered from the epoch (floor, so before 1970 too).
pub fn slot_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(SLOT_SECONDS)
}

/// Whether `at` is the first instant of a slot: where a day may start or end.
pub fn on_a_slot(at: DateTime<Utc>) -> bool {
    at.timestamp().rem_euclid(SLOT_SECONDS) == 0 && at.timestamp_subsec_nanos() == 0
}

/// The counters one case counts under: none, or received with finished or open, each
/// under its unit and under [`ALL_UNITS`].
pub fn keys_of(
    unit: &str,
    status: Option<Status>,
    received_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
) -> Vec<FlowKey> {
    let (Some(_), Some(received)) = (status, received_at) else {
        return Vec::new();
    };
    let then = match finished_at {
        Some(finished) => (Measure::Finished, finished.max(received)),
        None => (Measure::Open, received),
    };
    [unit, ALL_UNITS]
        .into_iter()
        .flat_map(|unit| {
            [(Measure::Received, received), then].map(|(measure, at)| FlowKey {
                unit: unit.to_string(),
                measure,
                slot: slot_of(at),
            })
        })
        .collect()
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
/// [`super::counts::bump_all`] for why). A counter that falls to zero is removed: every
/// case received in a slot long ago is finished, and the open cases' counters are read
/// all the way back, so they must not pile up a row per half hour forever.
pub async fn bump_all<C: ConnectionTrait>(db: &C, moves: &[(FlowKey, i64)]) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    for (key, delta) in summed(moves) {
        let values = [
            Value::from(key.unit.clone()),
            Value::from(key.measure.as_str()),
            Value::from(key.slot),
        ];
        let columns = ["unit", "measure", "slot"];
        add(db, "flow_counts", &columns, values.to_vec(), delta).await?;
        if delta < 0 {
            db.execute(Statement::from_sql_and_values(
                backend,
                "DELETE FROM flow_counts WHERE unit = $1 AND measure = $2 AND slot = $3 AND n = 0",
                values,
            ))
            .await?;
        }
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
    fn a_slot_runs_half_an_hour_from_the_hour_or_the_half() {
        assert_eq!(slot_of(at(8, 29)), slot_of(at(8, 0)));
        assert_eq!(slot_of(at(8, 30)), slot_of(at(8, 0)) + 1);
        assert_eq!(slot_of(at(9, 0)), slot_of(at(8, 0)) + 2);
        assert_eq!(slot_of(at(8, 59)), slot_of(at(8, 30)));
        assert!(on_a_slot(at(17, 30)) && on_a_slot(at(16, 0)) && !on_a_slot(at(17, 45)));
    }

    #[test]
    fn a_case_counts_as_received_and_then_open_or_finished() {
        let open = keys_of("u1", Some(Status::PendingApproval), Some(at(8, 10)), None);
        let counted: Vec<(&str, Measure)> =
            open.iter().map(|k| (k.unit.as_str(), k.measure)).collect();
        assert_eq!(
            counted,
            [
                ("u1", Measure::Received),
                ("u1", Measure::Open),
                (ALL_UNITS, Measure::Received),
                (ALL_UNITS, Measure::Open)
            ]
        );
        assert!(open.iter().all(|k| k.slot == slot_of(at(8, 0))));

        let closed = keys_of("u1", Some(Status::Closed), Some(at(8, 10)), Some(at(15, 5)));
        assert_eq!(closed[1].measure, Measure::Finished);
        assert_eq!(closed[1].slot, slot_of(at(15, 0)));
    }

    #[test]
    fn a_case_is_never_finished_before_it_was_received() {
        let skewed = keys_of("u1", Some(Status::Closed), Some(at(9, 30)), Some(at(7, 0)));
        assert_eq!(skewed[1].slot, slot_of(at(9, 30)));
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
        assert_eq!(
            net.len(),
            4,
            "open −1 and finished +1, in the unit and the city"
        );
        assert!(net
            .iter()
            .any(|(k, d)| k.measure == Measure::Open && *d == -1));
        assert!(net
            .iter()
            .any(|(k, d)| k.measure == Measure::Finished && *d == 1));
    }
}
