//! A case's life: the statuses it passes through, the steps that move it, and the one
//! transition function that intake, approval, fulfilment and the backlog all use.
//!
//! Every service keeps only its own slice of a case, but they agree on these rules, so
//! what a service refuses (a decision on a cancelled case) and what the backlog shows can
//! never drift apart.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a case is. `Done` holds every finished case (closed, rejected, cancelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Intake,
    Approval,
    Fulfilment,
    Done,
}

impl Stage {
    pub const ALL: [Stage; 4] = [
        Stage::Intake,
        Stage::Approval,
        Stage::Fulfilment,
        Stage::Done,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Intake => "intake",
            Stage::Approval => "approval",
            Stage::Fulfilment => "fulfilment",
            Stage::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|stage| stage.as_str() == s)
    }
}

/// A case's status. Finished means `Closed`, `Rejected` or `Cancelled`; everything else is backlog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Booked by phone appointment; the resident has not come to the window yet.
    Booked,
    /// Received, waiting for the resident to bring what the one-time notice lists.
    AwaitingMaterials,
    /// Received with every material; about to be submitted.
    Received,
    PendingApproval,
    /// Approved (or needing no approval) and waiting for a fulfilment officer to start.
    AwaitingFulfilment,
    InFulfilment,
    /// Ready or delivered; closed once the resident has it.
    Fulfilled,
    Closed,
    Rejected,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 10] = [
        Status::Booked,
        Status::AwaitingMaterials,
        Status::Received,
        Status::PendingApproval,
        Status::AwaitingFulfilment,
        Status::InFulfilment,
        Status::Fulfilled,
        Status::Closed,
        Status::Rejected,
        Status::Cancelled,
    ];

    pub fn stage(self) -> Stage {
        match self {
            Status::Booked | Status::AwaitingMaterials | Status::Received => Stage::Intake,
            Status::PendingApproval => Stage::Approval,
            Status::AwaitingFulfilment | Status::InFulfilment | Status::Fulfilled => {
                Stage::Fulfilment
            }
            Status::Closed | Status::Rejected | Status::Cancelled => Stage::Done,
        }
    }

    pub fn is_finished(self) -> bool {
        self.stage() == Stage::Done
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Booked => "booked",
            Status::AwaitingMaterials => "awaiting_materials",
            Status::Received => "received",
            Status::PendingApproval => "pending_approval",
            Status::AwaitingFulfilment => "awaiting_fulfilment",
            Status::InFulfilment => "in_fulfilment",
            Status::Fulfilled => "fulfilled",
            Status::Closed => "closed",
            Status::Rejected => "rejected",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|status| status.as_str() == s)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a case reached the bureau.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Window,
    PhoneAppointment,
    HomeVisit,
    Batch,
    Online,
}

impl Channel {
    pub const ALL: [Channel; 5] = [
        Channel::Window,
        Channel::PhoneAppointment,
        Channel::HomeVisit,
        Channel::Batch,
        Channel::Online,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Window => "window",
            Channel::PhoneAppointment => "phone_appointment",
            Channel::HomeVisit => "home_visit",
            Channel::Batch => "batch",
            Channel::Online => "online",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// How the finished service reaches the resident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FulfilmentMode {
    CounterPickup,
    Mail,
    HomeVisit,
}

impl FulfilmentMode {
    pub const ALL: [FulfilmentMode; 3] = [
        FulfilmentMode::CounterPickup,
        FulfilmentMode::Mail,
        FulfilmentMode::HomeVisit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FulfilmentMode::CounterPickup => "counter_pickup",
            FulfilmentMode::Mail => "mail",
            FulfilmentMode::HomeVisit => "home_visit",
        }
    }

