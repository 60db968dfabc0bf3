//! Reads for the promised-time views: warnings and breaches of open cases per unit
//! recounted from the rows, and a set of cases by id (the portal's queues come from approval and fulfilment and ask
//! the backlog for each listed case's clock). Kept apart from [`super::queries`], which
//! the case list and dashboards own.

use super::{case, sla_count, BacklogCases};
use clearline_platform::db::run_ddl;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};
use sea_orm_migration::prelude::*;
use uuid::Uuid;

/// The partial index's predicate, word for word.
const OPEN_WITH_LEVEL: &str = "stage <> 'done' AND sla_level IS NOT NULL";

/// Open cases with an announced warning or breach, per unit and level, counted from the
/// rows: what the promised-time counters ([`crate::projection::levels`]) must hold, for
/// `/verify`, the repair and the migration that fills them.
///
/// Written as the literal `stage <> 'done' AND sla_level IS NOT NULL`, not with a bound
/// parameter, so that both databases can prove the partial index below applies: it holds
/// only those rows, while finished cases keep their level for the record and would
/// otherwise grow the scan forever.
pub async fn recount_levels<C: ConnectionTrait>(
    db: &C,
    unit: Option<&str>,
) -> Result<Vec<sla_count::Model>, DbErr> {
    use case::Column;
    let mut select = BacklogCases::find()
        .select_only()
        .column(Column::Unit)
        .column(Column::SlaLevel)
        .column_as(Column::CaseId.count(), "n")
        .filter(Expr::cust(OPEN_WITH_LEVEL))
        .group_by(Column::Unit)
        .group_by(Column::SlaLevel);
    if let Some(unit) = unit {
        select = select.filter(Column::Unit.eq(unit));
    }
    let rows: Vec<(String, String, i64)> = select.into_tuple().all(db).await?;
    Ok(rows
        .into_iter()
        .map(|(unit, level, n)| sla_count::Model { unit, level, n })
        .collect())
}

/// The rows of these cases (of one unit, when given), in no particular order.
pub async fn cases_by_id<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
    unit: Option<&str>,
) -> Result<Vec<case::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // By key alone, the unit checked here: with the unit in the query SQLite prefers the
    // unit's index and reads every case of the unit (tens of milliseconds at 12,500).
    let rows = BacklogCases::find()
        .filter(case::Column::CaseId.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|row| unit.is_none_or(|unit| row.unit == unit))
        .collect())
}

/// The partial index [`recount_levels`] reads.
pub struct OpenSlaIndex;

impl MigrationName for OpenSlaIndex {
    fn name(&self) -> &str {
        "m0200_open_sla_index"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for OpenSlaIndex {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let create = format!(
            "CREATE INDEX backlog_cases_open_sla ON backlog_cases (unit, sla_level) WHERE {OPEN_WITH_LEVEL}"
        );
        run_ddl(manager, &[create.as_str()]).await
    }
}
