//! Test kit: a fresh migrated SQLite file per test, and case histories told as stories
//! (`clerk receives, approver approves, officer starts…`) that turn into real events.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, Utc};
use clearline_backlog::projection::{self, Applied, Policy};
use clearline_backlog::store::{
    count, due_count, flow_count, queries, CaseCounts, DueCounts, Migrator,
};
use clearline_contracts::{v1, CaseEvent, EventDraft, Payload};
use sea_orm::{DatabaseConnection, EntityTrait, TransactionTrait};
use sea_orm_migration::MigratorTrait;
use tempfile::TempDir;
use uuid::Uuid;

/// A GET through the backlog's router (no socket) as a user holding `role` (and `unit`):
/// the status and the JSON body (`Null` when it is not JSON).
pub async fn get_as(
    db: &TestDb,
    path: &str,
    role: clearline_platform::http::Role,
    unit: Option<&str>,
) -> (axum::http::StatusCode, serde_json::Value) {
    use tower::ServiceExt;
    let keys = std::sync::Arc::new(clearline_platform::http::JwtKeys::from_secret(
        clearline_platform::config::DEV_JWT_SECRET,
    ));
    let token = keys.issue("user-1", "User One", &[role], unit, Duration::hours(1));
    let router = clearline_backlog::routes::router(clearline_backlog::AppState {
        db: db.db.clone(),
        keys,
        policy: Default::default(),
    });
    let request = axum::http::Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

/// [`get_as`] that must answer 200, read as `T`.
pub async fn get_ok_as<T: serde::de::DeserializeOwned>(
    db: &TestDb,
    path: &str,
    role: clearline_platform::http::Role,
    unit: Option<&str>,
) -> T {
    let (status, body) = get_as(db, path, role, unit).await;
    assert_eq!(status, axum::http::StatusCode::OK, "{path}: {body}");
    serde_json::from_value(body).unwrap()
}

/// What the watch put in the backlog's outbox since `seen`, decoded.
pub async fn announced(db: &TestDb, seen: &mut usize) -> Vec<CaseEvent> {
    use sea_orm::{ConnectionTrait, Statement};
    let rows = db
        .db
        .query_all(Statement::from_string(
            db.db.get_database_backend(),
            "SELECT payload FROM outbox ORDER BY id",
        ))
        .await
        .unwrap();
    let events: Vec<CaseEvent> = rows
        .iter()
        .skip(*seen)
        .map(|r| CaseEvent::decode_checked(&r.try_get::<Vec<u8>>("", "payload").unwrap()).unwrap())
        .collect();
    *seen += events.len();
    events
}

/// Which database a test runs on. Both are what the product supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    /// A fresh database on `CLEARLINE_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432`),
    /// as the cross-service suite uses.
    Postgres,
}

/// Each scenario runs on SQLite and on PostgreSQL, as `<scenario>::sqlite` and `::postgres`.
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test]
            async fn sqlite() {
                super::$scenario(super::Backend::Sqlite).await;
            }
            #[tokio::test]
            async fn postgres() {
                super::$scenario(super::Backend::Postgres).await;
            }
        }
    )*};
}

/// A database of its own, removed with the value.
pub struct TestDb {
    pub db: DatabaseConnection,
    postgres_url: Option<String>,
    _dir: Option<TempDir>,
}

/// A fresh SQLite file in a temporary directory, migrated.
pub async fn fresh_db() -> TestDb {
    fresh(Backend::Sqlite).await
}

pub async fn fresh(backend: Backend) -> TestDb {
    let (url, dir, postgres_url) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("backlog.db").display()
            );
            (url, Some(dir), None)
        }
        Backend::Postgres => {
            let server = std::env::var("CLEARLINE_TEST_POSTGRES")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string());
            let url = format!("{server}/backlog_{}", Uuid::new_v4().simple());
            clearline_platform::db::create_database_if_missing(&url)
                .await
                .expect("PostgreSQL reachable (set CLEARLINE_TEST_POSTGRES)");
            (url.clone(), None, Some(url))
        }
    };
    let db = clearline_platform::db::connect(&url).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    TestDb {
        db,
        postgres_url,
        _dir: dir,
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(url) = self.postgres_url.take() else {
            return;
        };
        // Drop runs outside async code: clean up on a thread with its own small runtime.
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                let _ = rt.block_on(clearline_platform::db::drop_database(&url));
            }
        })
        .join();
    }
}

impl TestDb {
    /// Applies one event in its own transaction, as the consumer would.
    pub async fn apply(&self, event: &CaseEvent) -> Applied {
        let txn = self.db.begin().await.unwrap();
        let applied = projection::apply(&txn, event, &Policy::default())
            .await
            .unwrap();
        txn.commit().await.unwrap();
        applied
    }

