//! The backlog listens to every event: each one lands in the timeline and re-derives its
//! case (see [`crate::projection`]).

use crate::projection::{self, Applied, Moves, Policy};
use clearline_contracts::{CaseEvent, EventKind};
use clearline_platform::consumer::EventHandler;
use sea_orm::DatabaseTransaction;
use std::sync::Arc;

/// The durable consumer every backlog replica shares.
pub const CONSUMER: &str = "backlog";

pub struct BacklogEvents {
    policy: Arc<Policy>,
}

impl BacklogEvents {
    pub fn new(policy: Arc<Policy>) -> Self {
        BacklogEvents { policy }
    }
}

impl EventHandler for BacklogEvents {
    /// The counter changes of the batch's events, written once at the end.
    type Batch = Moves;

    fn handles(&self, _: EventKind) -> bool {
        true
    }

    async fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &CaseEvent,
        batch: &mut Self::Batch,
    ) -> anyhow::Result<()> {
        let (applied, moves) = projection::project(txn, event, &self.policy).await?;
        batch.extend(moves);
        match applied {
            Applied::Duplicate => tracing::debug!("event already in the timeline"),
            Applied::Projected { from, to } if from != to => {
                tracing::debug!(from = ?from.map(|s| s.as_str()), to = ?to.map(|s| s.as_str()), "case moved");
            }
            Applied::Projected { .. } => {}
        }
        Ok(())
    }

    async fn finish(&self, txn: &DatabaseTransaction, batch: Self::Batch) -> anyhow::Result<()> {
        batch.write(txn).await?;
        Ok(())
    }
}
