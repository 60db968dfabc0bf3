//! The read model as a pure function of a case's events: the same set gives the same row,
//! whatever order the events came in and however often.

use super::policy::Policy;
use super::record::Recorded;
use super::{attention, clocks};
use chrono::{DateTime, Utc};
use clearline_contracts::EventKind;
use clearline_domain::{fold, ClockKind, FulfilmentMode, Status, WaitReason};
use uuid::Uuid;

/// What a case's events say about it; one `backlog_cases` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseState {
    pub case_id: Uuid,
    pub case_number: String,
    pub unit: String,
    pub service_type: String,
    pub window: Option<String>,
    pub channel: Option<String>,
    /// `None` while the events so far do not form a valid history.
    pub status: Option<Status>,
    pub owner: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub last_sequence: u32,
    pub event_count: usize,
    /// What the open case waits on, and since when.
    pub wait_reason: Option<WaitReason>,
    pub waiting_since: Option<DateTime<Utc>>,
    /// The reason code of the earliest problem not yet over (see [`attention`]).
    pub attention: Option<String>,
    /// `warning` or `breached`: the worst promised-time announcement made so far.
    pub sla_level: Option<&'static str>,
    /// When the watch must next look at the clocks (a threshold still to announce).
    pub next_alert_at: Option<DateTime<Utc>>,
    /// The promised-time clocks the case runs.
    pub clocks: Vec<clocks::Reading>,
    /// The hand-over between services the open case waits for, not yet confirmed.
    pub expectation: Option<attention::Expectation>,
}

/// A booking has no `received` yet, but it is already a visible case; this is how it came.
const BOOKED_CHANNEL: &str = "phone_appointment";

/// Derives the case from its events; `None` when there are none.
///
/// - status: [`clearline_domain::fold`] over `(sequence, event_id, step)`.
/// - case number, unit, service type: every event carries them; the first in order wins.
/// - window, channel, received_at: from `received` (a booking gives the window early).
/// - due_at: the end-to-end clock's deadline (pauses included) while it runs, none while
///   it is paused, and the promise as made ([`clocks::promised_due`]) once finished.
/// - finished_at: when the finishing event (close, rejection or cancel) happened.
/// - updated_at: the latest `occurred_at`, so a rebuild gives the same row.
/// - owner: see [`owner`].
/// - clocks, attention, expectation, wait: see [`clocks`] and [`attention`].
pub fn derive(events: &[Recorded], policy: &Policy) -> Option<CaseState> {
    let mut ordered: Vec<&Recorded> = events.iter().collect();
    ordered.sort_by_key(|e| e.order_key());
    ordered.dedup_by_key(|e| e.order_key());
    let first = *ordered.first()?;

    let status = fold(
        ordered
            .iter()
            .filter_map(|e| e.step().map(|step| (e.sequence, e.event_id, step))),
    );
    let first_of = |kind: EventKind| ordered.iter().copied().find(|e| e.kind == kind);
    let received = first_of(EventKind::Received);
    let booked = first_of(EventKind::AppointmentBooked);
    let fact = |get: fn(&Recorded) -> &str| {
        let found = ordered.iter().map(|e| get(e)).find(|v| !v.is_empty());
        found.unwrap_or_default().to_string()
    };
    let finishing = match status {
        Some(Status::Closed) => first_of(EventKind::Closed),
        Some(Status::Rejected) => first_of(EventKind::Rejected),
        Some(Status::Cancelled) => first_of(EventKind::Cancelled),
        _ => None,
    };

    let finished_at = finishing.map(|e| e.occurred_at);
    let service_type = fact(|e| &e.service_type);
    let history = clocks::history(&ordered);
    let open = status.filter(|s| !s.is_finished());
    let readings = clocks::read(&ordered, &history, &service_type, finished_at, policy);
    let attention = open.and(attention::open(&ordered));
    let mode = first_of(EventKind::FulfilmentStarted)
        .and_then(|e| e.detail.mode.as_deref())
        .and_then(FulfilmentMode::parse);
    let wait_reason = open.and_then(|s| WaitReason::of(s, mode, attention.is_some()));
    let entered = history.last().map(|(at, _)| *at);
    let sla_level = if readings.iter().any(|r| r.breached) {
        Some("breached")
    } else if readings.iter().any(|r| r.warned) {
        Some("warning")
    } else {
        None
    };
    let promised = clocks::promised_due(&ordered);
    let total = readings.iter().find(|r| r.kind == ClockKind::Total);

    Some(CaseState {
        wait_reason,
        waiting_since: wait_reason.and_then(|_| attention.as_ref().map(|a| a.since).or(entered)),
        sla_level,
        next_alert_at: open.and(
            readings
                .iter()
                .filter_map(clocks::Reading::next_alert)
                .min(),
        ),
        expectation: open.and_then(|s| attention::expected(&ordered, s, policy)),
        attention: attention.map(|a| a.reason),
        case_id: first.case_id,
        case_number: fact(|e| &e.case_number),
        unit: fact(|e| &e.unit),
        service_type,
        window: received
            .and_then(|e| e.detail.window.clone())
            .or_else(|| booked.and_then(|e| e.detail.window.clone())),
        channel: received
            .and_then(|e| e.detail.channel.clone())
            .or_else(|| booked.map(|_| BOOKED_CHANNEL.to_string())),
        status,
        owner: status.and_then(|s| owner(s, &ordered)),
        received_at: received.map(|e| e.occurred_at),
        due_at: match (total.and_then(|r| r.due_at), open) {
            (Some(running), _) => Some(running),
            // While the clock is paused there is no deadline: the case waits on the resident.
            (None, Some(_)) if total.is_some() => None,
            // Finished (or no clock): the promise as made, to judge whether it was kept.
            _ => promised,
        },
        updated_at: ordered
            .iter()
            .map(|e| e.occurred_at)
            .max()
            .unwrap_or(first.occurred_at),
        finished_at,
        last_sequence: ordered.iter().map(|e| e.sequence).max().unwrap_or(0),
        clocks: readings,
        event_count: ordered.len(),
    })
}

