//! Building and reading case events.

use crate::v1::{self, case_event::Payload, CaseEvent};
use chrono::{DateTime, Utc};
use clearline_domain::Step;
use prost::Message;
use uuid::Uuid;

/// Bumped when the envelope's meaning changes in a compatible way.
pub const SCHEMA_VERSION: u32 = 1;

/// The event types, one per payload. The name is the subject's last token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    AppointmentBooked,
    Received,
    MaterialsRequested,
    MaterialsCompleted,
    Submitted,
    Approved,
    Rejected,
    Returned,
    FulfilmentStarted,
    Fulfilled,
    Closed,
    Cancelled,
    TaskOpened,
    SlaWarning,
    SlaBreached,
    AttentionNeeded,
    AttentionCleared,
}

impl EventKind {
    pub const ALL: [EventKind; 17] = [
        EventKind::AppointmentBooked,
        EventKind::Received,
        EventKind::MaterialsRequested,
        EventKind::MaterialsCompleted,
        EventKind::Submitted,
        EventKind::Approved,
        EventKind::Rejected,
        EventKind::Returned,
        EventKind::FulfilmentStarted,
        EventKind::Fulfilled,
        EventKind::Closed,
        EventKind::Cancelled,
        EventKind::TaskOpened,
        EventKind::SlaWarning,
        EventKind::SlaBreached,
        EventKind::AttentionNeeded,
        EventKind::AttentionCleared,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::AppointmentBooked => "appointment_booked",
            EventKind::Received => "received",
            EventKind::MaterialsRequested => "materials_requested",
            EventKind::MaterialsCompleted => "materials_completed",
            EventKind::Submitted => "submitted",
            EventKind::Approved => "approved",
            EventKind::Rejected => "rejected",
            EventKind::Returned => "returned",
            EventKind::FulfilmentStarted => "fulfilment_started",
            EventKind::Fulfilled => "fulfilled",
            EventKind::Closed => "closed",
            EventKind::Cancelled => "cancelled",
            EventKind::TaskOpened => "task_opened",
            EventKind::SlaWarning => "sla_warning",
            EventKind::SlaBreached => "sla_breached",
            EventKind::AttentionNeeded => "attention_needed",
            EventKind::AttentionCleared => "attention_cleared",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn of(payload: &Payload) -> EventKind {
        match payload {
            Payload::AppointmentBooked(_) => EventKind::AppointmentBooked,
            Payload::Received(_) => EventKind::Received,
            Payload::MaterialsRequested(_) => EventKind::MaterialsRequested,
            Payload::MaterialsCompleted(_) => EventKind::MaterialsCompleted,
            Payload::Submitted(_) => EventKind::Submitted,
            Payload::Approved(_) => EventKind::Approved,
            Payload::Rejected(_) => EventKind::Rejected,
            Payload::Returned(_) => EventKind::Returned,
            Payload::FulfilmentStarted(_) => EventKind::FulfilmentStarted,
            Payload::Fulfilled(_) => EventKind::Fulfilled,
            Payload::Closed(_) => EventKind::Closed,
            Payload::Cancelled(_) => EventKind::Cancelled,
            Payload::TaskOpened(_) => EventKind::TaskOpened,
            Payload::SlaWarning(_) => EventKind::SlaWarning,
            Payload::SlaBreached(_) => EventKind::SlaBreached,
            Payload::AttentionNeeded(_) => EventKind::AttentionNeeded,
            Payload::AttentionCleared(_) => EventKind::AttentionCleared,
        }
    }

    /// A notice tells about the case (a task opened, a clock ran low, something needs a
    /// person) without moving it through its lifecycle.
    pub fn is_notice(self) -> bool {
        matches!(
            self,
            EventKind::TaskOpened
                | EventKind::SlaWarning
                | EventKind::SlaBreached
                | EventKind::AttentionNeeded
                | EventKind::AttentionCleared
        )
    }
}

/// The domain step a payload stands for; `None` for a notice, which moves nothing.
pub fn step_of(payload: &Payload) -> Option<Step> {
    let step = match payload {
        Payload::AppointmentBooked(_) => Step::AppointmentBooked,
        Payload::Received(r) => Step::Received {
            materials_complete: r.missing_materials.is_empty(),
        },
        Payload::MaterialsRequested(_) => Step::MaterialsRequested,
        Payload::MaterialsCompleted(_) => Step::MaterialsCompleted,
        Payload::Submitted(s) => Step::Submitted {
            approval_required: s.approval_required,
        },
        Payload::Approved(_) => Step::Approved,
        Payload::Rejected(_) => Step::Rejected,
        Payload::Returned(_) => Step::Returned,
        Payload::FulfilmentStarted(_) => Step::FulfilmentStarted,
        Payload::Fulfilled(_) => Step::Fulfilled,
        Payload::Closed(_) => Step::Closed,
        Payload::Cancelled(_) => Step::Cancelled,
        Payload::TaskOpened(_)
        | Payload::SlaWarning(_)
        | Payload::SlaBreached(_)
        | Payload::AttentionNeeded(_)
        | Payload::AttentionCleared(_) => return None,
    };
    Some(step)
}

/// Who caused an event: a staff user in the role they acted in, or a service reacting to
/// another event ([`Actor::system`]). Never a resident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: String,
    pub role: String,
}

