//! Reads of the read model. Counts come from `case_counts` and `due_counts`; only what
//! depends on the clock (oldest open, today's overdue) or on one case is read from
//! `backlog_cases` and `case_events`, each through an index.

use super::total::{self, Total};
use super::{case, count, due_count, event, BacklogCases, CaseCounts, CaseEvents, DueCounts};
use crate::projection::due;
use chrono::{DateTime, Utc};
use clearline_domain::{Stage, Status, WaitReason};
use sea_orm::sea_query::NullOrdering;
use sea_orm::{
    AccessMode, ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, EntityTrait, IsolationLevel, Order, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Statement, TransactionTrait, Value,
};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The stages whose cases are backlog.
pub const OPEN_STAGES: [Stage; 3] = [Stage::Intake, Stage::Approval, Stage::Fulfilment];

fn open_stage_names() -> Vec<&'static str> {
    OPEN_STAGES.iter().map(|s| s.as_str()).collect()
}

/// A read-only transaction in which every read sees the same committed state, so a view
/// assembled from several reads (the dashboard, a recount against the counters) never
/// mixes two moments. It also holds one connection for all of them: SQLite's pool has a
/// single one, and read by read they would each queue behind the consumer's batches.
pub async fn snapshot(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    if db.get_database_backend() == DatabaseBackend::Postgres {
        db.begin_with_config(
            Some(IsolationLevel::RepeatableRead),
            Some(AccessMode::ReadOnly),
        )
        .await
    } else {
        // SQLite in WAL mode: a transaction reads one snapshot from its first read on.
        db.begin().await
    }
}

/// The maintained counters, for one unit or all.
pub async fn counters<C: ConnectionTrait>(
    db: &C,
    unit: Option<&str>,
) -> Result<Vec<count::Model>, DbErr> {
    let mut select = CaseCounts::find();
    if let Some(unit) = unit {
        select = select.filter(count::Column::Unit.eq(unit));
    }
    select.all(db).await
}

/// The same counters recounted from the cases themselves, for `/verify`.
pub async fn recount<C: ConnectionTrait>(
    db: &C,
    unit: Option<&str>,
) -> Result<Vec<count::Model>, DbErr> {
    use case::Column;
    let mut select = BacklogCases::find()
        .select_only()
        .column(Column::Unit)
        .column(Column::ServiceType)
        .column(Column::Status)
        .column_as(Column::CaseId.count(), "n")
        .filter(Column::Status.is_not_null())
        .group_by(Column::Unit)
        .group_by(Column::ServiceType)
        .group_by(Column::Status);
    if let Some(unit) = unit {
        select = select.filter(Column::Unit.eq(unit));
    }
    let rows: Vec<(String, String, String, i64)> = select.into_tuple().all(db).await?;
    Ok(rows
        .into_iter()
        .map(|(unit, service_type, status, n)| count::Model {
            unit,
            service_type,
            status,
            n,
        })
        .collect())
}

/// When the oldest open case of a unit and stage was received; one index seek.
pub async fn oldest_open<C: ConnectionTrait>(
    db: &C,
    unit: &str,
    stage: Stage,
) -> Result<Option<DateTime<Utc>>, DbErr> {
    use case::Column;
    BacklogCases::find()
        .select_only()
        .column(Column::ReceivedAt)
        .filter(Column::Unit.eq(unit))
        .filter(Column::Stage.eq(stage.as_str()))
        .filter(Column::ReceivedAt.is_not_null())
        .order_by_asc(Column::ReceivedAt)
        .limit(1)
        .into_tuple::<DateTime<Utc>>()
        .one(db)
        .await
}

fn overdue_condition(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(case::Column::Stage.is_in(open_stage_names()))
        .add(case::Column::DueAt.lt(now))
}

/// Spelled out rather than `NOT overdue`: a NULL stage or due time would make that NULL,
/// and SQL would drop the row.
fn not_overdue_condition(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(case::Column::Stage.is_null())
        .add(case::Column::Stage.is_not_in(open_stage_names()))
        .add(case::Column::DueAt.is_null())
        .add(case::Column::DueAt.gte(now))
}

