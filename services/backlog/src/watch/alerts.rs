//! Which announcements a case is owed at a given time (pure).

use crate::projection::attention::{Expectation, NO_APPROVAL_TASK};
use crate::projection::CaseState;
use chrono::{DateTime, Utc};
use clearline_contracts::v1;
use clearline_contracts::Payload;

/// One announcement. `key` names it uniquely for its case, so it is made once.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub key: String,
    pub payload: Payload,
}

/// What the case is owed at `now`: a warning when a clock passed its warning share, a
/// breach when it ran out (with the warning first if that was never made), and a stuck
/// flag when an expected hand-over did not come in time. Nothing for a finished case.
pub fn due(state: &CaseState, now: DateTime<Utc>) -> Vec<Alert> {
    if state.status.is_none_or(|s| s.is_finished()) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for clock in &state.clocks {
        let name = clock.kind.as_str();
        let passed = |at: Option<DateTime<Utc>>| at.is_some_and(|at| at <= now);
        let warn = !clock.warned && !clock.breached && passed(clock.warn_at);
        let breach = !clock.breached && passed(clock.due_at);
        if warn || breach && !clock.warned {
            out.push(Alert {
                key: format!("sla_warning:{name}"),
                payload: Payload::SlaWarning(v1::SlaWarning {
                    clock: name.to_string(),
                    due_at_ms: clock.due_at.map_or(0, |d| d.timestamp_millis()),
                }),
            });
        }
        if breach {
            out.push(Alert {
                key: format!("sla_breached:{name}"),
                payload: Payload::SlaBreached(v1::SlaBreached {
                    clock: name.to_string(),
                    due_at_ms: clock.due_at.map_or(0, |d| d.timestamp_millis()),
                }),
            });
        }
    }
    if let Some(Expectation { source, reason, by }) = &state.expectation {
        if *by <= now {
            out.push(Alert {
                key: format!("attention:{source}"),
                payload: Payload::AttentionNeeded(v1::AttentionNeeded {
                    reason: (*reason).to_string(),
                    source_event_id: source.to_string(),
                    consumer: String::new(),
                    detail: stuck_detail(reason).to_string(),
                }),
            });
        }
    }
    out
}

fn stuck_detail(reason: &str) -> &'static str {
    if reason == NO_APPROVAL_TASK {
        "submitted for approval, but no approval task was opened in time"
    } else {
        "ready for fulfilment, but no fulfilment task was opened in time"
    }
}