/// The staff user responsible for the case now:
///
/// | status | owner |
/// | --- | --- |
/// | booked | who booked the appointment |
/// | awaiting materials, received, pending approval | the receiving clerk: approval works from a shared queue, so until an approver decides, the clerk who sent it stays answerable |
/// | awaiting fulfilment | the approver who approved (the receiving clerk when the service needs no approval) |
/// | in fulfilment, fulfilled | the fulfilment officer who started |
/// | closed, rejected, cancelled | who finished it |
///
/// System actors (intake re-issuing a notice after a return) never own a case.
fn owner(status: Status, ordered: &[&Recorded]) -> Option<String> {
    let person = |e: &Recorded| {
        (!e.actor_id.is_empty() && e.actor_role != "system").then(|| e.actor_id.clone())
    };
    let by = |kind: EventKind| {
        ordered
            .iter()
            .rev()
            .filter(|e| e.kind == kind)
            .find_map(|e| person(e))
    };
    let clerk = || {
        by(EventKind::Received)
            .or_else(|| {
                ordered
                    .iter()
                    .rev()
                    .find_map(|e| e.detail.received_by.clone())
            })
            .or_else(|| by(EventKind::AppointmentBooked))
    };
    let started = || by(EventKind::FulfilmentStarted);
    match status {
        Status::Booked => by(EventKind::AppointmentBooked),
        Status::AwaitingMaterials | Status::Received | Status::PendingApproval => clerk(),
        Status::AwaitingFulfilment => by(EventKind::Approved).or_else(clerk),
        Status::InFulfilment | Status::Fulfilled => started(),
        Status::Closed => by(EventKind::Closed).or_else(started),
        Status::Rejected => by(EventKind::Rejected),
        Status::Cancelled => by(EventKind::Cancelled),
    }
}