    pub async fn apply_all<'a>(&self, events: impl IntoIterator<Item = &'a CaseEvent>) {
        for event in events {
            self.apply(event).await;
        }
    }

    /// Everything the read model holds, in a comparable form.
    pub async fn snapshot(&self) -> Snapshot {
        let mut counts = nonzero(CaseCounts::find().all(&self.db).await.unwrap(), |c| c.n);
        counts.sort_by(|a, b| {
            (&a.unit, &a.service_type, &a.status).cmp(&(&b.unit, &b.service_type, &b.status))
        });
        let mut recounted = queries::recount(&self.db, None).await.unwrap();
        recounted.sort_by(|a, b| {
            (&a.unit, &a.service_type, &a.status).cmp(&(&b.unit, &b.service_type, &b.status))
        });
        let mut due = nonzero(DueCounts::find().all(&self.db).await.unwrap(), |c| c.n);
        due.sort_by(|a, b| (&a.unit, a.due_day).cmp(&(&b.unit, b.due_day)));
        let due_recounted = queries::recount_due(&self.db, None).await.unwrap();
        let mut flow = nonzero(flow_count::counters(&self.db, None).await.unwrap(), |c| c.n);
        let mut flow_recounted = flow_count::recount(&self.db, None).await.unwrap();
        let flow_order = |a: &flow_count::Model, b: &flow_count::Model| {
            (&a.unit, &a.measure, a.slot).cmp(&(&b.unit, &b.measure, b.slot))
        };
        flow.sort_by(flow_order);
        flow_recounted.sort_by(flow_order);
        Snapshot {
            cases: queries::all_cases(&self.db).await.unwrap(),
            counts,
            recounted,
            due,
            due_recounted,
            flow,
            flow_recounted,
        }
    }
}

/// The counters that count something: a counter at zero is the same as none.
fn nonzero<T>(counters: Vec<T>, n: impl Fn(&T) -> i64) -> Vec<T> {
    counters.into_iter().filter(|c| n(c) != 0).collect()
}

#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub cases: Vec<clearline_backlog::store::case::Model>,
    /// The maintained counters, zeros left out.
    pub counts: Vec<count::Model>,
    /// The counters recounted from the cases, as `/verify` does.
    pub recounted: Vec<count::Model>,
    /// The due-day counters, zeros left out, and their recount (in the same order).
    pub due: Vec<due_count::Model>,
    pub due_recounted: Vec<due_count::Model>,
    /// The flow counters, zeros left out, and their recount (in the same key order).
    pub flow: Vec<flow_count::Model>,
    pub flow_recounted: Vec<flow_count::Model>,
}

/// Staff in the stories. Ids only: events never name residents.
pub const CLERK: (&str, &str) = ("clerk-li", "clerk");
pub const CLERK2: (&str, &str) = ("clerk-wang", "clerk");
pub const APPROVER: (&str, &str) = ("approver-zhao", "approver");
pub const OFFICER: (&str, &str) = ("officer-sun", "fulfilment");
pub const SYSTEM: (&str, &str) = ("intake", "system");

/// One case's history, built the way the services build it: each emitter numbers its event
/// one past the last it saw.
pub struct Story {
    pub case_id: Uuid,
    case_number: String,
    unit: String,
    service_type: String,
    approval: bool,
    pub due_at: DateTime<Utc>,
    at: DateTime<Utc>,
    seq: u32,
    round: u32,
    pub events: Vec<CaseEvent>,
}

/// A base time with whole milliseconds, as events carry.
pub fn base_time() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap() - Duration::days(10)
}

impl Story {
    pub fn new(
        number: u32,
        unit: &str,
        service_type: &str,
        approval: bool,
        start: DateTime<Utc>,
        due_in: Duration,
    ) -> Story {
        Story {
            case_id: Uuid::now_v7(),
            case_number: format!("{unit}-20251129-{number:05}"),
            unit: unit.to_string(),
            service_type: service_type.to_string(),
            approval,
            due_at: start + due_in,
            at: start,
            seq: 0,
            round: 0,
            events: Vec::new(),
        }
    }

    pub fn at(&self) -> DateTime<Utc> {
        self.at
    }

    /// Lets time pass before the next event.
    pub fn later(&mut self, pause: Duration) -> &mut Self {
        self.at += pause;
        self
    }

    pub fn last(&self) -> &CaseEvent {
        self.events.last().unwrap()
    }

    fn push(&mut self, actor: (&str, &str), payload: Payload) -> &mut Self {
        self.seq += 1;
        let seq = self.seq;
        self.push_at(seq, actor, payload)
    }

