//! What approval does to a task, as transactions: take in a submission or a cancel from
//! intake, and decide. A decision is checked against the shared lifecycle, updates the row
//! and appends its event to the outbox in the same transaction.
//!
//! Intake's events may arrive late, twice or out of order, so taking them in is written
//! as pure rules ([`submission_opens`], [`on_cancel`]) over what the task already holds.

use crate::store::{self, Task, TaskStatus};
use chrono::{DateTime, Utc};
use clearline_contracts::{v1, Actor, CaseEvent, CaseFacts, EventDraft, Payload};
use clearline_domain::{lifecycle, InvalidTransition, ServiceType, Step};
use clearline_platform::outbox::Outbox;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, IntoActiveModel};

/// Longest reason or note kept; it travels in an event and is shown on the dashboard.
pub const MAX_REASON_CHARS: usize = 500;

/// The three decisions an approver can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionKind {
    Approve,
    Reject,
    Return,
}

impl DecisionKind {
    pub fn parse(s: &str) -> Option<DecisionKind> {
        match s {
            "approve" => Some(DecisionKind::Approve),
            "reject" => Some(DecisionKind::Reject),
            "return" => Some(DecisionKind::Return),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Approve => "approve",
            DecisionKind::Reject => "reject",
            DecisionKind::Return => "return",
        }
    }

    fn step(self) -> Step {
        match self {
            DecisionKind::Approve => Step::Approved,
            DecisionKind::Reject => Step::Rejected,
            DecisionKind::Return => Step::Returned,
        }
    }

    fn outcome(self) -> TaskStatus {
        match self {
            DecisionKind::Approve => TaskStatus::Approved,
            DecisionKind::Reject => TaskStatus::Rejected,
            DecisionKind::Return => TaskStatus::Returned,
        }
    }
}

/// A decision as the approver sent it, not yet checked.
#[derive(Debug, Clone)]
pub struct DecisionInput {
    pub kind: DecisionKind,
    pub reason: Option<String>,
    pub materials: Vec<String>,
}

/// A decision checked against the service's catalog entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub kind: DecisionKind,
    /// Trimmed; empty when none was given (allowed except for a rejection).
    pub reason: String,
    /// For a return: what the resident must bring, deduplicated, in the order given.
    pub materials: Vec<String>,
}

/// Why a decision's content is refused (the client's fault; nothing is written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionProblem {
    #[error("a rejection needs a reason")]
    ReasonRequired,
    #[error("the reason is longer than {MAX_REASON_CHARS} characters")]
    ReasonTooLong,
    #[error("a return must list at least one missing material")]
    MaterialsRequired,
    #[error("material {0:?} is not one of this service's materials")]
    UnknownMaterial(String),
    #[error("materials are listed only when returning a case")]
    MaterialsNotExpected,
}

impl DecisionProblem {
    /// The stable code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            DecisionProblem::ReasonRequired => "reason_required",
            DecisionProblem::ReasonTooLong => "reason_too_long",
            DecisionProblem::MaterialsRequired => "materials_required",
            DecisionProblem::UnknownMaterial(_) => "unknown_material",
            DecisionProblem::MaterialsNotExpected => "materials_not_expected",
        }
    }

    /// The request field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            DecisionProblem::ReasonRequired | DecisionProblem::ReasonTooLong => "reason",
            _ => "materials",
        }
    }
}

