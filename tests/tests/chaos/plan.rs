//! What happens to each case: its story (a plan), the steps the staff take, and what every
//! service must hold for it once the faults have healed.

use clearline_tests::station::{PERMIT, PERMIT_MATERIALS, TEMPORARY_ID, TEMPORARY_ID_MATERIALS};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One case's story from the window to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Plan {
    /// Every material at once; approved, handed over.
    Straight,
    /// Registered with a material missing; the resident brings it, then as `Straight`.
    Incomplete,
    /// The approver returns it for a material; the resident brings it; approved in round 2.
    ReturnLoop,
    /// The approver rejects it.
    Rejected,
    /// Withdrawn while waiting for materials.
    CancelWaiting,
    /// Withdrawn while the approver has it.
    CancelPending,
    /// Withdrawn once approved, before fulfilment starts.
    CancelApproved,
    /// Withdrawn while in fulfilment.
    CancelStarted,
    /// A temporary ID card: no approval, straight to fulfilment, handed over.
    NoApproval,
}

/// How often each story comes up, out of 100.
const MIX: [(Plan, u32); 9] = [
    (Plan::Straight, 30),
    (Plan::Incomplete, 10),
    (Plan::ReturnLoop, 15),
    (Plan::Rejected, 8),
    (Plan::CancelWaiting, 5),
    (Plan::CancelPending, 5),
    (Plan::CancelApproved, 5),
    (Plan::CancelStarted, 5),
    (Plan::NoApproval, 17),
];

/// One thing a member of staff does, or waits to see, for a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The resident brings what was missing; the case is then in submission `round`.
    AddMaterials {
        round: i64,
    },
    Approve,
    Reject,
    /// Returned for proof of residence.
    Return,
    /// Waits until the approver's queue holds the case.
    AwaitApproval,
    /// Waits until the officers' list holds the case, awaiting.
    AwaitFulfilment,
    Start,
    Fulfil,
    Close,
    Cancel,
}

/// What the approver sends back for.
pub const RETURNED_FOR: [&str; 1] = ["proof_of_residence"];

impl Plan {
    /// The story of case `n` of the run with `seed`: the same for the same pair, whatever
    /// the timing.
    pub fn of(seed: u64, n: usize) -> Plan {
        let mut rng = StdRng::seed_from_u64(seed ^ (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut pick = rng.gen_range(0..100);
        for (plan, weight) in MIX {
            if pick < weight {
                return plan;
            }
            pick -= weight;
        }
        Plan::Straight
    }

    /// The service type and the materials brought to the window.
    pub fn request(self) -> (&'static str, &'static [&'static str]) {
        match self {
            Plan::NoApproval => (TEMPORARY_ID, &TEMPORARY_ID_MATERIALS),
            Plan::Incomplete | Plan::CancelWaiting => (PERMIT, &PERMIT_MATERIALS[..1]),
            _ => (PERMIT, &PERMIT_MATERIALS),
        }
    }

    /// The status intake answers the registration with.
    pub fn registered_as(self) -> &'static str {
        match self {
            Plan::NoApproval => "awaiting_fulfilment",
            Plan::Incomplete | Plan::CancelWaiting => "awaiting_materials",
            _ => "pending_approval",
        }
    }

    /// What the staff do after the registration, in order.
    pub fn steps(self) -> &'static [Step] {
        use Step::*;
        match self {
            Plan::Straight => &[Approve, Start, Fulfil, Close],
            Plan::Incomplete => &[AddMaterials { round: 1 }, Approve, Start, Fulfil, Close],
            Plan::ReturnLoop => &[
                Return,
                AddMaterials { round: 2 },
                Approve,
                Start,
                Fulfil,
                Close,
            ],
            Plan::Rejected => &[Reject],
            Plan::CancelWaiting => &[Cancel],
            Plan::CancelPending => &[AwaitApproval, Cancel],
            Plan::CancelApproved => &[Approve, AwaitFulfilment, Cancel],
            Plan::CancelStarted => &[Approve, Start, Cancel],
            Plan::NoApproval => &[Start, Fulfil, Close],
        }
    }

    /// The case's final status everywhere.
    pub fn outcome(self) -> &'static str {
        match self {
            Plan::Rejected => "rejected",
            Plan::CancelWaiting
            | Plan::CancelPending
            | Plan::CancelApproved
            | Plan::CancelStarted => "cancelled",
            _ => "closed",
        }
    }

