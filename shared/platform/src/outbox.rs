//! The transactional outbox: an event row commits in the same transaction as the state
//! change it describes; the [`Relay`] publishes it to JetStream and marks it sent only after
//! the broker's PubAck.
//!
//! Order per case survives several relay replicas: on PostgreSQL a relay locks what it takes
//! (`FOR UPDATE SKIP LOCKED`) and publishes a case's events in id order, only as far as it
//! holds every unsent one of the case before them; a case's events get increasing ids because every
//! command on a case holds its row lock. SQLite runs one relay per database. The table is
//! never read by "id greater than the last one seen": ids commit out of order across cases.

use crate::telemetry;
use async_nats::jetstream;
use chrono::Utc;
use clearline_contracts::{subjects, v1, Actor, CaseEvent, EventDraft, Payload};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, Statement, TransactionTrait, Value,
};
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Appends events to the outbox and wakes the relay after the commit.
#[derive(Clone, Default)]
pub struct Outbox {
    wake: Arc<Notify>,
}

impl Outbox {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds events inside the caller's transaction. Call [`Outbox::wake`] after the commit.
    pub async fn append<C: ConnectionTrait>(
        &self,
        txn: &C,
        events: &[CaseEvent],
    ) -> Result<(), DbErr> {
        let traceparent = telemetry::current_traceparent();
        for event in events {
            let stmt = Statement::from_sql_and_values(
                txn.get_database_backend(),
                "INSERT INTO outbox (event_id, case_id, subject, payload, traceparent, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                [
                    Value::from(event.event_uuid()),
                    Value::from(event.case_uuid()),
                    Value::from(subjects::subject(&event.r#type)),
                    Value::from(event.encode_to_bytes()),
                    Value::from(traceparent.clone()),
                    Value::from(Utc::now()),
                ],
            );
            txn.execute(stmt).await?;
        }
        Ok(())
    }

    /// Appends a notice about `cause`'s case (see [`EventDraft::notice`]) from `service`.
    pub async fn append_notice<C: ConnectionTrait>(
        &self,
        txn: &C,
        cause: &CaseEvent,
        service: &str,
        payload: Payload,
    ) -> Result<(), DbErr> {
        let notice = EventDraft::notice(cause, &Actor::system(service), payload);
        self.append(txn, &[notice.build(Utc::now())]).await
    }

    /// Appends the notice that `service` put the case in its work `queue` because of
    /// `cause`: the backlog waits for it to know the hand-over arrived.
    pub async fn task_opened<C: ConnectionTrait>(
        &self,
        txn: &C,
        cause: &CaseEvent,
        service: &str,
        queue: &str,
    ) -> Result<(), DbErr> {
        let opened = Payload::TaskOpened(v1::TaskOpened {
            queue: queue.to_string(),
            for_event_id: cause.event_id.clone(),
        });
        self.append_notice(txn, cause, service, opened).await
    }

    /// Tells the relay there is something to send now rather than at the next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    pub fn relay(&self, db: DatabaseConnection, js: jetstream::Context, poll: Duration) -> Relay {
        Relay {
            db,
            js,
            wake: self.wake.clone(),
            poll,
            batch: 256,
        }
    }
}

/// Publishes unsent outbox rows. Run one per process; several processes may share a database.
pub struct Relay {
    db: DatabaseConnection,
    js: jetstream::Context,
    wake: Arc<Notify>,
    poll: Duration,
    batch: u64,
}

struct Pending {
    id: i64,
    case_id: uuid::Uuid,
    subject: String,
    event_id: String,
    payload: Vec<u8>,
    traceparent: Option<String>,
}

