//! What lies under the services in one test's system: the broker's stream and consumers,
//! and each service's database, read (and, to stage duplicates, written) directly.

use crate::infra::Databases;
use crate::station::SETTLE;
use crate::system::SERVICES;
use crate::System;
use async_nats::jetstream::{self, publish::PublishAck};
use clearline_contracts::subjects;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement, Value};
use std::collections::BTreeMap;

pub struct Pipes {
    js: jetstream::Context,
    dbs: Vec<(&'static str, DatabaseConnection)>,
}

impl Pipes {
    /// Connects to the system's nats-server and to every service's database.
    pub async fn open(system: &System) -> anyhow::Result<Pipes> {
        Pipes::connect(&system.nats.url(), &system.dbs).await
    }

    /// Connects to a nats-server and to every service's database.
    pub async fn connect(nats_url: &str, databases: &Databases) -> anyhow::Result<Pipes> {
        let client = async_nats::connect(nats_url).await?;
        let mut dbs = Vec::with_capacity(SERVICES.len());
        for service in SERVICES {
            dbs.push((service, databases.connect(service).await?));
        }
        Ok(Pipes {
            js: jetstream::new(client),
            dbs,
        })
    }

    pub fn db(&self, service: &str) -> anyhow::Result<&DatabaseConnection> {
        self.dbs
            .iter()
            .find(|(name, _)| *name == service)
            .map(|(_, db)| db)
            .ok_or_else(|| anyhow::anyhow!("no database for {service}"))
    }

    /// Waits until every event is published and every consumer has applied and acked all
    /// of the stream: nothing is in flight anywhere. On a timeout, says what was still
    /// in flight at the last look.
    pub async fn settled(&self, system: &System) -> anyhow::Result<()> {
        self.settled_within(system, SETTLE).await
    }

    /// [`Pipes::settled`], waiting at most `within`.
    pub async fn settled_within(
        &self,
        system: &System,
        within: std::time::Duration,
    ) -> anyhow::Result<()> {
        let last_look = std::sync::Mutex::new(String::new());
        let waited = system
            .eventually(
                "every event to be published and consumed",
                within,
                || async {
                    let busy = match self.in_flight().await {
                        Ok(busy) => busy,
                        Err(error) => vec![format!("could not look: {error:#}")],
                    };
                    let quiet = busy.is_empty();
                    if let Ok(mut last) = last_look.lock() {
                        *last = busy.join("; ");
                    }
                    quiet.then_some(())
                },
            )
            .await;
        waited.map_err(|error| {
            let last = last_look.lock().map(|l| l.clone()).unwrap_or_default();
            error.context(format!("still in flight: {last}"))
        })
    }

    /// One look at what is still moving; empty when nothing is: nothing published meanwhile,
    /// every consumer caught up, no outbox row unsent. Consumers are asked before outboxes:
    /// whatever a consumer applied committed its outbox rows before the ack, and whatever a
    /// relay sent since would move the stream.
    pub async fn in_flight(&self) -> anyhow::Result<Vec<String>> {
        let mut busy = Vec::new();
        let stream = self.js.get_stream(subjects::STREAM).await?;
        let before = stream.get_info().await?.state.last_sequence;
        for consumer in SERVICES {
            let info = stream.consumer_info(consumer).await?;
            if info.num_pending > 0 || info.num_ack_pending > 0 {
                busy.push(format!(
                    "consumer {consumer}: {} pending, {} unacked",
                    info.num_pending, info.num_ack_pending
                ));
            }
        }
        for (service, _) in &self.dbs {
            let unsent = self.unsent(service).await?;
            if unsent > 0 {
                busy.push(format!("{service}'s outbox: {unsent} unsent"));
            }
        }
        let after = stream.get_info().await?.state.last_sequence;
        if before != after {
            busy.push(format!("stream moved from {before} to {after}"));
        }
        Ok(busy)
    }

    /// Every event in the stream, in the stream's order (read with an ordered consumer of
    /// the test's own, so the services' consumers are not touched).
    pub async fn stream_events(&self) -> anyhow::Result<Vec<clearline_contracts::CaseEvent>> {
        stream_events(&self.js).await
    }

    /// Messages held in the stream.
    pub async fn stream_messages(&self) -> anyhow::Result<u64> {
        let stream = self.js.get_stream(subjects::STREAM).await?;
        Ok(stream.get_info().await?.state.messages)
    }

    /// Publishes `payload` on `subject` under a fresh `Nats-Msg-Id`, so the broker keeps it
    /// as a new message and every consumer gets the same event a second time.
    pub async fn publish_again(
        &self,
        subject: &str,
        payload: Vec<u8>,
    ) -> anyhow::Result<PublishAck> {
        let mut headers = async_nats::HeaderMap::new();
        let msg_id = uuid::Uuid::new_v4().to_string();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, msg_id.as_str());
        let ack = self
            .js
            .publish_with_headers(subject.to_string(), headers, payload.into())
            .await?
            .await?;
        Ok(ack)
    }

