//! The backlog's half of the audit: is every case row what its timeline says, and is every
//! counter what the rows say? And the repair that makes them so. `clearline audit` adds the
//! other half (the services' own records, the outboxes and the stream); the backlog runs
//! this half on a schedule and exports the drift as a metric.

use crate::dashboard;
use crate::projection::{self, Policy, Recorded};
use crate::projection::{due, flow, levels};
use crate::store::{case, queries, BacklogCases};
use clearline_contracts::CaseEvent;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryOrder, QuerySelect, Statement,
    TransactionTrait,
};
use serde::Serialize;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// A case whose stored row differs from what its timeline derives.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RowDrift {
    pub case_id: Uuid,
    pub case_number: String,
    pub stored_status: Option<String>,
    pub derived_status: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Findings {
    pub rows_checked: usize,
    pub rows: Vec<RowDrift>,
    /// Counters that differ from a recount of the rows: (unit, service type, status,
    /// maintained, counted).
    pub counters: Vec<crate::routes::dto::Drift>,
    /// Due-day counters that differ from a recount of the rows.
    pub due_counters: Vec<crate::routes::dto::DueDrift>,
    /// Flow counters that differ from a recount of the rows.
    pub flow_counters: Vec<crate::routes::dto::FlowDrift>,
    /// Promised-time counters that differ from a recount of the rows.
    pub level_counters: Vec<crate::routes::dto::LevelDrift>,
}

impl Findings {
    pub fn drift(&self) -> usize {
        self.rows.len()
            + self.counters.len()
            + self.due_counters.len()
            + self.flow_counters.len()
            + self.level_counters.len()
    }

    fn recounted(&mut self, report: crate::routes::dto::VerifyReport) {
        self.counters = report.drift;
        self.due_counters = report.due_drift;
        self.flow_counters = report.flow_drift;
        self.level_counters = report.level_drift;
    }
}

/// Re-derives up to `limit` rows (most recently updated first; every row with `None`) and
/// recounts the counters.
pub async fn check(
    db: &DatabaseConnection,
    policy: &Policy,
    limit: Option<u64>,
) -> Result<Findings, DbErr> {
    let mut select = BacklogCases::find().order_by_desc(case::Column::UpdatedAt);
    if let Some(limit) = limit {
        select = select.limit(limit);
    }
    let rows = select.all(db).await?;
    let mut findings = Findings {
        rows_checked: rows.len(),
        ..Findings::default()
    };
    for row in rows {
        if let Some(drift) = row_drift(db, policy, &row).await? {
            findings.rows.push(drift);
        }
    }
    findings.recounted(recount(db).await?);
    Ok(findings)
}

/// The counters against a recount, both read in one snapshot (the consumer keeps writing).
async fn recount(db: &DatabaseConnection) -> Result<crate::routes::dto::VerifyReport, DbErr> {
    let txn = queries::snapshot(db).await?;
    let report = dashboard::verify(&txn, None).await?;
    txn.commit().await?;
    Ok(report)
}

async fn row_drift<C: ConnectionTrait>(
    db: &C,
    policy: &Policy,
    row: &case::Model,
) -> Result<Option<RowDrift>, DbErr> {
    let events = projection::load_events(db, row.case_id).await?;
    let derived = projection::derive(&events, policy).map(|s| projection::row_of(&s));
    if derived.as_ref() == Some(row) {
        return Ok(None);
    }
    Ok(Some(RowDrift {
        case_id: row.case_id,
        case_number: row.case_number.clone(),
        stored_status: row.status.clone(),
        derived_status: derived.and_then(|d| d.status),
    }))
}

/// What a repair changed.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Repaired {
    pub events_added: usize,
    pub rows_rewritten: usize,
    pub counters_rewritten: bool,
}

