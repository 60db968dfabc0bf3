//! Approval's JSON shapes.

use crate::store::{Task, TaskStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// An approver's decision on a pending task.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// `approve`, `reject` or `return`.
    pub decision: String,
    /// Required to reject; a note when approving; shown to the clerk when returning.
    #[serde(default)]
    pub reason: Option<String>,
    /// Only for `return`: codes (from the catalog) of what the resident must still bring.
    #[serde(default)]
    pub materials: Vec<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// `pending` (the default), `approved`, `rejected`, `returned` or `cancelled`.
    pub status: Option<String>,
    /// Only this unit. A user who belongs to a unit sees only that unit.
    pub unit: Option<String>,
    pub service_type: Option<String>,
    /// `true`: only tasks past their promised time; `false`: only those not yet due.
    pub overdue: Option<bool>,
    /// At most this many (default 100, at most 500).
    pub limit: Option<u64>,
}

/// A case in the approvers' queue, or decided.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TaskView {
    pub case_id: Uuid,
    pub case_number: String,
    pub unit: String,
    pub window: String,
    pub service_type: String,
    /// `pending`, `approved`, `rejected`, `returned` or `cancelled`.
    pub status: String,
    pub round: i32,
    /// The clerk who received the case, who may not decide it.
    pub received_by: String,
    pub submitted_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    /// Pending and past its promised time.
    pub overdue: bool,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    /// For a returned task: the material codes the resident was asked to bring.
    pub returned_materials: Vec<String>,
}

impl TaskView {
    pub fn new(task: &Task, now: DateTime<Utc>) -> Self {
        let pending = TaskStatus::parse(&task.status) == Some(TaskStatus::Pending);
        TaskView {
            case_id: task.case_id,
            case_number: task.case_number.clone(),
            unit: task.unit.clone(),
            window: task.service_window.clone(),
            service_type: task.service_type.clone(),
            status: task.status.clone(),
            round: task.round,
            received_by: task.received_by.clone(),
            submitted_at: task.submitted_at,
            due_at: task.due_at,
            overdue: pending && task.due_at.is_some_and(|due| due < now),
            decided_by: task.decided_by.clone(),
            decided_at: task.decided_at,
            reason: task.reason.clone(),
            returned_materials: task.returned(),
        }
    }
}