impl Relay {
    /// Publishes until `shutdown`, then makes one last pass so a clean stop leaves nothing
    /// unsent that the broker could take.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.flush().await {
                Ok(_) => backoff = Duration::from_millis(100),
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "outbox relay pass failed; will retry");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.cancelled() => break,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.poll) => {}
                _ = shutdown.cancelled() => break,
            }
        }
        if let Err(error) = tokio::time::timeout(Duration::from_secs(5), self.flush()).await {
            tracing::warn!(%error, "outbox flush at shutdown timed out");
        }
    }

    /// Sends everything unsent, one pass after another, and returns how many were sent.
    pub async fn flush(&self) -> anyhow::Result<usize> {
        let mut total = 0;
        loop {
            let sent = self.pass().await?;
            total += sent;
            if sent == 0 {
                return Ok(total);
            }
        }
    }

    /// One pass: claim a batch, publish it pipelined, mark what the broker acknowledged.
    #[tracing::instrument(skip_all, fields(claimed, sent))]
    async fn pass(&self) -> anyhow::Result<usize> {
        let backend = self.db.get_database_backend();
        let txn = self.db.begin().await?;
        // Oldest first. On PostgreSQL, rows another relay holds are skipped; on SQLite there
        // is one relay per database (one writer anyway).
        let lock = match backend {
            DatabaseBackend::Postgres => "FOR UPDATE SKIP LOCKED",
            _ => "",
        };
        let claim = format!(
            "SELECT id, event_id, case_id, subject, payload, traceparent FROM outbox
             WHERE sent_at IS NULL ORDER BY id LIMIT {} {lock}",
            self.batch
        );
        let rows = txn
            .query_all(Statement::from_string(backend, claim))
            .await?;
        let mut pending = Vec::with_capacity(rows.len());
        for row in rows {
            let event_id: uuid::Uuid = row.try_get("", "event_id")?;
            pending.push(Pending {
                id: row.try_get("", "id")?,
                case_id: row.try_get("", "case_id")?,
                event_id: event_id.to_string(),
                subject: row.try_get("", "subject")?,
                payload: row.try_get("", "payload")?,
                traceparent: row.try_get("", "traceparent")?,
            });
        }
        if backend == DatabaseBackend::Postgres {
            keep_case_order(&txn, &mut pending).await?;
        }
        tracing::Span::current().record("claimed", pending.len());
        if pending.is_empty() {
            txn.commit().await?;
            return Ok(0);
        }

        // Publish everything first, then wait for the acks: one round trip per batch, not per
        // event. The Nats-Msg-Id makes a republish after a crash a no-op at the broker.
        // A case whose event could not be handed to the client (its send timed out under
        // load) sends none of its later events in this pass: they would reach the stream
        // before it.
        let mut acks = Vec::with_capacity(pending.len());
        let mut stalled = HashSet::new();
        for p in &pending {
            if stalled.contains(&p.case_id) {
                acks.push(Err(anyhow::anyhow!(
                    "an earlier event of the case was not sent"
                )));
                continue;
            }
            let mut headers = async_nats::HeaderMap::new();
            headers.insert(async_nats::header::NATS_MESSAGE_ID, p.event_id.as_str());
            if let Some(tp) = &p.traceparent {
                headers.insert(telemetry::TRACEPARENT, tp.as_str());
            }
            let ack = self
                .js
                .publish_with_headers(p.subject.clone(), headers, p.payload.clone().into())
                .await
                .map_err(anyhow::Error::from);
            if ack.is_err() {
                stalled.insert(p.case_id);
            }
            acks.push(ack);
        }
        // Wait for the acks together: each one's timeout starts when it is awaited, so
        // awaiting them one by one would stall a pass for (lost acks × timeout) when the
        // broker dies with publishes in flight (seen in the chaos suite: 30 s and more).
        let acks = futures::future::join_all(acks.into_iter().map(|ack| async move {
            match ack {
                Ok(future) => future.await.map(|_| ()).map_err(anyhow::Error::from),
                Err(e) => Err(e),
            }
        }))
        .await;
        let mut sent_ids = Vec::with_capacity(pending.len());
        let mut failures = 0usize;
        for (p, acked) in pending.iter().zip(acks) {
            match acked {
                Ok(()) => sent_ids.push(p.id),
                Err(error) => {
                    failures += 1;
                    tracing::debug!(error = %error, "publish not acknowledged; stays unsent");
                }
            }
        }
        if !sent_ids.is_empty() {
            let list = sent_ids
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            txn.execute(Statement::from_sql_and_values(
                backend,
                format!("UPDATE outbox SET sent_at = $1 WHERE id IN ({list})"),
                [Value::from(Utc::now())],
            ))
            .await?;
        }
        txn.commit().await?;
        metrics::counter!("outbox_published_total").increment(sent_ids.len() as u64);
        tracing::Span::current().record("sent", sent_ids.len());
        if failures > 0 {
            anyhow::bail!("{failures} events were not acknowledged by the broker");
        }
        Ok(sent_ids.len())
    }
}

/// Keeps, of what this relay claimed, only what it may publish now without overtaking
/// another relay: for each case, its claimed rows up to the case's first unsent row that
/// another relay holds. That row can sit before this relay's rows of the case or between
/// them (seen with two relays: a case's `closed` published ahead of its `fulfilled`, which
/// the other relay held). What is left out stays unsent for a later pass. (The case ids
/// come from the table itself, so they are inlined safely.)
async fn keep_case_order<C: ConnectionTrait>(
    txn: &C,
    pending: &mut Vec<Pending>,
) -> Result<(), DbErr> {
    let cases: BTreeSet<uuid::Uuid> = pending.iter().map(|p| p.case_id).collect();
    if cases.is_empty() {
        return Ok(());
    }
    let list = cases
        .iter()
        .map(|case| format!("'{case}'"))
        .collect::<Vec<_>>()
        .join(",");
    let sql = format!(
        "SELECT case_id, id FROM outbox WHERE sent_at IS NULL AND case_id IN ({list})
         ORDER BY case_id, id"
    );
    let unsent = txn
        .query_all(Statement::from_string(txn.get_database_backend(), sql))
        .await?;
    let mine: HashSet<i64> = pending.iter().map(|p| p.id).collect();
    // Cases whose unsent rows, walked in id order, have all been this relay's so far.
    let mut still_mine = cases;
    let mut publishable = HashSet::new();
    for row in unsent {
        let case: uuid::Uuid = row.try_get("", "case_id")?;
        let id: i64 = row.try_get("", "id")?;
        if !still_mine.contains(&case) {
            continue;
        }
        if mine.contains(&id) {
            publishable.insert(id);
        } else {
            still_mine.remove(&case);
        }
    }
    pending.retain(|p| publishable.contains(&p.id));
    Ok(())
}

/// The outbox's health for `/metrics`: unsent rows and the age of the oldest, in seconds.
pub async fn backlog<C: ConnectionTrait>(db: &C) -> Result<(i64, f64), DbErr> {
    let row = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE sent_at IS NULL",
        ))
        .await?;
    let Some(row) = row else { return Ok((0, 0.0)) };
    let n: i64 = row.try_get("", "n")?;
    let oldest: Option<chrono::DateTime<Utc>> = row.try_get("", "oldest").ok().flatten();
    let age = oldest.map_or(0.0, |t| {
        (Utc::now() - t).num_milliseconds().max(0) as f64 / 1000.0
    });
    Ok((n, age))
}
