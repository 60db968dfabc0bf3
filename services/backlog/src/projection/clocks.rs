//! A case's promised-time clocks, read from its events (pure).
//!
//! The events in causal order give the case's status over time; each clock runs while the
//! status is one it counts ([`ClockKind::runs_in`]) and stops for good when the case is
//! finished. The warning and the breach are thresholds on the countable time used
//! ([`clearline_domain::clock`]); whether each was already announced is read from the
//! `sla_warning` / `sla_breached` events, which the watch emits once.

use super::policy::Policy;
use super::record::Recorded;
use chrono::{DateTime, Utc};
use clearline_contracts::EventKind;
use clearline_domain::clock::Measure;
use clearline_domain::{next, Budget, ClockKind, Run, Status};

/// One clock of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub kind: ClockKind,
    /// When the warning share is reached; `None` while paused before it.
    pub warn_at: Option<DateTime<Utc>>,
    /// When the promise runs out; `None` while paused before it.
    pub due_at: Option<DateTime<Utc>>,
    pub warned: bool,
    pub breached: bool,
}

impl Reading {
    /// The next threshold still to announce, if the case is open.
    pub fn next_alert(&self) -> Option<DateTime<Utc>> {
        if self.breached {
            None
        } else if self.warned {
            self.due_at
        } else {
            self.warn_at
        }
    }
}

/// The status after each event that moved the case, with when it moved.
pub fn history(ordered: &[&Recorded]) -> Vec<(DateTime<Utc>, Status)> {
    let mut status = None;
    let mut out = Vec::new();
    for event in ordered {
        let Some(step) = event.step() else { continue };
        if let Ok(to) = next(status, step) {
            status = Some(to);
            out.push((event.occurred_at, to));
        }
    }
    out
}

/// Every clock the case's service promises, as of its events. `finished_at` stops them all
/// (a cancel that raced the history still ends the case).
pub fn read(
    ordered: &[&Recorded],
    history: &[(DateTime<Utc>, Status)],
    service_type: &str,
    finished_at: Option<DateTime<Utc>>,
    policy: &Policy,
) -> Vec<Reading> {
    let service = policy.catalog.get(service_type);
    // The end-to-end promise made at the window, measured from receipt.
    let promised = ordered
        .iter()
        .find(|e| e.kind == EventKind::Received)
        .zip(promised_due(ordered))
        .map(|(received, due)| (received.occurred_at, due));
    let announced = |kind: EventKind, clock: ClockKind| {
        ordered
            .iter()
            .any(|e| e.kind == kind && e.detail.clock.as_deref() == Some(clock.as_str()))
    };
    let cal = &policy.calendar;
    ClockKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let promise = service.and_then(|s| kind.promise(s));
            let runs = runs(history, kind, finished_at);
            let start = runs.first()?.from;
            let budget = match (kind, promised) {
                (ClockKind::Total, Some((received, due))) => {
                    // A service type this catalog does not know counts all time.
                    let measure = promise.map_or(Measure::AllTime, Measure::of);
                    Budget::between(measure, received, due, cal)
                }
                _ => Budget::of(promise?, start, cal),
            };
            Some(Reading {
                kind,
                warn_at: budget.reaches(cal, &runs, budget.share(policy.warning_share)),
                due_at: budget.reaches(cal, &runs, budget.seconds),
                warned: announced(EventKind::SlaWarning, kind),
                breached: announced(EventKind::SlaBreached, kind),
            })
        })
        .collect()
}

/// The end-to-end due time as the events carried it: the window's promise, or a later one
/// approval gave (the last in causal order among `received`, `submitted` and `approved`).
pub fn promised_due(ordered: &[&Recorded]) -> Option<DateTime<Utc>> {
    ordered
        .iter()
        .rev()
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::Received | EventKind::Submitted | EventKind::Approved
            )
        })
        .find_map(|e| e.detail.due_at)
}

/// The stretches during which `kind` ran.
fn runs(
    history: &[(DateTime<Utc>, Status)],
    kind: ClockKind,
    finished_at: Option<DateTime<Utc>>,
) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for (at, status) in history {
        let running = runs.last().is_some_and(|r| r.until.is_none());
        match (running, kind.runs_in(*status)) {
            (false, true) => runs.push(Run {
                from: *at,
                until: None,
            }),
            (true, false) => {
                if let Some(run) = runs.last_mut() {
                    run.until = Some(*at);
                }
            }
            _ => {}
        }
    }
    if let (Some(end), Some(run)) = (finished_at, runs.last_mut()) {
        if run.until.is_none() {
            run.until = Some(end);
        }
    }
    runs
}
