//! Durable pull consumers with an inbox: each event's effect commits once, whatever the
//! broker redelivers.
//!
//! A batch of messages is applied in one transaction, each inside its own savepoint: the
//! inbox row `(consumer, event_id)` and the handler's effect commit together, a duplicate is
//! skipped, and a failing event rolls back only itself. Acks go out after the commit, so a
//! crash before it means a redelivery, which the inbox turns into a no-op. An event that
//! still fails on its last delivery is kept in `dead_letters`, never dropped.

use crate::dead_letters;
use crate::outbox::Outbox;
use crate::telemetry;
use async_nats::jetstream::{self, consumer::pull, AckKind};
use chrono::Utc;
use clearline_contracts::{subjects, v1, CaseEvent, EventKind, Payload};
use futures::{FutureExt, StreamExt};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, Statement, TransactionTrait,
    Value,
};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// A service's reaction to the events it listens to.
pub trait EventHandler: Send + Sync + 'static {
    /// What a batch gathers across its events and writes once at the end, in the same
    /// transaction (the backlog's counter changes: one write per counter, in key order, so
    /// parallel transactions take those locks in one order). `()` for most services.
    type Batch: Default + Send;

    /// Whether this consumer acts on `kind`. Others are acknowledged and skipped: the
    /// consumer has no filter subject (see [`clearline_contracts::subjects`]).
    fn handles(&self, kind: EventKind) -> bool;

    /// Applies `event` inside `txn`. Events it causes go to the outbox in the same `txn`.
    /// An error rolls back this event alone and asks for a redelivery, so add to `batch`
    /// only once everything else has succeeded.
    fn handle(
        &self,
        txn: &DatabaseTransaction,
        event: &CaseEvent,
        batch: &mut Self::Batch,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Writes what the batch gathered, after its last event and before the commit.
    fn finish(
        &self,
        txn: &DatabaseTransaction,
        batch: Self::Batch,
    ) -> impl Future<Output = anyhow::Result<()>> + Send {
        let _ = (txn, batch);
        async { Ok(()) }
    }
}

/// How a service's durable consumer behaves.
#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    /// The durable name, shared by every replica of the service.
    pub name: String,
    pub max_deliver: i64,
    pub ack_wait: Duration,
    /// Most messages applied in one transaction.
    pub batch: usize,
    /// Parallel transactions a batch is split into, by case. 1 on SQLite (one writer).
    pub partitions: usize,
}

impl ConsumerSpec {
    pub fn new(name: impl Into<String>, max_deliver: i64, ack_wait: Duration) -> Self {
        ConsumerSpec {
            name: name.into(),
            max_deliver,
            ack_wait,
            batch: 64,
            partitions: 1,
        }
    }
}

