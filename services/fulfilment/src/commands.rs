//! What fulfilment does to a task, as transactions: take in a case ready for fulfilment or
//! a cancel, and start, fulfil and close. Each step is checked against the shared
//! lifecycle, updates the row and appends its event to the outbox in the same transaction.
//!
//! Other services' events may arrive late, twice or out of order, so taking them in is
//! decided by pure rules ([`on_cancel`]) over what the task already holds.

use crate::store::{self, Task, TaskStatus};
use chrono::{DateTime, Utc};
use clearline_contracts::{v1, Actor, CaseEvent, CaseFacts, EventDraft, Payload};
use clearline_domain::{lifecycle, FulfilmentMode, InvalidTransition, Step};
use clearline_platform::outbox::Outbox;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, IntoActiveModel};

/// What an officer does to a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start {
        mode: FulfilmentMode,
        scheduled_for: Option<DateTime<Utc>>,
    },
    Fulfil,
    Close,
}

/// Why a start request is refused (the client's fault; nothing is written).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StartProblem {
    #[error("mode must be counter_pickup, mail or home_visit")]
    InvalidMode,
    #[error("scheduled_for must be an RFC 3339 date and time, e.g. 2026-12-01T09:30:00+08:00")]
    InvalidScheduledFor,
    #[error("a home visit needs scheduled_for: when the officer will visit")]
    ScheduledForRequired,
}

impl StartProblem {
    /// The stable code clients match on.
    pub fn code(self) -> &'static str {
        match self {
            StartProblem::InvalidMode => "invalid_mode",
            StartProblem::InvalidScheduledFor => "invalid_scheduled_for",
            StartProblem::ScheduledForRequired => "scheduled_for_required",
        }
    }

    /// The request field at fault.
    pub fn field(self) -> &'static str {
        match self {
            StartProblem::InvalidMode => "mode",
            _ => "scheduled_for",
        }
    }
}

