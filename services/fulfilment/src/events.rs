//! What fulfilment does with other services' events: a case approved (or submitted with no
//! approval needed) becomes an awaiting task; a withdrawal cancels it, or leaves a
//! tombstone if it came first.

use crate::commands;
use clearline_contracts::{CaseEvent, EventKind, Payload};
use clearline_platform::consumer::EventHandler;
use sea_orm::DatabaseTransaction;

/// The durable consumer every fulfilment replica shares.
pub const CONSUMER: &str = "fulfilment";

pub struct FulfilmentEvents;

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
        match &event.payload {
            Some(Payload::Approved(approved)) => {
                commands::record_ready(txn, event, approved.due_at_ms).await?
            }
            Some(Payload::Submitted(submitted)) if !submitted.approval_required => {
                commands::record_ready(txn, event, submitted.due_at_ms).await?
            }
            Some(Payload::Cancelled(_)) => commands::record_cancel(txn, event).await?,
            // A submission that needs approval reaches fulfilment as `approved`.
            _ => {}
        }
        Ok(())
    }
}
