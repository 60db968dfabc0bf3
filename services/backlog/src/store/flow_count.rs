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
    /// Half hours since 1970-01-01T00:00Z.
    #[sea_orm(primary_key, auto_increment = false)]
    pub slot: i64,
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
            slot: self.slot,
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

/// The same counters recounted from the cases, slots computed as the projection computes
/// them (not in SQL, where the two databases would each number them their own way).
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
            slot: key.slot,
            n,
        })
        .collect())
}

/// What the flow panel reads: every counter from `from_slot` on, summed over the units
/// asked for, and the open cases received before it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sums {
    /// `(measure, slot) → n`, slots from `from_slot` on.
    pub recent: BTreeMap<(Measure, i64), i64>,
    /// Open cases received before `from_slot`.
    pub open_before: i64,
}

/// The figures the sums answer. Exact for slots from `from_slot` on; "now" is whatever
/// has been counted, so a case received in the running slot is already received.
impl Sums {
    /// Σ of one measure over the slots `lo..hi`.
    pub fn between(&self, measure: Measure, lo: i64, hi: i64) -> i64 {
        if lo >= hi {
            return 0;
        }
        self.recent
            .range((measure, lo)..(measure, hi))
            .map(|(_, n)| n)
            .sum()
    }

    /// Σ of one measure from `slot` on.
    pub fn since(&self, measure: Measure, slot: i64) -> i64 {
        self.between(measure, slot, i64::MAX)
    }

    /// The open cases (with a receipt time).
    pub fn open_now(&self) -> i64 {
        self.open_before + self.since(Measure::Open, i64::MIN)
    }

    /// Open cases received before `slot`.
    pub fn open_received_before(&self, slot: i64) -> i64 {
        self.open_before + self.between(Measure::Open, i64::MIN, slot)
    }

    /// Cases open at the start of `slot`: open now, less those received since, plus those
    /// finished since.
    pub fn open_at(&self, slot: i64) -> i64 {
        self.open_now() - self.since(Measure::Received, slot) + self.since(Measure::Finished, slot)
    }
}

pub async fn sums<C: ConnectionTrait>(
    db: &C,
    unit: Option<&str>,
    from_slot: i64,
) -> Result<Sums, DbErr> {
    // The measures named, so a unit's read is one index range per measure. SUM of a
    // BIGINT is NUMERIC on PostgreSQL: cast back.
    let (scope, values) = match unit {
        Some(unit) => (
            "unit = $2 AND",
            vec![Value::from(from_slot), Value::from(unit)],
        ),
        None => ("", vec![Value::from(from_slot)]),
    };
    let recent_sql = format!(
        "SELECT measure, slot, CAST(SUM(n) AS BIGINT) AS n FROM flow_counts
         WHERE {scope} measure IN ('received', 'finished', 'open') AND slot >= $1
         GROUP BY measure, slot"
    );
    let before_sql = format!(
        "SELECT CAST(SUM(n) AS BIGINT) AS n FROM flow_counts
         WHERE {scope} measure = 'open' AND slot < $1"
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
            recent.insert((measure, row.try_get("", "slot")?), n.unwrap_or(0));
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
                // order lets a unit's panel read its recent slots and its open sum as two
                // index ranges.
                "CREATE TABLE flow_counts (
                    unit TEXT NOT NULL,
                    measure TEXT NOT NULL,
                    slot BIGINT NOT NULL,
                    n BIGINT NOT NULL,
                    PRIMARY KEY (unit, measure, slot)
                )",
                // Every unit's panel (an admin's) reads the recent slots of all units.
                "CREATE INDEX flow_counts_slot ON flow_counts (measure, slot)",
            ],
        )
        .await?;
        flow::count_all(manager.get_connection()).await
    }
}
