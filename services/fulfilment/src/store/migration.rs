//! Fulfilment's tables: one task per case ready for fulfilment (or a tombstone for a case
//! cancelled before fulfilment heard of it).

use clearline_platform::db::{run_ddl, PlatformTables};
use clearline_platform::dead_letters::DeadLetterReplays;
use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(PlatformTables),
            Box::new(FulfilmentTables),
            Box::new(DeadLetterReplays),
        ]
    }
}

struct FulfilmentTables;

impl MigrationName for FulfilmentTables {
    fn name(&self) -> &str {
        "m0001_fulfilment_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for FulfilmentTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager,
            &[
                // due_at is NULL only for a tombstone: a cancel that arrived before the
                // approval (or the submission), so the promised time is not known.
                "CREATE TABLE fulfilment_tasks (
                    case_id {uuid} PRIMARY KEY,
                    case_number TEXT NOT NULL,
                    unit TEXT NOT NULL,
                    service_type TEXT NOT NULL,
                    status TEXT NOT NULL,
                    mode TEXT,
                    scheduled_for {ts},
                    sequence INTEGER NOT NULL,
                    due_at {ts},
                    created_at {ts} NOT NULL,
                    updated_at {ts} NOT NULL,
                    started_by TEXT,
                    fulfilled_by TEXT,
                    closed_by TEXT
                )",
                // The officers' work list: what is due first, across units or within one.
                "CREATE INDEX fulfilment_tasks_queue ON fulfilment_tasks (status, due_at)",
                "CREATE INDEX fulfilment_tasks_unit_queue ON fulfilment_tasks (unit, status, due_at)",
            ],
        )
        .await
    }
}
