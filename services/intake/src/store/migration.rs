//! Intake's tables. Intake is the only service that holds a resident's full personal data.

use clearline_platform::db::{run_ddl, PlatformTables};
use clearline_platform::dead_letters::DeadLetterReplays;
use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(PlatformTables),
            Box::new(IntakeTables),
            Box::new(DeadLetterReplays),
        ]
    }
}

struct IntakeTables;

impl MigrationName for IntakeTables {
    fn name(&self) -> &str {
        "m0001_intake_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for IntakeTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager,
            &[
                "CREATE TABLE cases (
                    id {uuid} PRIMARY KEY,
                    case_number TEXT NOT NULL UNIQUE,
                    unit TEXT NOT NULL,
                    service_window TEXT NOT NULL,
                    channel TEXT NOT NULL,
                    service_type TEXT NOT NULL,
                    status TEXT NOT NULL,
                    sequence INTEGER NOT NULL,
                    round INTEGER NOT NULL,
                    applicant_name TEXT NOT NULL,
                    applicant_id_number TEXT NOT NULL,
                    applicant_phone TEXT NOT NULL,
                    provided_materials {json} NOT NULL,
                    missing_materials {json} NOT NULL,
                    received_by TEXT NOT NULL,
                    received_at {ts} NOT NULL,
                    due_at {ts} NOT NULL,
                    updated_at {ts} NOT NULL,
                    cancel_reason TEXT
                )",
                "CREATE INDEX cases_window_day ON cases (unit, service_window, received_at)",
                // One counter per unit and local day: case numbers read like HP01-20261129-00042.
                "CREATE TABLE case_number_counters (
                    unit TEXT NOT NULL,
                    day TEXT NOT NULL,
                    last INTEGER NOT NULL,
                    PRIMARY KEY (unit, day)
                )",
            ],
        )
        .await
    }
}
