//! What an open case is waiting on. Every open case waits on someone: a dashboard that
//! says "3 cases waiting on the resident, 12 on approvers, 2 need attention" tells a
//! supervisor where to push.

use crate::lifecycle::{FulfilmentMode, Status};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitReason {
    /// A booked appointment that has not happened yet.
    Appointment,
    /// The resident must bring missing materials (the clocks are paused).
    ResidentMaterials,
    /// An approver must decide.
    Approver,
    /// The card, permit or certificate is being produced or sent.
    Production,
    /// A home visit must be made at its booked slot.
    HomeVisitSlot,
    /// Ready: the resident must come and collect it (the clocks are paused).
    ResidentPickup,
    /// Something went wrong between services (a dead letter, a missing task): a person
    /// must look. Wins over every other reason.
    NeedsAttention,
}

impl WaitReason {
    pub const ALL: [WaitReason; 7] = [
        WaitReason::Appointment,
        WaitReason::ResidentMaterials,
        WaitReason::Approver,
        WaitReason::Production,
        WaitReason::HomeVisitSlot,
        WaitReason::ResidentPickup,
        WaitReason::NeedsAttention,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WaitReason::Appointment => "appointment",
            WaitReason::ResidentMaterials => "resident_materials",
            WaitReason::Approver => "approver",
            WaitReason::Production => "production",
            WaitReason::HomeVisitSlot => "home_visit_slot",
            WaitReason::ResidentPickup => "resident_pickup",
            WaitReason::NeedsAttention => "needs_attention",
        }
    }

    pub fn parse(s: &str) -> Option<WaitReason> {
        WaitReason::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// What a case in `status` waits on; `None` once it is finished. `mode` is the
    /// fulfilment mode once fulfilment started; `attention` whether a problem is open.
    pub fn of(status: Status, mode: Option<FulfilmentMode>, attention: bool) -> Option<WaitReason> {
        if status.is_finished() {
            return None;
        }
        if attention {
            return Some(WaitReason::NeedsAttention);
        }
        Some(match status {
            Status::Booked => WaitReason::Appointment,
            Status::AwaitingMaterials => WaitReason::ResidentMaterials,
            Status::Received | Status::PendingApproval => WaitReason::Approver,
            Status::AwaitingFulfilment => WaitReason::Production,
            Status::InFulfilment if mode == Some(FulfilmentMode::HomeVisit) => {
                WaitReason::HomeVisitSlot
            }
            Status::InFulfilment => WaitReason::Production,
            Status::Fulfilled => WaitReason::ResidentPickup,
            Status::Closed | Status::Rejected | Status::Cancelled => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_open_status_waits_on_someone_and_finished_ones_on_no_one() {
        for status in Status::ALL {
            let reason = WaitReason::of(status, None, false);
            assert_eq!(reason.is_none(), status.is_finished(), "{status}");
            if !status.is_finished() {
                assert_eq!(
                    WaitReason::of(status, None, true),
                    Some(WaitReason::NeedsAttention)
                );
            }
        }
        for reason in WaitReason::ALL {
            assert_eq!(WaitReason::parse(reason.as_str()), Some(reason));
        }
    }

    #[test]
    fn a_home_visit_waits_on_its_slot() {
        assert_eq!(
            WaitReason::of(Status::InFulfilment, Some(FulfilmentMode::HomeVisit), false),
            Some(WaitReason::HomeVisitSlot)
        );
        assert_eq!(
            WaitReason::of(Status::InFulfilment, Some(FulfilmentMode::Mail), false),
            Some(WaitReason::Production)
        );
    }
}
