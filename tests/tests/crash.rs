//! A consumer that dies with an event in hand, again and again: the event still arrives, or
//! at least lands in the dead letters, never lost. (Crashes under load, of every service,
//! the broker and the database, are the chaos suite's: tests/tests/chaos.rs.)

use anyhow::Context;
use clearline_platform::http::Role;
use clearline_tests::people::case_request;
use clearline_tests::station::PERMIT_MATERIALS;
use clearline_tests::{Backend, System};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use std::time::Duration;

async fn count(db: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    let row = db
        .query_one(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .context("COUNT returned no row")?;
    Ok(row.try_get("", "n")?)
}

/// DESIGN.md §4: "An event that fails `max_deliver` times is not dropped: it lands in a
/// dead-letter store". Deliveries that end with the process dead (a crash loop, or a stall
/// past `ack_wait` followed by a kill) count at the broker too, and the broker gives up after
/// its `max_deliver` without telling anyone. Here fulfilment is frozen (SIGSTOP) while an
/// approval is delivered to it, so the broker redelivers it every `ack_wait` (5 s in the
/// kit) into the frozen process until its deliveries are spent; then the process is killed
/// and started again. The approval must still reach fulfilment, or at least its dead letters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_outlives_a_consumer_that_dies_with_it_in_hand() -> anyhow::Result<()> {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;

    let mut system = System::spawn(Backend::Sqlite).await?;
    let clerk = system.person("clerk1", Role::Clerk, Some("HP01"));
    let approver = system.person("approver1", Role::Approver, Some("HP01"));
    let officer = system.person("officer1", Role::Fulfilment, Some("HP01"));

    let id = clerk
        .receive(case_request("residence_permit", &PERMIT_MATERIALS, 1))
        .await
        .id();
    system
        .eventually("the approval task", Duration::from_secs(20), || async {
            (approver.approval_task(&id).await.status == 200).then_some(())
        })
        .await?;
    // A fresh fulfilment, so its pull request outlives the five deliveries (it expires
    // after 30 s); give the new consumer a moment to ask for messages, then freeze it.
    system
        .restart("fulfilment", Duration::from_millis(50))
        .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pid = system
        .pid("fulfilment")
        .context("fulfilment is not running")?;
    kill(Pid::from_raw(i32::try_from(pid)?), Signal::SIGSTOP)?;
    let approved = approver.approve(&id).await;
    anyhow::ensure!(approved.status == 200, "approve: {:?}", approved.body);
    // Deliveries at 0, 5, 10, 15 and 20 s, each into the frozen process.
    tokio::time::sleep(Duration::from_secs(27)).await;
    system
        .restart("fulfilment", Duration::from_millis(50))
        .await?;

    let arrived = system
        .eventually("the fulfilment task", Duration::from_secs(15), || async {
            (officer.fulfilment_task(&id).await.status == 200).then_some(())
        })
        .await;
    let db = system.dbs.connect("fulfilment").await?;
    let dead = count(&db, "SELECT COUNT(*) AS n FROM dead_letters").await?;
    anyhow::ensure!(
        arrived.is_ok() || dead > 0,
        "the approval of {id} never reached fulfilment and is not in its dead letters"
    );
    Ok(())
}
