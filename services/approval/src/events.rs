//! What approval does with intake's events: a submission that needs approval becomes a
//! pending task; a withdrawal cancels it (or leaves a tombstone if it came first).

use crate::commands;
use clearline_contracts::{CaseEvent, EventKind, Payload};
use clearline_platform::consumer::EventHandler;
use sea_orm::DatabaseTransaction;

/// The durable consumer every approval replica shares.
pub const CONSUMER: &str = "approval";

pub struct ApprovalEvents;

impl EventHandler for ApprovalEvents {
    type Batch = ();

    fn handles(&self, kind: EventKind) -> bool {
        matches!(kind, EventKind::Submitted | EventKind::Cancelled)
    }

    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &CaseEvent,
        _: &mut (),
    ) -> anyhow::Result<()> {
        match &event.payload {
            Some(Payload::Submitted(submitted)) if submitted.approval_required => {
                commands::record_submission(txn, event, submitted).await?
            }
            Some(Payload::Cancelled(cancelled)) => {
                commands::record_cancel(txn, event, cancelled).await?
            }
            // A submission straight to fulfilment is fulfilment's business.
            _ => {}
        }
        Ok(())
    }
}
