//! Approval's commands against a real (in-memory SQLite) database: out-of-order and
//! repeated deliveries, the return loop, and the events a decision appends. No broker.

// A test that cannot set up its database has nothing to report but the panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use clearline_approval::commands::{self, CommandError, DecisionInput, DecisionKind};
use clearline_approval::store::{self, TaskStatus};
use clearline_contracts::Actor;
use clearline_contracts::{v1, CaseEvent, EventDraft, Payload};
use clearline_domain::Catalog;
use clearline_platform::outbox::Outbox;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use sea_orm_migration::MigratorTrait;
use uuid::Uuid;

const SERVICE: &str = "resident_id_card_renewal";

async fn db() -> DatabaseConnection {
    let db = clearline_platform::db::connect("sqlite::memory:")
        .await
        .unwrap();
    store::Migrator::up(&db, None).await.unwrap();
    db
}

fn event(case: Uuid, sequence: u32, payload: Payload) -> CaseEvent {
    EventDraft {
        case_id: case,
        case_number: "HP01-20261129-00001".into(),
        service_type: SERVICE.into(),
        unit: "hp01".into(),
        actor_id: "clerk1".into(),
        actor_role: "clerk".into(),
        causation_id: None,
        sequence,
        payload,
    }
    .build(Utc::now())
}

fn submitted(round: u32) -> v1::Submitted {
    v1::Submitted {
        approval_required: true,
        received_by: "clerk1".into(),
        due_at_ms: Utc::now().timestamp_millis() + 86_400_000,
        round,
        window: "w1".into(),
    }
}

async fn submit(db: &DatabaseConnection, case: Uuid, sequence: u32, round: u32) {
    let s = submitted(round);
    let e = event(case, sequence, Payload::Submitted(s.clone()));
    commands::record_submission(db, &e, &s).await.unwrap();
}

async fn cancel(db: &DatabaseConnection, case: Uuid, sequence: u32) {
    let c = v1::Cancelled {
        reason: "withdrawn".into(),
    };
    let e = event(case, sequence, Payload::Cancelled(c.clone()));
    commands::record_cancel(db, &e, &c).await.unwrap();
}

async fn decide(
    db: &DatabaseConnection,
    case: Uuid,
    who: &str,
    kind: DecisionKind,
    materials: &[&str],
) -> Result<store::Task, CommandError> {
    let task = store::find_for_update(db, case)
        .await
        .unwrap()
        .expect("task exists");
    let input = DecisionInput {
        kind,
        reason: Some("checked".into()),
        materials: materials.iter().map(|m| (*m).to_string()).collect(),
    };
    let catalog = Catalog::seed();
    let actor = Actor {
        id: who.into(),
        role: "approver".into(),
    };
    commands::decide(
        db,
        &Outbox::new(),
        task,
        input,
        catalog.get(SERVICE),
        &actor,
        Utc::now(),
    )
    .await
}

async fn status(db: &DatabaseConnection, case: Uuid) -> (TaskStatus, i32, i32) {
    let task = store::find_for_update(db, case)
        .await
        .unwrap()
        .expect("task exists");
    (task.status().unwrap(), task.round, task.sequence)
}

/// The events in the outbox, oldest first, as (type, sequence).
async fn outbox(db: &DatabaseConnection) -> Vec<(String, u32)> {
    let rows = db
        .query_all(Statement::from_string(
            db.get_database_backend(),
            "SELECT payload FROM outbox ORDER BY id",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            let bytes: Vec<u8> = r.try_get("", "payload").unwrap();
            let e = CaseEvent::decode_checked(&bytes).unwrap();
            (e.r#type, e.sequence)
        })
        .collect()
}

#[tokio::test]
async fn the_return_loop_reopens_the_task_and_stale_submissions_do_not() {
    let db = db().await;
    let case = Uuid::now_v7();
    let material = Catalog::seed().get(SERVICE).unwrap().materials[0]
        .code
        .clone();
    submit(&db, case, 3, 1).await;
    assert_eq!(status(&db, case).await, (TaskStatus::Pending, 1, 3));

    decide(&db, case, "approver1", DecisionKind::Return, &[&material])
        .await
        .unwrap();
    assert_eq!(status(&db, case).await, (TaskStatus::Returned, 1, 4));

    // Intake took it back (5: notice, 6: completed) and submitted round 2.
    submit(&db, case, 7, 2).await;
    assert_eq!(status(&db, case).await, (TaskStatus::Pending, 2, 7));
    // The first submission redelivered late changes nothing.
    submit(&db, case, 3, 1).await;
    assert_eq!(status(&db, case).await, (TaskStatus::Pending, 2, 7));

    let refused = decide(&db, case, "clerk1", DecisionKind::Approve, &[]).await;
    assert!(matches!(refused, Err(CommandError::ReceivingClerk)));
    decide(&db, case, "approver1", DecisionKind::Approve, &[])
        .await
        .unwrap();
    assert_eq!(status(&db, case).await, (TaskStatus::Approved, 2, 8));
    let again = decide(&db, case, "approver2", DecisionKind::Reject, &[]).await;
    assert!(matches!(again, Err(CommandError::NotPending(_))));

    // A withdrawal that lost the race leaves the approval standing.
    cancel(&db, case, 8).await;
    assert_eq!(status(&db, case).await, (TaskStatus::Approved, 2, 8));
    assert_eq!(
        outbox(&db).await,
        vec![("returned".to_string(), 4), ("approved".to_string(), 8)]
    );
}

#[tokio::test]
async fn a_cancel_before_the_submission_leaves_a_tombstone() {
    let db = db().await;
    let case = Uuid::now_v7();
    cancel(&db, case, 4).await;
    submit(&db, case, 3, 1).await;
    assert_eq!(status(&db, case).await.0, TaskStatus::Cancelled);
    let refused = decide(&db, case, "approver1", DecisionKind::Approve, &[]).await;
    assert!(matches!(refused, Err(CommandError::NotPending(_))));
    assert!(outbox(&db).await.is_empty());
}

#[tokio::test]
async fn a_cancel_after_the_submission_closes_the_task() {
    let db = db().await;
    let case = Uuid::now_v7();
    submit(&db, case, 3, 1).await;
    cancel(&db, case, 4).await;
    assert_eq!(status(&db, case).await, (TaskStatus::Cancelled, 1, 4));
    // Redelivered submission after the cancel: still cancelled.
    submit(&db, case, 3, 1).await;
    assert_eq!(status(&db, case).await.0, TaskStatus::Cancelled);
}
