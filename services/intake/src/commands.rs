//! What intake does to a case, as transactions: register, add materials, cancel, and take a
//! case back when approval returns it. Each one checks the step against the shared
//! lifecycle, updates the row and appends its events to the outbox in the same transaction.

use crate::store::{numbers, Case, CaseRow, Cases};
use chrono::{DateTime, Utc};
use clearline_contracts::{v1, Actor, CaseEvent, CaseFacts, EventDraft, Payload};
use clearline_domain::{
    lifecycle, Channel, InvalidTransition, Phone, ResidentId, ServiceType, Status, WorkCalendar,
};
use clearline_platform::outbox::Outbox;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QuerySelect,
};
use uuid::Uuid;

/// A resident's request, already validated.
pub struct NewCase<'a> {
    pub service: &'a ServiceType,
    pub unit: String,
    pub window: String,
    pub channel: Channel,
    pub applicant_name: String,
    pub applicant_id: ResidentId,
    pub applicant_phone: Phone,
    pub provided: Vec<String>,
    pub missing: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    NotAllowed(#[from] InvalidTransition),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Registers a case: `received`, then either the one-time notice (`materials_requested`)
/// or straight to `submitted`.
pub async fn register<C: ConnectionTrait>(
    txn: &C,
    outbox: &Outbox,
    new: NewCase<'_>,
    actor: &Actor,
    calendar: &WorkCalendar,
    now: DateTime<Utc>,
) -> Result<Case, CommandError> {
    let case_number = numbers::next_case_number(txn, &new.unit, now, calendar.zone()).await?;
    let due_at = new.service.due_at(now, calendar);
    let mut case = Case {
        id: Uuid::now_v7(),
        case_number,
        unit: new.unit,
        service_window: new.window,
        channel: new.channel.as_str().to_string(),
        service_type: new.service.code.clone(),
        status: String::new(),
        sequence: 0,
        round: 0,
        applicant_name: new.applicant_name,
        applicant_id_number: new.applicant_id.as_str().to_string(),
        applicant_phone: new.applicant_phone.as_str().to_string(),
        provided_materials: serde_json::json!(new.provided),
        missing_materials: serde_json::json!(new.missing),
        received_by: actor.id.clone(),
        received_at: now,
        due_at,
        updated_at: now,
        cancel_reason: None,
    };
    let mut payloads = vec![Payload::Received(v1::Received {
        window: case.service_window.clone(),
        channel: case.channel.clone(),
        due_at_ms: due_at.timestamp_millis(),
        approval_required: new.service.approval_required,
        missing_materials: new.missing.clone(),
        applicant_id_masked: new.applicant_id.masked(),
    })];
    if new.missing.is_empty() {
        payloads.push(submission(&mut case, new.service.approval_required));
    } else {
        payloads.push(notice(new.missing));
    }
    let events = advance(&mut case, payloads, actor, None, now)?;
    case.clone().into_active_model().insert(txn).await?;
    outbox.append(txn, &events).await?;
    Ok(case)
}

/// Records materials the resident brought. When nothing is missing any more the case is
/// submitted; otherwise a fresh notice lists what is still missing.
pub async fn add_materials<C: ConnectionTrait>(
    txn: &C,
    outbox: &Outbox,
    mut case: Case,
    service: &ServiceType,
    brought: &[String],
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Case, CommandError> {
    let mut provided = case.provided();
    for code in brought {
        if !provided.contains(code) {
            provided.push(code.clone());
        }
    }
    let missing: Vec<String> = case
        .missing()
        .into_iter()
        .filter(|m| !provided.contains(m))
        .collect();
    case.provided_materials = serde_json::json!(provided);
    case.missing_materials = serde_json::json!(missing);
    let payloads = if missing.is_empty() {
        vec![
            Payload::MaterialsCompleted(v1::MaterialsCompleted {}),
            submission(&mut case, service.approval_required),
        ]
    } else {
        vec![notice(missing)]
    };
    let events = advance(&mut case, payloads, actor, None, now)?;
    save(txn, outbox, case, &events).await
}

/// Withdraws the case at the resident's request, from any open status.
pub async fn cancel<C: ConnectionTrait>(
    txn: &C,
    outbox: &Outbox,
    mut case: Case,
    reason: String,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Case, CommandError> {
    case.cancel_reason = Some(reason.clone());
    let events = advance(
        &mut case,
        vec![Payload::Cancelled(v1::Cancelled { reason })],
        actor,
        None,
        now,
    )?;
    save(txn, outbox, case, &events).await
}

/// Approval returned the case for materials: back to awaiting them, with a new notice.
pub async fn take_back<C: ConnectionTrait>(
    txn: &C,
    outbox: &Outbox,
    mut case: Case,
    returned: &CaseEvent,
    missing: Vec<String>,
    now: DateTime<Utc>,
) -> Result<Case, CommandError> {
    // The returned event moves the case; intake's notice follows it in the chain.
    case.status = lifecycle::next(case.status(), lifecycle::Step::Returned)?
        .as_str()
        .to_string();
    case.sequence = case.sequence.max(returned.sequence as i32);
    let provided: Vec<String> = case
        .provided()
        .into_iter()
        .filter(|p| !missing.contains(p))
        .collect();
    case.provided_materials = serde_json::json!(provided);
    case.missing_materials = serde_json::json!(missing);
    let system = Actor::system("intake");
    let events = advance(
        &mut case,
        vec![notice(missing)],
        &system,
        Some(returned.event_uuid()),
        now,
    )?;
    save(txn, outbox, case, &events).await
}

/// Approval or fulfilment finished the case; intake records it so it refuses a late cancel.
pub async fn record_finish<C: ConnectionTrait>(
    txn: &C,
    mut case: Case,
    status: Status,
    sequence: u32,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if case.status().is_some_and(Status::is_finished) {
        return Ok(());
    }
    case.status = status.as_str().to_string();
    case.sequence = case.sequence.max(sequence as i32);
    case.updated_at = now;
    case.into_active_model().reset_all().update(txn).await?;
    Ok(())
}

pub async fn find<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Option<Case>, DbErr> {
    Cases::find_by_id(id).one(db).await
}

/// Reads a case to change it, locking its row on PostgreSQL so changes to one case (a
/// clerk's request, an event from approval) apply one after the other and its events get
/// increasing outbox ids.
pub async fn find_for_update<C: ConnectionTrait>(txn: &C, id: Uuid) -> Result<Option<Case>, DbErr> {
    let mut select = Cases::find_by_id(id);
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        select = select.lock_exclusive();
    }
    select.one(txn).await
}

fn notice(missing: Vec<String>) -> Payload {
    Payload::MaterialsRequested(v1::MaterialsRequested {
        missing_materials: missing,
    })
}

fn submission(case: &mut Case, approval_required: bool) -> Payload {
    case.round += 1;
    Payload::Submitted(v1::Submitted {
        approval_required,
        received_by: case.received_by.clone(),
        due_at_ms: case.due_at.timestamp_millis(),
        round: case.round as u32,
        window: case.service_window.clone(),
    })
}

/// Applies each payload's step to the case and turns it into an event with the next
/// sequence number.
fn advance(
    case: &mut Case,
    payloads: Vec<Payload>,
    actor: &Actor,
    causation: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Vec<CaseEvent>, InvalidTransition> {
    let mut events = Vec::with_capacity(payloads.len());
    for payload in payloads {
        if let Some(step) = clearline_contracts::event::step_of(&payload) {
            let status = lifecycle::next(case.status(), step)?;
            case.status = status.as_str().to_string();
        }
        case.sequence += 1;
        case.updated_at = now;
        events.push(
            EventDraft::new(
                CaseFacts {
                    case_id: case.id,
                    case_number: &case.case_number,
                    service_type: &case.service_type,
                    unit: &case.unit,
                },
                actor,
                causation,
                case.sequence as u32,
                payload,
            )
            .build(now),
        );
    }
    Ok(events)
}

async fn save<C: ConnectionTrait>(
    txn: &C,
    outbox: &Outbox,
    case: Case,
    events: &[CaseEvent],
) -> Result<Case, CommandError> {
    let row: CaseRow = case.clone().into_active_model().reset_all();
    row.update(txn).await?;
    outbox.append(txn, events).await?;
    Ok(case)
}
