//! Reads of the read model. Counts come from `case_counts`; only what depends on the clock
//! (oldest open, overdue) or on one case is read from `backlog_cases` and `case_events`,
//! each through an index.

use super::{case, count, event, BacklogCases, CaseCounts, CaseEvents};
use chrono::{DateTime, Utc};
use clearline_domain::{Stage, Status, WaitReason};
use sea_orm::sea_query::NullOrdering;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, Order, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

/// The stages whose cases are backlog.
pub const OPEN_STAGES: [Stage; 3] = [Stage::Intake, Stage::Approval, Stage::Fulfilment];

fn open_stage_names() -> Vec<&'static str> {
    OPEN_STAGES.iter().map(|s| s.as_str()).collect()
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

/// Open cases past their promised time, per unit.
pub async fn overdue_by_unit<C: ConnectionTrait>(
    db: &C,
    unit: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<(String, i64)>, DbErr> {
    use case::Column;
    let mut select = BacklogCases::find()
        .select_only()
        .column(Column::Unit)
        .column_as(Column::CaseId.count(), "n")
        .filter(overdue_condition(now))
        .group_by(Column::Unit);
    if let Some(unit) = unit {
        select = select.filter(Column::Unit.eq(unit));
    }
    select.into_tuple().all(db).await
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
/// received; the case id makes the order total so pages never overlap. Also the total.
pub async fn list_cases<C: ConnectionTrait>(
    db: &C,
    filter: &CaseFilter,
    now: DateTime<Utc>,
    limit: u64,
    offset: u64,
) -> Result<(Vec<case::Model>, u64), DbErr> {
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
    let select = BacklogCases::find().filter(cond);
    let total = select.clone().count(db).await?;
    let items = select
        .order_by_with_nulls(Column::DueAt, Order::Asc, NullOrdering::Last)
        .order_by_with_nulls(Column::ReceivedAt, Order::Asc, NullOrdering::Last)
        .order_by_asc(Column::CaseId)
        .limit(limit)
        .offset(offset)
        .all(db)
        .await?;
    Ok((items, total))
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
