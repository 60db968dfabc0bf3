//! Dead letters: events a consumer could not apply within the deliveries it allows. Nothing
//! is dropped: each is kept with its bytes and the error, the case is flagged (the consumer
//! emits `attention_needed`), and an operator replays it once the cause is fixed.
//!
//! A replay is applied by the service's own consumer from the stored bytes, as if the event
//! were delivered again: inbox row first, so it is idempotent however often it is asked
//! for. Nothing is published again, so a service needs no permission to publish the events
//! it consumes, and the stream keeps each event once. When the replay applies, the consumer
//! marks the dead letter resolved and emits `attention_cleared` in the same transaction.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Statement, Value};
use sea_orm_migration::prelude::*;
use serde::Serialize;
use uuid::Uuid;

/// One dead letter, as operators see it (the payload bytes stay in the table).
#[derive(Debug, Clone, Serialize, FromQueryResult, utoipa::ToSchema)]
pub struct DeadLetter {
    pub consumer: String,
    pub event_id: Uuid,
    pub case_id: Option<Uuid>,
    pub subject: String,
    /// Why the last delivery failed (the handler's error, or "delivered N times").
    pub error: String,
    pub deliveries: i64,
    pub failed_at: DateTime<Utc>,
    /// The last replay asked for, and by whom.
    pub replayed_at: Option<DateTime<Utc>>,
    pub replayed_by: Option<String>,
    pub replays: i64,
    /// When a replay applied: the dead letter is over.
    pub resolved_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "consumer, event_id, case_id, subject, error, deliveries, failed_at, \
                       replayed_at, replayed_by, replays, resolved_at";

/// What [`record`] was given: the failed message and why.
pub struct Failure<'a> {
    pub consumer: &'a str,
    pub event_id: Uuid,
    pub case_id: Option<Uuid>,
    pub subject: &'a str,
    pub payload: &'a [u8],
    pub error: &'a str,
    pub deliveries: i64,
}

/// Keeps a failure. `true` when it is a new dead letter; a replay that failed again
/// updates the one it came from (and the case is still flagged from the first time).
pub async fn record<C: ConnectionTrait>(db: &C, f: &Failure<'_>) -> Result<bool, DbErr> {
    let backend = db.get_database_backend();
    let updated = db
        .execute(Statement::from_sql_and_values(
            backend,
            "UPDATE dead_letters SET error = $1, deliveries = $2, failed_at = $3, resolved_at = NULL
             WHERE consumer = $4 AND event_id = $5",
            [
                Value::from(f.error.to_string()),
                Value::from(f.deliveries),
                Value::from(Utc::now()),
                Value::from(f.consumer.to_string()),
                Value::from(f.event_id),
            ],
        ))
        .await?;
    if updated.rows_affected() > 0 {
        return Ok(false);
    }
    let inserted = db
        .execute(Statement::from_sql_and_values(
            backend,
            "INSERT INTO dead_letters (consumer, event_id, case_id, subject, payload, error, deliveries, failed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (consumer, event_id) DO NOTHING",
            [
                Value::from(f.consumer.to_string()),
                Value::from(f.event_id),
                Value::from(f.case_id),
                Value::from(f.subject.to_string()),
                Value::from(f.payload.to_vec()),
                Value::from(f.error.to_string()),
                Value::from(f.deliveries),
                Value::from(Utc::now()),
            ],
        ))
        .await?;
    Ok(inserted.rows_affected() == 1)
}

/// Marks the dead letter over after its replay applied; `true` if it was open.
pub async fn resolve<C: ConnectionTrait>(
    db: &C,
    consumer: &str,
    event_id: Uuid,
) -> Result<bool, DbErr> {
    let result = db
        .execute(Statement::from_sql_and_values(
            db.get_database_backend(),
            "UPDATE dead_letters SET resolved_at = $1
             WHERE consumer = $2 AND event_id = $3 AND resolved_at IS NULL",
            [
                Value::from(Utc::now()),
                Value::from(consumer.to_string()),
                Value::from(event_id),
            ],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Every dead letter, newest first, with its stored bytes; `open_only` leaves out the
/// resolved ones.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    open_only: bool,
) -> Result<Vec<(DeadLetter, Vec<u8>)>, DbErr> {
    let filter = if open_only {
        "WHERE resolved_at IS NULL"
    } else {
        ""
    };
    let rows = db
        .query_all(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT {COLUMNS}, payload FROM dead_letters {filter} ORDER BY failed_at DESC, event_id"
            ),
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                DeadLetter::from_query_result(row, "")?,
                row.try_get::<Vec<u8>>("", "payload")?,
            ))
        })
        .collect()
}