impl Action {
    /// A start as the officer sent it. `scheduled_for` may come with any mode (a pickup
    /// slot, a mailing date); a home visit must have one.
    pub fn start(mode: &str, scheduled_for: Option<&str>) -> Result<Action, StartProblem> {
        let mode = FulfilmentMode::parse(mode.trim()).ok_or(StartProblem::InvalidMode)?;
        let scheduled_for = match scheduled_for.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(
                DateTime::parse_from_rfc3339(s)
                    .map_err(|_| StartProblem::InvalidScheduledFor)?
                    .with_timezone(&Utc),
            ),
        };
        if mode == FulfilmentMode::HomeVisit && scheduled_for.is_none() {
            return Err(StartProblem::ScheduledForRequired);
        }
        Ok(Action::Start {
            mode,
            scheduled_for,
        })
    }

    pub fn step(self) -> Step {
        match self {
            Action::Start { .. } => Step::FulfilmentStarted,
            Action::Fulfil => Step::Fulfilled,
            Action::Close => Step::Closed,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Action::Start { .. } => "start",
            Action::Fulfil => "fulfil",
            Action::Close => "close",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    NotAllowed(#[from] InvalidTransition),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Applies `action` to a task the caller has loaded (and locked) in `txn`.
#[tracing::instrument(skip_all, fields(case_id = %task.case_id, action = action.name()))]
pub async fn act<C: ConnectionTrait>(
    txn: &C,
    outbox: &Outbox,
    mut task: Task,
    action: Action,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Task, CommandError> {
    let to = lifecycle::next(Some(task.status()?.case_status()), action.step())?;
    // Every step after AwaitingFulfilment stays in fulfilment's statuses.
    let to = TaskStatus::from_case_status(to)
        .ok_or_else(|| DbErr::Custom(format!("lifecycle left fulfilment: {to}")))?;
    task.status = to.as_str().to_string();
    task.sequence += 1;
    task.updated_at = now;
    let payload = match action {
        Action::Start {
            mode,
            scheduled_for,
        } => {
            task.mode = Some(mode.as_str().to_string());
            task.scheduled_for = scheduled_for;
            task.started_by = Some(actor.id.clone());
            Payload::FulfilmentStarted(v1::FulfilmentStarted {
                mode: mode.as_str().to_string(),
                scheduled_for_ms: scheduled_for.map_or(0, |s| s.timestamp_millis()),
            })
        }
        Action::Fulfil => {
            task.fulfilled_by = Some(actor.id.clone());
            Payload::Fulfilled(v1::Fulfilled {})
        }
        Action::Close => {
            task.closed_by = Some(actor.id.clone());
            Payload::Closed(v1::Closed {})
        }
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

/// What a `cancelled` does to the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelEffect {
    /// Fulfilment has not heard of the case yet: keep a cancelled row so the approval
    /// (or submission) that arrives later is ignored.
    Tombstone,
    Cancel,
    /// Closed (a hand-over that won the race with the withdrawal) or already cancelled.
    Ignore,
}

/// The shared lifecycle decides: a cancel applies to every status but a finished one.
pub fn on_cancel(existing: Option<TaskStatus>) -> CancelEffect {
    match existing {
        None => CancelEffect::Tombstone,
        Some(status) if lifecycle::next(Some(status.case_status()), Step::Cancelled).is_ok() => {
            CancelEffect::Cancel
        }
        Some(_) => CancelEffect::Ignore,
    }
}

/// Takes in a case ready for fulfilment (`approved`, or `submitted` without approval):
/// creates an awaiting task unless one exists already, tombstones included. `true` when
/// it opened the task.
#[tracing::instrument(skip_all, fields(case_id = %event.case_id, sequence = event.sequence))]
pub async fn record_ready<C: ConnectionTrait>(
    txn: &C,
    event: &CaseEvent,
    due_at_ms: i64,
) -> Result<bool, DbErr> {
    if store::find_for_update(txn, event.case_uuid())
        .await?
        .is_some()
    {
        tracing::debug!("ready case ignored: the task exists or was cancelled");
        return Ok(false);
    }
    let now = Utc::now();
    Task {
        case_id: event.case_uuid(),
        case_number: event.case_number.clone(),
        unit: event.unit.clone(),
        service_type: event.service_type.clone(),
        status: TaskStatus::Awaiting.as_str().to_string(),
        mode: None,
        scheduled_for: None,
        sequence: event.sequence as i32,
        // 0 means the emitter did not know; better no due time than one in 1970.
        due_at: (due_at_ms > 0)
            .then(|| DateTime::from_timestamp_millis(due_at_ms))
            .flatten(),
        created_at: now,
        updated_at: now,
        started_by: None,
        fulfilled_by: None,
        closed_by: None,
    }
    .into_active_model()
    .insert(txn)
    .await?;
    Ok(true)
}

/// Takes in intake's `cancelled`.
#[tracing::instrument(skip_all, fields(case_id = %event.case_id, sequence = event.sequence))]
pub async fn record_cancel<C: ConnectionTrait>(txn: &C, event: &CaseEvent) -> Result<(), DbErr> {
    let existing = store::find_for_update(txn, event.case_uuid()).await?;
    let status = existing.as_ref().map(Task::status).transpose()?;
    let now = Utc::now();
    match (on_cancel(status), existing) {
        (CancelEffect::Cancel, Some(mut task)) => {
            task.status = TaskStatus::Cancelled.as_str().to_string();
            task.sequence = task.sequence.max(event.sequence as i32);
            task.updated_at = now;
            task.into_active_model().reset_all().update(txn).await?;
        }
        (CancelEffect::Tombstone, _) => {
            Task {
                case_id: event.case_uuid(),
                case_number: event.case_number.clone(),
                unit: event.unit.clone(),
                service_type: event.service_type.clone(),
                status: TaskStatus::Cancelled.as_str().to_string(),
                mode: None,
                scheduled_for: None,
                sequence: event.sequence as i32,
                due_at: None,
                created_at: now,
                updated_at: now,
                started_by: None,
                fulfilled_by: None,
                closed_by: None,
            }
            .into_active_model()
            .insert(txn)
            .await?;
        }
        _ => tracing::debug!("cancel ignored: the task is already finished"),
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_home_visit_needs_a_time() {
        assert_eq!(
            Action::start("home_visit", None),
            Err(StartProblem::ScheduledForRequired)
        );
        assert_eq!(
            Action::start("home_visit", Some("  ")),
            Err(StartProblem::ScheduledForRequired)
        );
        let at = DateTime::parse_from_rfc3339("2026-12-01T01:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            Action::start("home_visit", Some("2026-12-01T09:30:00+08:00")),
            Ok(Action::Start {
                mode: FulfilmentMode::HomeVisit,
                scheduled_for: Some(at),
            })
        );
    }

    #[test]
    fn start_refuses_unknown_modes_and_bad_times() {
        assert_eq!(Action::start("drone", None), Err(StartProblem::InvalidMode));
        assert_eq!(
            Action::start("mail", Some("tomorrow")),
            Err(StartProblem::InvalidScheduledFor)
        );
        assert!(Action::start("counter_pickup", None).is_ok());
        assert_eq!(
            StartProblem::ScheduledForRequired.code(),
            "scheduled_for_required"
        );
    }

    #[test]
    fn steps_follow_the_shared_lifecycle() {
        let start = Action::Start {
            mode: FulfilmentMode::Mail,
            scheduled_for: None,
        };
        let allowed = |status: TaskStatus, action: Action| {
            lifecycle::next(Some(status.case_status()), action.step()).is_ok()
        };
        assert!(allowed(TaskStatus::Awaiting, start));
        assert!(allowed(TaskStatus::InFulfilment, Action::Fulfil));
        assert!(allowed(TaskStatus::Fulfilled, Action::Close));
        assert!(!allowed(TaskStatus::Awaiting, Action::Close));
        assert!(!allowed(TaskStatus::InFulfilment, start));
        assert!(!allowed(TaskStatus::Cancelled, start));
        assert!(!allowed(TaskStatus::Closed, Action::Close));
    }

    #[test]
    fn cancel_spares_only_finished_tasks() {
        assert_eq!(on_cancel(None), CancelEffect::Tombstone);
        for status in TaskStatus::OPEN {
            assert_eq!(on_cancel(Some(status)), CancelEffect::Cancel, "{status:?}");
        }
        assert_eq!(on_cancel(Some(TaskStatus::Closed)), CancelEffect::Ignore);
        assert_eq!(on_cancel(Some(TaskStatus::Cancelled)), CancelEffect::Ignore);
    }
}
