//! The watch: the backlog looks at the clock, not only at events. Every few seconds it
//! finds the open cases owed an announcement (a promised-time warning or breach, or a
//! hand-over between services that did not come) and emits it through the backlog's outbox,
//! once: the alert's row in `watch_alerts` commits with the outbox row, so replicas and
//! repeated ticks never announce twice. The announcement comes back through the consumer
//! like any event, lands in the timeline, and moves the case's row on.

pub mod alerts;

use crate::projection::{self, Policy};
use chrono::{DateTime, Utc};
use clearline_contracts::{Actor, CaseFacts, EventDraft, Payload};
use clearline_platform::outbox::Outbox;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement, TransactionTrait, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// Most cases looked at in one tick; the rest wait for the next.
const PER_TICK: u64 = 500;

/// What one tick announced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Raised {
    pub warnings: usize,
    pub breaches: usize,
    pub stuck: usize,
}

impl Raised {
    pub fn total(&self) -> usize {
        self.warnings + self.breaches + self.stuck
    }
}

/// Ticks every `every` until `shutdown`. A failed tick is logged and tried again.
pub async fn run(
    db: DatabaseConnection,
    outbox: Outbox,
    policy: Arc<Policy>,
    every: Duration,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = shutdown.cancelled() => return,
        }
        match tick(&db, &outbox, &policy, Utc::now()).await {
            Ok(raised) if raised.total() > 0 => {
                tracing::info!(
                    warnings = raised.warnings,
                    breaches = raised.breaches,
                    stuck = raised.stuck,
                    "watch raised alerts"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "watch tick failed; will retry"),
        }
    }
}

/// One pass at time `now` (passed in, so tests choose it).
pub async fn tick(
    db: &DatabaseConnection,
    outbox: &Outbox,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Raised, DbErr> {
    let mut raised = Raised::default();
    for case_id in owed(db, now).await? {
        let txn = db.begin().await?;
        let events = projection::load_events(&txn, case_id).await?;
        let Some(state) = projection::derive(&events, policy) else {
            continue;
        };
        let mut drafts = Vec::new();
        for alert in alerts::due(&state, now) {
            if !claim(&txn, case_id, &alert.key, now).await? {
                continue;
            }
            count(&alert.payload, &mut raised);
            let facts = CaseFacts {
                case_id,
                case_number: &state.case_number,
                service_type: &state.service_type,
                unit: &state.unit,
            };
            // A notice carries the sequence of the last event it follows.
            let draft = EventDraft::new(
                facts,
                &Actor::system(crate::SERVICE),
                None,
                state.last_sequence,
                alert.payload,
            );
            drafts.push(draft.build(now));
        }
        outbox.append(&txn, &drafts).await?;
        txn.commit().await?;
    }
    if raised.total() > 0 {
        outbox.wake();
    }
    Ok(raised)
}

/// The cases with a threshold or a hand-over deadline at or before `now`.
async fn owed(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<Vec<Uuid>, DbErr> {
    let rows = db
        .query_all(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT case_id FROM backlog_cases WHERE next_alert_at <= $1
             UNION SELECT case_id FROM backlog_cases WHERE expect_by <= $1
             LIMIT $2",
            [Value::from(now), Value::from(PER_TICK)],
        ))
        .await?;
    rows.iter()
        .map(|r| r.try_get::<Uuid>("", "case_id"))
        .collect()
}

/// Records the alert; `false` when it was raised before (by this replica or another).
async fn claim<C: ConnectionTrait>(
    txn: &C,
    case_id: Uuid,
    alert: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let result = txn
        .execute(Statement::from_sql_and_values(
            txn.get_database_backend(),
            "INSERT INTO watch_alerts (case_id, alert, raised_at) VALUES ($1, $2, $3)
             ON CONFLICT (case_id, alert) DO NOTHING",
            [
                Value::from(case_id),
                Value::from(alert.to_string()),
                Value::from(now),
            ],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

fn count(payload: &Payload, raised: &mut Raised) {
    let (counter, clock) = match payload {
        Payload::SlaWarning(p) => (&mut raised.warnings, p.clock.clone()),
        Payload::SlaBreached(p) => (&mut raised.breaches, p.clock.clone()),
        _ => (&mut raised.stuck, String::new()),
    };
    *counter += 1;
    let kind = clearline_contracts::EventKind::of(payload).as_str();
    metrics::counter!("backlog_alerts_total", "alert" => kind, "clock" => clock).increment(1);
}
