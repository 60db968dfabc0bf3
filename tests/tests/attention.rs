//! What falls between services is caught: an event no delivery can apply lands in the dead
//! letters and flags its case, and a replay after the fix finishes it (once, however often
//! it is replayed); a hand-over lost between services is noticed by the backlog's watch.

use async_nats::jetstream::consumer::PullConsumer;
use clearline_contracts::{subjects, CaseEvent, EventKind};
use clearline_tests::faults::{accept_tasks, refuse_tasks};
use clearline_tests::forensics::Evidence;
use clearline_tests::on_both_backends;
use clearline_tests::pipes::Pipes;
use clearline_tests::station::{expect_status, Station};
use clearline_tests::system::clearline_binary;
use clearline_tests::{Backend, System};
use futures::StreamExt;
use serde_json::Value;
use std::time::Duration;

on_both_backends!(
    a_poison_event_is_dead_lettered_flagged_and_replayed_once,
    a_lost_hand_over_is_flagged,
);

/// `clearline dead-letters …` against this system, as an operator would run it.
fn dead_letters_cli(system: &System, args: &[&str]) -> anyhow::Result<String> {
    let output = std::process::Command::new(clearline_binary()?)
        .arg("dead-letters")
        .args(args)
        .env("CLEARLINE_INTAKE_URL", system.url("intake"))
        .env("CLEARLINE_APPROVAL_URL", system.url("approval"))
        .env("CLEARLINE_FULFILMENT_URL", system.url("fulfilment"))
        .env("CLEARLINE_BACKLOG_URL", system.url("backlog"))
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    anyhow::ensure!(
        output.status.success(),
        "dead-letters {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(stdout)
}

async fn a_poison_event_is_dead_lettered_flagged_and_replayed_once(
    backend: Backend,
) -> anyhow::Result<()> {
    let system = System::spawn_with_env(backend, &[("CLEARLINE_MAX_DELIVER", "3")]).await?;
    let evidence = Evidence::keep_on_failure(&system);
    let pipes = Pipes::open(&system).await?;
    let hp = Station::at(&system, "HP01");
    refuse_tasks(pipes.db("fulfilment")?, backend).await?;

    let id = hp.receive_complete(1).await?;
    hp.approval_shows(&id, "pending").await?;
    expect_status(hp.approver.approve(&id).await, 200, "approving")?;

    // Three deliveries fail; the third keeps the event and flags the case.
    let letters = system
        .eventually(
            "a dead letter in fulfilment",
            Duration::from_secs(60),
            || async {
                let reply = hp
                    .supervisor
                    .get("fulfilment", "/api/v1/dead-letters")
                    .await;
                let letters = reply.body["dead_letters"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                (!letters.is_empty()).then_some(letters)
            },
        )
        .await?;
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0];
    assert_eq!(letter["case_id"], id.as_str());
    assert_eq!(letter["deliveries"], 3);
    assert!(letter["subject"]
        .as_str()
        .is_some_and(|s| s.ends_with(".approved")));
    let event_id = letter["event_id"].as_str().unwrap_or_default().to_string();
    let flagged = system
        .eventually("the case flagged", Duration::from_secs(30), || async {
            let case = hp.supervisor.tracked_case(&id).await.body;
            (case["attention"] == "dead_letter").then_some(case)
        })
        .await?;
    assert_eq!(flagged["wait_reason"], "needs_attention");
    assert!(dead_letters_cli(&system, &["list"])?.contains(&event_id));
    let shown = dead_letters_cli(&system, &["show", &event_id])?;
    assert!(shown.contains("task storage refused"), "{shown}");
    // Operators see why; the flag on the case says only what failed.
    assert!(!flagged.to_string().contains("task storage refused"));

    // Replayed before the fix, it fails again and stays a dead letter.
    let early = dead_letters_cli(&system, &["replay", &event_id])?;
    assert!(early.contains("\"failed\""), "{early}");
    // The fix, then two replays: the event applies once, from fulfilment's own copy.
    accept_tasks(pipes.db("fulfilment")?, backend).await?;
    let first = dead_letters_cli(&system, &["replay", &event_id])?;
    assert!(first.contains("\"applied\""), "{first}");
    let again = dead_letters_cli(&system, &["replay", &event_id])?;
    assert!(again.contains("\"already_resolved\""), "{again}");
    hp.fulfilment_shows(&id, "awaiting").await?;
    let cleared = system
        .eventually("the flag cleared", Duration::from_secs(30), || async {
            let case = hp.supervisor.tracked_case(&id).await.body;
            (case["attention"].is_null() && case["wait_reason"] == "production").then_some(case)
        })
        .await?;
    assert_eq!(cleared["status"], "awaiting_fulfilment");

    hp.hand_over(&id).await?;
    hp.backlog_shows(&id, "closed").await?;
    pipes.settled(&system).await?;
    let tasks_opened = pipes
        .outbox("fulfilment")
        .await?
        .iter()
        .filter_map(|(_, bytes)| CaseEvent::decode_checked(bytes).ok())
        .filter(|e| e.kind() == Some(EventKind::TaskOpened))
        .count();
    assert_eq!(tasks_opened, 1, "the task was opened once");
    let open = hp
        .supervisor
        .get("fulfilment", "/api/v1/dead-letters")
        .await;
    assert_eq!(open.body["dead_letters"], Value::Array(vec![]));
    hp.counters_agree().await?;
    evidence.not_needed();
    Ok(())
}

/// Takes every message the approval consumer holds and acknowledges it unseen: the
/// hand-over to approval is lost, as a bug that acked without acting would lose it.
async fn lose_approvals_mail(system: &System) -> anyhow::Result<usize> {
    let client = async_nats::connect(system.nats.url()).await?;
    let js = async_nats::jetstream::new(client);
    let consumer: PullConsumer = js
        .get_stream(subjects::STREAM)
        .await?
        .get_consumer("approval")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut lost = 0;
    let mut batch = consumer
        .fetch()
        .max_messages(100)
        .expires(Duration::from_secs(2))
        .messages()
        .await?;
    while let Some(message) = batch.next().await {
        let message = message.map_err(|e| anyhow::anyhow!("{e}"))?;
        message.ack().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        lost += 1;
    }
    Ok(lost)
}

async fn a_lost_hand_over_is_flagged(backend: Backend) -> anyhow::Result<()> {
    let system = System::spawn_with_env(
        backend,
        &[
            ("CLEARLINE_STUCK_AFTER_MS", "2000"),
            ("CLEARLINE_WATCH_MS", "200"),
        ],
    )
    .await?;
    let mut system = system;
    system.kill("approval");
    let id = {
        let hp = Station::at(&system, "HP01");
        let id = hp.receive_complete(2).await?;
        hp.backlog_shows(&id, "pending_approval").await?;
        id
    };
    assert!(lose_approvals_mail(&system).await? >= 2);
    system.start("approval")?;
    system.wait_ready("approval").await?;
    let evidence = Evidence::keep_on_failure(&system);
    let hp = Station::at(&system, "HP01");

    let flagged = system
        .eventually(
            "the lost hand-over flagged",
            Duration::from_secs(30),
            || async {
                let case = hp.supervisor.tracked_case(&id).await.body;
                (case["attention"] == "no_approval_task").then_some(case)
            },
        )
        .await?;
    assert_eq!(flagged["wait_reason"], "needs_attention");
    assert_eq!(flagged["status"], "pending_approval");
    let task = hp.approver.approval_task(&id).await;
    assert_eq!(task.status, 404, "approval never saw it");
    let listed = hp
        .supervisor
        .tracked_cases("wait_reason=needs_attention")
        .await;
    assert_eq!(listed.body["total"], 1, "{}", listed.body);
    evidence.not_needed();
    Ok(())
}
