//! Fulfilment's commands against a real (in-memory SQLite) database: out-of-order and
//! repeated deliveries, the steps in order, and the events they append. No broker.

// A test that cannot set up its database has nothing to report but the panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use clearline_contracts::Actor;
use clearline_contracts::{v1, CaseEvent, EventDraft, Payload};
use clearline_domain::FulfilmentMode;
use clearline_fulfilment::commands::{self, Action, CommandError};
use clearline_fulfilment::store::{self, TaskStatus};
use clearline_platform::outbox::Outbox;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use sea_orm_migration::MigratorTrait;
use uuid::Uuid;

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
        service_type: "temporary_id_card".into(),
        unit: "hp01".into(),
        actor_id: "approver1".into(),
        actor_role: "approver".into(),
        causation_id: None,
        sequence,
        payload,
    }
    .build(Utc::now())
}

async fn approve(db: &DatabaseConnection, case: Uuid, sequence: u32) {
    let due = Utc::now().timestamp_millis() + 86_400_000;
    let e = event(
        case,
        sequence,
        Payload::Approved(v1::Approved {
            note: String::new(),
            due_at_ms: due,
        }),
    );
    commands::record_ready(db, &e, due).await.unwrap();
}

async fn cancel(db: &DatabaseConnection, case: Uuid, sequence: u32) {
    let e = event(
        case,
        sequence,
        Payload::Cancelled(v1::Cancelled {
            reason: "withdrawn".into(),
        }),
    );
    commands::record_cancel(db, &e).await.unwrap();
}

async fn act(
    db: &DatabaseConnection,
    case: Uuid,
    action: Action,
) -> Result<store::Task, CommandError> {
    let task = store::find_for_update(db, case)
        .await
        .unwrap()
        .expect("task exists");
    let actor = Actor {
        id: "officer1".into(),
        role: "fulfilment".into(),
    };
    commands::act(db, &Outbox::new(), task, action, &actor, Utc::now()).await
}

async fn status(db: &DatabaseConnection, case: Uuid) -> (TaskStatus, i32) {
    let task = store::find_for_update(db, case)
        .await
        .unwrap()
        .expect("task exists");
    (task.status().unwrap(), task.sequence)
}

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
async fn a_case_goes_from_approved_to_closed_in_order() {
    let db = db().await;
    let case = Uuid::now_v7();
    approve(&db, case, 4).await;
    approve(&db, case, 4).await; // a second delivery creates nothing new
    assert_eq!(status(&db, case).await, (TaskStatus::Awaiting, 4));

    let early = act(&db, case, Action::Close).await;
    assert!(matches!(early, Err(CommandError::NotAllowed(_))));
    let start = Action::Start {
        mode: FulfilmentMode::CounterPickup,
        scheduled_for: None,
    };
    act(&db, case, start).await.unwrap();
    act(&db, case, Action::Fulfil).await.unwrap();
    act(&db, case, Action::Close).await.unwrap();
    assert_eq!(status(&db, case).await, (TaskStatus::Closed, 7));

    // A withdrawal that lost the race to the hand-over changes nothing.
    cancel(&db, case, 5).await;
    assert_eq!(status(&db, case).await.0, TaskStatus::Closed);
    let types = outbox(&db).await;
    assert_eq!(
        types,
        vec![
            ("fulfilment_started".to_string(), 5),
            ("fulfilled".to_string(), 6),
            ("closed".to_string(), 7)
        ]
    );
}

#[tokio::test]
async fn a_cancel_before_the_approval_leaves_a_tombstone() {
    let db = db().await;
    let case = Uuid::now_v7();
    cancel(&db, case, 5).await;
    approve(&db, case, 4).await;
    assert_eq!(status(&db, case).await.0, TaskStatus::Cancelled);
    let refused = act(
        &db,
        case,
        Action::Start {
            mode: FulfilmentMode::Mail,
            scheduled_for: None,
        },
    )
    .await;
    assert!(matches!(refused, Err(CommandError::NotAllowed(_))));
}

#[tokio::test]
async fn a_cancel_during_fulfilment_stops_it() {
    let db = db().await;
    let case = Uuid::now_v7();
    approve(&db, case, 4).await;
    let start = Action::Start {
        mode: FulfilmentMode::Mail,
        scheduled_for: None,
    };
    act(&db, case, start).await.unwrap();
    cancel(&db, case, 5).await;
    assert_eq!(status(&db, case).await, (TaskStatus::Cancelled, 5));
    assert!(matches!(
        act(&db, case, Action::Fulfil).await,
        Err(CommandError::NotAllowed(_))
    ));
}
