//! The backlog's tables: the timeline of every event, the read model built from it, and
//! the counters the dashboards read.

use clearline_platform::db::{run_ddl, PlatformTables};
use clearline_platform::dead_letters::DeadLetterReplays;
use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(PlatformTables),
            Box::new(BacklogTables),
            Box::new(DeadLetterReplays),
            Box::new(super::watch_migration::WatchColumns),
            Box::new(crate::clearance::store::ClearanceTables),
            Box::new(super::sla::OpenSlaIndex),
            Box::new(super::dashboard_migration::DashboardReads),
            Box::new(super::flow_count::FlowCounts),
            Box::new(super::sla_count::SlaCounts),
        ]
    }
}

struct BacklogTables;

impl MigrationName for BacklogTables {
    fn name(&self) -> &str {
        "m0001_backlog_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for BacklogTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager,
            &[
                // Every event the backlog has seen, once. The read model is re-derived from
                // these rows, so they hold what the derivation needs (case facts and the
                // non-personal payload details) and nothing about the resident.
                "CREATE TABLE case_events (
                    event_id {uuid} PRIMARY KEY,
                    case_id {uuid} NOT NULL,
                    sequence BIGINT NOT NULL,
                    event_type TEXT NOT NULL,
                    occurred_at {ts} NOT NULL,
                    actor_id TEXT NOT NULL,
                    actor_role TEXT NOT NULL,
                    unit TEXT NOT NULL,
                    case_number TEXT NOT NULL,
                    service_type TEXT NOT NULL,
                    detail {json} NOT NULL,
                    -- When the backlog applied it: recorded_at - occurred_at is how far the
                    -- read model lags behind the service that acted.
                    recorded_at {ts} NOT NULL
                )",
                "CREATE INDEX case_events_case ON case_events (case_id, sequence)",
                // One row per case. status and stage stay NULL until the events so far form a
                // valid history (an `approved` can arrive before its `received`).
                "CREATE TABLE backlog_cases (
                    case_id {uuid} PRIMARY KEY,
                    case_number TEXT NOT NULL,
                    unit TEXT NOT NULL,
                    service_window TEXT,
                    channel TEXT,
                    service_type TEXT NOT NULL,
                    status TEXT,
                    stage TEXT,
                    owner TEXT,
                    received_at {ts},
                    due_at {ts},
                    updated_at {ts} NOT NULL,
                    finished_at {ts},
                    last_sequence BIGINT NOT NULL,
                    event_count BIGINT NOT NULL
                )",
                // The list's filters and the oldest open case per unit and stage.
                "CREATE INDEX backlog_cases_unit_stage_received ON backlog_cases (unit, stage, received_at)",
                // Overdue: open stages with due_at before now.
                "CREATE INDEX backlog_cases_stage_due ON backlog_cases (stage, due_at)",
                "CREATE INDEX backlog_cases_number ON backlog_cases (case_number)",
                // Maintained in the projection's transaction; every dashboard count reads here.
                "CREATE TABLE case_counts (
                    unit TEXT NOT NULL,
                    service_type TEXT NOT NULL,
                    status TEXT NOT NULL,
                    n BIGINT NOT NULL,
                    PRIMARY KEY (unit, service_type, status)
                )",
            ],
        )
        .await
    }
}
