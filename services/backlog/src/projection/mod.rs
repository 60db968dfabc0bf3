//! The projection: every event into the timeline, and the case's row and counters
//! re-derived from the whole timeline.
//!
//! - [`record`]: an event as stored (envelope facts + non-personal details).
//! - [`derive`]: the case row as a pure function of its events.
//! - [`counts`]: the maintained counters and how a case moves between them.
//! - [`due`]: the due-day counters the overdue figure is summed from.
//! - [`flow`]: the hourly counters the supervisor's flow panel is summed from.
//! - [`moves`]: every counter's changes, gathered and written once per batch.
//!
//! Because the row is derived from the *set* of stored events, and storing an event twice
//! is a no-op, the read model converges whatever the arrival order and however often the
//! broker redelivers, even without the consumer's inbox.

pub mod attention;
pub mod clocks;
pub mod counts;
pub mod derive;
pub mod due;
pub mod flow;
pub mod levels;
pub mod moves;
pub mod policy;
pub mod record;

pub use counts::CountKey;
pub use derive::{derive, CaseState};
pub use moves::Moves;
pub use policy::Policy;
pub use record::{Detail, Recorded};

use crate::store::{case, event, BacklogCases, CaseEvents};
use clearline_contracts::CaseEvent;
use clearline_domain::Status;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, DbErr,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Statement, Value,
};
use uuid::Uuid;

/// What applying one event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The event was already stored; nothing changed.
    Duplicate,
    /// Stored, and the case re-derived.
    Projected {
        from: Option<Status>,
        to: Option<Status>,
    },
}

/// Applies one event, counters included. Takes a transaction so the timeline row, the
/// case row and the counters always commit together.
pub async fn apply(
    txn: &DatabaseTransaction,
    event: &CaseEvent,
    policy: &Policy,
) -> Result<Applied, DbErr> {
    let (applied, moves) = project(txn, event, policy).await?;
    moves.write(txn).await?;
    Ok(applied)
}

/// Stores the event and re-derives its case row, and returns the counter changes that move
/// the case, for the caller to write before the commit (a batch writes them once, summed).
#[tracing::instrument(skip_all, fields(case_id = %event.case_id, event_type = %event.r#type))]
pub async fn project(
    txn: &DatabaseTransaction,
    event: &CaseEvent,
    policy: &Policy,
) -> Result<(Applied, Moves), DbErr> {
    let Some(recorded) = Recorded::from_event(event) else {
        return Err(DbErr::Custom(
            "an event without a payload cannot be projected".into(),
        ));
    };
    if !store_event(txn, &recorded).await? {
        return Ok((Applied::Duplicate, Moves::default()));
    }
    let old = lock_case(txn, &recorded).await?;
    let events = load_events(txn, recorded.case_id).await?;
    let Some(state) = derive(&events, policy) else {
        return Err(DbErr::RecordNotFound("the event just stored".into()));
    };
    save_case(txn, &state).await?;
    let moves = Moves::between(&old, &state);
    let applied = Applied::Projected {
        from: old.status(),
        to: state.status,
    };
    Ok((applied, moves))
}

/// Inserts the timeline row; `false` when the event is already there.
pub async fn store_event<C: ConnectionTrait>(txn: &C, e: &Recorded) -> Result<bool, DbErr> {
    let detail = serde_json::to_value(&e.detail).map_err(|err| DbErr::Json(err.to_string()))?;
    let result = txn
        .execute(Statement::from_sql_and_values(
            txn.get_database_backend(),
            "INSERT INTO case_events (event_id, case_id, sequence, event_type, occurred_at, actor_id, actor_role,
                                      unit, case_number, service_type, detail, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (event_id) DO NOTHING",
            [
                Value::from(e.event_id),
                Value::from(e.case_id),
                Value::from(i64::from(e.sequence)),
                Value::from(e.kind.as_str()),
                Value::from(e.occurred_at),
                Value::from(e.actor_id.clone()),
                Value::from(e.actor_role.clone()),
                Value::from(e.unit.clone()),
                Value::from(e.case_number.clone()),
                Value::from(e.service_type.clone()),
                Value::from(detail),
                Value::from(chrono::Utc::now()),
            ],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// The case's current row, created empty (uncounted) for its first event. On PostgreSQL the
/// row is locked, so two replicas projecting events of one case take turns, and the second
/// reads the events the first committed.
async fn lock_case(txn: &DatabaseTransaction, e: &Recorded) -> Result<case::Model, DbErr> {
    txn.execute(Statement::from_sql_and_values(
        txn.get_database_backend(),
        "INSERT INTO backlog_cases (case_id, case_number, unit, service_type, updated_at, last_sequence, event_count)
         VALUES ($1, $2, $3, $4, $5, 0, 0)
         ON CONFLICT (case_id) DO NOTHING",
        [
            Value::from(e.case_id),
            Value::from(e.case_number.clone()),
            Value::from(e.unit.clone()),
            Value::from(e.service_type.clone()),
            Value::from(e.occurred_at),
        ],
    ))
    .await?;
    let mut select = BacklogCases::find_by_id(e.case_id);
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        select = select.lock_exclusive();
    }
    select
        .one(txn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the case row just inserted".into()))
}

pub async fn load_events<C: ConnectionTrait>(
    txn: &C,
    case_id: Uuid,
) -> Result<Vec<Recorded>, DbErr> {
    let rows = CaseEvents::find()
        .filter(event::Column::CaseId.eq(case_id))
        .order_by_asc(event::Column::Sequence)
        .order_by_asc(event::Column::EventId)
        .all(txn)
        .await?;
    let total = rows.len();
    let events: Vec<Recorded> = rows.into_iter().filter_map(Recorded::from_row).collect();
    if events.len() < total {
        // Written by a newer version; this one derives what it can from the rest.
        tracing::warn!(
            skipped = total - events.len(),
            "timeline rows this version cannot read"
        );
    }
    Ok(events)
}

/// Writes the derived case over its row.
pub async fn save_case<C: ConnectionTrait>(txn: &C, s: &CaseState) -> Result<(), DbErr> {
    row_of(s)
        .into_active_model()
        .reset_all()
        .update(txn)
        .await?;
    Ok(())
}

/// The `backlog_cases` row a derived case is stored as.
pub fn row_of(s: &CaseState) -> case::Model {
    case::Model {
        case_id: s.case_id,
        case_number: s.case_number.clone(),
        unit: s.unit.clone(),
        service_window: s.window.clone(),
        channel: s.channel.clone(),
        service_type: s.service_type.clone(),
        status: s.status.map(|st| st.as_str().to_string()),
        stage: s.status.map(|st| st.stage().as_str().to_string()),
        owner: s.owner.clone(),
        received_at: s.received_at,
        due_at: s.due_at,
        updated_at: s.updated_at,
        finished_at: s.finished_at,
        last_sequence: i64::from(s.last_sequence),
        event_count: i64::try_from(s.event_count).unwrap_or(i64::MAX),
        wait_reason: s.wait_reason.map(|r| r.as_str().to_string()),
        waiting_since: s.waiting_since,
        attention: s.attention.clone(),
        sla_level: s.sla_level.map(str::to_string),
        next_alert_at: s.next_alert_at,
        expect_by: s.expectation.as_ref().map(|e| e.by),
    }
}
