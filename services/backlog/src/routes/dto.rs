//! The backlog's JSON shapes. Nothing here is personal: the read model holds case numbers,
//! staff ids and non-personal details only.

pub use crate::figures::{Drift, DueDrift, FlowDrift, LevelDrift};
use crate::store::{case, event};
use chrono::{DateTime, Utc};
use clearline_domain::Stage;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// Open cases per stage; `total` is their sum.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OpenCounts {
    pub intake: i64,
    pub approval: i64,
    pub fulfilment: i64,
    pub total: i64,
}

/// One unit's backlog, or all of them. `open.total = received − finished` always.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Figures {
    pub open: OpenCounts,
    /// Every status with its count, zeros included, so the shape never changes.
    pub by_status: BTreeMap<String, i64>,
    /// Cases ever received (or booked), finished or not.
    pub received: i64,
    /// Closed, rejected or cancelled.
    pub finished: i64,
    /// Age of the oldest open case that has been received; `None` when there is none.
    pub oldest_open_age_seconds: Option<i64>,
    /// Open cases past their promised time.
    pub overdue: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UnitBacklog {
    pub unit: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// `GET /api/v1/backlog`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BacklogView {
    pub generated_at: DateTime<Utc>,
    pub units: Vec<UnitBacklog>,
    pub totals: Figures,
}

/// A case as the backlog list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CaseItem {
    pub case_id: Uuid,
    pub case_number: String,
    pub unit: String,
    pub window: Option<String>,
    pub channel: Option<String>,
    pub service_type: String,
    /// `None` while the events so far do not form a valid history.
    pub status: Option<String>,
    pub stage: Option<String>,
    /// The staff user responsible now.
    pub owner: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    /// Seconds since receipt: until now while open, until it finished once done.
    pub age_seconds: Option<i64>,
    pub overdue: bool,
    pub updated_at: DateTime<Utc>,
    /// What the open case waits on: appointment, resident_materials, approver, production,
    /// home_visit_slot, resident_pickup or needs_attention.
    pub wait_reason: Option<String>,
    pub waiting_since: Option<DateTime<Utc>>,
    pub waiting_seconds: Option<i64>,
    /// Why a person must look: dead_letter, no_approval_task or no_fulfilment_task.
    pub attention: Option<String>,
    /// warning or breached, once announced.
    pub sla_level: Option<String>,
}

impl CaseItem {
    pub fn new(row: &case::Model, now: DateTime<Utc>) -> CaseItem {
        let open = row
            .stage
            .as_deref()
            .and_then(Stage::parse)
            .is_some_and(|s| s != Stage::Done);
        let until = row.finished_at.unwrap_or(now);
        CaseItem {
            case_id: row.case_id,
            case_number: row.case_number.clone(),
            unit: row.unit.clone(),
            window: row.service_window.clone(),
            channel: row.channel.clone(),
            service_type: row.service_type.clone(),
            status: row.status.clone(),
            stage: row.stage.clone(),
            owner: row.owner.clone(),
            received_at: row.received_at,
            due_at: row.due_at,
            age_seconds: row.received_at.map(|r| (until - r).num_seconds().max(0)),
            wait_reason: row.wait_reason.clone(),
            waiting_since: row.waiting_since,
            waiting_seconds: row.waiting_since.map(|w| (now - w).num_seconds().max(0)),
            attention: row.attention.clone(),
            sla_level: row.sla_level.clone(),
            overdue: open && row.due_at.is_some_and(|due| due < now),
            updated_at: row.updated_at,
        }
    }
}

/// `GET /api/v1/cases`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CasePage {
    pub items: Vec<CaseItem>,
    /// Cases matching the filters, across all pages; with `total_capped`, a lower bound.
    pub total: u64,
    /// More than `total` cases match: a filter the counters cannot answer (overdue, wait
    /// reason, …) is counted only up to a cap. Show it as "10,000+", not as a count.
    #[serde(default)]
    pub total_capped: bool,
    pub limit: u64,
    pub offset: u64,
}

/// One event in a case's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TimelineEntry {
    pub event_id: Uuid,
    pub sequence: i64,
    #[serde(rename = "type")]
    pub event_type: String,
    pub at: DateTime<Utc>,
    /// When the backlog applied the event.
    pub recorded_at: DateTime<Utc>,
    pub actor_id: String,
    pub actor_role: String,
    /// Non-personal payload details: reason, missing materials, mode, due time, round…
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<event::Model> for TimelineEntry {
    fn from(row: event::Model) -> Self {
        TimelineEntry {
            event_id: row.event_id,
            sequence: row.sequence,
            event_type: row.event_type,
            at: row.occurred_at,
            recorded_at: row.recorded_at,
            actor_id: row.actor_id,
            actor_role: row.actor_role,
            detail: row.detail,
        }
    }
}

/// `GET /api/v1/cases/{id}`: the case and everything that happened to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub case: CaseItem,
    pub finished_at: Option<DateTime<Utc>>,
    pub event_count: i64,
    pub timeline: Vec<TimelineEntry>,
}

/// `GET /api/v1/backlog/verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VerifyReport {
    pub ok: bool,
    pub drift: Vec<Drift>,
    /// Due-day counters (behind the overdue figure) that differ from a recount.
    #[serde(default)]
    pub due_drift: Vec<DueDrift>,
    /// Flow counters (behind the supervisor's flow panel) that differ from a recount.
    #[serde(default)]
    pub flow_drift: Vec<FlowDrift>,
    /// Promised-time counters (behind the warnings and breaches per unit) that differ from
    /// a recount.
    #[serde(default)]
    pub level_drift: Vec<LevelDrift>,
}
