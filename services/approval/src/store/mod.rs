//! Approval's storage: its migrations and the approval task.

pub mod migration;
pub mod task;

pub use migration::Migrator;
pub use task::{ActiveModel as TaskRow, Entity as Tasks, Model as Task, TaskStatus};

use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QuerySelect};
use uuid::Uuid;

/// Reads a task inside the caller's transaction, locking its row on PostgreSQL so two
/// approvers (or an approver and a late `cancelled`) change one task one after the other.
/// SQLite has a single writer connection, so there is nothing to lock.
pub async fn find_for_update<C: ConnectionTrait>(
    txn: &C,
    case_id: Uuid,
) -> Result<Option<Task>, DbErr> {
    let mut select = Tasks::find_by_id(case_id);
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        select = select.lock_exclusive();
    }
    select.one(txn).await
}