/// One dead letter of this service and its stored bytes.
pub async fn get<C: ConnectionTrait>(
    db: &C,
    event_id: Uuid,
) -> Result<Option<(DeadLetter, Vec<u8>)>, DbErr> {
    let backend = db.get_database_backend();
    let select = |columns: &str| {
        Statement::from_sql_and_values(
            backend,
            format!("SELECT {columns} FROM dead_letters WHERE event_id = $1 ORDER BY consumer"),
            [Value::from(event_id)],
        )
    };
    let Some(letter) = DeadLetter::find_by_statement(select(COLUMNS))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let payload = db
        .query_one(select("payload"))
        .await?
        .map(|row| row.try_get::<Vec<u8>>("", "payload"))
        .transpose()?
        .unwrap_or_default();
    Ok(Some((letter, payload)))
}

/// Dead letters not yet resolved, for `/metrics`.
pub async fn open_count<C: ConnectionTrait>(db: &C) -> Result<i64, DbErr> {
    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM dead_letters WHERE resolved_at IS NULL",
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0))
}

/// What a replay request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplayOutcome {
    /// The consumer applied it: the dead letter is resolved and the case's flag cleared.
    Applied,
    /// The consumer tried it and it failed again; the dead letter holds the new error.
    Failed,
    /// Asked for, not yet taken up (no consumer of the service is running): it is applied
    /// when one runs.
    Requested,
    /// Resolved before this request: nothing was done.
    AlreadyResolved,
}

/// Asks the service's consumer (any replica's) to apply the dead letter again, and records
/// who asked. A replay is pending while it was asked for after the letter's last failure.
pub async fn request_replay<C: ConnectionTrait>(
    db: &C,
    letter: &DeadLetter,
    by: &str,
) -> Result<ReplayOutcome, DbErr> {
    if letter.resolved_at.is_some() {
        return Ok(ReplayOutcome::AlreadyResolved);
    }
    db.execute(Statement::from_sql_and_values(
        db.get_database_backend(),
        "UPDATE dead_letters SET replayed_at = $1, replayed_by = $2, replays = replays + 1
         WHERE consumer = $3 AND event_id = $4 AND resolved_at IS NULL",
        [
            Value::from(Utc::now()),
            Value::from(by.to_string()),
            Value::from(letter.consumer.clone()),
            Value::from(letter.event_id),
        ],
    ))
    .await?;
    Ok(ReplayOutcome::Requested)
}

/// Where a requested replay stands, read back from the letter.
pub fn replay_state(letter: &DeadLetter) -> ReplayOutcome {
    match (letter.resolved_at, letter.replayed_at) {
        (Some(_), _) => ReplayOutcome::Applied,
        (None, Some(asked)) if asked > letter.failed_at => ReplayOutcome::Requested,
        _ => ReplayOutcome::Failed,
    }
}

/// The consumer's pending replays with their bytes, oldest failure first. On PostgreSQL
/// they are locked for the caller's transaction, so two replicas never apply one together.
pub async fn pending_replays<C: ConnectionTrait>(
    db: &C,
    consumer: &str,
) -> Result<Vec<(Uuid, Vec<u8>)>, DbErr> {
    let backend = db.get_database_backend();
    let lock = match backend {
        sea_orm::DatabaseBackend::Postgres => "FOR UPDATE SKIP LOCKED",
        _ => "",
    };
    let rows = db
        .query_all(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT event_id, payload FROM dead_letters
                 WHERE consumer = $1 AND resolved_at IS NULL AND replayed_at > failed_at
                 ORDER BY failed_at LIMIT 16 {lock}"
            ),
            [Value::from(consumer.to_string())],
        ))
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("", "event_id")?, row.try_get("", "payload")?)))
        .collect()
}

/// A replay that failed again: the new error, as its latest failure (no longer pending).
pub async fn replay_failed<C: ConnectionTrait>(
    db: &C,
    consumer: &str,
    event_id: Uuid,
    error: &str,
) -> Result<(), DbErr> {
    db.execute(Statement::from_sql_and_values(
        db.get_database_backend(),
        "UPDATE dead_letters SET error = $1, failed_at = $2 WHERE consumer = $3 AND event_id = $4",
        [
            Value::from(error.to_string()),
            Value::from(Utc::now()),
            Value::from(consumer.to_string()),
            Value::from(event_id),
        ],
    ))
    .await?;
    Ok(())
}

/// Adds what replays need to the dead-letter table of the first platform migration.
pub struct DeadLetterReplays;

impl MigrationName for DeadLetterReplays {
    fn name(&self) -> &str {
        "m0100_dead_letter_replays"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for DeadLetterReplays {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::db::run_ddl(
            manager,
            &[
                "ALTER TABLE dead_letters ADD COLUMN replayed_by TEXT",
                "ALTER TABLE dead_letters ADD COLUMN replays BIGINT NOT NULL DEFAULT 0",
                "ALTER TABLE dead_letters ADD COLUMN resolved_at {ts}",
            ],
        )
        .await
    }
}
