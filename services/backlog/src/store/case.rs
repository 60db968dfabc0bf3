//! A row of the read model: one case as the events so far describe it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "backlog_cases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: Uuid,
    pub case_number: String,
    pub unit: String,
    pub service_window: Option<String>,
    pub channel: Option<String>,
    pub service_type: String,
    /// A [`clearline_domain::Status`] name; `None` until the events form a valid history.
    pub status: Option<String>,
    /// The status's [`clearline_domain::Stage`] name, stored so the list and the oldest-open
    /// and overdue queries can use an index.
    pub stage: Option<String>,
    /// The staff user responsible now; see [`crate::projection::derive`] for the rule.
    pub owner: Option<String>,
    pub received_at: Option<DateTimeUtc>,
    pub due_at: Option<DateTimeUtc>,
    /// The latest `occurred_at` among the case's events (not the time we applied them, so
    /// a rebuild gives the same row).
    pub updated_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub last_sequence: i64,
    pub event_count: i64,
    /// A [`clearline_domain::WaitReason`] name; `None` once finished.
    pub wait_reason: Option<String>,
    pub waiting_since: Option<DateTimeUtc>,
    /// The reason code of an open problem (`dead_letter`, `no_approval_task`, …).
    pub attention: Option<String>,
    /// `warning` or `breached` once announced.
    pub sla_level: Option<String>,
    /// The next promised-time threshold the watch must announce.
    pub next_alert_at: Option<DateTimeUtc>,
    /// When an unconfirmed hand-over between services makes the case stuck.
    pub expect_by: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    pub fn status(&self) -> Option<clearline_domain::Status> {
        self.status
            .as_deref()
            .and_then(clearline_domain::Status::parse)
    }
}
