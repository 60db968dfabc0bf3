//! The flow counters (see [`crate::projection::flow`]): the table, its migration, and its
//! reads: the sums the flow panel is built from, and a recount from the cases for
//! `/verify`, the repair and the migration.

use super::{case, BacklogCases};
use crate::projection::flow::{self, FlowKey, Measure, ALL_UNITS};
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
    for (case_unit, status, received_at, finished_at) in rows {
        let status = status.as_deref().and_then(Status::parse);
        let keys = flow::keys_of(&case_unit, status, received_at, finished_at);
        // A unit's recount is its own counters, not its share of the city's.
        for key in keys
            .into_iter()
            .filter(|k| unit.is_none_or(|u| k.unit == u))
        {
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

/// Counters summed per day from a slot on: what the flow panel and the clearance rates
/// read. Days are [`SLOTS_PER_DAY`] slots counted from `from`, so every question below is
/// about a slot on that grid (a day's start), at or after `from`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DaySums {
    from: i64,
    /// `(measure, day) → n`, day 0 starting at slot `from`.
    by_day: BTreeMap<(Measure, i64), i64>,
    /// Open cases received before `from`.
    open_before: i64,
}

/// Slots in a day (days are taken as 24 hours; see [`crate::routes::supervisor`]).
pub const SLOTS_PER_DAY: i64 = 48;

/// The figures the sums answer. "Now" is whatever has been counted: a case received in
/// the running slot is already received.
impl DaySums {
    fn day(&self, slot: i64) -> i64 {
        (slot - self.from).div_euclid(SLOTS_PER_DAY)
    }

    /// Σ of one measure over the days from the one starting at slot `lo` to the one
    /// starting at `hi`, that one excluded.
    pub fn between(&self, measure: Measure, lo: i64, hi: i64) -> i64 {
        let (lo, hi) = (self.day(lo), self.day(hi));
        if lo >= hi {
            return 0;
        }
        self.by_day
            .range((measure, lo)..(measure, hi))
            .map(|(_, n)| n)
            .sum()
    }

    /// Σ of one measure from the day starting at `slot` on.
    pub fn since(&self, measure: Measure, slot: i64) -> i64 {
        self.between(measure, slot, i64::MAX)
    }

    /// The open cases (with a receipt time).
    pub fn open_now(&self) -> i64 {
        self.open_before + self.since(Measure::Open, self.from)
    }

    /// Open cases received before `slot`.
    pub fn open_received_before(&self, slot: i64) -> i64 {
        self.open_before + self.between(Measure::Open, self.from, slot)
    }

    /// Cases open at the start of `slot`: open now, less those received since, plus those
    /// finished since.
    pub fn open_at(&self, slot: i64) -> i64 {
        self.open_now() - self.since(Measure::Received, slot) + self.since(Measure::Finished, slot)
    }
}

/// The counters of `measures` from slot `from` on, summed per day in the database (a
/// month is a few thousand counters, and only a hundred sums come back), for one unit or
/// all (the [`ALL_UNITS`] counters); and the open cases received before `from`, which
/// `open_*` need.
pub async fn day_sums<C: ConnectionTrait>(
    db: &C,
    unit: Option<&str>,
    from: i64,
    measures: &[Measure],
) -> Result<DaySums, DbErr> {
    // The unit and measures named, so the read is one index range per measure; slots at
    // or after `from`, so the day number is never negative (SQL division truncates). SUM
    // of a BIGINT is NUMERIC on PostgreSQL: cast back.
    let values = vec![Value::from(from), Value::from(unit.unwrap_or(ALL_UNITS))];
    let named: Vec<String> = measures
        .iter()
        .map(|m| format!("'{}'", m.as_str()))
        .collect();
    let days_sql = format!(
        "SELECT measure, (slot - $1) / {SLOTS_PER_DAY} AS d, CAST(SUM(n) AS BIGINT) AS n
         FROM flow_counts WHERE unit = $2 AND measure IN ({}) AND slot >= $1
         GROUP BY measure, d",
        named.join(", ")
    );
    let before_sql = "SELECT CAST(SUM(n) AS BIGINT) AS n FROM flow_counts
         WHERE unit = $2 AND measure = 'open' AND slot < $1";
    let backend = db.get_database_backend();
    let rows = db
        .query_all(Statement::from_sql_and_values(
            backend,
            days_sql,
            values.clone(),
        ))
        .await?;
    let mut by_day = BTreeMap::new();
    for row in rows {
        let measure: String = row.try_get("", "measure")?;
        let n: Option<i64> = row.try_get("", "n")?;
        if let Some(measure) = Measure::parse(&measure) {
            by_day.insert((measure, row.try_get("", "d")?), n.unwrap_or(0));
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
    Ok(DaySums {
        from,
        by_day,
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
                // order makes every read an index range: a unit's (or the city's) measure
                // from a slot on, or before it.
                "CREATE TABLE flow_counts (
                    unit TEXT NOT NULL,
                    measure TEXT NOT NULL,
                    slot BIGINT NOT NULL,
                    n BIGINT NOT NULL,
                    PRIMARY KEY (unit, measure, slot)
                )",
            ],
        )
        .await?;
        flow::count_all(manager.get_connection()).await
    }
}
