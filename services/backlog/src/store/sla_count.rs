//! The promised-time counters (see [`crate::projection::levels`]): the table, its
//! migration and its read.

use crate::projection::levels;
use clearline_platform::db::run_ddl;
use sea_orm::entity::prelude::*;
use sea_orm_migration::prelude::{MigrationName, MigrationTrait, SchemaManager};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_counts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub unit: String,
    /// `warning` or `breached`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub level: String,
    pub n: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The maintained counters, for one unit or all.
pub async fn counters<C: ConnectionTrait>(db: &C, unit: Option<&str>) -> Result<Vec<Model>, DbErr> {
    let mut select = Entity::find();
    if let Some(unit) = unit {
        select = select.filter(Column::Unit.eq(unit));
    }
    select.all(db).await
}

/// Adds the promised-time counters and counts the cases already there into them.
pub struct SlaCounts;

impl MigrationName for SlaCounts {
    fn name(&self) -> &str {
        "m0103_sla_counts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for SlaCounts {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager,
            &["CREATE TABLE sla_counts (
                unit TEXT NOT NULL,
                level TEXT NOT NULL,
                n BIGINT NOT NULL,
                PRIMARY KEY (unit, level)
            )"],
        )
        .await?;
        levels::count_all(manager.get_connection()).await
    }
}