/// Open cases past their promised time, per unit: the due-day counters of the days before
/// today (every one of their cases is past due) plus today's cases due before `now`, one
/// index range of at most a day's due times. See [`crate::projection::due`].
pub async fn overdue_by_unit<C: ConnectionTrait>(
    db: &C,
    unit: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<(String, i64)>, DbErr> {
    use case::Column;
    let today = due::day_of(now);
    let mut sql =
        "SELECT unit, CAST(SUM(n) AS BIGINT) AS n FROM due_counts WHERE due_day < $1".to_string();
    let mut values = vec![Value::from(today)];
    if let Some(unit) = unit {
        sql.push_str(" AND unit = $2");
        values.push(Value::from(unit));
    }
    sql.push_str(" GROUP BY unit");
    let earlier = db
        .query_all(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            values,
        ))
        .await?;
    let mut late: BTreeMap<String, i64> = BTreeMap::new();
    for row in earlier {
        let n: Option<i64> = row.try_get("", "n")?;
        *late.entry(row.try_get("", "unit")?).or_default() += n.unwrap_or(0);
    }
    // Every unit's, then narrowed here: with a unit in the query SQLite prefers the unit's
    // index and reads all of its cases instead of today's due times.
    let today_rows: Vec<(String, i64)> = BacklogCases::find()
        .select_only()
        .column(Column::Unit)
        .column_as(Column::CaseId.count(), "n")
        .filter(overdue_condition(now))
        .filter(Column::DueAt.gte(due::day_start(today)))
        .group_by(Column::Unit)
        .into_tuple()
        .all(db)
        .await?;
    for (found, n) in today_rows {
        if unit.is_none_or(|unit| unit == found) {
            *late.entry(found).or_default() += n;
        }
    }
    Ok(late.into_iter().collect())
}

/// The due-day counters, for one unit or all.
pub async fn due_counters<C: ConnectionTrait>(
    db: &C,
    unit: Option<&str>,
) -> Result<Vec<due_count::Model>, DbErr> {
    let mut select = DueCounts::find();
    if let Some(unit) = unit {
        select = select.filter(due_count::Column::Unit.eq(unit));
    }
    select.all(db).await
}

/// The due-day counters recounted from the cases, for `/verify`, the repair and the
/// migration that introduced them. The day is computed here rather than in SQL, so both
/// databases number days the one way the projection does.
pub async fn recount_due<C: ConnectionTrait>(
    db: &C,
    unit: Option<&str>,
) -> Result<Vec<due_count::Model>, DbErr> {
    use case::Column;
    let mut select = BacklogCases::find()
        .select_only()
        .column(Column::Unit)
        .column(Column::DueAt)
        .filter(Column::Stage.is_in(open_stage_names()))
        .filter(Column::DueAt.is_not_null());
    if let Some(unit) = unit {
        select = select.filter(Column::Unit.eq(unit));
    }
    let rows: Vec<(String, DateTime<Utc>)> = select.into_tuple().all(db).await?;
    let mut counted: BTreeMap<(String, i64), i64> = BTreeMap::new();
    for (unit, due_at) in rows {
        *counted.entry((unit, due::day_of(due_at))).or_default() += 1;
    }
    Ok(counted
        .into_iter()
        .map(|((unit, due_day), n)| due_count::Model { unit, due_day, n })
        .collect())
}

/// The list's filters; `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub unit: Option<String>,
    pub stage: Option<Stage>,
    pub status: Option<Status>,
    pub service_type: Option<String>,
    pub overdue: Option<bool>,
    pub case_number: Option<String>,
    pub wait_reason: Option<WaitReason>,
    /// `warning` or `breached`.
    pub sla_level: Option<String>,
    /// Received at or after this instant.
    pub received_from: Option<DateTime<Utc>>,
    /// Received before this instant.
    pub received_before: Option<DateTime<Utc>>,
}

