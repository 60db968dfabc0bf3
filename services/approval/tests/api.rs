//! Approval's routes called in-process (`oneshot`, no socket) on an in-memory SQLite
//! database: roles, units, the receiving-clerk rule, and that a refused request writes nothing.

// A test that cannot set up its database has nothing to report but the panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::http::StatusCode;
use axum::Router;
use chrono::Utc;
use clearline_approval::{commands, routes, store, AppState};
use clearline_contracts::{v1, EventDraft, Payload};
use clearline_domain::Catalog;
use clearline_platform::http::{JwtKeys, Role};
use clearline_platform::outbox::{self, Outbox};
use sea_orm::DatabaseConnection;
use sea_orm_migration::MigratorTrait;
use serde_json::{json, Value};
use std::sync::Arc;
use uuid::Uuid;

const SERVICE: &str = "resident_id_card_renewal";

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
            catalog: Arc::new(Catalog::seed()),
            keys: keys.clone(),
        };
        Api {
            router: routes::router(state),
            db,
            keys,
        }
    }

    /// A pending task for a case the clerk `clerk1` received at unit `hp01`.
    async fn submitted(&self) -> Uuid {
        let case = Uuid::now_v7();
        let submitted = v1::Submitted {
            approval_required: true,
            received_by: "clerk1".into(),
            due_at_ms: Utc::now().timestamp_millis() + 86_400_000,
            round: 1,
            window: "w1".into(),
        };
        let event = EventDraft {
            case_id: case,
            case_number: "HP01-20261129-00001".into(),
            service_type: SERVICE.into(),
            unit: "hp01".into(),
            actor_id: "clerk1".into(),
            actor_role: "clerk".into(),
            causation_id: None,
            sequence: 2,
            payload: Payload::Submitted(submitted.clone()),
        }
        .build(Utc::now());
        commands::record_submission(&self.db, &event, &submitted)
            .await
            .unwrap();
        case
    }

    async fn call(
        &self,
        user: &str,
        role: Role,
        unit: &str,
        method: &str,
        uri: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let token = self
            .keys
            .issue(user, user, &[role], Some(unit), chrono::Duration::hours(1));
        clearline_platform::http::testing::send(&self.router, method, uri, Some(&token), body)
            .await
            .unwrap()
    }

    async fn decide(
        &self,
        user: &str,
        role: Role,
        unit: &str,
        case: Uuid,
        body: Value,
    ) -> (StatusCode, String) {
        let uri = format!("/api/v1/approvals/{case}/decision");
        let (status, body) = self.call(user, role, unit, "POST", &uri, Some(body)).await;
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
async fn refused_decisions_say_why_and_write_nothing() {
    let api = Api::new().await;
    let case = api.submitted().await;
    let approve = json!({"decision": "approve"});
    let refusals = [
        (
            api.decide("c2", Role::Clerk, "hp01", case, approve.clone())
                .await,
            StatusCode::FORBIDDEN,
            "forbidden_role",
        ),
        (
            api.decide("a1", Role::Approver, "xx09", case, approve.clone())
                .await,
            StatusCode::FORBIDDEN,
            "wrong_unit",
        ),
        (
            api.decide(
                "a1",
                Role::Approver,
                "hp01",
                Uuid::now_v7(),
                approve.clone(),
            )
            .await,
            StatusCode::NOT_FOUND,
            "task_not_found",
        ),
        (
            api.decide("clerk1", Role::Approver, "hp01", case, approve.clone())
                .await,
            StatusCode::FORBIDDEN,
            "approver_is_receiving_clerk",
        ),
        (
            api.decide(
                "a1",
                Role::Approver,
                "hp01",
                case,
                json!({"decision": "reject"}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "reason_required",
        ),
        (
            api.decide(
                "a1",
                Role::Approver,
                "hp01",
                case,
                json!({"decision": "return"}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "materials_required",
        ),
        (
            api.decide(
                "a1",
                Role::Approver,
                "hp01",
                case,
                json!({"decision": "return", "materials": ["nope"]}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_material",
        ),
        (
            api.decide(
                "a1",
                Role::Approver,
                "hp01",
                case,
                json!({"decision": "maybe"}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_decision",
        ),
    ];
    for ((got, code), status, expected) in refusals {
        assert_eq!((got, code.as_str()), (status, expected));
    }
    let (status, _) = api
        .decide(
            "a1",
            Role::Approver,
            "hp01",
            case,
            json!({"decision": "approve", "extra": 1}),
        )
        .await;
    assert!(
        status.is_client_error(),
        "unknown fields are refused: {status}"
    );
    assert_eq!(api.unsent().await, 0, "a 4xx writes nothing");

    assert_eq!(
        api.decide("a1", Role::Approver, "hp01", case, approve.clone())
            .await,
        (StatusCode::OK, "approved".into())
    );
    assert_eq!(api.unsent().await, 1);
    assert_eq!(
        api.decide("a2", Role::Approver, "hp01", case, approve)
            .await,
        (StatusCode::CONFLICT, "not_pending".into())
    );
}

#[tokio::test]
async fn the_queue_shows_the_unit_its_pending_tasks() {
    let api = Api::new().await;
    let case = api.submitted().await;
    let (status, list) = api
        .call(
            "a1",
            Role::Approver,
            "hp01",
            "GET",
            "/api/v1/approvals",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list[0]["case_id"], json!(case));
    assert_eq!(list[0]["overdue"], json!(false));
    let (_, list) = api
        .call(
            "a1",
            Role::Approver,
            "hp01",
            "GET",
            "/api/v1/approvals?overdue=true",
            None,
        )
        .await;
    assert_eq!(list, json!([]));
    let (status, _) = api
        .call(
            "a1",
            Role::Approver,
            "hp01",
            "GET",
            "/api/v1/approvals?unit=xx09",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = api
        .call(
            "a1",
            Role::Approver,
            "hp01",
            "GET",
            "/api/v1/approvals?status=open",
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_status"))
    );
    let (status, one) = api
        .call(
            "s1",
            Role::Supervisor,
            "hp01",
            "GET",
            &format!("/api/v1/approvals/{case}"),
            None,
        )
        .await;
    assert_eq!(
        (status, one["status"].as_str()),
        (StatusCode::OK, Some("pending"))
    );
}
