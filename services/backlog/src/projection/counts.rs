//! The maintained counters. A case counts once, under its current (unit, service type,
//! status); moving it is −1 on the old key and +1 on the new, in the projection's
//! transaction. Every dashboard figure is a sum of these, so `open = received − finished`
//! holds by construction.

use super::derive::CaseState;
use crate::store::case;
use clearline_domain::Status;
use sea_orm::{ConnectionTrait, DbErr, Statement, Value};
use std::collections::BTreeMap;

/// Where a case is counted; a case without a known status is not counted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CountKey {
    pub unit: String,
    pub service_type: String,
    pub status: Status,
}

impl CountKey {
    pub fn of_state(state: &CaseState) -> Option<CountKey> {
        Some(CountKey {
            unit: state.unit.clone(),
            service_type: state.service_type.clone(),
            status: state.status?,
        })
    }

    pub fn of_row(row: &case::Model) -> Option<CountKey> {
        Some(CountKey {
            unit: row.unit.clone(),
            service_type: row.service_type.clone(),
            status: row.status()?,
        })
    }
}

/// The counter changes that move a case from `old` to `new`: nothing when it stays put.
/// The same rule for every maintained counter (these, and [`super::due`]'s).
pub fn changes<K: PartialEq>(old: Option<K>, new: Option<K>) -> Vec<(K, i64)> {
    if old == new {
        return Vec::new();
    }
    old.map(|k| (k, -1))
        .into_iter()
        .chain(new.map(|k| (k, 1)))
        .collect()
}

/// Writes counter changes: summed per counter, zero sums skipped, in key order, so two
/// transactions touching the same counters take their row locks in one order.
pub async fn bump_all<C: ConnectionTrait>(db: &C, moves: &[(CountKey, i64)]) -> Result<(), DbErr> {
    for (key, delta) in summed(moves) {
        bump(db, key, delta).await?;
    }
    Ok(())
}

/// Counter changes summed per counter, in key order, without the ones that cancel out.
pub fn summed<K: Ord>(moves: &[(K, i64)]) -> BTreeMap<&K, i64> {
    let mut summed: BTreeMap<&K, i64> = BTreeMap::new();
    for (key, delta) in moves {
        *summed.entry(key).or_default() += delta;
    }
    summed.retain(|_, delta| *delta != 0);
    summed
}

/// Adds `delta` to one counter, creating it at `delta` the first time.
pub async fn bump<C: ConnectionTrait>(db: &C, key: &CountKey, delta: i64) -> Result<(), DbErr> {
    add(
        db,
        "case_counts",
        &["unit", "service_type", "status"],
        vec![
            Value::from(key.unit.clone()),
            Value::from(key.service_type.clone()),
            Value::from(key.status.as_str()),
        ],
        delta,
    )
    .await
}

/// Adds `delta` to the counter `n` of `table` whose key `columns` hold `key`, creating it
/// at `delta` the first time: the one upsert every maintained counter is written with.
pub async fn add<C: ConnectionTrait>(
    db: &C,
    table: &str,
    columns: &[&str],
    mut key: Vec<Value>,
    delta: i64,
) -> Result<(), DbErr> {
    let names = columns.join(", ");
    let slots: Vec<String> = (1..=columns.len() + 1).map(|i| format!("${i}")).collect();
    key.push(Value::from(delta));
    db.execute(Statement::from_sql_and_values(
        db.get_database_backend(),
        format!(
            "INSERT INTO {table} ({names}, n) VALUES ({})
             ON CONFLICT ({names}) DO UPDATE SET n = {table}.n + excluded.n",
            slots.join(", ")
        ),
        key,
    ))
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(status: Status) -> CountKey {
        CountKey {
            unit: "u1".into(),
            service_type: "residence_permit".into(),
            status,
        }
    }

    #[test]
    fn a_move_is_minus_one_then_plus_one() {
        assert_eq!(
            changes(
                Some(key(Status::Received)),
                Some(key(Status::PendingApproval))
            ),
            vec![
                (key(Status::Received), -1),
                (key(Status::PendingApproval), 1)
            ]
        );
    }

    #[test]
    fn staying_put_or_staying_unknown_changes_nothing() {
        assert!(changes(Some(key(Status::Received)), Some(key(Status::Received))).is_empty());
        assert!(changes::<CountKey>(None, None).is_empty());
        assert_eq!(
            changes(None, Some(key(Status::Booked))),
            vec![(key(Status::Booked), 1)]
        );
    }
}
