//! An event as the backlog stores it: the envelope's facts and the payload's non-personal
//! details, enough to re-derive the case without the original bytes.

use crate::store::event;
use chrono::{DateTime, Utc};
use clearline_contracts::{CaseEvent, EventKind, Payload};
use clearline_domain::Step;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The payload fields the backlog keeps. Never the applicant's (even masked) ID number:
/// the backlog tracks requests, not people.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Detail {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_required: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_materials: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_for: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appointment_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub round: Option<u32>,
    /// The clerk who received the case (a staff id), as `submitted` carries it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received_by: Option<String>,
    /// `task_opened`: the queue (approval, fulfilment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// `sla_warning` / `sla_breached`: which promised-time clock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock: Option<String>,
    /// `task_opened`, `attention_*`: the event this one is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_event_id: Option<Uuid>,
    /// `attention_*`: the consumer that dead-lettered the source event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer: Option<String>,
}

fn text(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// Proto3 has no "absent" for an int64: 0 means not set.
fn instant(ms: i64) -> Option<DateTime<Utc>> {
    (ms != 0)
        .then(|| DateTime::from_timestamp_millis(ms))
        .flatten()
}

impl Detail {
    pub fn of(payload: &Payload) -> Detail {
        let mut d = Detail::default();
        match payload {
            Payload::AppointmentBooked(p) => {
                d.window = text(&p.window);
                d.appointment_at = instant(p.appointment_at_ms);
            }
            Payload::Received(p) => {
                d.window = text(&p.window);
                d.channel = text(&p.channel);
                d.due_at = instant(p.due_at_ms);
                d.approval_required = Some(p.approval_required);
                d.missing_materials = Some(p.missing_materials.clone());
            }
            Payload::MaterialsRequested(p) => {
                d.missing_materials = Some(p.missing_materials.clone())
            }
            Payload::MaterialsCompleted(_) | Payload::Fulfilled(_) | Payload::Closed(_) => {}
            Payload::Submitted(p) => {
                d.approval_required = Some(p.approval_required);
                d.received_by = text(&p.received_by);
                d.due_at = instant(p.due_at_ms);
                d.round = Some(p.round);
                d.window = text(&p.window);
            }
            Payload::Approved(p) => {
                d.note = text(&p.note);
                d.due_at = instant(p.due_at_ms);
            }
            Payload::Rejected(p) => d.reason = text(&p.reason),
            Payload::Returned(p) => {
                d.missing_materials = Some(p.missing_materials.clone());
                d.reason = text(&p.reason);
            }
            Payload::FulfilmentStarted(p) => {
                d.mode = text(&p.mode);
                d.scheduled_for = instant(p.scheduled_for_ms);
            }
            Payload::Cancelled(p) => d.reason = text(&p.reason),
            Payload::TaskOpened(p) => {
                d.queue = text(&p.queue);
                d.source_event_id = Uuid::parse_str(&p.for_event_id).ok();
            }
            Payload::SlaWarning(p) => {
                d.clock = text(&p.clock);
                d.due_at = instant(p.due_at_ms);
            }
            Payload::SlaBreached(p) => {
                d.clock = text(&p.clock);
                d.due_at = instant(p.due_at_ms);
            }
            Payload::AttentionNeeded(p) => {
                d.reason = text(&p.reason);
                d.source_event_id = Uuid::parse_str(&p.source_event_id).ok();
                d.consumer = text(&p.consumer);
                d.note = text(&p.detail);
            }
            Payload::AttentionCleared(p) => {
                d.source_event_id = Uuid::parse_str(&p.source_event_id).ok();
                d.consumer = text(&p.consumer);
            }
        }
        d
    }

    /// The domain step, as [`clearline_contracts::event::step_of`] reads it from the payload;
    /// `None` for a notice.
    pub fn step(&self, kind: EventKind) -> Option<Step> {
        let step = match kind {
            EventKind::AppointmentBooked => Step::AppointmentBooked,
            EventKind::Received => Step::Received {
                materials_complete: self.missing_materials.as_ref().is_none_or(Vec::is_empty),
            },
            EventKind::MaterialsRequested => Step::MaterialsRequested,
            EventKind::MaterialsCompleted => Step::MaterialsCompleted,
            EventKind::Submitted => Step::Submitted {
                approval_required: self.approval_required.unwrap_or(false),
            },
            EventKind::Approved => Step::Approved,
            EventKind::Rejected => Step::Rejected,
            EventKind::Returned => Step::Returned,
            EventKind::FulfilmentStarted => Step::FulfilmentStarted,
            EventKind::Fulfilled => Step::Fulfilled,
            EventKind::Closed => Step::Closed,
            EventKind::Cancelled => Step::Cancelled,
            EventKind::TaskOpened
            | EventKind::SlaWarning
            | EventKind::SlaBreached
            | EventKind::AttentionNeeded
            | EventKind::AttentionCleared => return None,
        };
        Some(step)
    }
}

/// One stored event, the projection's input.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub event_id: Uuid,
    pub case_id: Uuid,
    pub sequence: u32,
    pub kind: EventKind,
    pub occurred_at: DateTime<Utc>,
    pub actor_id: String,
    pub actor_role: String,
    pub unit: String,
    pub case_number: String,
    pub service_type: String,
    pub detail: Detail,
}

