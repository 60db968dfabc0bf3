//! The clearance tables, a migration of their own after the backlog's.

use clearline_platform::db::run_ddl;
use sea_orm_migration::prelude::*;

pub struct ClearanceTables;

impl MigrationName for ClearanceTables {
    fn name(&self) -> &str {
        "m0100_clearance_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for ClearanceTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager,
            &[
                // One row per unit and closed day: the figures recorded when the day ended
                // (by the end-of-day job) or, once signed off, the ones signed, with who
                // signed when and the whole report as it was then.
                "CREATE TABLE clearance_days (
                    unit TEXT NOT NULL,
                    day TEXT NOT NULL,
                    recorded_at {ts} NOT NULL,
                    open_at_start BIGINT NOT NULL,
                    received BIGINT NOT NULL,
                    finished BIGINT NOT NULL,
                    carried_over BIGINT NOT NULL,
                    signed_off_by TEXT,
                    signed_off_role TEXT,
                    signed_off_at {ts},
                    report {json},
                    PRIMARY KEY (unit, day)
                )",
                // Why each carried-over case is still open; one reason per case and day.
                "CREATE TABLE clearance_reasons (
                    unit TEXT NOT NULL,
                    day TEXT NOT NULL,
                    case_id {uuid} NOT NULL,
                    code TEXT NOT NULL,
                    text TEXT,
                    set_by TEXT NOT NULL,
                    set_at {ts} NOT NULL,
                    PRIMARY KEY (unit, day, case_id)
                )",
                // The cases a day touches: open then, or received or finished since.
                "CREATE INDEX clearance_cases_unit_received ON backlog_cases (unit, received_at)",
            ],
        )
        .await
    }
}