    /// Every event of the case, each exactly once, sorted (the backlog orders them causally;
    /// here only the set counts): the story's steps, and a `task_opened` from approval or
    /// fulfilment for each task it opened (a hand-over that arrived; once per submission
    /// for approval).
    pub fn events(self) -> Vec<&'static str> {
        let mut events = self.steps_events();
        let opened = self.tasks_opened();
        events.extend(std::iter::repeat_n("task_opened", opened));
        events.sort_unstable();
        events
    }

    /// How many tasks approval and fulfilment opened: every submission that needs approval
    /// opens (or reopens) an approval task, every approval or submission without approval
    /// a fulfilment task, unless the case was withdrawn before it arrived (the stories wait
    /// for the task before withdrawing from a queue; a cancel before leaves a tombstone).
    fn tasks_opened(self) -> usize {
        let approval = match self {
            Plan::NoApproval | Plan::CancelWaiting => 0,
            Plan::ReturnLoop => 2,
            _ => 1,
        };
        let fulfilment = match self {
            Plan::Rejected | Plan::CancelWaiting | Plan::CancelPending => 0,
            _ => 1,
        };
        approval + fulfilment
    }

    /// The events of the story's own steps.
    fn steps_events(self) -> Vec<&'static str> {
        const HAND_OVER: [&str; 4] = ["approved", "fulfilment_started", "fulfilled", "closed"];
        let events: Vec<&str> = match self {
            Plan::Straight => [&["received", "submitted"][..], &HAND_OVER].concat(),
            Plan::Incomplete => [
                &[
                    "received",
                    "materials_requested",
                    "materials_completed",
                    "submitted",
                ][..],
                &HAND_OVER,
            ]
            .concat(),
            Plan::ReturnLoop => [
                &[
                    "received",
                    "submitted",
                    "returned",
                    "materials_requested",
                    "materials_completed",
                    "submitted",
                ][..],
                &HAND_OVER,
            ]
            .concat(),
            Plan::Rejected => vec!["received", "submitted", "rejected"],
            Plan::CancelWaiting => vec!["received", "materials_requested", "cancelled"],
            Plan::CancelPending => vec!["received", "submitted", "cancelled"],
            Plan::CancelApproved => vec!["received", "submitted", "approved", "cancelled"],
            Plan::CancelStarted => vec![
                "received",
                "submitted",
                "approved",
                "fulfilment_started",
                "cancelled",
            ],
            Plan::NoApproval => [&["received", "submitted"][..], &HAND_OVER[1..]].concat(),
        };
        events
    }

    /// The approval task (status, round) the case must end with; `None` for no row at all.
    /// A cancel that reaches approval before any submission leaves a round-0 tombstone; a
    /// cancel after the decision leaves the decision.
    pub fn approval_task(self) -> Option<(&'static str, i64)> {
        match self {
            Plan::NoApproval => None,
            Plan::CancelWaiting => Some(("cancelled", 0)),
            Plan::CancelPending => Some(("cancelled", 1)),
            Plan::Rejected => Some(("rejected", 1)),
            Plan::ReturnLoop => Some(("approved", 2)),
            _ => Some(("approved", 1)),
        }
    }

    /// The fulfilment task's status at the end; `None` for no row. Every cancelled case has
    /// one (a tombstone when fulfilment never had the case), so a late `approved` cannot
    /// open it again.
    pub fn fulfilment_task(self) -> Option<&'static str> {
        match self {
            Plan::Rejected => None,
            _ if self.outcome() == "cancelled" => Some("cancelled"),
            _ => Some("closed"),
        }
    }
}