/// Runs the consumer until `shutdown`, reconnecting after broker trouble.
pub async fn run<H: EventHandler>(
    spec: ConsumerSpec,
    db: DatabaseConnection,
    js: jetstream::Context,
    handler: Arc<H>,
    outbox: Option<Outbox>,
    shutdown: CancellationToken,
) {
    let mut backoff = Duration::from_millis(200);
    while !shutdown.is_cancelled() {
        match consume(
            &spec,
            &db,
            &js,
            handler.as_ref(),
            outbox.as_ref(),
            &shutdown,
        )
        .await
        {
            Ok(()) => return,
            Err(error) => {
                tracing::warn!(consumer = %spec.name, error = %format!("{error:#}"), "consumer interrupted; reconnecting");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.cancelled() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Creates the durable consumer, or brings an existing one to this configuration.
///
/// The broker's own `max_deliver` is unlimited on purpose: it counts deliveries to a process
/// that died holding the message too, and when it gives up it drops the message silently.
/// The limit is kept here instead ([`ConsumerSpec::max_deliver`]), where giving up means a
/// dead letter, never a loss.
pub async fn ensure_consumer(
    js: &jetstream::Context,
    spec: &ConsumerSpec,
) -> anyhow::Result<jetstream::consumer::Consumer<pull::Config>> {
    let stream = js.get_stream(subjects::STREAM).await?;
    let consumer = stream
        .create_consumer(pull::Config {
            durable_name: Some(spec.name.clone()),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ack_wait: spec.ack_wait,
            max_deliver: -1,
            max_ack_pending: 10_000,
            ..Default::default()
        })
        .await?;
    Ok(consumer)
}

async fn consume<H: EventHandler>(
    spec: &ConsumerSpec,
    db: &DatabaseConnection,
    js: &jetstream::Context,
    handler: &H,
    outbox: Option<&Outbox>,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let consumer = ensure_consumer(js, spec).await?;
    let mut messages = consumer
        .stream()
        .max_messages_per_batch(spec.batch)
        .heartbeat(Duration::from_secs(5))
        .expires(Duration::from_secs(30))
        .messages()
        .await?;
    let mut replays = tokio::time::interval(REPLAY_POLL);
    replays.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        let first = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = replays.tick() => {
                match apply_replays(spec, db, handler, outbox).await {
                    Ok(0) => {}
                    Ok(_) => outbox.iter().for_each(|o| o.wake()),
                    Err(error) => tracing::warn!(consumer = %spec.name, error = %format!("{error:#}"), "replays not applied; will try again"),
                }
                continue;
            }
            next = messages.next() => next,
        };
        let first = match first {
            Some(message) => message?,
            None => anyhow::bail!("message stream ended"),
        };
        // Take whatever else is already here, without waiting, up to the batch size.
        let mut batch = vec![first];
        while batch.len() < spec.batch {
            match messages.next().now_or_never() {
                Some(Some(Ok(message))) => batch.push(message),
                _ => break,
            }
        }
        // Events of different cases are independent: on PostgreSQL the batch is split by
        // case into parallel transactions (a case's events stay in one, in order).
        let groups = partition(batch, spec.partitions);
        let applied = futures::future::join_all(
            groups
                .iter()
                .map(|group| apply_until_done(spec, db, handler, outbox, group, shutdown)),
        )
        .await;
        if applied.contains(&false) {
            return Ok(());
        }
        if let Some(outbox) = outbox {
            outbox.wake();
        }
    }
}

/// Splits a batch by case into `parts` groups, keeping each case's events in order, and
/// orders each group by case. Every transaction, in this replica or another, then locks the
/// rows of its cases in the same order, so replicas that share a database wait for each
/// other instead of deadlocking.
fn partition(batch: Vec<jetstream::Message>, parts: usize) -> Vec<Vec<jetstream::Message>> {
    let parts = parts.max(1);
    let mut groups: Vec<Vec<(u128, jetstream::Message)>> = (0..parts).map(|_| Vec::new()).collect();
    for message in batch {
        let case =
            CaseEvent::decode_checked(&message.payload).map_or(0, |e| e.case_uuid().as_u128());
        groups[(case % parts as u128) as usize].push((case, message));
    }
    groups
        .into_iter()
        .filter(|group| !group.is_empty())
        .map(|mut group| {
            // Stable: a case's events keep their stream order.
            group.sort_by_key(|(case, _)| *case);
            group.into_iter().map(|(_, message)| message).collect()
        })
        .collect()
}

/// Applies one group until it commits. A database failure (a restart, a deadlock with
/// another replica) is not the events' fault: the group is retried here while the broker is
/// told the work is in progress, so the failure spends none of the events' deliveries and
/// sends nothing to the dead letters. The inbox makes every retry safe. `false` when
/// shutdown came first (the broker redelivers the group later).
async fn apply_until_done<H: EventHandler>(
    spec: &ConsumerSpec,
    db: &DatabaseConnection,
    handler: &H,
    outbox: Option<&Outbox>,
    group: &[jetstream::Message],
    shutdown: &CancellationToken,
) -> bool {
    let mut backoff = Duration::from_millis(100);
    while let Err(error) = apply_batch(spec, db, handler, outbox, group).await {
        tracing::warn!(consumer = %spec.name, error = %format!("{error:#}"), "batch rolled back; retrying");
        for message in group {
            let _ = message.ack_with(AckKind::Progress).await;
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.cancelled() => return false,
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
    true
}

enum Outcome {
    Ack,
    Retry,
}

async fn apply_batch<H: EventHandler>(
    spec: &ConsumerSpec,
    db: &DatabaseConnection,
    handler: &H,
    outbox: Option<&Outbox>,
    batch: &[jetstream::Message],
) -> anyhow::Result<()> {
    let txn = db.begin().await?;
    let mut gathered = H::Batch::default();
    let mut outcomes = Vec::with_capacity(batch.len());
    for message in batch {
        let applied = apply_one(spec, &txn, handler, outbox, message, &mut gathered).await?;
        outcomes.push(applied);
    }
    handler.finish(&txn, gathered).await?;
    txn.commit().await?;
    for (message, outcome) in batch.iter().zip(outcomes) {
        let kind = match outcome {
            Outcome::Ack => AckKind::Ack,
            Outcome::Retry => AckKind::Nak(Some(Duration::from_millis(500))),
        };
        // A lost ack only means a redelivery, which the inbox absorbs.
        if let Err(error) = message.ack_with(kind).await {
            tracing::debug!(%error, "ack not sent");
        }
    }
    Ok(())
}

/// Applies one message inside a savepoint. Returns `Err` only when the database itself
/// failed (the whole batch is then retried); a handler failure is an [`Outcome`].
async fn apply_one<H: EventHandler>(
    spec: &ConsumerSpec,
    txn: &DatabaseTransaction,
    handler: &H,
    outbox: Option<&Outbox>,
    message: &jetstream::Message,
    gathered: &mut H::Batch,
) -> Result<Outcome, DbErr> {
    let deliveries = message.info().map(|i| i.delivered).unwrap_or(1);
    if deliveries > 1 {
        metrics::counter!("consumer_redeliveries_total", "consumer" => spec.name.clone())
            .increment(1);
    }
    let event = match CaseEvent::decode_checked(&message.payload) {
        Ok(event) => event,
        Err(error) => {
            // Nothing will ever decode these bytes: keep them for an operator now.
            tracing::error!(consumer = %spec.name, %error, "undecodable event; dead-lettered");
            dead_letter(
                txn,
                spec,
                outbox,
                None,
                message,
                &error.to_string(),
                deliveries,
            )
            .await?;
            return Ok(Outcome::Ack);
        }
    };
    let Some(kind) = event.kind() else {
        return Ok(Outcome::Ack);
    };
    if !handler.handles(kind) {
        return Ok(Outcome::Ack);
    }
    if deliveries > spec.max_deliver.max(1) {
        // Delivered again and again without an ack or a handler error: the process died or
        // stalled while holding it (a crash loop). Keep it for an operator instead of
        // letting it take the service down once more.
        let error = format!(
            "delivered {deliveries} times without completing: \
             the consumer stopped or timed out while handling it"
        );
        tracing::error!(consumer = %spec.name, case_id = %event.case_id, %error, "dead-lettered");
        dead_letter(txn, spec, outbox, Some(&event), message, &error, deliveries).await?;
        return Ok(Outcome::Ack);
    }

    let span = tracing::info_span!(
        "event",
        consumer = %spec.name,
        event_type = kind.as_str(),
        case_id = %event.case_id,
        event_id = %event.event_id,
        deliveries,
        otel.kind = "consumer",
    );
    telemetry::adopt_parent(&span, message.headers.as_ref());
    async {
        match apply_event(spec, txn, handler, &event, gathered).await? {
            Applied::Now | Applied::Before => Ok(Outcome::Ack),
            Applied::Failed(error) => {
                if deliveries >= spec.max_deliver.max(1) {
                    tracing::error!(%error, "event failed its last delivery; dead-lettered");
                    dead_letter(txn, spec, outbox, Some(&event), message, &error, deliveries)
                        .await?;
                    Ok(Outcome::Ack)
                } else {
                    tracing::warn!(%error, "event failed; will be redelivered");
                    Ok(Outcome::Retry)
                }
            }
        }
    }
    .instrument(span)
    .await
}

/// What applying one event came to.
enum Applied {
    Now,
    /// This consumer applied it before: skipped.
    Before,
    /// The handler failed; its effect is rolled back. The error, for operators.
    Failed(String),
}

/// The inbox row and the handler's effect, in a savepoint of `txn`: both commit with it, or
/// neither. `Err` only when the database itself failed.
async fn apply_event<H: EventHandler>(
    spec: &ConsumerSpec,
    txn: &DatabaseTransaction,
    handler: &H,
    event: &CaseEvent,
    gathered: &mut H::Batch,
) -> Result<Applied, DbErr> {
    let savepoint = txn.begin().await?;
    if !record_in_inbox(&savepoint, &spec.name, event).await? {
        savepoint.rollback().await?;
        metrics::counter!("consumer_duplicates_total", "consumer" => spec.name.clone())
            .increment(1);
        tracing::debug!("duplicate event skipped");
        return Ok(Applied::Before);
    }
    match handler.handle(&savepoint, event, gathered).await {
        Ok(()) => {
            savepoint.commit().await?;
            metrics::counter!("consumer_applied_total", "consumer" => spec.name.clone())
                .increment(1);
            Ok(Applied::Now)
        }
        Err(error) => {
            savepoint.rollback().await?;
            Ok(Applied::Failed(format!("{error:#}")))
        }
    }
}

/// How often a consumer looks for replays an operator asked for (any replica may have
/// taken the request; the table is small and the query indexed by consumer).
const REPLAY_POLL: Duration = Duration::from_secs(1);

/// Applies the replays operators asked for ([`dead_letters::request_replay`]) as if their
/// events were delivered again, in one transaction. One that applies resolves its dead
/// letter and clears the case's flag; one that fails again keeps its dead letter, with the
/// new error. Returns how many were tried.
async fn apply_replays<H: EventHandler>(
    spec: &ConsumerSpec,
    db: &DatabaseConnection,
    handler: &H,
    outbox: Option<&Outbox>,
) -> anyhow::Result<usize> {
    let txn = db.begin().await?;
    let pending = dead_letters::pending_replays(&txn, &spec.name).await?;
    let mut gathered = H::Batch::default();
    for (event_id, payload) in &pending {
        let event = match CaseEvent::decode_checked(payload) {
            Ok(event) => event,
            Err(error) => {
                dead_letters::replay_failed(&txn, &spec.name, *event_id, &error.to_string())
                    .await?;
                continue;
            }
        };
        let span = tracing::info_span!("replay", consumer = %spec.name, case_id = %event.case_id, event_id = %event.event_id);
        match apply_event(spec, &txn, handler, &event, &mut gathered)
            .instrument(span.clone())
            .await?
        {
            Applied::Now | Applied::Before => {
                resolve_replayed(&txn, spec, outbox, &event)
                    .instrument(span)
                    .await?;
            }
            Applied::Failed(error) => {
                span.in_scope(|| tracing::warn!(%error, "replayed dead letter failed again"));
                dead_letters::replay_failed(&txn, &spec.name, *event_id, &error).await?;
            }
        }
    }
    handler.finish(&txn, gathered).await?;
    txn.commit().await?;
    Ok(pending.len())
}

/// Inserts the inbox row; `false` when this consumer has already applied the event.
async fn record_in_inbox<C: ConnectionTrait>(
    db: &C,
    consumer: &str,
    event: &CaseEvent,
) -> Result<bool, DbErr> {
    let result = db
        .execute(Statement::from_sql_and_values(
            db.get_database_backend(),
            "INSERT INTO inbox (consumer, event_id, processed_at) VALUES ($1, $2, $3)
             ON CONFLICT (consumer, event_id) DO NOTHING",
            [
                Value::from(consumer.to_string()),
                Value::from(event.event_uuid()),
                Value::from(Utc::now()),
            ],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Keeps the message as a dead letter and, the first time, flags its case: the
/// `attention_needed` notice commits with the dead letter.
async fn dead_letter<C: ConnectionTrait>(
    db: &C,
    spec: &ConsumerSpec,
    outbox: Option<&Outbox>,
    event: Option<&CaseEvent>,
    message: &jetstream::Message,
    error: &str,
    deliveries: i64,
) -> Result<(), DbErr> {
    // An undecodable message has no event id of its own: derive a stable one from its
    // stream position so a redelivery of the same bytes is still one dead letter.
    let stream_seq = message.info().map(|i| i.stream_sequence).unwrap_or(0);
    let event_id = event.map_or_else(
        || uuid::Uuid::from_u64_pair(0, stream_seq),
        CaseEvent::event_uuid,
    );
    metrics::counter!("dead_letters_total", "consumer" => spec.name.clone()).increment(1);
    let failure = dead_letters::Failure {
        consumer: &spec.name,
        event_id,
        case_id: event.map(CaseEvent::case_uuid),
        subject: message.subject.as_str(),
        payload: &message.payload,
        error,
        deliveries,
    };
    let new = dead_letters::record(db, &failure).await?;
    if let (true, Some(event), Some(outbox)) = (new, event, outbox) {
        let needed = Payload::AttentionNeeded(v1::AttentionNeeded {
            reason: "dead_letter".to_string(),
            source_event_id: event.event_id.clone(),
            consumer: spec.name.clone(),
            // The handler's error stays in the dead letter, for operators; the event says
            // only what failed, so nothing from the error can travel further.
            detail: format!(
                "{} could not apply {} after {deliveries} deliveries",
                spec.name, event.r#type
            ),
        });
        outbox.append_notice(db, event, &spec.name, needed).await?;
    }
    Ok(())
}

/// A replayed dead letter applied: it is over, and the case's flag with it.
async fn resolve_replayed<C: ConnectionTrait>(
    db: &C,
    spec: &ConsumerSpec,
    outbox: Option<&Outbox>,
    event: &CaseEvent,
) -> Result<(), DbErr> {
    if dead_letters::resolve(db, &spec.name, event.event_uuid()).await? {
        tracing::info!("replayed dead letter applied");
        if let Some(outbox) = outbox {
            let cleared = Payload::AttentionCleared(v1::AttentionCleared {
                source_event_id: event.event_id.clone(),
                consumer: spec.name.clone(),
            });
            outbox.append_notice(db, event, &spec.name, cleared).await?;
        }
    }
    Ok(())
}

/// The consumer's backlog at the broker, for `/metrics`: (pending, waiting for ack, redelivered).
pub async fn broker_stats(js: &jetstream::Context, name: &str) -> anyhow::Result<(u64, u64, u64)> {
    let stream = js.get_stream(subjects::STREAM).await?;
    let mut consumer: jetstream::consumer::PullConsumer = stream
        .get_consumer(name)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let info = consumer.info().await?;
    Ok((
        info.num_pending,
        info.num_ack_pending as u64,
        info.num_redelivered as u64,
    ))
}
