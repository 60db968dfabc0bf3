//! Dashboard figures as sums of the maintained counters (pure). Every count shown anywhere
//! is one of these sums, so `open = received − finished` holds per unit and stage by
//! construction, not by care.

use crate::store::queries::OPEN_STAGES;
use crate::store::{count, due_count, flow_count, sla_count};
use clearline_domain::{Stage, Status};
use std::collections::BTreeMap;

/// Cases per status for some slice of the backlog (a unit, a unit and service type, all).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    by_status: BTreeMap<Status, i64>,
}

impl Tally {
    pub fn add(&mut self, status: Status, n: i64) {
        *self.by_status.entry(status).or_default() += n;
    }

    pub fn merge(&mut self, other: &Tally) {
        for (status, n) in &other.by_status {
            self.add(*status, *n);
        }
    }

    pub fn count(&self, status: Status) -> i64 {
        self.by_status.get(&status).copied().unwrap_or(0)
    }

    /// Cases whose status belongs to `stage` (for [`Stage::Done`], the finished ones).
    pub fn in_stage(&self, stage: Stage) -> i64 {
        self.by_status
            .iter()
            .filter(|(s, _)| s.stage() == stage)
            .map(|(_, n)| n)
            .sum()
    }

    pub fn open(&self) -> i64 {
        OPEN_STAGES.iter().map(|stage| self.in_stage(*stage)).sum()
    }

    /// Every case with a known status: each was received (or booked) once.
    pub fn received(&self) -> i64 {
        self.by_status.values().sum()
    }

    pub fn finished(&self) -> i64 {
        self.in_stage(Stage::Done)
    }
}

/// Groups counter rows by `key`. A status name this version does not know is skipped.
pub fn tally_by<K: Ord>(
    rows: &[count::Model],
    key: impl Fn(&count::Model) -> K,
) -> BTreeMap<K, Tally> {
    let mut out: BTreeMap<K, Tally> = BTreeMap::new();
    for row in rows {
        if let Some(status) = Status::parse(&row.status) {
            out.entry(key(row)).or_default().add(status, row.n);
        }
    }
    out
}

/// A counter whose maintained value differs from a recount of the cases.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Drift {
    pub unit: String,
    pub service_type: String,
    pub status: String,
    pub counted: i64,
    pub maintained: i64,
}

/// The counters whose recount differs from the maintained value, as `(key, counted,
/// maintained)`; a counter missing on either side counts as zero. One rule for every kind.
fn differing<K: Ord>(
    counted: impl IntoIterator<Item = (K, i64)>,
    maintained: impl IntoIterator<Item = (K, i64)>,
) -> Vec<(K, i64, i64)> {
    let mut both: BTreeMap<K, (i64, i64)> = BTreeMap::new();
    for (key, n) in counted {
        both.entry(key).or_default().0 += n;
    }
    for (key, n) in maintained {
        both.entry(key).or_default().1 += n;
    }
    both.into_iter()
        .filter(|(_, (c, m))| c != m)
        .map(|(key, (c, m))| (key, c, m))
        .collect()
}

/// Compares a recount with the maintained counters.
pub fn drift(counted: &[count::Model], maintained: &[count::Model]) -> Vec<Drift> {
    let key = |row: &count::Model| {
        let key = (
            row.unit.clone(),
            row.service_type.clone(),
            row.status.clone(),
        );
        (key, row.n)
    };
    differing(counted.iter().map(key), maintained.iter().map(key))
        .into_iter()
        .map(
            |((unit, service_type, status), counted, maintained)| Drift {
                unit,
                service_type,
                status,
                counted,
                maintained,
            },
        )
        .collect()
}

/// A due-day counter whose maintained value differs from a recount of the cases.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct DueDrift {
    pub unit: String,
    /// Days since 1970-01-01 (UTC) of the cases' due time.
    pub due_day: i64,
    pub counted: i64,
    pub maintained: i64,
}

/// Compares recounted due-day counters with the maintained ones.
pub fn due_drift(counted: &[due_count::Model], maintained: &[due_count::Model]) -> Vec<DueDrift> {
    let key = |row: &due_count::Model| ((row.unit.clone(), row.due_day), row.n);
    differing(counted.iter().map(key), maintained.iter().map(key))
        .into_iter()
        .map(|((unit, due_day), counted, maintained)| DueDrift {
            unit,
            due_day,
            counted,
            maintained,
        })
        .collect()
}

/// A flow counter whose maintained value differs from a recount of the cases.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct FlowDrift {
    pub unit: String,
    /// `received`, `finished` or `open`.
    pub measure: String,
    /// Half hours since 1970-01-01T00:00Z.
    pub slot: i64,
    pub counted: i64,
    pub maintained: i64,
}

/// Compares recounted flow counters with the maintained ones.
pub fn flow_drift(
    counted: &[flow_count::Model],
    maintained: &[flow_count::Model],
) -> Vec<FlowDrift> {
    let key = |row: &flow_count::Model| ((row.unit.clone(), row.measure.clone(), row.slot), row.n);
    differing(counted.iter().map(key), maintained.iter().map(key))
        .into_iter()
        .map(|((unit, measure, slot), counted, maintained)| FlowDrift {
            unit,
            measure,
            slot,
            counted,
            maintained,
        })
        .collect()
}

/// A promised-time counter whose maintained value differs from a recount of the cases.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct LevelDrift {
    pub unit: String,
    /// `warning` or `breached`.
    pub level: String,
    pub counted: i64,
    pub maintained: i64,
}

/// Compares recounted promised-time counters with the maintained ones.
pub fn level_drift(
    counted: &[sla_count::Model],
    maintained: &[sla_count::Model],
) -> Vec<LevelDrift> {
    let key = |row: &sla_count::Model| ((row.unit.clone(), row.level.clone()), row.n);
    differing(counted.iter().map(key), maintained.iter().map(key))
        .into_iter()
        .map(|((unit, level), counted, maintained)| LevelDrift {
            unit,
            level,
            counted,
            maintained,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(unit: &str, status: Status, n: i64) -> count::Model {
        count::Model {
            unit: unit.into(),
            service_type: "residence_permit".into(),
            status: status.as_str().into(),
            n,
        }
    }

    #[test]
    fn open_is_received_minus_finished() {
        let rows = [
            row("u1", Status::Received, 2),
            row("u1", Status::PendingApproval, 3),
            row("u1", Status::InFulfilment, 1),
            row("u1", Status::Closed, 5),
            row("u1", Status::Cancelled, 1),
            row("u2", Status::Rejected, 4),
        ];
        let by_unit = tally_by(&rows, |r| r.unit.clone());
        let u1 = &by_unit["u1"];
        assert_eq!(
            (
                u1.in_stage(Stage::Intake),
                u1.in_stage(Stage::Approval),
                u1.in_stage(Stage::Fulfilment)
            ),
            (2, 3, 1)
        );
        assert_eq!((u1.open(), u1.received(), u1.finished()), (6, 12, 6));
        assert_eq!(by_unit["u2"].open(), 0);
    }

    #[test]
    fn a_zero_counter_is_no_drift_and_a_missing_one_is() {
        let counted = [row("u1", Status::Received, 2)];
        let maintained = [row("u1", Status::Received, 2), row("u1", Status::Closed, 0)];
        assert!(drift(&counted, &maintained).is_empty());
        let found = drift(&counted, &[row("u1", Status::Received, 1)]);
        assert_eq!((found[0].counted, found[0].maintained), (2, 1));
    }
}
