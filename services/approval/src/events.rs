//! What approval does with intake's events: a submission that needs approval becomes a
//! pending task; a withdrawal cancels it (or leaves a tombstone if it came first).

use crate::commands;
use clearline_contracts::{CaseEvent, EventKind, Payload};
use clearline_platform::consumer::EventHandler;
use clearline_platform::outbox::Outbox;
use sea_orm::DatabaseTransaction;

/// The durable consumer every approval replica shares.
pub const CONSUMER: &str = "approval";

pub struct ApprovalEvents {
    /// Where `task_opened` goes, in the same transaction as the task.
    pub outbox: Outbox,
}

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
        let opened = match &event.payload {
            Some(Payload::Submitted(submitted)) if submitted.approval_required => {
                commands::record_submission(txn, event, submitted).await?
            }
            Some(Payload::Cancelled(cancelled)) => {
                commands::record_cancel(txn, event, cancelled).await?;
                false
            }
            // A submission straight to fulfilment is fulfilment's business.
            _ => false,
        };
        if opened {
            // Tells the backlog the hand-over arrived (see its stuck-case watch).
            self.outbox
                .task_opened(txn, event, crate::SERVICE, "approval")
                .await?;
        }
        Ok(())
    }
}
