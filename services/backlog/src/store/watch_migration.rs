//! What the watch needs: per case, what it waits on, the clocks' next threshold and the
//! hand-over it expects; and the alerts already raised, so each goes out once.

use clearline_platform::db::run_ddl;
use sea_orm_migration::prelude::*;

pub struct WatchColumns;

impl MigrationName for WatchColumns {
    fn name(&self) -> &str {
        "m0002_watch"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for WatchColumns {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager,
            &[
                // SQLite adds one column per statement.
                "ALTER TABLE backlog_cases ADD COLUMN wait_reason TEXT",
                "ALTER TABLE backlog_cases ADD COLUMN waiting_since {ts}",
                "ALTER TABLE backlog_cases ADD COLUMN attention TEXT",
                "ALTER TABLE backlog_cases ADD COLUMN sla_level TEXT",
                "ALTER TABLE backlog_cases ADD COLUMN next_alert_at {ts}",
                "ALTER TABLE backlog_cases ADD COLUMN expect_by {ts}",
                // The watch's two scans; both columns are NULL for finished cases.
                "CREATE INDEX backlog_cases_next_alert ON backlog_cases (next_alert_at)",
                "CREATE INDEX backlog_cases_expect_by ON backlog_cases (expect_by)",
                "CREATE INDEX backlog_cases_wait ON backlog_cases (unit, wait_reason)",
                // One row per alert ever raised: the watch appends the event only when its
                // insert here wins, so two replicas (or two ticks) never announce it twice.
                "CREATE TABLE watch_alerts (
                    case_id {uuid} NOT NULL,
                    alert TEXT NOT NULL,
                    raised_at {ts} NOT NULL,
                    PRIMARY KEY (case_id, alert)
                )",
            ],
        )
        .await
    }
}
