//! What keeps the dashboard and the case list cheap at 100,000 open cases and beyond: the
//! due-day counters the overdue figure is summed from, and indexes in the list's order.

use clearline_platform::db::run_ddl;
use sea_orm_migration::prelude::*;

pub struct DashboardReads;

impl MigrationName for DashboardReads {
    fn name(&self) -> &str {
        "m0101_dashboard_reads"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for DashboardReads {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager,
            &[
                // Maintained in the projection's transaction, like case_counts.
                "CREATE TABLE due_counts (
                    unit TEXT NOT NULL,
                    due_day BIGINT NOT NULL,
                    n BIGINT NOT NULL,
                    PRIMARY KEY (unit, due_day)
                )",
                // The list's order (soonest due, then oldest received, then id), so a page is
                // read in order instead of sorting every match: an unfiltered list walks the
                // first, a unit's or a status's the others (a stage's walks stage_due), and
                // a second filter is checked row by row along the way.
                "CREATE INDEX backlog_cases_due_order ON backlog_cases (due_at, received_at, case_id)",
                "CREATE INDEX backlog_cases_unit_due ON backlog_cases (unit, due_at, received_at, case_id)",
                "CREATE INDEX backlog_cases_status_due ON backlog_cases (status, due_at, received_at, case_id)",
            ],
        )
        .await?;
        // The cases already there, counted as the projection would have.
        crate::projection::due::count_all(manager.get_connection()).await
    }
}
