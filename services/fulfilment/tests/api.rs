//! Fulfilment's routes called in-process (`oneshot`, no socket) on an in-memory SQLite
//! database: roles, the order of steps, and that a refused request writes nothing.

// A test that cannot set up its database has nothing to report but the panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::StatusCode;
use axum::Router;
use chrono::Utc;
use clearline_contracts::{v1, EventDraft, Payload};
use clearline_fulfilment::{commands, routes, store, AppState};
use clearline_platform::http::{JwtKeys, Role};
use clearline_platform::outbox::{self, Outbox};
use sea_orm::DatabaseConnection;
use sea_orm_migration::MigratorTrait;
use serde_json::{json, Value};
use std::sync::Arc;
use uuid::Uuid;

struct Api {
    router: Router,
    db: DatabaseConnection,
    keys: Arc<JwtKeys>,
}

impl Api {
    async fn new() -> Api {
        let db = clearline_platform::db::connect("sqlite::memory:")
            .await
            .unwrap();
        store::Migrator::up(&db, None).await.unwrap();
        let keys = Arc::new(JwtKeys::from_secret("test-secret"));
        let state = AppState {
            db: db.clone(),
            outbox: Outbox::new(),
            keys: keys.clone(),
        };
        Api {
            router: routes::router(state),
            db,
            keys,
        }
    }

    /// An awaiting task for a case approved at unit `hp01`.
    async fn approved(&self) -> Uuid {
        let case = Uuid::now_v7();
        let due = Utc::now().timestamp_millis() + 86_400_000;
        let event = EventDraft {
            case_id: case,
            case_number: "HP01-20261129-00001".into(),
            service_type: "resident_id_card_renewal".into(),
            unit: "hp01".into(),
            actor_id: "a1".into(),
            actor_role: "approver".into(),
            causation_id: None,
            sequence: 3,
            payload: Payload::Approved(v1::Approved {
                note: String::new(),
                due_at_ms: due,
            }),
        }
        .build(Utc::now());
        commands::record_ready(&self.db, &event, due).await.unwrap();
        case
    }

    /// Calls as officer `f1` in `role` at unit `hp01`; answers the status and the JSON body.
    async fn call(
        &self,
        role: Role,
        method: &str,
        uri: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let token = self.keys.issue(
            "f1",
            "f1",
            &[role],
            Some("hp01"),
            chrono::Duration::hours(1),
        );
        clearline_platform::http::testing::send(&self.router, method, uri, Some(&token), body)
            .await
            .unwrap()
    }

    async fn step(&self, role: Role, case: Uuid, step: &str, body: Value) -> (StatusCode, String) {
        let (status, body) = self
            .call(
                role,
                "POST",
                &format!("/api/v1/fulfilments/{case}/{step}"),
                Some(body),
            )
            .await;
        let label = body["code"]
            .as_str()
            .or(body["status"].as_str())
            .unwrap_or("")
            .to_string();
        (status, label)
    }

    async fn unsent(&self) -> i64 {
        outbox::backlog(&self.db).await.unwrap().0
    }
}

#[tokio::test]
async fn steps_go_in_order_and_refusals_write_nothing() {
    let api = Api::new().await;
    let case = api.approved().await;
    let f = Role::Fulfilment;
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    assert_eq!(
        api.step(Role::Approver, case, "fulfil", json!({})).await,
        (StatusCode::FORBIDDEN, "forbidden_role".into())
    );
    assert_eq!(
        api.step(f, case, "close", json!({})).await,
        (StatusCode::CONFLICT, "invalid_transition".into())
    );
    assert_eq!(
        api.step(f, case, "start", json!({"mode": "home_visit"}))
            .await,
        (unprocessable, "scheduled_for_required".into())
    );
    assert_eq!(
        api.step(f, case, "start", json!({"mode": "drone"})).await,
        (unprocessable, "invalid_mode".into())
    );
    assert_eq!(
        api.step(f, Uuid::now_v7(), "fulfil", json!({})).await,
        (StatusCode::NOT_FOUND, "task_not_found".into())
    );
    assert_eq!(api.unsent().await, 0, "a 4xx writes nothing");

    let visit = json!({"mode": "home_visit", "scheduled_for": "2026-12-01T09:30:00+08:00"});
    assert_eq!(
        api.step(f, case, "start", visit).await,
        (StatusCode::OK, "in_fulfilment".into())
    );
    assert_eq!(
        api.step(f, case, "fulfil", json!({})).await,
        (StatusCode::OK, "fulfilled".into())
    );
    assert_eq!(
        api.step(f, case, "close", json!({})).await,
        (StatusCode::OK, "closed".into())
    );
    assert_eq!(api.unsent().await, 3);

    // The default list is the open work; a closed task shows only when asked for.
    let (_, open) = api
        .call(Role::Supervisor, "GET", "/api/v1/fulfilments", None)
        .await;
    assert_eq!(open, json!([]));
    let (_, closed) = api
        .call(
            Role::Supervisor,
            "GET",
            "/api/v1/fulfilments?status=closed&mode=home_visit",
            None,
        )
        .await;
    assert_eq!(closed[0]["case_id"], json!(case));
    assert_eq!(closed[0]["scheduled_for"], json!("2026-12-01T01:30:00Z"));
}