    /// Every event `service` ever emitted, from its outbox in order: (subject, payload).
    pub async fn outbox(&self, service: &str) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
        let db = self.db(service)?;
        let rows = db
            .query_all(Statement::from_string(
                db.get_database_backend(),
                "SELECT subject, payload FROM outbox ORDER BY id",
            ))
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push((row.try_get("", "subject")?, row.try_get("", "payload")?));
        }
        Ok(out)
    }

    /// Marks every outbox row of `service` unsent, so its relay publishes them all again
    /// (with their original `Nats-Msg-Id`). Returns how many rows.
    pub async fn mark_outbox_unsent(&self, service: &str) -> anyhow::Result<u64> {
        let db = self.db(service)?;
        let done = db
            .execute(Statement::from_string(
                db.get_database_backend(),
                "UPDATE outbox SET sent_at = NULL",
            ))
            .await?;
        Ok(done.rows_affected())
    }

    /// Every event `services` ever emitted reaches every consumer twice more: (a) each
    /// relay resends its whole outbox under the original `Nats-Msg-Id`s, which the broker
    /// drops, and (b) the same bytes are published again under new ids, which the broker
    /// keeps. Returns once every consumer has taken all of it in.
    pub async fn deliver_everything_twice(
        &self,
        system: &System,
        services: &[&str],
    ) -> anyhow::Result<()> {
        for service in services {
            let emitted = self.outbox(service).await?;
            let marked = self.mark_outbox_unsent(service).await?;
            anyhow::ensure!(
                marked as usize == emitted.len(),
                "{service}: {marked} rows marked"
            );
            let what = format!("{service}'s relay to resend its outbox");
            system
                .eventually(&what, SETTLE, || async {
                    (self.unsent(service).await.ok()? == 0).then_some(())
                })
                .await?;
            for (subject, payload) in emitted {
                let ack = self.publish_again(&subject, payload).await?;
                anyhow::ensure!(
                    !ack.duplicate,
                    "the broker took a new message id for a copy"
                );
            }
        }
        self.settled(system).await
    }

    /// Rows in `service`'s outbox not yet sent.
    pub async fn unsent(&self, service: &str) -> anyhow::Result<i64> {
        let sql = "SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL";
        count(self.db(service)?, sql, []).await
    }

    /// Events `consumer` has applied, by its inbox in `service`'s database.
    pub async fn inbox(&self, service: &str, consumer: &str) -> anyhow::Result<i64> {
        let sql = "SELECT COUNT(*) AS n FROM inbox WHERE consumer = $1";
        count(self.db(service)?, sql, [Value::from(consumer)]).await
    }

    /// The row count of every table of every service, as `"<service>.<table>"`; the
    /// migrations' own bookkeeping is left out.
    pub async fn row_counts(&self) -> anyhow::Result<BTreeMap<String, i64>> {
        let mut counts = BTreeMap::new();
        for (service, db) in &self.dbs {
            for table in tables(db).await? {
                let n = count(db, &format!("SELECT COUNT(*) AS n FROM \"{table}\""), []).await?;
                counts.insert(format!("{service}.{table}"), n);
            }
        }
        Ok(counts)
    }
}

async fn tables(db: &DatabaseConnection) -> anyhow::Result<Vec<String>> {
    let sql = match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            "SELECT table_name::text AS name FROM information_schema.tables
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
               AND table_name <> 'seaql_migrations' ORDER BY 1"
        }
        _ => {
            "SELECT name FROM sqlite_master
             WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'seaql_migrations'
             ORDER BY 1"
        }
    };
    let rows = db
        .query_all(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    let names = rows
        .iter()
        .map(|row| row.try_get::<String>("", "name"))
        .collect::<Result<Vec<_>, _>>()?;
    anyhow::ensure!(!names.is_empty(), "the database lists no tables");
    Ok(names)
}

/// Runs a `SELECT COUNT(*) AS n …`.
async fn count<const N: usize>(
    db: &DatabaseConnection,
    sql: &str,
    values: [Value; N],
) -> anyhow::Result<i64> {
    let row = db
        .query_one(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            values,
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no row from {sql}"))?;
    Ok(row.try_get("", "n")?)
}

/// Every event in the stream, in stream order.
pub async fn stream_events(
    js: &jetstream::Context,
) -> anyhow::Result<Vec<clearline_contracts::CaseEvent>> {
    use futures::StreamExt;
    let stream = js.get_stream(subjects::STREAM).await?;
    let total = stream.get_info().await?.state.messages;
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::OrderedConfig::default())
        .await?;
    let mut messages = consumer.messages().await?;
    let mut events = Vec::new();
    while (events.len() as u64) < total {
        let message = tokio::time::timeout(SETTLE, messages.next())
            .await?
            .ok_or_else(|| anyhow::anyhow!("the stream ended early"))??;
        events.push(clearline_contracts::CaseEvent::decode_checked(
            &message.payload,
        )?);
    }
    Ok(events)
}
