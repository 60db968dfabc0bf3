//! The flow counters (see [`crate::projection::flow`]): the table, its migration, and its
//! reads: the sums the flow panel is built from, and a recount from the cases for
//! `/verify`, the repair and the migration.

use super::{case, BacklogCases};
use crate::projection::flow::{self, FlowKey, Measure};
use chrono::{DateTime, Utc};
use clearline_domain::Status;
use clearline_platform::db::run_ddl;
use sea_orm::entity::prelude::*;
use sea_orm::{ConnectionTrait, QuerySelect, Statement, Value};
use sea_orm_migration::prelude::{MigrationName, MigrationTrait, SchemaManager};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "flow_counts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub unit: String,
    /// A [`Measure`] name.
    #[sea_orm(primary_key, auto_increment = false)]
    pub measure: String,
    /// Hours since 1970-01-01T00:00Z.
    #[sea_orm(primary_key, auto_increment = false)]
    pub hour: i64,
    pub n: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// `None` for a measure this version does not know (written by a newer one).
    pub fn key(&self) -> Option<FlowKey> {
        Some(FlowKey {
            unit: self.unit.clone(),
            measure: Measure::parse(&self.measure)?,
            hour: self.hour,
        })
    }
}

/// The maintained counters, for one unit or all.
pub async fn counters<C: ConnectionTrait>(db: &C, unit: Option<&str>) -> Result<Vec<Model>, DbErr> {
    let mut select = Entity::find();
    if let Some(unit) = unit {
        select = select.filter(Column::Unit.eq(unit));
    }
    select.all(db).await
}

/// The same counters recounted from the cases, hours computed as the projection computes
/// them (not in SQL, where the two databases would each number hours their own way).
pub async fn recount<C: ConnectionTrait>(db: &C, unit: Option<&str>) -> Result<Vec<Model>, DbErr> {
    use case::Column as C;
    let mut select = BacklogCases::find()
        .select_only()
        .column(C::Unit)
        .column(C::Status)
        .column(C::ReceivedAt)
        .column(C::FinishedAt)
        .filter(C::Status.is_not_null())
        .filter(C::ReceivedAt.is_not_null());
    if let Some(unit) = unit {
        select = select.filter(C::Unit.eq(unit));
    }
    type Row = (
        String,
        Option<String>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
    );
    let rows: Vec<Row> = select.into_tuple().all(db).await?;
    let mut counted: BTreeMap<FlowKey, i64> = BTreeMap::new();
    for (unit, status, received_at, finished_at) in rows {
        let status = status.as_deref().and_then(Status::parse);
        for key in flow::keys_of(&unit, status, received_at, finished_at) {
            *counted.entry(key).or_default() += 1;
        }
    }
    Ok(counted
        .into_iter()
        .map(|(key, n)| Model {
            unit: key.unit,
            measure: key.measure.as_str().to_string(),
            hour: key.hour,
            n,
        })
        .collect())
}

/// What the flow panel reads: every counter from `from_hour` on, summed over the units
/// asked for, and the open cases received before it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sums {
    /// `(measure, hour) → n`, hours from `from_hour` on.
    pub recent: BTreeMap<(Measure, i64), i64>,
    /// Open cases received before `from_hour`.
    pub open_before: i64,
}

pub async fn sums<C: ConnectionTrait>(
    db: &C,
    unit: Option<&str>,
    from_hour: i64,
) -> Result<Sums, DbErr> {
    // The measures named, so a unit's read is one index range per measure. SUM of a
    // BIGINT is NUMERIC on PostgreSQL: cast back.
    let (scope, values) = match unit {
        Some(unit) => (
            "unit = $2 AND",
            vec![Value::from(from_hour), Value::from(unit)],
        ),
        None => ("", vec![Value::from(from_hour)]),
    };
    let recent_sql = format!(
        "SELECT measure, hour, CAST(SUM(n) AS BIGINT) AS n FROM flow_counts
         WHERE {scope} measure IN ('received', 'finished', 'open') AND hour >= $1
         GROUP BY measure, hour"
    );
    let before_sql = format!(
        "SELECT CAST(SUM(n) AS BIGINT) AS n FROM flow_counts
         WHERE {scope} measure = 'open' AND hour < $1"
    );
    let backend = db.get_database_backend();
    let rows = db
        .query_all(Statement::from_sql_and_values(
            backend,
            recent_sql,
            values.clone(),
        ))
        .await?;
    let mut recent = BTreeMap::new();
    for row in rows {
        let measure: String = row.try_get("", "measure")?;
        let n: Option<i64> = row.try_get("", "n")?;
        if let Some(measure) = Measure::parse(&measure) {
            recent.insert((measure, row.try_get("", "hour")?), n.unwrap_or(0));
        }
    }
    let before = db
        .query_one(Statement::from_sql_and_values(backend, before_sql, values))
        .await?;
    // SUM over no rows is NULL: zero.
    let open_before = match before {
        Some(row) => row.try_get::<Option<i64>>("", "n")?.unwrap_or(0),
        None => 0,
    };
    Ok(Sums {
        recent,
        open_before,
    })
}

/// Adds the flow counters and counts the cases already there into them.
pub struct FlowCounts;

impl MigrationName for FlowCounts {
    fn name(&self) -> &str {
        "m0102_flow_counts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for FlowCounts {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager,
            &[
                // Maintained in the projection's transaction, like case_counts. The key's
                // order lets a unit's panel read its recent hours and its open sum as two
                // index ranges.
                "CREATE TABLE flow_counts (
                    unit TEXT NOT NULL,
                    measure TEXT NOT NULL,
                    hour BIGINT NOT NULL,
                    n BIGINT NOT NULL,
                    PRIMARY KEY (unit, measure, hour)
                )",
                // Every unit's panel (an admin's) reads the recent hours of all units.
                "CREATE INDEX flow_counts_hour ON flow_counts (measure, hour)",
            ],
        )
        .await?;
        flow::count_all(manager.get_connection()).await
    }
}
