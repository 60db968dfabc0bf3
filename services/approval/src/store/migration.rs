//! Approval's tables: one task per case that needs approval (or a tombstone for a case
//! cancelled before approval heard of it).

use clearline_platform::db::{run_ddl, PlatformTables};
use clearline_platform::dead_letters::DeadLetterReplays;
use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(PlatformTables),
            Box::new(ApprovalTables),
            Box::new(DeadLetterReplays),
        ]
    }
}

struct ApprovalTables;

impl MigrationName for ApprovalTables {
    fn name(&self) -> &str {
        "m0001_approval_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for ApprovalTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager,
            &[
                // submitted_at and due_at are NULL only for a tombstone: a cancel that
                // arrived before the submission, so nothing about the submission is known.
                "CREATE TABLE approval_tasks (
                    case_id {uuid} PRIMARY KEY,
                    case_number TEXT NOT NULL,
                    unit TEXT NOT NULL,
                    service_window TEXT NOT NULL,
                    service_type TEXT NOT NULL,
                    status TEXT NOT NULL,
                    round INTEGER NOT NULL,
                    received_by TEXT NOT NULL,
                    submitted_at {ts},
                    due_at {ts},
                    sequence INTEGER NOT NULL,
                    decided_by TEXT,
                    decided_at {ts},
                    reason TEXT,
                    returned_materials {json} NOT NULL
                )",
                // The approvers' queue: what is due first, across units or within one.
                "CREATE INDEX approval_tasks_queue ON approval_tasks (status, due_at)",
                "CREATE INDEX approval_tasks_unit_queue ON approval_tasks (unit, status, due_at)",
            ],
        )
        .await
    }
}