/// Adds the `missing` events to the timeline, re-derives every case row, and recounts the
/// counters from the rows, in one transaction. On PostgreSQL the counters are locked for
/// its length, so live projections wait rather than interleave.
pub async fn repair(
    db: &DatabaseConnection,
    policy: &Policy,
    missing: &[CaseEvent],
) -> Result<Repaired, DbErr> {
    let txn = db.begin().await?;
    let backend = txn.get_database_backend();
    if backend == sea_orm::DatabaseBackend::Postgres {
        txn.execute_unprepared(
            "LOCK TABLE case_counts, due_counts, flow_counts, sla_counts IN EXCLUSIVE MODE",
        )
        .await?;
    }
    let mut repaired = Repaired::default();
    for event in missing {
        if let Some(recorded) = Recorded::from_event(event) {
            if projection::store_event(&txn, &recorded).await? {
                repaired.events_added += 1;
                txn.execute(Statement::from_sql_and_values(
                    backend,
                    "INSERT INTO backlog_cases (case_id, case_number, unit, service_type, updated_at, last_sequence, event_count)
                     VALUES ($1, $2, $3, $4, $5, 0, 0) ON CONFLICT (case_id) DO NOTHING",
                    [
                        recorded.case_id.into(),
                        recorded.case_number.clone().into(),
                        recorded.unit.clone().into(),
                        recorded.service_type.clone().into(),
                        recorded.occurred_at.into(),
                    ],
                ))
                .await?;
            }
        }
    }
    for row in BacklogCases::find().all(&txn).await? {
        if row_drift(&txn, policy, &row).await?.is_some() {
            let events = projection::load_events(&txn, row.case_id).await?;
            if let Some(state) = projection::derive(&events, policy) {
                projection::save_case(&txn, &state).await?;
                repaired.rows_rewritten += 1;
            }
        }
    }
    let report = dashboard::verify(&txn, None).await?;
    if !report.drift.is_empty() {
        txn.execute_unprepared("DELETE FROM case_counts").await?;
        txn.execute_unprepared(
            "INSERT INTO case_counts (unit, service_type, status, n)
             SELECT unit, service_type, status, COUNT(*) FROM backlog_cases
             WHERE status IS NOT NULL GROUP BY unit, service_type, status",
        )
        .await?;
        repaired.counters_rewritten = true;
    }
    if !report.due_drift.is_empty() {
        txn.execute_unprepared("DELETE FROM due_counts").await?;
        due::count_all(&txn).await?;
        repaired.counters_rewritten = true;
    }
    if !report.flow_drift.is_empty() {
        txn.execute_unprepared("DELETE FROM flow_counts").await?;
        flow::count_all(&txn).await?;
        repaired.counters_rewritten = true;
    }
    if !report.level_drift.is_empty() {
        txn.execute_unprepared("DELETE FROM sla_counts").await?;
        levels::count_all(&txn).await?;
        repaired.counters_rewritten = true;
    }
    txn.commit().await?;
    Ok(repaired)
}

/// Most rows the scheduled self-check re-derives each time: the most recently changed.
const SELF_CHECK_ROWS: u64 = 1_000;

/// Checks every `every` until `shutdown` and publishes the drift as
/// `clearline_backlog_drift`. A row that differs is looked at again a moment later before
/// it counts: a projection may have committed between reading the row and its events.
pub async fn run_self_check(
    db: DatabaseConnection,
    policy: std::sync::Arc<Policy>,
    every: Duration,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = shutdown.cancelled() => return,
        }
        match confirmed_drift(&db, &policy).await {
            Ok(findings) => {
                if findings.drift() > 0 {
                    tracing::error!(
                        rows = findings.rows.len(),
                        counters = findings.counters.len(),
                        "read model drift found; run `clearline audit --repair`"
                    );
                }
                #[allow(clippy::cast_precision_loss)]
                let drift = findings.drift() as f64;
                metrics::gauge!("clearline_backlog_drift").set(drift);
            }
            Err(error) => tracing::warn!(%error, "self-check failed; will retry"),
        }
    }
}

async fn confirmed_drift(db: &DatabaseConnection, policy: &Policy) -> Result<Findings, DbErr> {
    let mut findings = check(db, policy, Some(SELF_CHECK_ROWS)).await?;
    if findings.drift() == 0 {
        return Ok(findings);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut still = Vec::new();
    for drift in &findings.rows {
        if let Some(row) = BacklogCases::find_by_id(drift.case_id).one(db).await? {
            if let Some(again) = row_drift(db, policy, &row).await? {
                still.push(again);
            }
        }
    }
    findings.rows = still;
    findings.recounted(recount(db).await?);
    Ok(findings)
}