impl Actor {
    /// A service acting on its own, e.g. intake issuing a notice when a case is returned.
    pub fn system(service: &str) -> Actor {
        Actor {
            id: service.to_string(),
            role: "system".to_string(),
        }
    }
}

/// What a service knows when it decides to emit an event; [`EventDraft::build`] adds the id
/// and the time.
#[derive(Debug, Clone)]
pub struct EventDraft {
    pub case_id: Uuid,
    pub case_number: String,
    pub service_type: String,
    pub unit: String,
    pub actor_id: String,
    pub actor_role: String,
    pub causation_id: Option<Uuid>,
    pub sequence: u32,
    pub payload: Payload,
}

/// The facts every event repeats about its case, as the emitting service holds them.
#[derive(Debug, Clone, Copy)]
pub struct CaseFacts<'a> {
    pub case_id: Uuid,
    pub case_number: &'a str,
    pub service_type: &'a str,
    pub unit: &'a str,
}

impl EventDraft {
    pub fn new(
        case: CaseFacts<'_>,
        actor: &Actor,
        causation_id: Option<Uuid>,
        sequence: u32,
        payload: Payload,
    ) -> EventDraft {
        EventDraft {
            case_id: case.case_id,
            case_number: case.case_number.to_string(),
            service_type: case.service_type.to_string(),
            unit: case.unit.to_string(),
            actor_id: actor.id.clone(),
            actor_role: actor.role.clone(),
            causation_id,
            sequence,
            payload,
        }
    }

    /// A notice about `cause`'s case, caused by it and carrying its sequence: a notice
    /// follows an event without taking a step of its own.
    pub fn notice(cause: &CaseEvent, actor: &Actor, payload: Payload) -> EventDraft {
        let case_id = cause.case_uuid();
        let facts = CaseFacts {
            case_id,
            case_number: &cause.case_number,
            service_type: &cause.service_type,
            unit: &cause.unit,
        };
        EventDraft::new(
            facts,
            actor,
            Some(cause.event_uuid()),
            cause.sequence,
            payload,
        )
    }

    pub fn build(self, at: DateTime<Utc>) -> CaseEvent {
        CaseEvent {
            event_id: Uuid::now_v7().to_string(),
            case_id: self.case_id.to_string(),
            r#type: EventKind::of(&self.payload).as_str().to_string(),
            occurred_at_ms: at.timestamp_millis(),
            actor: Some(v1::Actor {
                user_id: self.actor_id,
                role: self.actor_role,
            }),
            unit: self.unit,
            causation_id: self.causation_id.map(|c| c.to_string()).unwrap_or_default(),
            schema_version: SCHEMA_VERSION,
            sequence: self.sequence,
            case_number: self.case_number,
            service_type: self.service_type,
            payload: Some(self.payload),
        }
    }
}

/// Why bytes from the broker are not a usable event.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not a CaseEvent: {0}")]
    Protobuf(#[from] prost::DecodeError),
    #[error("event has no payload")]
    NoPayload,
    #[error("event id or case id is not a UUID")]
    BadId,
}

impl CaseEvent {
    pub fn encode_to_bytes(&self) -> Vec<u8> {
        self.encode_to_vec()
    }

    /// Decodes and checks the fields every consumer relies on.
    pub fn decode_checked(bytes: &[u8]) -> Result<CaseEvent, DecodeError> {
        let event = CaseEvent::decode(bytes)?;
        if event.payload.is_none() {
            return Err(DecodeError::NoPayload);
        }
        if Uuid::parse_str(&event.event_id).is_err() || Uuid::parse_str(&event.case_id).is_err() {
            return Err(DecodeError::BadId);
        }
        Ok(event)
    }

    pub fn kind(&self) -> Option<EventKind> {
        self.payload.as_ref().map(EventKind::of)
    }

    pub fn step(&self) -> Option<Step> {
        self.payload.as_ref().and_then(step_of)
    }

    pub fn event_uuid(&self) -> Uuid {
        Uuid::parse_str(&self.event_id).unwrap_or_default()
    }

    pub fn case_uuid(&self) -> Uuid {
        Uuid::parse_str(&self.case_id).unwrap_or_default()
    }

    pub fn occurred_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.occurred_at_ms).unwrap_or_default()
    }

    pub fn actor_id(&self) -> &str {
        self.actor.as_ref().map_or("", |a| a.user_id.as_str())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::v1;

    #[test]
    fn kinds_round_trip_and_build_sets_type() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        let event = EventDraft {
            case_id: Uuid::now_v7(),
            case_number: "A-1".into(),
            service_type: "temporary_id_card".into(),
            unit: "u1".into(),
            actor_id: "clerk1".into(),
            actor_role: "clerk".into(),
            causation_id: None,
            sequence: 1,
            payload: Payload::Cancelled(v1::Cancelled {
                reason: "withdrawn".into(),
            }),
        }
        .build(Utc::now());
        assert_eq!(event.r#type, "cancelled");
        let back = CaseEvent::decode_checked(&event.encode_to_bytes()).unwrap();
        assert_eq!(back, event);
        assert_eq!(back.step(), Some(Step::Cancelled));
    }
}
