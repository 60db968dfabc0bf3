//! The services' answers, as far as the pages read them. Unknown fields are ignored, so a
//! service may add fields without breaking the portal.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;
use uuid::Uuid;

/// A material as intake names it.
#[derive(Debug, Clone, Deserialize)]
pub struct Material {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

/// Intake's masked applicant.
#[derive(Debug, Clone, Deserialize)]
pub struct Applicant {
    pub name: String,
    pub id_number: String,
    pub phone: String,
}

/// Intake's `GET /api/v1/cases/{id}`.
#[derive(Debug, Clone, Deserialize)]
pub struct IntakeCase {
    pub id: Uuid,
    pub case_number: String,
    pub unit: String,
    pub window: String,
    pub service_type: String,
    pub status: String,
    pub stage: String,
    pub provided_materials: Vec<Material>,
    pub missing_materials: Vec<Material>,
    pub applicant: Applicant,
    pub received_by: String,
    pub received_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub cancel_reason: Option<String>,
}

/// Approval's task.
#[derive(Debug, Clone, Deserialize)]
pub struct ApprovalTask {
    pub case_id: Uuid,
    pub case_number: String,
    pub unit: String,
    pub window: String,
    pub service_type: String,
    pub status: String,
    pub received_by: String,
    pub submitted_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub overdue: bool,
}

/// Fulfilment's task.
#[derive(Debug, Clone, Deserialize)]
pub struct FulfilmentTask {
    pub case_id: Uuid,
    pub case_number: String,
    pub unit: String,
    pub service_type: String,
    pub status: String,
    pub mode: Option<String>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub overdue: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct OpenCounts {
    pub intake: i64,
    pub approval: i64,
    pub fulfilment: i64,
    pub total: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Figures {
    pub open: OpenCounts,
    #[serde(default)]
    pub by_status: BTreeMap<String, i64>,
    pub received: i64,
    pub finished: i64,
    pub oldest_open_age_seconds: Option<i64>,
    pub overdue: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UnitBacklog {
    pub unit: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// Backlog's `GET /api/v1/backlog`.
#[derive(Debug, Clone, Deserialize)]
pub struct BacklogView {
    pub generated_at: DateTime<Utc>,
    pub units: Vec<UnitBacklog>,
    pub totals: Figures,
}

/// A case in the backlog's list.
#[derive(Debug, Clone, Deserialize)]
pub struct CaseItem {
    pub case_id: Uuid,
    pub case_number: String,
    pub unit: String,
    pub service_type: String,
    pub status: Option<String>,
    pub stage: Option<String>,
    pub owner: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub age_seconds: Option<i64>,
    pub overdue: bool,
    /// What the open case waits on (a `WaitReason` code).
    #[serde(default)]
    pub wait_reason: Option<String>,
    #[serde(default)]
    pub waiting_since: Option<DateTime<Utc>>,
    #[serde(default)]
    pub waiting_seconds: Option<i64>,
    /// Why a person must look (`dead_letter`, `no_approval_task`, `no_fulfilment_task`).
    #[serde(default)]
    pub attention: Option<String>,
    /// `warning` or `breached`, once announced.
    #[serde(default)]
    pub sla_level: Option<String>,
}

/// Backlog's `GET /api/v1/cases/lookup`: the rows of the cases a queue lists.
#[derive(Debug, Clone, Deserialize)]
pub struct CaseLookup {
    pub items: Vec<CaseItem>,
}

/// Backlog's `GET /api/v1/cases`.
#[derive(Debug, Clone, Deserialize)]
pub struct CasePage {
    pub items: Vec<CaseItem>,
    pub total: u64,
    /// More than `total` match (the backlog counted only up to a cap).
    #[serde(default)]
    pub total_capped: bool,
    pub limit: u64,
    pub offset: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TimelineEntry {
    #[serde(rename = "type")]
    pub event_type: String,
    pub at: DateTime<Utc>,
    pub actor_id: String,
    pub actor_role: String,
    #[serde(default)]
    pub detail: serde_json::Value,
}

/// Backlog's `GET /api/v1/cases/{id}`.
#[derive(Debug, Clone, Deserialize)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub case: CaseItem,
    pub timeline: Vec<TimelineEntry>,
}

/// Backlog's `GET /api/v1/supervisor/flow`: today's flow, the open count at the end of each
/// of the last days, and the ages of open cases.
#[derive(Debug, Clone, Deserialize)]
pub struct Flow {
    pub generated_at: DateTime<Utc>,
    pub received_today: i64,
    pub finished_today: i64,
    pub history: Vec<HistoryPoint>,
    pub ages: Vec<AgeBucket>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HistoryPoint {
    pub at: DateTime<Utc>,
    pub open: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AgeBucket {
    /// Lower bound in days, inclusive.
    pub from_days: i64,
    /// Upper bound in days, exclusive; `None` for the last bucket.
    pub to_days: Option<i64>,
    pub open: i64,
}

/// Open cases with a promised-time warning or breach.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct SlaCounts {
    pub warning: i64,
    pub breached: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UnitSla {
    pub unit: String,
    #[serde(flatten)]
    pub counts: SlaCounts,
}

/// Backlog's `GET /api/v1/sla/units`.
#[derive(Debug, Clone, Deserialize)]
pub struct SlaView {
    pub generated_at: DateTime<Utc>,
    pub units: Vec<UnitSla>,
    pub totals: SlaCounts,
}

/// A consuming service's dead letter (`/api/v1/dead-letters[/{id}]`), with what its bytes
/// say.
#[derive(Debug, Clone, Deserialize)]
pub struct DeadLetter {
    pub consumer: String,
    pub event_id: Uuid,
    pub case_id: Option<Uuid>,
    pub subject: String,
    pub error: String,
    pub deliveries: i64,
    pub failed_at: DateTime<Utc>,
    pub replayed_at: Option<DateTime<Utc>>,
    pub replayed_by: Option<String>,
    pub replays: i64,
    pub resolved_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub event_type: Option<String>,
    #[serde(default)]
    pub case_number: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub service_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DeadLetterList {
    pub dead_letters: Vec<DeadLetter>,
}

/// A carried-over case's reason.
#[derive(Debug, Clone, Deserialize)]
pub struct CarryReason {
    pub code: String,
    pub text: Option<String>,
    pub set_by: String,
    pub set_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CarriedCase {
    pub case_id: Uuid,
    pub case_number: String,
    pub service_type: String,
    pub status: Option<String>,
    pub received_at: DateTime<Utc>,
    pub reason: Option<CarryReason>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SignOff {
    pub by: String,
    pub role: String,
    pub at: DateTime<Utc>,
}

/// Backlog's `GET /api/v1/clearance/{unit}/{day}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ClearanceReport {
    pub unit: String,
    pub day: NaiveDate,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub as_of: DateTime<Utc>,
    pub complete: bool,
    pub open_at_start: i64,
    pub received: i64,
    pub finished: i64,
    pub carried_over: i64,
    pub rate: Option<f64>,
    pub reasons_missing: i64,
    pub carried_over_cases: Vec<CarriedCase>,
    pub sign_off: Option<SignOff>,
}

/// One day of a unit's clearance series.
#[derive(Debug, Clone, Deserialize)]
pub struct DayRate {
    pub day: NaiveDate,
    pub open_at_start: i64,
    pub received: i64,
    pub finished: i64,
    pub carried_over: i64,
    pub rate: Option<f64>,
    pub complete: bool,
    /// `live`, `closed` or `signed`.
    pub source: String,
    pub sign_off: Option<SignOff>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UnitRates {
    pub unit: String,
    pub days: Vec<DayRate>,
}

/// Backlog's `GET /api/v1/clearance/rates`.
#[derive(Debug, Clone, Deserialize)]
pub struct RatesView {
    pub from: NaiveDate,
    pub until: NaiveDate,
    pub units: Vec<UnitRates>,
}
