//! What needs a person, read from a case's events (pure).
//!
//! - A hand-over the case waits for: after `submitted` (with approval) the approval service
//!   must open a task, after `approved` (or a `submitted` that needs no approval) the
//!   fulfilment service must. Each says so with `task_opened`. Until it does, the case
//!   *expects* it, by the time the policy allows.
//! - `attention_needed`: raised by the watch when an expectation ran out (the case fell
//!   between services) and by any service that dead-lettered one of the case's events. It is
//!   over when the expected task shows up after all, or when `attention_cleared` names the
//!   same source (a replayed dead letter that applied).

use super::policy::Policy;
use super::record::Recorded;
use chrono::{DateTime, Utc};
use clearline_contracts::EventKind;
use clearline_domain::{Status, Step};
use uuid::Uuid;

pub const NO_APPROVAL_TASK: &str = "no_approval_task";
pub const NO_FULFILMENT_TASK: &str = "no_fulfilment_task";
pub const DEAD_LETTER: &str = "dead_letter";

/// A problem still open on the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attention {
    pub reason: String,
    pub since: DateTime<Utc>,
}

/// A hand-over not confirmed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectation {
    /// The event whose follow-up is missing.
    pub source: Uuid,
    /// What is missing: [`NO_APPROVAL_TASK`] or [`NO_FULFILMENT_TASK`].
    pub reason: &'static str,
    /// When waiting longer makes the case stuck.
    pub by: DateTime<Utc>,
}

fn task_opened(ordered: &[&Recorded], queue: &str, source: Uuid) -> bool {
    ordered.iter().any(|e| {
        e.kind == EventKind::TaskOpened
            && e.detail.queue.as_deref() == Some(queue)
            && e.detail.source_event_id == Some(source)
    })
}

/// The earliest problem not yet over.
pub fn open(ordered: &[&Recorded]) -> Option<Attention> {
    let cleared = |e: &Recorded| {
        let Some(source) = e.detail.source_event_id else {
            return true;
        };
        match e.detail.reason.as_deref() {
            Some(NO_APPROVAL_TASK) => task_opened(ordered, "approval", source),
            Some(NO_FULFILMENT_TASK) => task_opened(ordered, "fulfilment", source),
            _ => ordered.iter().any(|c| {
                c.kind == EventKind::AttentionCleared
                    && c.detail.source_event_id == Some(source)
                    && c.detail.consumer == e.detail.consumer
            }),
        }
    };
    ordered
        .iter()
        .filter(|e| e.kind == EventKind::AttentionNeeded)
        .find(|e| !cleared(e))
        .map(|e| Attention {
            reason: e.detail.reason.clone().unwrap_or_default(),
            since: e.occurred_at,
        })
}

/// The hand-over the case waits for in `status`, unless it already came or was flagged.
pub fn expected(ordered: &[&Recorded], status: Status, policy: &Policy) -> Option<Expectation> {
    let (queue, reason) = match status {
        Status::PendingApproval => ("approval", NO_APPROVAL_TASK),
        Status::AwaitingFulfilment => ("fulfilment", NO_FULFILMENT_TASK),
        _ => return None,
    };
    let hands_over = |e: &&&Recorded| match (status, e.step()) {
        (Status::PendingApproval, Some(Step::Submitted { approval_required })) => approval_required,
        (Status::AwaitingFulfilment, Some(Step::Approved)) => true,
        (
            Status::AwaitingFulfilment,
            Some(Step::Submitted {
                approval_required: false,
            }),
        ) => true,
        _ => false,
    };
    let source = ordered.iter().rev().find(hands_over)?;
    let flagged = ordered.iter().any(|e| {
        e.kind == EventKind::AttentionNeeded && e.detail.source_event_id == Some(source.event_id)
    });
    if flagged || task_opened(ordered, queue, source.event_id) {
        return None;
    }
    Some(Expectation {
        source: source.event_id,
        reason,
        by: source.occurred_at + policy.stuck_after,
    })
}