impl DecisionInput {
    /// Checks the content. `service` is `None` when the case's service type has left the
    /// catalog; then no material code can be confirmed, so a return is refused.
    pub fn check(self, service: Option<&ServiceType>) -> Result<Decision, DecisionProblem> {
        let reason = self.reason.as_deref().unwrap_or("").trim().to_string();
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(DecisionProblem::ReasonTooLong);
        }
        match self.kind {
            DecisionKind::Reject if reason.is_empty() => {
                return Err(DecisionProblem::ReasonRequired)
            }
            DecisionKind::Approve | DecisionKind::Reject if !self.materials.is_empty() => {
                return Err(DecisionProblem::MaterialsNotExpected)
            }
            _ => {}
        }
        let mut materials: Vec<String> = Vec::with_capacity(self.materials.len());
        for code in self.materials {
            let code = code.trim().to_string();
            let known = service.is_some_and(|s| s.materials.iter().any(|m| m.code == code));
            if !known {
                return Err(DecisionProblem::UnknownMaterial(code));
            }
            if !materials.contains(&code) {
                materials.push(code);
            }
        }
        if self.kind == DecisionKind::Return && materials.is_empty() {
            return Err(DecisionProblem::MaterialsRequired);
        }
        Ok(Decision {
            kind: self.kind,
            reason,
            materials,
        })
    }
}

