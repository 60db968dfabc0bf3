//! An approval task: one case's place in the approvers' queue and the decision on it.

use clearline_domain::Status;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "approval_tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: Uuid,
    pub case_number: String,
    pub unit: String,
    /// Empty for a tombstone.
    pub service_window: String,
    pub service_type: String,
    /// A [`TaskStatus`] name.
    pub status: String,
    /// The submission round this task is for: 1, then one more after each return.
    pub round: i32,
    /// The clerk who received the case; refused as its approver. Empty for a tombstone.
    pub received_by: String,
    /// `None` only for a tombstone (cancelled before approval saw the submission).
    pub submitted_at: Option<DateTimeUtc>,
    /// The promised time from the catalog, as intake computed it. `None` only for a tombstone.
    pub due_at: Option<DateTimeUtc>,
    /// The last event sequence approval emitted or saw for the case: the next event it
    /// emits carries one more, and an older `submitted` redelivered later is recognised.
    pub sequence: i32,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTimeUtc>,
    /// Why the task ended: a rejection's or return's reason, an approval's note, or the
    /// resident's reason for withdrawing.
    pub reason: Option<String>,
    /// Material codes a return asked for (a JSON array); empty otherwise.
    pub returned_materials: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The task's status. A name this build does not know means the row was written by
    /// something else: a database problem, not the client's.
    pub fn status(&self) -> Result<TaskStatus, DbErr> {
        TaskStatus::parse(&self.status)
            .ok_or_else(|| DbErr::Custom(format!("unknown approval task status {:?}", self.status)))
    }

    pub fn returned(&self) -> Vec<String> {
        serde_json::from_value(self.returned_materials.clone()).unwrap_or_default()
    }
}

/// Where an approval task is. Approval keeps only its slice of a case; [`TaskStatus::case_status`]
/// places it in the shared lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    Pending,
    Approved,
    Rejected,
    /// Sent back to intake for materials; a later submission reopens it as a new round.
    Returned,
    Cancelled,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 5] = [
        TaskStatus::Pending,
        TaskStatus::Approved,
        TaskStatus::Rejected,
        TaskStatus::Returned,
        TaskStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Pending => "pending",
            TaskStatus::Approved => "approved",
            TaskStatus::Rejected => "rejected",
            TaskStatus::Returned => "returned",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<TaskStatus> {
        TaskStatus::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The case's status in the shared lifecycle right after approval's last step.
    pub fn case_status(self) -> Status {
        match self {
            TaskStatus::Pending => Status::PendingApproval,
            TaskStatus::Approved => Status::AwaitingFulfilment,
            TaskStatus::Rejected => Status::Rejected,
            TaskStatus::Returned => Status::AwaitingMaterials,
            TaskStatus::Cancelled => Status::Cancelled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TaskStatus;

    #[test]
    fn names_round_trip() {
        for s in TaskStatus::ALL {
            assert_eq!(TaskStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(TaskStatus::parse("pending_approval"), None);
    }
}
