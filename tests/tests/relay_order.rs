//! Two outbox relays on one PostgreSQL database never publish a case's events out of order.
//! The other relay is played by a transaction that holds one row locked, as a relay does
//! between claiming a batch and marking it sent: the relay under test must publish the case
//! up to that row and nothing of the case after it, then the rest once the row is free.
//! (The same rule under real load, with every service twice: multi_replica.rs.)

use clearline_contracts::v1::{Closed, Fulfilled, FulfilmentStarted};
use clearline_contracts::{Actor, CaseEvent, CaseFacts, EventDraft, Payload};
use clearline_platform::outbox::Outbox;
use clearline_platform::stream;
use clearline_tests::infra::{Databases, Nats};
use clearline_tests::pipes::stream_events;
use clearline_tests::Backend;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, TransactionTrait};
use sea_orm_migration::MigratorTrait;
use std::time::Duration;
use uuid::Uuid;

/// A case's three fulfilment steps, in the order they happened.
fn steps_of(case_number: &str) -> Vec<CaseEvent> {
    let case_id = Uuid::now_v7();
    let actor = Actor {
        id: "officer1".into(),
        role: "fulfilment".into(),
    };
    let payloads = [
        Payload::FulfilmentStarted(FulfilmentStarted {
            mode: "counter_pickup".into(),
            scheduled_for_ms: 0,
        }),
        Payload::Fulfilled(Fulfilled {}),
        Payload::Closed(Closed {}),
    ];
    payloads
        .into_iter()
        .zip(8..)
        .map(|(payload, sequence)| {
            let facts = CaseFacts {
                case_id,
                case_number,
                service_type: "residence_permit",
                unit: "HP01",
            };
            EventDraft::new(facts, &actor, None, sequence, payload).build(chrono::Utc::now())
        })
        .collect()
}

async fn unsent(db: &DatabaseConnection) -> anyhow::Result<Vec<i64>> {
    let rows = db
        .query_all(Statement::from_string(
            db.get_database_backend(),
            "SELECT id FROM outbox WHERE sent_at IS NULL ORDER BY id",
        ))
        .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get::<i64>("", "id"))
        .collect::<Result<_, _>>()?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_stops_at_a_case_row_another_relay_holds() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let nats = Nats::start(dir.path())?;
    let dbs = Databases::create(Backend::Postgres, dir.path(), &["fulfilment"]).await?;
    let db = dbs.connect("fulfilment").await?;
    clearline_fulfilment::store::migration::Migrator::up(&db, None).await?;
    let (_client, js) = stream::connect(&nats.url(), "fulfilment", None).await?;

    let outbox = Outbox::new();
    let case = steps_of("HP01-20261129-0001");
    let other = steps_of("HP01-20261129-0002");
    let txn = db.begin().await?;
    outbox.append(&txn, &case).await?;
    outbox.append(&txn, &other).await?;
    txn.commit().await?;
    let ids = unsent(&db).await?;
    anyhow::ensure!(ids.len() == 6, "appended rows: {ids:?}");

    // The other relay holds the case's `fulfilled` (its second row).
    let holder = db.begin().await?;
    holder
        .execute(Statement::from_string(
            holder.get_database_backend(),
            format!("SELECT id FROM outbox WHERE id = {} FOR UPDATE", ids[1]),
        ))
        .await?;

    let relay = outbox.relay(db.clone(), js.clone(), Duration::from_secs(60));
    let sent = relay.flush().await?;
    // `started` goes; `closed` waits behind the held `fulfilled`; the other case is free.
    anyhow::ensure!(sent == 4, "sent {sent} with one row held");
    anyhow::ensure!(
        unsent(&db).await? == vec![ids[1], ids[2]],
        "unsent after the first flush: {:?}",
        unsent(&db).await?
    );

    holder.rollback().await?;
    let sent = relay.flush().await?;
    anyhow::ensure!(sent == 2, "sent {sent} once the row was free");

    let streamed: Vec<String> = stream_events(&js)
        .await?
        .into_iter()
        .filter(|e| e.case_id == case[0].case_id)
        .map(|e| e.r#type)
        .collect();
    anyhow::ensure!(
        streamed == ["fulfilment_started", "fulfilled", "closed"],
        "the case is in the stream as {streamed:?}"
    );
    Ok(())
}