/// Why a decision was not made. Everything but `Db` is the client's doing.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("the clerk who received a case may not approve it")]
    ReceivingClerk,
    #[error(transparent)]
    NotPending(#[from] InvalidTransition),
    #[error(transparent)]
    Invalid(#[from] DecisionProblem),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Decides a task the caller has loaded (and locked) in `txn`. Checks in the order a client
/// can act on: who decides, whether the task is still open, then what was sent.
#[tracing::instrument(skip_all, fields(case_id = %task.case_id, decision = input.kind.as_str()))]
pub async fn decide<C: ConnectionTrait>(
    txn: &C,
    outbox: &Outbox,
    mut task: Task,
    input: DecisionInput,
    service: Option<&ServiceType>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Task, CommandError> {
    if task.received_by == actor.id {
        return Err(CommandError::ReceivingClerk);
    }
    lifecycle::next(Some(task.status()?.case_status()), input.kind.step())?;
    let decision = input.check(service)?;

    task.status = decision.kind.outcome().as_str().to_string();
    task.sequence += 1;
    task.decided_by = Some(actor.id.clone());
    task.decided_at = Some(now);
    task.reason = (!decision.reason.is_empty()).then(|| decision.reason.clone());
    task.returned_materials = serde_json::json!(decision.materials);
    let payload = match decision.kind {
        DecisionKind::Approve => Payload::Approved(v1::Approved {
            note: decision.reason,
            due_at_ms: task.due_at.map_or(0, |d| d.timestamp_millis()),
        }),
        DecisionKind::Reject => Payload::Rejected(v1::Rejected {
            reason: decision.reason,
        }),
        DecisionKind::Return => Payload::Returned(v1::Returned {
            missing_materials: decision.materials,
            reason: decision.reason,
        }),
    };
    let event = EventDraft::new(
        CaseFacts {
            case_id: task.case_id,
            case_number: &task.case_number,
            service_type: &task.service_type,
            unit: &task.unit,
        },
        actor,
        None,
        task.sequence as u32,
        payload,
    )
    .build(now);
    task.clone()
        .into_active_model()
        .reset_all()
        .update(txn)
        .await?;
    outbox.append(txn, &[event]).await?;
    Ok(task)
}

/// Whether a `submitted` numbered `sequence` (re)opens the task as pending, given what the
/// task holds: a first submission opens it; a later round reopens a returned task; an
/// older or repeated submission, a decided task and a cancelled one (a tombstone) stay as
/// they are.
pub fn submission_opens(existing: Option<(TaskStatus, i32)>, sequence: i32) -> bool {
    match existing {
        None => true,
        Some((TaskStatus::Pending | TaskStatus::Returned, stored)) => sequence > stored,
        Some((TaskStatus::Approved | TaskStatus::Rejected | TaskStatus::Cancelled, _)) => false,
    }
}

/// What a `cancelled` does to the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelEffect {
    /// Approval never saw the submission: keep a cancelled row so it is ignored when it comes.
    Tombstone,
    Cancel,
    /// Already final here. An approval or rejection that won the race with the resident's
    /// withdrawal stands in approval; fulfilment settles a cancel after an approval.
    Ignore,
}

pub fn on_cancel(existing: Option<TaskStatus>) -> CancelEffect {
    match existing {
        None => CancelEffect::Tombstone,
        Some(TaskStatus::Pending | TaskStatus::Returned) => CancelEffect::Cancel,
        Some(TaskStatus::Approved | TaskStatus::Rejected | TaskStatus::Cancelled) => {
            CancelEffect::Ignore
        }
    }
}

/// Takes in intake's `submitted` for a case that needs approval; `true` when it opened
/// (or reopened) the task.
#[tracing::instrument(skip_all, fields(case_id = %event.case_id, sequence = event.sequence))]
pub async fn record_submission<C: ConnectionTrait>(
    txn: &C,
    event: &CaseEvent,
    submitted: &v1::Submitted,
) -> Result<bool, DbErr> {
    let sequence = event.sequence as i32;
    let existing = store::find_for_update(txn, event.case_uuid()).await?;
    let held = existing
        .as_ref()
        .map(|t| t.status().map(|s| (s, t.sequence)))
        .transpose()?;
    if !submission_opens(held, sequence) {
        tracing::debug!("submission ignored: the task is newer, decided or cancelled");
        return Ok(false);
    }
    let task = Task {
        case_id: event.case_uuid(),
        case_number: event.case_number.clone(),
        unit: event.unit.clone(),
        service_window: submitted.window.clone(),
        service_type: event.service_type.clone(),
        status: TaskStatus::Pending.as_str().to_string(),
        round: submitted.round as i32,
        received_by: submitted.received_by.clone(),
        submitted_at: Some(event.occurred_at()),
        // 0 means the emitter did not know; better no due time than one in 1970.
        due_at: (submitted.due_at_ms > 0)
            .then(|| DateTime::from_timestamp_millis(submitted.due_at_ms))
            .flatten(),
        sequence,
        decided_by: None,
        decided_at: None,
        reason: None,
        returned_materials: serde_json::json!([]),
    };
    let row = task.into_active_model();
    match existing {
        None => row.insert(txn).await?,
        Some(_) => row.reset_all().update(txn).await?,
    };
    Ok(true)
}

/// Takes in intake's `cancelled`.
#[tracing::instrument(skip_all, fields(case_id = %event.case_id, sequence = event.sequence))]
pub async fn record_cancel<C: ConnectionTrait>(
    txn: &C,
    event: &CaseEvent,
    cancelled: &v1::Cancelled,
) -> Result<(), DbErr> {
    let existing = store::find_for_update(txn, event.case_uuid()).await?;
    let status = existing.as_ref().map(Task::status).transpose()?;
    match (on_cancel(status), existing) {
        (CancelEffect::Cancel, Some(mut task)) => {
            task.status = TaskStatus::Cancelled.as_str().to_string();
            task.sequence = task.sequence.max(event.sequence as i32);
            task.reason = Some(cancelled.reason.clone());
            task.into_active_model().reset_all().update(txn).await?;
        }
        (CancelEffect::Tombstone, _) => {
            Task {
                case_id: event.case_uuid(),
                case_number: event.case_number.clone(),
                unit: event.unit.clone(),
                service_window: String::new(),
                service_type: event.service_type.clone(),
                status: TaskStatus::Cancelled.as_str().to_string(),
                round: 0,
                received_by: String::new(),
                submitted_at: None,
                due_at: None,
                sequence: event.sequence as i32,
                decided_by: None,
                decided_at: None,
                reason: Some(cancelled.reason.clone()),
                returned_materials: serde_json::json!([]),
            }
            .into_active_model()
            .insert(txn)
            .await?;
        }
        _ => tracing::debug!("cancel ignored: the task is already final"),
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use clearline_domain::Catalog;

    fn service() -> ServiceType {
        Catalog::seed()
            .services
            .into_iter()
            .find(|s| s.approval_required)
            .unwrap()
    }

    fn input(kind: DecisionKind, reason: Option<&str>, materials: &[&str]) -> DecisionInput {
        DecisionInput {
            kind,
            reason: reason.map(str::to_string),
            materials: materials.iter().map(|m| (*m).to_string()).collect(),
        }
    }

    #[test]
    fn rejection_needs_a_reason() {
        let s = service();
        let blank = input(DecisionKind::Reject, Some("  "), &[]).check(Some(&s));
        assert_eq!(blank, Err(DecisionProblem::ReasonRequired));
        let none = input(DecisionKind::Reject, None, &[]).check(Some(&s));
        assert_eq!(none.unwrap_err().code(), "reason_required");
        let ok = input(DecisionKind::Reject, Some(" forged booklet "), &[])
            .check(Some(&s))
            .unwrap();
        assert_eq!(ok.reason, "forged booklet");
    }

    #[test]
    fn return_needs_known_materials_and_dedups_them() {
        let s = service();
        let code = s.materials[0].code.as_str();
        assert_eq!(
            input(DecisionKind::Return, None, &[]).check(Some(&s)),
            Err(DecisionProblem::MaterialsRequired)
        );
        assert_eq!(
            input(DecisionKind::Return, None, &["no_such_thing"]).check(Some(&s)),
            Err(DecisionProblem::UnknownMaterial("no_such_thing".into()))
        );
        let ok = input(DecisionKind::Return, None, &[code, code])
            .check(Some(&s))
            .unwrap();
        assert_eq!(ok.materials, vec![code.to_string()]);
        // A service that left the catalog cannot confirm any material.
        assert!(input(DecisionKind::Return, None, &[code])
            .check(None)
            .is_err());
    }

    #[test]
    fn approval_needs_nothing_but_refuses_materials() {
        let s = service();
        assert!(input(DecisionKind::Approve, None, &[]).check(None).is_ok());
        let code = s.materials[0].code.as_str();
        assert_eq!(
            input(DecisionKind::Approve, None, &[code]).check(Some(&s)),
            Err(DecisionProblem::MaterialsNotExpected)
        );
        let long = "x".repeat(MAX_REASON_CHARS + 1);
        assert_eq!(
            input(DecisionKind::Approve, Some(&long), &[]).check(Some(&s)),
            Err(DecisionProblem::ReasonTooLong)
        );
    }

    #[test]
    fn submissions_open_once_and_reopen_only_after_a_return() {
        assert!(submission_opens(None, 3));
        // The same or an older submission redelivered after a newer one changes nothing.
        assert!(!submission_opens(Some((TaskStatus::Pending, 3)), 3));
        assert!(!submission_opens(Some((TaskStatus::Pending, 7)), 3));
        assert!(!submission_opens(Some((TaskStatus::Returned, 7)), 3));
        // The next round after a return.
        assert!(submission_opens(Some((TaskStatus::Returned, 4)), 7));
        // Final or tombstoned tasks stay as they are, however new the submission.
        for status in [
            TaskStatus::Approved,
            TaskStatus::Rejected,
            TaskStatus::Cancelled,
        ] {
            assert!(!submission_opens(Some((status, 1)), 99), "{status:?}");
        }
    }

    #[test]
    fn cancel_tombstones_unknown_cases_and_spares_decided_ones() {
        assert_eq!(on_cancel(None), CancelEffect::Tombstone);
        assert_eq!(on_cancel(Some(TaskStatus::Pending)), CancelEffect::Cancel);
        assert_eq!(on_cancel(Some(TaskStatus::Returned)), CancelEffect::Cancel);
        for status in [
            TaskStatus::Approved,
            TaskStatus::Rejected,
            TaskStatus::Cancelled,
        ] {
            assert_eq!(on_cancel(Some(status)), CancelEffect::Ignore, "{status:?}");
        }
    }

    #[test]
    fn only_a_pending_task_can_be_decided() {
        for status in TaskStatus::ALL {
            for kind in [
                DecisionKind::Approve,
                DecisionKind::Reject,
                DecisionKind::Return,
            ] {
                let allowed = lifecycle::next(Some(status.case_status()), kind.step()).is_ok();
                assert_eq!(
                    allowed,
                    status == TaskStatus::Pending,
                    "{status:?} {kind:?}"
                );
            }
        }
    }
}
