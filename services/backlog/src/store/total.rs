//! The case list's total, without counting every match. A filter on the counters'
//! dimensions (unit, stage, status, service type) is answered from the counters, exactly;
//! any other is counted up to [`COUNT_CAP`] and, past it, reported as "more than" rather
//! than scanning 100,000 rows to say how many more.

use super::queries::{self, CaseFilter};
use super::{case, BacklogCases};
use crate::figures;
use clearline_domain::Status;
use sea_orm::sea_query::{Expr, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, QueryTrait, Select,
};

/// Most matches a filtered list counts one by one.
pub const COUNT_CAP: u64 = 10_000;

/// How many cases match: exactly `n`, or (`capped`) more than `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Total {
    pub n: u64,
    pub capped: bool,
}

/// `matching` is the list's query with the filter applied.
pub async fn total<C: ConnectionTrait>(
    db: &C,
    filter: &CaseFilter,
    matching: &Select<BacklogCases>,
) -> Result<Total, DbErr> {
    if let Some(n) = from_counters(db, filter).await? {
        return Ok(Total { n, capped: false });
    }
    capped(db, matching).await
}

/// The counters' sum for the filter, when every filter given is one of their dimensions.
async fn from_counters<C: ConnectionTrait>(
    db: &C,
    filter: &CaseFilter,
) -> Result<Option<u64>, DbErr> {
    // Spelled out so a new filter has to be placed on one side or the other here.
    let CaseFilter {
        unit,
        stage,
        status,
        service_type,
        overdue,
        case_number,
        wait_reason,
        sla_level,
        received_from,
        received_before,
    } = filter;
    if overdue.is_some()
        || case_number.is_some()
        || wait_reason.is_some()
        || sla_level.is_some()
        || received_from.is_some()
        || received_before.is_some()
    {
        return Ok(None);
    }
    let rows = queries::counters(db, unit.as_deref()).await?;
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|r| service_type.as_ref().is_none_or(|t| *t == r.service_type))
        .collect();
    let tally = figures::tally_by(&rows, |_| ())
        .remove(&())
        .unwrap_or_default();
    let counted: i64 = Status::ALL
        .iter()
        .filter(|s| stage.is_none_or(|stage| s.stage() == stage))
        .filter(|s| status.is_none_or(|status| **s == status))
        .map(|s| tally.count(*s))
        .sum();
    // Cases whose events do not yet form a valid history have no status and no counter,
    // but an unfiltered list shows them; they are few, and indexed by status.
    let uncounted = if stage.is_none() && status.is_none() {
        uncounted(db, unit.as_deref(), service_type.as_deref()).await?
    } else {
        0
    };
    Ok(Some(u64::try_from(counted).unwrap_or(0) + uncounted))
}

/// Cases without a status, narrowed here rather than in SQL: asked with a unit, SQLite
/// walks the unit's whole index instead of the few rows without a status.
async fn uncounted<C: ConnectionTrait>(
    db: &C,
    unit: Option<&str>,
    service_type: Option<&str>,
) -> Result<u64, DbErr> {
    use case::Column;
    let rows: Vec<(String, String, i64)> = BacklogCases::find()
        .select_only()
        .column(Column::Unit)
        .column(Column::ServiceType)
        .column_as(Column::CaseId.count(), "n")
        .filter(Column::Status.is_null())
        .group_by(Column::Unit)
        .group_by(Column::ServiceType)
        .into_tuple()
        .all(db)
        .await?;
    let n: i64 = rows
        .into_iter()
        .filter(|(u, _, _)| unit.is_none_or(|unit| unit == u))
        .filter(|(_, t, _)| service_type.is_none_or(|service_type| service_type == t))
        .map(|(_, _, n)| n)
        .sum();
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Counts matches up to one past the cap.
async fn capped<C: ConnectionTrait>(
    db: &C,
    matching: &Select<BacklogCases>,
) -> Result<Total, DbErr> {
    let first: SelectStatement = matching
        .clone()
        .select_only()
        .column(case::Column::CaseId)
        .limit(COUNT_CAP + 1)
        .into_query();
    let statement = SelectStatement::new()
        .expr_as(Expr::cust("COUNT(*)"), sea_orm::sea_query::Alias::new("n"))
        .from_subquery(first, sea_orm::sea_query::Alias::new("capped"))
        .to_owned();
    let backend = db.get_database_backend();
    let n: i64 = match db.query_one(backend.build(&statement)).await? {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    let n = u64::try_from(n).unwrap_or(0);
    Ok(Total {
        n: n.min(COUNT_CAP),
        capped: n > COUNT_CAP,
    })
}
