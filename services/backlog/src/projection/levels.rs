//! The promised-time counters: open cases per (unit, level), the level being the worst
//! the case has been announced (`warning` or `breached`), maintained like
//! [`super::counts`] in the projection's transaction. `/api/v1/sla/units` reads them:
//! counting the rows instead reads an index entry per case with a level, which in a
//! bureau behind its promises is nearly every open case (70 ms on PostgreSQL at 88,000).

use super::counts::{add, summed};
use super::derive::CaseState;
use crate::store::{case, sla};
use clearline_domain::Status;
use sea_orm::{ConnectionTrait, DbErr, Value};

/// Where an open case with an announced level is counted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LevelKey {
    pub unit: String,
    /// `warning` or `breached`.
    pub level: String,
}

impl LevelKey {
    fn of(unit: &str, status: Option<Status>, level: Option<&str>) -> Option<LevelKey> {
        let open = status.is_some_and(|s| !s.is_finished());
        Some(LevelKey {
            unit: unit.to_string(),
            level: level.filter(|_| open)?.to_string(),
        })
    }

    pub fn of_state(state: &CaseState) -> Option<LevelKey> {
        LevelKey::of(&state.unit, state.status, state.sla_level)
    }

    pub fn of_row(row: &case::Model) -> Option<LevelKey> {
        LevelKey::of(&row.unit, row.status(), row.sla_level.as_deref())
    }
}

/// Writes level-counter changes summed per counter, in key order (see
/// [`super::counts::bump_all`] for why).
pub async fn bump_all<C: ConnectionTrait>(db: &C, moves: &[(LevelKey, i64)]) -> Result<(), DbErr> {
    for (key, delta) in summed(moves) {
        let values = vec![
            Value::from(key.unit.clone()),
            Value::from(key.level.clone()),
        ];
        add(db, "sla_counts", &["unit", "level"], values, delta).await?;
    }
    Ok(())
}

/// Counts every case into empty level counters (a new table, or a repair's rewrite).
pub async fn count_all<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    let recounted: Vec<(LevelKey, i64)> = sla::recount_levels(db, None)
        .await?
        .into_iter()
        .map(|row| {
            let key = LevelKey {
                unit: row.unit,
                level: row.level,
            };
            (key, row.n)
        })
        .collect();
    bump_all(db, &recounted).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_open_cases_with_a_level_count() {
        let key = LevelKey::of("u1", Some(Status::PendingApproval), Some("breached"));
        assert_eq!(
            key,
            Some(LevelKey {
                unit: "u1".into(),
                level: "breached".into()
            })
        );
        assert_eq!(
            LevelKey::of("u1", Some(Status::Closed), Some("breached")),
            None
        );
        assert_eq!(LevelKey::of("u1", None, Some("warning")), None);
        assert_eq!(LevelKey::of("u1", Some(Status::Received), None), None);
    }
}
