//! Users and sessions. The portal emits no events and consumes none durably, so it has no
//! outbox, inbox or dead letters: only these two tables.

use clearline_platform::db::run_ddl;
use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(PortalTables)]
    }
}

struct PortalTables;

impl MigrationName for PortalTables {
    fn name(&self) -> &str {
        "m0001_portal_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for PortalTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager,
            &[
                // A member of staff. `roles` is a comma-separated list of role names;
                // `password_hash` is an argon2id PHC string, never the password.
                "CREATE TABLE portal_users (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    password_hash TEXT NOT NULL,
                    roles TEXT NOT NULL,
                    unit TEXT,
                    service_window TEXT,
                    disabled BOOLEAN NOT NULL DEFAULT FALSE,
                    created_at {ts} NOT NULL
                )",
                // A signed-in browser. The cookie holds a random token; only its SHA-256
                // is stored, so a copy of this table signs nobody in.
                "CREATE TABLE portal_sessions (
                    token_hash TEXT PRIMARY KEY,
                    user_id TEXT NOT NULL REFERENCES portal_users (id),
                    csrf_token TEXT NOT NULL,
                    created_at {ts} NOT NULL,
                    last_seen_at {ts} NOT NULL
                )",
                "CREATE INDEX portal_sessions_user ON portal_sessions (user_id)",
            ],
        )
        .await
    }
}