/// The receipt-time range of a filter (both ends optional).
fn received_condition(filter: &CaseFilter) -> Condition {
    let mut cond = Condition::all();
    if let Some(from) = filter.received_from {
        cond = cond.add(case::Column::ReceivedAt.gte(from));
    }
    if let Some(before) = filter.received_before {
        cond = cond.add(case::Column::ReceivedAt.lt(before));
    }
    cond
}

/// A page of cases, soonest due first (cases without a due time last), then oldest
/// received; the case id makes the order total so pages never overlap. Also the total
/// (see [`total`]).
///
/// The cases with a due time are read first, in the order of an index, so a page costs
/// its own rows rather than a sort of every match; only a page that reaches past them
/// reads the others.
pub async fn list_cases<C: ConnectionTrait>(
    db: &C,
    filter: &CaseFilter,
    now: DateTime<Utc>,
    limit: u64,
    offset: u64,
) -> Result<(Vec<case::Model>, Total), DbErr> {
    use case::Column;
    let select = BacklogCases::find().filter(filter_condition(filter, now));
    let total = total::total(db, filter, &select).await?;
    let in_order = |select: Select<BacklogCases>| {
        select
            .order_by_with_nulls(Column::ReceivedAt, Order::Asc, NullOrdering::Last)
            .order_by_asc(Column::CaseId)
    };
    let with_due = select.clone().filter(Column::DueAt.is_not_null());
    let mut items = in_order(with_due.clone().order_by_asc(Column::DueAt))
        .limit(limit)
        .offset(offset)
        .all(db)
        .await?;
    let short = limit - items.len() as u64;
    if short > 0 {
        let skipped_with_due = match items.len() {
            0 => with_due.count(db).await?,
            n => offset + n as u64,
        };
        let rest = in_order(select.filter(Column::DueAt.is_null()))
            .limit(short)
            .offset(offset.saturating_sub(skipped_with_due))
            .all(db)
            .await?;
        items.extend(rest);
    }
    Ok((items, total))
}

fn filter_condition(filter: &CaseFilter, now: DateTime<Utc>) -> Condition {
    use case::Column;
    let mut cond = Condition::all();
    if let Some(unit) = &filter.unit {
        cond = cond.add(Column::Unit.eq(unit.as_str()));
    }
    if let Some(stage) = filter.stage {
        cond = cond.add(Column::Stage.eq(stage.as_str()));
    }
    if let Some(status) = filter.status {
        cond = cond.add(Column::Status.eq(status.as_str()));
    }
    if let Some(service_type) = &filter.service_type {
        cond = cond.add(Column::ServiceType.eq(service_type.as_str()));
    }
    if let Some(number) = &filter.case_number {
        cond = cond.add(Column::CaseNumber.eq(number.as_str()));
    }
    if let Some(reason) = filter.wait_reason {
        cond = cond.add(Column::WaitReason.eq(reason.as_str()));
    }
    if let Some(level) = &filter.sla_level {
        cond = cond.add(Column::SlaLevel.eq(level.as_str()));
    }
    cond = cond.add(received_condition(filter));
    match filter.overdue {
        Some(true) => cond = cond.add(overdue_condition(now)),
        Some(false) => cond = cond.add(not_overdue_condition(now)),
        None => {}
    }
    cond
}

pub async fn find_case<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<case::Model>, DbErr> {
    BacklogCases::find_by_id(id).one(db).await
}

/// A case's events in the order every consumer agrees on.
pub async fn timeline<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Vec<event::Model>, DbErr> {
    CaseEvents::find()
        .filter(event::Column::CaseId.eq(id))
        .order_by_asc(event::Column::Sequence)
        .order_by_asc(event::Column::EventId)
        .all(db)
        .await
}

/// Every case's row, for comparing two databases in tests and audits.
pub async fn all_cases<C: ConnectionTrait>(db: &C) -> Result<Vec<case::Model>, DbErr> {
    BacklogCases::find()
        .order_by_asc(case::Column::CaseId)
        .all(db)
        .await
}
