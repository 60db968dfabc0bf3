//! A row of the timeline: one event, stored once.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "case_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: Uuid,
    pub case_id: Uuid,
    pub sequence: i64,
    /// An [`clearline_contracts::EventKind`] name.
    pub event_type: String,
    pub occurred_at: DateTimeUtc,
    pub actor_id: String,
    pub actor_role: String,
    pub unit: String,
    pub case_number: String,
    pub service_type: String,
    /// A [`crate::projection::Detail`]: the payload's non-personal fields.
    pub detail: Json,
    /// When the backlog applied the event (its lag is `recorded_at - occurred_at`).
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
