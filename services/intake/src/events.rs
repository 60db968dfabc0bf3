//! What intake does with other services' events: a case returned for materials comes back
//! to the window; a rejected or closed case is finished, so intake refuses a late cancel.

use crate::commands;
use chrono::Utc;
use clearline_contracts::{CaseEvent, EventKind, Payload};
use clearline_domain::Status;
use clearline_platform::consumer::EventHandler;
use clearline_platform::outbox::Outbox;
use sea_orm::DatabaseTransaction;

/// The durable consumer every intake replica shares.
pub const CONSUMER: &str = "intake";

pub struct IntakeEvents {
    pub outbox: Outbox,
}

impl EventHandler for IntakeEvents {
    type Batch = ();

    fn handles(&self, kind: EventKind) -> bool {
        matches!(
            kind,
            EventKind::Returned | EventKind::Rejected | EventKind::Closed
        )
    }

    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &CaseEvent,
        _: &mut (),
    ) -> anyhow::Result<()> {
        let Some(case) = commands::find_for_update(txn, event.case_uuid()).await? else {
            // Every case starts here, so an event for an unknown case is a bug upstream.
            anyhow::bail!("event for a case intake does not know");
        };
        let now = Utc::now();
        match &event.payload {
            Some(Payload::Returned(returned)) => {
                match commands::take_back(
                    txn,
                    &self.outbox,
                    case,
                    event,
                    returned.missing_materials.clone(),
                    now,
                )
                .await
                {
                    Ok(_) => {}
                    // Cancelled while approval was deciding: the return no longer applies.
                    Err(commands::CommandError::NotAllowed(why)) => {
                        tracing::info!(%why, "return ignored")
                    }
                    Err(commands::CommandError::Db(e)) => return Err(e.into()),
                }
            }
            Some(Payload::Rejected(_)) => {
                commands::record_finish(txn, case, Status::Rejected, event.sequence, now).await?
            }
            Some(Payload::Closed(_)) => {
                commands::record_finish(txn, case, Status::Closed, event.sequence, now).await?
            }
            _ => {}
        }
        Ok(())
    }
}
