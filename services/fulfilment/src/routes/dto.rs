//! Fulfilment's JSON shapes.

use crate::store::{Task, TaskStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Starting fulfilment: how the result reaches the resident.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// `counter_pickup`, `mail` or `home_visit`.
    pub mode: String,
    /// RFC 3339, e.g. `2026-12-01T09:30:00+08:00`. Required for a home visit.
    #[serde(default)]
    pub scheduled_for: Option<String>,
}

/// The body of `fulfil` and `close`: `{}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoFields {}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// `awaiting`, `in_fulfilment`, `fulfilled`, `closed` or `cancelled`. Without it, every
    /// open task (awaiting, in fulfilment or fulfilled).
    pub status: Option<String>,
    /// `counter_pickup`, `mail` or `home_visit`.
    pub mode: Option<String>,
    /// Only this unit. A user who belongs to a unit sees only that unit.
    pub unit: Option<String>,
    /// At most this many (default 100, at most 500).
    pub limit: Option<u64>,
}

/// A case in fulfilment.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TaskView {
    pub case_id: Uuid,
    pub case_number: String,
    pub unit: String,
    pub service_type: String,
    /// `awaiting`, `in_fulfilment`, `fulfilled`, `closed` or `cancelled`.
    pub status: String,
    pub mode: Option<String>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    /// Open and past its promised time.
    pub overdue: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_by: Option<String>,
    pub fulfilled_by: Option<String>,
    pub closed_by: Option<String>,
}

impl TaskView {
    pub fn new(task: &Task, now: DateTime<Utc>) -> Self {
        let open = TaskStatus::parse(&task.status).is_some_and(|s| TaskStatus::OPEN.contains(&s));
        TaskView {
            case_id: task.case_id,
            case_number: task.case_number.clone(),
            unit: task.unit.clone(),
            service_type: task.service_type.clone(),
            status: task.status.clone(),
            mode: task.mode.clone(),
            scheduled_for: task.scheduled_for,
            due_at: task.due_at,
            overdue: open && task.due_at.is_some_and(|due| due < now),
            created_at: task.created_at,
            updated_at: task.updated_at,
            started_by: task.started_by.clone(),
            fulfilled_by: task.fulfilled_by.clone(),
            closed_by: task.closed_by.clone(),
        }
    }
}