    pub fn parse(s: &str) -> Option<FulfilmentMode> {
        FulfilmentMode::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// What happened to a case: one per event type in the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    AppointmentBooked,
    Received { materials_complete: bool },
    MaterialsRequested,
    MaterialsCompleted,
    Submitted { approval_required: bool },
    Approved,
    Rejected,
    Returned,
    FulfilmentStarted,
    Fulfilled,
    Closed,
    Cancelled,
}

/// A step that does not follow from the case's current status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{step:?} is not allowed when the case is {from}")]
pub struct InvalidTransition {
    pub from: &'static str,
    pub step: Step,
}

/// The status after `step`, or why the step is not allowed. `current` is `None` before the
/// case exists.
pub fn next(current: Option<Status>, step: Step) -> Result<Status, InvalidTransition> {
    use Status as S;
    use Step as E;
    let to = match (current, step) {
        (None, E::AppointmentBooked) => S::Booked,
        (None | Some(S::Booked), E::Received { materials_complete }) => {
            if materials_complete {
                S::Received
            } else {
                S::AwaitingMaterials
            }
        }
        // A fresh notice replaces the last one; it always lists everything still missing.
        (Some(S::AwaitingMaterials), E::MaterialsRequested) => S::AwaitingMaterials,
        (Some(S::AwaitingMaterials), E::MaterialsCompleted) => S::Received,
        (Some(S::Received), E::Submitted { approval_required }) => {
            if approval_required {
                S::PendingApproval
            } else {
                S::AwaitingFulfilment
            }
        }
        (Some(S::PendingApproval), E::Approved) => S::AwaitingFulfilment,
        (Some(S::PendingApproval), E::Rejected) => S::Rejected,
        (Some(S::PendingApproval), E::Returned) => S::AwaitingMaterials,
        (Some(S::AwaitingFulfilment), E::FulfilmentStarted) => S::InFulfilment,
        (Some(S::InFulfilment), E::Fulfilled) => S::Fulfilled,
        (Some(S::Fulfilled), E::Closed) => S::Closed,
        (Some(s), E::Cancelled) if !s.is_finished() => S::Cancelled,
        (from, step) => {
            return Err(InvalidTransition {
                from: from.map_or("new", Status::as_str),
                step,
            })
        }
    };
    Ok(to)
}

/// The status a set of events leads to, whatever order they arrived in and however often.
///
/// Each event carries the case's step number as its emitter knew it (`sequence`): a service
/// emits one more than the last event it saw for the case, so the numbers follow the causal
/// chain across services and do not depend on anyone's clock. Events are applied in
/// `(sequence, tie_break)` order; the tie-break (the event id) only makes the order total.
///
/// Cancellation is the one step that races the others: a resident may withdraw while an
/// approver decides or an officer hands over. The services settle that race the same way:
/// approval and fulfilment refuse to act on a cancelled case, and ignore a cancel that
/// arrives after the case closed or was rejected. So here a cancel wins unless the set also
/// holds a close or a rejection.
pub fn fold<K: Ord>(events: impl IntoIterator<Item = (u32, K, Step)>) -> Option<Status> {
    let mut ordered: Vec<(u32, K, Step)> = events.into_iter().collect();
    ordered.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    ordered.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);

    let mut cancelled = false;
    let mut status = None;
    for (_, _, step) in ordered {
        if step == Step::Cancelled {
            cancelled = true;
            continue;
        }
        if let Ok(to) = next(status, step) {
            status = Some(to);
        }
    }
    let settled_otherwise = matches!(status, Some(Status::Closed | Status::Rejected));
    if cancelled && !settled_otherwise {
        return Some(Status::Cancelled);
    }
    status
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HAPPY: [Step; 7] = [
        Step::Received {
            materials_complete: false,
        },
        Step::MaterialsRequested,
        Step::MaterialsCompleted,
        Step::Submitted {
            approval_required: true,
        },
        Step::Approved,
        Step::FulfilmentStarted,
        Step::Fulfilled,
    ];

    fn run(steps: &[Step]) -> Result<Status, InvalidTransition> {
        let mut status = None;
        for step in steps {
            status = Some(next(status, *step)?);
        }
        Ok(status.unwrap())
    }

    #[test]
    fn full_lifecycle_with_missing_materials_closes() {
        let mut steps = HAPPY.to_vec();
        steps.push(Step::Closed);
        assert_eq!(run(&steps), Ok(Status::Closed));
    }

    #[test]
    fn return_loop_goes_back_to_intake_and_round_again() {
        let steps = [
            Step::Received {
                materials_complete: true,
            },
            Step::Submitted {
                approval_required: true,
            },
            Step::Returned,
            Step::MaterialsRequested,
            Step::MaterialsCompleted,
            Step::Submitted {
                approval_required: true,
            },
            Step::Returned,
            Step::MaterialsCompleted,
            Step::Submitted {
                approval_required: true,
            },
            Step::Approved,
        ];
        assert_eq!(run(&steps), Ok(Status::AwaitingFulfilment));
    }

    #[test]
    fn no_approval_service_goes_straight_to_fulfilment() {
        let steps = [
            Step::Received {
                materials_complete: true,
            },
            Step::Submitted {
                approval_required: false,
            },
        ];
        assert_eq!(run(&steps), Ok(Status::AwaitingFulfilment));
        assert_eq!(Status::AwaitingFulfilment.stage(), Stage::Fulfilment);
    }