impl Recorded {
    /// `None` for an event without a payload (the consumer's decode already refuses those).
    pub fn from_event(event: &CaseEvent) -> Option<Recorded> {
        let payload = event.payload.as_ref()?;
        Some(Recorded {
            event_id: event.event_uuid(),
            case_id: event.case_uuid(),
            sequence: event.sequence,
            kind: EventKind::of(payload),
            occurred_at: event.occurred_at(),
            actor_id: event.actor_id().to_string(),
            actor_role: event
                .actor
                .as_ref()
                .map_or_else(String::new, |a| a.role.clone()),
            unit: event.unit.clone(),
            case_number: event.case_number.clone(),
            service_type: event.service_type.clone(),
            detail: Detail::of(payload),
        })
    }

    /// `None` for a row whose type this version does not know (written by a newer one).
    pub fn from_row(row: event::Model) -> Option<Recorded> {
        Some(Recorded {
            kind: EventKind::parse(&row.event_type)?,
            event_id: row.event_id,
            case_id: row.case_id,
            sequence: u32::try_from(row.sequence).ok()?,
            occurred_at: row.occurred_at,
            actor_id: row.actor_id,
            actor_role: row.actor_role,
            unit: row.unit,
            case_number: row.case_number,
            service_type: row.service_type,
            detail: serde_json::from_value(row.detail).ok()?,
        })
    }

    pub fn step(&self) -> Option<Step> {
        self.detail.step(self.kind)
    }

    /// The order every consumer agrees on: the emitters' step numbers, ties broken by id.
    pub fn order_key(&self) -> (u32, Uuid) {
        (self.sequence, self.event_id)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use clearline_contracts::event::step_of;
    use clearline_contracts::v1;

    fn payloads() -> Vec<Payload> {
        vec![
            Payload::AppointmentBooked(v1::AppointmentBooked {
                window: "w1".into(),
                appointment_at_ms: 1_700_000_000_000,
            }),
            Payload::Received(v1::Received {
                missing_materials: vec!["photo".into()],
                ..Default::default()
            }),
            Payload::Received(v1::Received {
                window: "w1".into(),
                channel: "window".into(),
                ..Default::default()
            }),
            Payload::MaterialsRequested(v1::MaterialsRequested {
                missing_materials: vec!["photo".into()],
            }),
            Payload::MaterialsCompleted(v1::MaterialsCompleted {}),
            Payload::Submitted(v1::Submitted {
                approval_required: true,
                round: 1,
                ..Default::default()
            }),
            Payload::Submitted(v1::Submitted {
                approval_required: false,
                round: 2,
                ..Default::default()
            }),
            Payload::Approved(v1::Approved {
                note: "ok".into(),
                due_at_ms: 1_700_000_000_000,
            }),
            Payload::Rejected(v1::Rejected {
                reason: "no".into(),
            }),
            Payload::Returned(v1::Returned {
                missing_materials: vec!["x".into()],
                reason: "r".into(),
            }),
            Payload::FulfilmentStarted(v1::FulfilmentStarted {
                mode: "mail".into(),
                scheduled_for_ms: 0,
            }),
            Payload::Fulfilled(v1::Fulfilled {}),
            Payload::Closed(v1::Closed {}),
            Payload::Cancelled(v1::Cancelled {
                reason: "withdrawn".into(),
            }),
            Payload::TaskOpened(v1::TaskOpened {
                queue: "approval".into(),
                for_event_id: Uuid::now_v7().to_string(),
            }),
            Payload::SlaWarning(v1::SlaWarning {
                clock: "total".into(),
                due_at_ms: 1_700_000_000_000,
            }),
            Payload::AttentionNeeded(v1::AttentionNeeded {
                reason: "dead_letter".into(),
                source_event_id: Uuid::now_v7().to_string(),
                consumer: "fulfilment".into(),
                detail: "failed".into(),
            }),
        ]
    }

    #[test]
    fn a_stored_detail_gives_back_the_payloads_step() {
        for payload in payloads() {
            let detail = Detail::of(&payload);
            let stored: Detail =
                serde_json::from_value(serde_json::to_value(&detail).unwrap()).unwrap();
            assert_eq!(stored, detail);
            assert_eq!(
                stored.step(EventKind::of(&payload)),
                step_of(&payload),
                "{payload:?}"
            );
        }
    }

    #[test]
    fn unset_proto_fields_are_left_out() {
        let detail = Detail::of(&Payload::FulfilmentStarted(v1::FulfilmentStarted {
            mode: String::new(),
            scheduled_for_ms: 0,
        }));
        assert_eq!(serde_json::to_value(detail).unwrap(), serde_json::json!({}));
    }
}
