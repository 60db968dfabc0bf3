//! Faults a test injects underneath a running system: a service's database that refuses
//! its writes, as a broken deployment (a bad migration, a full disk) would.

use crate::Backend;
use sea_orm::{ConnectionTrait, DatabaseConnection};

/// Fulfilment's database refuses every new task: each `approved` (or `submitted` without
/// approval) it consumes fails, and after the allowed deliveries lands in its dead letters.
pub async fn refuse_tasks(db: &DatabaseConnection, backend: Backend) -> anyhow::Result<()> {
    let statements: &[&str] = match backend {
        Backend::Postgres => &[
            "CREATE FUNCTION refuse_task() RETURNS trigger AS $$
             BEGIN RAISE EXCEPTION 'task storage refused'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_task BEFORE INSERT ON fulfilment_tasks
             FOR EACH ROW EXECUTE FUNCTION refuse_task()",
        ],
        Backend::Sqlite => &[
            "CREATE TRIGGER refuse_task BEFORE INSERT ON fulfilment_tasks
             BEGIN SELECT RAISE(ABORT, 'task storage refused'); END",
        ],
    };
    for sql in statements {
        db.execute_unprepared(sql).await?;
    }
    Ok(())
}

/// The fix: fulfilment stores tasks again.
pub async fn accept_tasks(db: &DatabaseConnection, backend: Backend) -> anyhow::Result<()> {
    let sql = match backend {
        Backend::Postgres => "DROP TRIGGER refuse_task ON fulfilment_tasks",
        Backend::Sqlite => "DROP TRIGGER refuse_task",
    };
    db.execute_unprepared(sql).await?;
    Ok(())
}