    #[test]
    fn rejection_is_final() {
        let steps = [
            Step::Received {
                materials_complete: true,
            },
            Step::Submitted {
                approval_required: true,
            },
            Step::Rejected,
        ];
        assert_eq!(run(&steps), Ok(Status::Rejected));
        assert!(next(Some(Status::Rejected), Step::Cancelled).is_err());
        assert!(next(Some(Status::Rejected), Step::Approved).is_err());
    }

    #[test]
    fn cancel_is_allowed_from_every_open_status_and_no_finished_one() {
        for status in Status::ALL {
            let result = next(Some(status), Step::Cancelled);
            assert_eq!(result.is_ok(), !status.is_finished(), "{status}");
        }
    }

    #[test]
    fn approving_twice_is_refused() {
        assert!(next(Some(Status::AwaitingFulfilment), Step::Approved).is_err());
    }

    #[test]
    fn names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        for s in Stage::ALL {
            assert_eq!(Stage::parse(s.as_str()), Some(s));
        }
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
        }
        for m in FulfilmentMode::ALL {
            assert_eq!(FulfilmentMode::parse(m.as_str()), Some(m));
        }
    }

    #[test]
    fn cancel_loses_to_a_close_that_won_the_race() {
        let mut events: Vec<(u32, u32, Step)> = HAPPY
            .iter()
            .enumerate()
            .map(|(i, s)| (i as u32 + 1, 0, *s))
            .collect();
        events.push((8, 0, Step::Closed));
        events.push((3, 1, Step::Cancelled));
        assert_eq!(fold(events.clone()), Some(Status::Closed));
        events.pop();
        events.pop();
        events.push((3, 1, Step::Cancelled));
        assert_eq!(fold(events), Some(Status::Cancelled));
    }

    /// A valid history: a random walk over `next`, with sequence numbers as emitters assign them.
    fn history() -> impl Strategy<Value = Vec<(u32, u32, Step)>> {
        let choices = prop::collection::vec(0usize..4, 1..20);
        (choices, any::<bool>()).prop_map(|(choices, cancel)| {
            let mut status = None;
            let mut events = Vec::new();
            for (i, choice) in choices.into_iter().enumerate() {
                let candidates: Vec<Step> = all_steps()
                    .into_iter()
                    .filter(|s| *s != Step::Cancelled && next(status, *s).is_ok())
                    .collect();
                if candidates.is_empty() {
                    break;
                }
                let step = candidates[choice % candidates.len()];
                status = Some(next(status, step).unwrap());
                events.push((i as u32 + 1, i as u32, step));
            }
            if cancel && !status.is_some_and(Status::is_finished) {
                let at = events.len() as u32;
                events.push((at, u32::MAX, Step::Cancelled));
            }
            events
        })
    }

    fn all_steps() -> Vec<Step> {
        vec![
            Step::AppointmentBooked,
            Step::Received {
                materials_complete: true,
            },
            Step::Received {
                materials_complete: false,
            },
            Step::MaterialsRequested,
            Step::MaterialsCompleted,
            Step::Submitted {
                approval_required: true,
            },
            Step::Submitted {
                approval_required: false,
            },
            Step::Approved,
            Step::Rejected,
            Step::Returned,
            Step::FulfilmentStarted,
            Step::Fulfilled,
            Step::Closed,
            Step::Cancelled,
        ]
    }

    proptest! {
        #[test]
        fn fold_ignores_order_and_duplicates(
            events in history(),
            dups in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
            seed in any::<u64>(),
        ) {
            let in_order = fold(events.clone());
            let mut messy = events.clone();
            for d in &dups {
                if !events.is_empty() {
                    messy.push(events[d.index(events.len())]);
                }
            }
            // A cheap deterministic shuffle driven by the seed.
            let mut state = seed | 1;
            for i in (1..messy.len()).rev() {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17;
                messy.swap(i, (state % (i as u64 + 1)) as usize);
            }
            prop_assert_eq!(fold(messy), in_order);
        }

        #[test]
        fn fold_of_a_valid_history_matches_stepping_through_it(events in history()) {
            let stepped = events.iter().try_fold(None, |status, (_, _, step)| {
                next(status, *step).map(Some)
            }).unwrap();
            prop_assert_eq!(fold(events), stepped);
        }
    }
}
