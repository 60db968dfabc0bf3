//! A closed day of a unit: its recorded figures and, once signed, the frozen report.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "clearance_days")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub unit: String,
    /// `YYYY-MM-DD`, the clearance day's local date.
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: String,
    /// When these figures were taken: the day's end, or the sign-off.
    pub recorded_at: DateTimeUtc,
    pub open_at_start: i64,
    pub received: i64,
    pub finished: i64,
    pub carried_over: i64,
    pub signed_off_by: Option<String>,
    pub signed_off_role: Option<String>,
    pub signed_off_at: Option<DateTimeUtc>,
    /// The [`crate::clearance::ClearanceReport`] as signed.
    pub report: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
