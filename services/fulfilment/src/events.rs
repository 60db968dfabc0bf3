//! What fulfilment does with other services' events: a case approved (or submitted with no
//! approval needed) becomes an awaiting task; a withdrawal cancels it, or leaves a
//! tombstone if it came first.

use crate::commands;
use clearline_contracts::{CaseEvent, EventKind, Payload};
use clearline_platform::consumer::EventHandler;
use clearline_platform::outbox::Outbox;
use sea_orm::DatabaseTransaction;

/// The durable consumer every fulfilment replica shares.
pub const CONSUMER: &str = "fulfilment";

pub struct FulfilmentEvents {
    /// Where `task_opened` goes, in the same transaction as the task.
    pub outbox: Outbox,
}

impl EventHandler for FulfilmentEvents {
    type Batch = ();

    fn handles(&self, kind: EventKind) -> bool {
        matches!(
            kind,
            EventKind::Approved | EventKind::Submitted | EventKind::Cancelled
        )
    }

    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &CaseEvent,
        _: &mut (),
    ) -> anyhow::Result<()> {
        let opened = match &event.payload {
            Some(Payload::Approved(approved)) => {
                commands::record_ready(txn, event, approved.due_at_ms).await?
            }
            Some(Payload::Submitted(submitted)) if !submitted.approval_required => {
                commands::record_ready(txn, event, submitted.due_at_ms).await?
            }
            Some(Payload::Cancelled(_)) => {
                commands::record_cancel(txn, event).await?;
                false
            }
            // A submission that needs approval reaches fulfilment as `approved`.
            _ => false,
        };
        if opened {
            // Tells the backlog the hand-over arrived (see its stuck-case watch).
            self.outbox
                .task_opened(txn, event, crate::SERVICE, "fulfilment")
                .await?;
        }
        Ok(())
    }
}
