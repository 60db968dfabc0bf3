//! The dashboard and the audit, assembled from the counters (counts; overdue as the
//! due-day counters of past days), and from indexed reads of the cases for what depends
//! on the clock (oldest open per unit and stage, today's overdue).

use crate::figures::{self, Tally};
use crate::routes::dto::{BacklogView, Figures, OpenCounts, UnitBacklog, VerifyReport};
use crate::store::queries::{self, OPEN_STAGES};
use crate::store::{flow_count, sla, sla_count};
use chrono::{DateTime, Utc};
use clearline_domain::{Stage, Status};
use sea_orm::{ConnectionTrait, DbErr};
use std::collections::BTreeMap;

/// `unit` narrows to one unit; that unit is listed (with zeros) even before its first case.
pub async fn backlog<C: ConnectionTrait>(
    db: &C,
    unit: Option<&str>,
    now: DateTime<Utc>,
) -> Result<BacklogView, DbErr> {
    let rows = queries::counters(db, unit).await?;
    let mut tallies = figures::tally_by(&rows, |r| r.unit.clone());
    if let Some(unit) = unit {
        tallies.entry(unit.to_string()).or_default();
    }
    let overdue: BTreeMap<String, i64> = queries::overdue_by_unit(db, unit, now)
        .await?
        .into_iter()
        .collect();

    let mut units = Vec::with_capacity(tallies.len());
    let mut all = Tally::default();
    let (mut oldest_all, mut overdue_all) = (None, 0);
    for (unit, tally) in tallies {
        let oldest = oldest_open_age(db, &unit, &tally, now).await?;
        let late = overdue.get(&unit).copied().unwrap_or(0);
        all.merge(&tally);
        oldest_all = oldest_all.max(oldest);
        overdue_all += late;
        units.push(UnitBacklog {
            unit,
            figures: figures_of(&tally, oldest, late),
        });
    }
    Ok(BacklogView {
        generated_at: now,
        units,
        totals: figures_of(&all, oldest_all, overdue_all),
    })
}

/// Age in seconds of the unit's oldest open, received case; asks only stages that have one.
pub async fn oldest_open_age<C: ConnectionTrait>(
    db: &C,
    unit: &str,
    tally: &Tally,
    now: DateTime<Utc>,
) -> Result<Option<i64>, DbErr> {
    let mut oldest = None;
    for stage in OPEN_STAGES {
        if tally.in_stage(stage) > 0 {
            oldest = oldest.max(stage_age(db, unit, stage, now).await?);
        }
    }
    Ok(oldest)
}

pub async fn stage_age<C: ConnectionTrait>(
    db: &C,
    unit: &str,
    stage: Stage,
    now: DateTime<Utc>,
) -> Result<Option<i64>, DbErr> {
    let received = queries::oldest_open(db, unit, stage).await?;
    Ok(received.map(|at| (now - at).num_seconds().max(0)))
}

fn figures_of(tally: &Tally, oldest_open_age_seconds: Option<i64>, overdue: i64) -> Figures {
    Figures {
        open: OpenCounts {
            intake: tally.in_stage(Stage::Intake),
            approval: tally.in_stage(Stage::Approval),
            fulfilment: tally.in_stage(Stage::Fulfilment),
            total: tally.open(),
        },
        by_status: Status::ALL
            .iter()
            .map(|s| (s.as_str().to_string(), tally.count(*s)))
            .collect(),
        received: tally.received(),
        finished: tally.finished(),
        oldest_open_age_seconds,
        overdue,
    }
}

/// Recounts the cases and compares with the maintained counters, every kind.
pub async fn verify<C: ConnectionTrait>(db: &C, unit: Option<&str>) -> Result<VerifyReport, DbErr> {
    let counted = queries::recount(db, unit).await?;
    let maintained = queries::counters(db, unit).await?;
    let drift = figures::drift(&counted, &maintained);
    let due_counted = queries::recount_due(db, unit).await?;
    let due_maintained = queries::due_counters(db, unit).await?;
    let due_drift = figures::due_drift(&due_counted, &due_maintained);
    let flow_counted = flow_count::recount(db, unit).await?;
    let flow_maintained = flow_count::counters(db, unit).await?;
    let flow_drift = figures::flow_drift(&flow_counted, &flow_maintained);
    let level_counted = sla::recount_levels(db, unit).await?;
    let level_maintained = sla_count::counters(db, unit).await?;
    let level_drift = figures::level_drift(&level_counted, &level_maintained);
    Ok(VerifyReport {
        ok: drift.is_empty()
            && due_drift.is_empty()
            && flow_drift.is_empty()
            && level_drift.is_empty(),
        drift,
        due_drift,
        flow_drift,
        level_drift,
    })
}
