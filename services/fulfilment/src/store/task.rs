//! A fulfilment task: carrying out one approved (or approval-free) case until the resident
//! has the result.

use clearline_domain::Status;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "fulfilment_tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: Uuid,
    pub case_number: String,
    pub unit: String,
    pub service_type: String,
    /// A [`TaskStatus`] name.
    pub status: String,
    /// A [`clearline_domain::FulfilmentMode`] name, once started.
    pub mode: Option<String>,
    /// When a home visit (or other appointment) is booked.
    pub scheduled_for: Option<DateTimeUtc>,
    /// The last event sequence fulfilment emitted or saw for the case: the next event it
    /// emits carries one more.
    pub sequence: i32,
    /// The promised time. `None` only for a tombstone.
    pub due_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub started_by: Option<String>,
    pub fulfilled_by: Option<String>,
    pub closed_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The task's status. A name this build does not know means the row was written by
    /// something else: a database problem, not the client's.
    pub fn status(&self) -> Result<TaskStatus, DbErr> {
        TaskStatus::parse(&self.status).ok_or_else(|| {
            DbErr::Custom(format!("unknown fulfilment task status {:?}", self.status))
        })
    }
}

/// Where a fulfilment task is: exactly the fulfilment stage of the shared lifecycle, plus
/// its two ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    Awaiting,
    InFulfilment,
    Fulfilled,
    Closed,
    Cancelled,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 5] = [
        TaskStatus::Awaiting,
        TaskStatus::InFulfilment,
        TaskStatus::Fulfilled,
        TaskStatus::Closed,
        TaskStatus::Cancelled,
    ];

    /// Still work for an officer: what the work list shows by default.
    pub const OPEN: [TaskStatus; 3] = [
        TaskStatus::Awaiting,
        TaskStatus::InFulfilment,
        TaskStatus::Fulfilled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Awaiting => "awaiting",
            TaskStatus::InFulfilment => "in_fulfilment",
            TaskStatus::Fulfilled => "fulfilled",
            TaskStatus::Closed => "closed",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<TaskStatus> {
        TaskStatus::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The case's status in the shared lifecycle.
    pub fn case_status(self) -> Status {
        match self {
            TaskStatus::Awaiting => Status::AwaitingFulfilment,
            TaskStatus::InFulfilment => Status::InFulfilment,
            TaskStatus::Fulfilled => Status::Fulfilled,
            TaskStatus::Closed => Status::Closed,
            TaskStatus::Cancelled => Status::Cancelled,
        }
    }

    /// The task status for a case status, if the case is in fulfilment's hands.
    pub fn from_case_status(status: Status) -> Option<TaskStatus> {
        TaskStatus::ALL
            .into_iter()
            .find(|t| t.case_status() == status)
    }
}

#[cfg(test)]
mod tests {
    use super::TaskStatus;
    use clearline_domain::Status;

    #[test]
    fn names_and_case_statuses_round_trip() {
        for s in TaskStatus::ALL {
            assert_eq!(TaskStatus::parse(s.as_str()), Some(s));
            assert_eq!(TaskStatus::from_case_status(s.case_status()), Some(s));
        }
        assert_eq!(TaskStatus::from_case_status(Status::PendingApproval), None);
    }
}