    fn push_at(&mut self, sequence: u32, actor: (&str, &str), payload: Payload) -> &mut Self {
        self.at += Duration::minutes(7);
        let event = EventDraft {
            case_id: self.case_id,
            case_number: self.case_number.clone(),
            service_type: self.service_type.clone(),
            unit: self.unit.clone(),
            actor_id: actor.0.to_string(),
            actor_role: actor.1.to_string(),
            causation_id: None,
            sequence,
            payload,
        }
        .build(self.at);
        self.events.push(event);
        self
    }

    pub fn booked(&mut self, clerk: (&str, &str)) -> &mut Self {
        let at = self.at + Duration::days(1);
        self.push(
            clerk,
            Payload::AppointmentBooked(v1::AppointmentBooked {
                window: "W2".into(),
                appointment_at_ms: at.timestamp_millis(),
            }),
        )
    }

    /// `received`, then the one-time notice when something is missing, else `submitted`.
    pub fn received(&mut self, clerk: (&str, &str), missing: &[&str]) -> &mut Self {
        let missing: Vec<String> = missing.iter().map(|m| m.to_string()).collect();
        self.push(
            clerk,
            Payload::Received(v1::Received {
                window: "W1".into(),
                channel: "window".into(),
                due_at_ms: self.due_at.timestamp_millis(),
                approval_required: self.approval,
                missing_materials: missing.clone(),
                applicant_id_masked: "110***********123X".into(),
            }),
        );
        if missing.is_empty() {
            self.submitted(clerk)
        } else {
            self.push(
                clerk,
                Payload::MaterialsRequested(v1::MaterialsRequested {
                    missing_materials: missing,
                }),
            )
        }
    }

    pub fn completed(&mut self, clerk: (&str, &str)) -> &mut Self {
        self.push(
            clerk,
            Payload::MaterialsCompleted(v1::MaterialsCompleted {}),
        );
        self.submitted(clerk)
    }

    fn submitted(&mut self, clerk: (&str, &str)) -> &mut Self {
        self.round += 1;
        let payload = Payload::Submitted(v1::Submitted {
            approval_required: self.approval,
            received_by: CLERK.0.into(),
            due_at_ms: self.due_at.timestamp_millis(),
            round: self.round,
            window: "W1".into(),
        });
        self.push(clerk, payload)
    }

    /// Approval moves the promised time (e.g. card production booked).
    pub fn approved(&mut self, new_due: Option<DateTime<Utc>>) -> &mut Self {
        if let Some(due) = new_due {
            self.due_at = due;
        }
        let due_at_ms = new_due.map_or(0, |d| d.timestamp_millis());
        self.push(
            APPROVER,
            Payload::Approved(v1::Approved {
                note: "materials in order".into(),
                due_at_ms,
            }),
        )
    }

    pub fn rejected(&mut self) -> &mut Self {
        self.push(
            APPROVER,
            Payload::Rejected(v1::Rejected {
                reason: "not eligible".into(),
            }),
        )
    }

    /// Approval returns the case; intake re-issues the notice as a system actor.
    pub fn returned(&mut self, missing: &[&str]) -> &mut Self {
        let missing: Vec<String> = missing.iter().map(|m| m.to_string()).collect();
        self.push(
            APPROVER,
            Payload::Returned(v1::Returned {
                missing_materials: missing.clone(),
                reason: "photo unclear".into(),
            }),
        );
        self.push(
            SYSTEM,
            Payload::MaterialsRequested(v1::MaterialsRequested {
                missing_materials: missing,
            }),
        )
    }

    pub fn started(&mut self, mode: &str) -> &mut Self {
        let scheduled_for_ms = if mode == "home_visit" {
            (self.at + Duration::days(2)).timestamp_millis()
        } else {
            0
        };
        self.push(
            OFFICER,
            Payload::FulfilmentStarted(v1::FulfilmentStarted {
                mode: mode.into(),
                scheduled_for_ms,
            }),
        )
    }

    /// Fulfilment from start to close, in one `mode`.
    pub fn handed_over(&mut self, mode: &str) -> &mut Self {
        self.started(mode).fulfilled().closed()
    }

    pub fn fulfilled(&mut self) -> &mut Self {
        self.push(OFFICER, Payload::Fulfilled(v1::Fulfilled {}))
    }

    pub fn closed(&mut self) -> &mut Self {
        self.push(OFFICER, Payload::Closed(v1::Closed {}))
    }

    pub fn cancelled(&mut self, by: (&str, &str)) -> &mut Self {
        self.push(
            by,
            Payload::Cancelled(v1::Cancelled {
                reason: "resident withdrew".into(),
            }),
        )
    }

    /// A cancel that raced another service's step: intake numbered it from what it had seen.
    pub fn cancelled_racing(&mut self, by: (&str, &str)) -> &mut Self {
        let seq = self.seq;
        self.push_at(
            seq,
            by,
            Payload::Cancelled(v1::Cancelled {
                reason: "resident withdrew".into(),
            }),
        )
    }
}
