//! Whole lifecycles across every service, on real NATS and real databases, on both
//! PostgreSQL and SQLite.

use clearline_platform::http::Role;
use clearline_tests::people::case_request;
use clearline_tests::{Backend, Person, System};
use serde_json::Value;
use std::time::Duration;

/// Runs a scenario once per database backend.
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() -> anyhow::Result<()> {
                super::$scenario(clearline_tests::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() -> anyhow::Result<()> {
                super::$scenario(clearline_tests::Backend::Postgres).await
            }
        }
    )*};
}

on_both_backends!(full_lifecycle);

const SETTLE: Duration = Duration::from_secs(20);

struct Staff {
    clerk: Person,
    approver: Person,
    officer: Person,
    supervisor: Person,
}

fn staff(system: &System) -> Staff {
    Staff {
        clerk: system.person("clerk1", Role::Clerk, Some("HP01")),
        approver: system.person("approver1", Role::Approver, Some("HP01")),
        officer: system.person("officer1", Role::Fulfilment, Some("HP01")),
        supervisor: system.person("supervisor1", Role::Supervisor, None),
    }
}

/// Waits until the backlog shows the case in `status`.
async fn until_backlog_shows(
    system: &System,
    who: &Person,
    id: &str,
    status: &str,
) -> anyhow::Result<Value> {
    system
        .eventually(
            &format!("case {id} to be {status} in the backlog"),
            SETTLE,
            || async {
                let reply = who.tracked_case(id).await;
                (reply.status == 200 && reply.body["status"] == status).then_some(reply.body)
            },
        )
        .await
}

async fn until_ok(
    system: &System,
    what: &str,
    f: impl Fn() -> futures::future::BoxFuture<'static, u16>,
) -> anyhow::Result<()> {
    system
        .eventually(what, SETTLE, || {
            let fut = f();
            async move { (fut.await == 200).then_some(()) }
        })
        .await
}

async fn full_lifecycle(backend: Backend) -> anyhow::Result<()> {
    let system = System::spawn(backend).await?;
    let s = staff(&system);

    let received = s
        .clerk
        .receive(case_request("residence_permit", &["id_card"], 1))
        .await;
    assert_eq!(received.status, 201, "{:?}", received.body);
    assert_eq!(received.body["status"], "awaiting_materials");
    let missing: Vec<&str> = received.body["missing_materials"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["code"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        missing,
        ["proof_of_residence", "proof_of_work_or_study"],
        "one notice lists everything missing"
    );
    assert!(
        !received.body.to_string().contains("13800138000"),
        "phone is masked"
    );
    let id = received.id();
    until_backlog_shows(&system, &s.supervisor, &id, "awaiting_materials").await?;

    let completed = s
        .clerk
        .add_materials(&id, &["proof_of_residence", "proof_of_work_or_study"])
        .await;
    assert_eq!(completed.status, 200, "{:?}", completed.body);
    assert_eq!(completed.body["status"], "pending_approval");

    let approver = s.approver.clone();
    let case_id = id.clone();
    until_ok(&system, "the approval task", move || {
        let (a, c) = (approver.clone(), case_id.clone());
        Box::pin(async move { a.approval_task(&c).await.status })
    })
    .await?;
    let approved = s.approver.approve(&id).await;
    assert_eq!(approved.status, 200, "{:?}", approved.body);

    let officer = s.officer.clone();
    let case_id = id.clone();
    until_ok(&system, "the fulfilment task", move || {
        let (o, c) = (officer.clone(), case_id.clone());
        Box::pin(async move { o.fulfilment_task(&c).await.status })
    })
    .await?;
    assert_eq!(s.officer.start(&id, "counter_pickup").await.status, 200);
    assert_eq!(s.officer.fulfil(&id).await.status, 200);
    assert_eq!(s.officer.close(&id).await.status, 200);

    let tracked = until_backlog_shows(&system, &s.supervisor, &id, "closed").await?;
    assert_eq!(tracked["stage"], "done");
    let verify = s.supervisor.verify_counters().await;
    assert_eq!(verify.body["ok"], true, "{:?}", verify.body);
    Ok(())
}
