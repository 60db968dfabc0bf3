//! Daily clearance on a projected database, with injected times: the day boundaries in
//! UTC+8 (midnight and the 17:30 end of day), the carried-over list, reasons and sign-off
//! through the real router, the frozen report, the CSV and the 30-day rates.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use clearline_backlog::clearance::{job, reports, ClearanceReport, DayClock, RatesView};
use clearline_backlog::{routes, AppState};
use clearline_contracts::{v1, CaseEvent, EventDraft, Payload};
use clearline_platform::config::DEV_JWT_SECRET;
use clearline_platform::http::{testing, JwtKeys, Role};
use serde_json::{json, Value};
use std::sync::Arc;
use support::*;
use tower::ServiceExt;
use uuid::Uuid;

fn zone() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

/// An instant from a Beijing wall-clock time on a day of March 2026.
fn bj(day: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
    zone()
        .with_ymd_and_hms(2026, 3, day, h, m, s)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn date(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, day).unwrap()
}

fn clock() -> DayClock {
    DayClock::new(zone(), "17:30".parse().unwrap())
}

/// One case's events with exact times: received (and submitted), then maybe cancelled.
struct Case {
    id: Uuid,
    number: String,
    events: Vec<CaseEvent>,
}

fn event(
    id: Uuid,
    number: &str,
    unit: &str,
    seq: u32,
    at: DateTime<Utc>,
    payload: Payload,
) -> CaseEvent {
    EventDraft {
        case_id: id,
        case_number: number.to_string(),
        service_type: "residence_permit".into(),
        unit: unit.to_string(),
        actor_id: CLERK.0.into(),
        actor_role: CLERK.1.into(),
        causation_id: None,
        sequence: seq,
        payload,
    }
    .build(at)
}

fn received(unit: &str, number: &str, at: DateTime<Utc>) -> Case {
    let id = Uuid::now_v7();
    let events = vec![
        event(
            id,
            number,
            unit,
            1,
            at,
            Payload::Received(v1::Received {
                window: "W1".into(),
                channel: "window".into(),
                due_at_ms: (at + Duration::days(14)).timestamp_millis(),
                approval_required: true,
                missing_materials: vec![],
                applicant_id_masked: "110***********123X".into(),
            }),
        ),
        event(
            id,
            number,
            unit,
            2,
            at,
            Payload::Submitted(v1::Submitted {
                approval_required: true,
                received_by: CLERK.0.into(),
                due_at_ms: (at + Duration::days(14)).timestamp_millis(),
                round: 1,
                window: "W1".into(),
            }),
        ),
    ];
    Case {
        id,
        number: number.to_string(),
        events,
    }
}

impl Case {
    fn cancelled(mut self, at: DateTime<Utc>) -> Case {
        let first = &self.events[0];
        let (unit, seq) = (first.unit.clone(), self.events.len() as u32 + 1);
        let cancel = Payload::Cancelled(v1::Cancelled {
            reason: "resident withdrew".into(),
        });
        self.events
            .push(event(self.id, &self.number, &unit, seq, at, cancel));
        self
    }
}

/// Unit u1 around clearance day 2026-03-05, which runs from 03-04 17:30 to 03-05 17:30
/// Beijing time (09:30 UTC each).
struct Scene {
    db: TestDb,
    keys: Arc<JwtKeys>,
    cases: Vec<Case>,
}

async fn scene(backend: Backend) -> Scene {
    let cases = vec![
        received("u1", "A-open-before", bj(4, 10, 0, 0)),
        received("u1", "B-finished-in-day", bj(4, 16, 0, 0)).cancelled(bj(5, 9, 0, 0)),
        received("u1", "C-last-second-before", bj(4, 17, 29, 59)),
        received("u1", "D-at-the-boundary", bj(4, 17, 30, 0)),
        received("u1", "E-after-midnight", bj(5, 0, 30, 0)),
        received("u1", "F-before-midnight", bj(4, 23, 59, 0)).cancelled(bj(5, 17, 29, 0)),
        received("u1", "G-next-day", bj(5, 17, 30, 0)),
        received("u1", "H-finished-at-the-end", bj(5, 10, 0, 0)).cancelled(bj(5, 17, 30, 0)),
        received("u2", "U2-other-unit", bj(5, 11, 0, 0)),
    ];
    let db = fresh(backend).await;
    for case in &cases {
        db.apply_all(&case.events).await;
    }
    Scene {
        db,
        keys: Arc::new(JwtKeys::from_secret(DEV_JWT_SECRET)),
        cases,
    }
}

impl Scene {
    fn case(&self, prefix: &str) -> &Case {
        self.cases
            .iter()
            .find(|c| c.number.starts_with(prefix))
            .unwrap()
    }

    fn router(&self) -> axum::Router {
        let state = AppState {
            db: self.db.db.clone(),
            keys: self.keys.clone(),
            policy: Default::default(),
        };
        routes::clearance_router(state, clock())
    }

    fn token(&self, user: &str, role: Role, unit: Option<&str>) -> String {
        self.keys
            .issue(user, "Staff", &[role], unit, Duration::hours(1))
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        testing::send(&self.router(), method, path, Some(token), body)
            .await
            .unwrap()
    }

    async fn get_ok<T: serde::de::DeserializeOwned>(&self, path: &str, token: &str) -> T {
        let (status, body) = self.send("GET", path, token, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        serde_json::from_value(body).unwrap()
    }

    async fn report(&self, day: u32, now: DateTime<Utc>) -> ClearanceReport {
        reports::load(&self.db.db, &clock(), "u1", date(day), now)
            .await
            .unwrap()
    }

    async fn set_reason(&self, token: &str, case: &str, body: Value) -> (StatusCode, Value) {
        let id = self.case(case).id;
        let path = format!("/api/v1/clearance/u1/2026-03-05/cases/{id}/reason");
        self.send("PUT", &path, token, Some(body)).await
    }

    /// Rows in `clearance_days` and `clearance_reasons`.
    async fn rows_written(&self) -> (u64, u64) {
        use clearline_backlog::clearance::store::{day_row, reason_row};
        use sea_orm::{EntityTrait, PaginatorTrait};
        let days = day_row::Entity::find().count(&self.db.db).await.unwrap();
        let reasons = reason_row::Entity::find().count(&self.db.db).await.unwrap();
        (days, reasons)
    }
}

fn numbers(report: &ClearanceReport) -> Vec<&str> {
    report
        .carried_over_cases
        .iter()
        .map(|c| &c.case_number[..1])
        .collect()
}

fn figures(report: &ClearanceReport) -> [i64; 4] {
    let f = report.figures;
    [f.open_at_start, f.received, f.finished, f.carried_over]
}

async fn counts_follow_the_local_day_across_midnight_and_the_end_of_day(backend: Backend) {
    let scene = scene(backend).await;
    let later = bj(9, 12, 0, 0);
    let day = scene.report(5, later).await;
    assert_eq!(
        figures(&day),
        [3, 4, 2, 5],
        "open at start, received, finished, carried"
    );
    assert_eq!(day.rate, Some(0.2857), "2 finished of 3 + 4");
    assert!(day.complete && day.sign_off.is_none());
    assert_eq!(
        numbers(&day),
        ["A", "C", "D", "E", "H"],
        "oldest received first"
    );
    let e = &day.carried_over_cases[3];
    assert_eq!(e.received_at_local, "2026-03-05 00:30");
    assert_eq!(e.received_at.date_naive(), date(4), "still the 4th in UTC");
    assert_eq!(day.reasons_missing, 5);

    let before = scene.report(4, later).await;
    assert_eq!(figures(&before), [0, 3, 0, 3]);
    assert_eq!(before.rate, Some(0.0));
    let after = scene.report(6, later).await;
    assert_eq!(
        figures(&after),
        [5, 1, 1, 5],
        "G received, H finished at 17:30 on the 5th"
    );

    // While the day runs, the figures stop at the injected clock.
    let running = scene.report(5, bj(5, 12, 0, 0)).await;
    assert!(!running.complete);
    assert_eq!(figures(&running), [3, 4, 1, 6]);
    assert_eq!(numbers(&running), ["A", "C", "D", "F", "E", "H"]);
    let not_started = reports::load(&scene.db.db, &clock(), "u1", date(6), bj(5, 12, 0, 0)).await;
    assert!(not_started.is_err());
}

async fn sign_off_waits_for_every_reason_and_bad_input_writes_nothing(backend: Backend) {
    let scene = scene(backend).await;
    let boss = scene.token("sup-zhou", Role::Supervisor, Some("u1"));
    let sign = "/api/v1/clearance/u1/2026-03-05/sign-off";

    let (status, body) = scene.send("POST", sign, &boss, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("reasons_missing")),
        "{body}"
    );
    assert_eq!(body["errors"].as_array().unwrap().len(), 5);
    assert!(body["detail"].as_str().unwrap().starts_with("5 "));

    let refused = [
        (
            &boss,
            "A",
            json!({"code": "weather"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_reason_code",
        ),
        (
            &boss,
            "A",
            json!({"code": "other", "text": "  "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "reason_text_required",
        ),
        (
            &boss,
            "B",
            json!({"code": "materials"}),
            StatusCode::CONFLICT,
            "not_carried_over",
        ),
        (
            &boss,
            "G",
            json!({"code": "materials"}),
            StatusCode::CONFLICT,
            "not_carried_over",
        ),
        (
            &boss,
            "U2",
            json!({"code": "materials"}),
            StatusCode::CONFLICT,
            "not_carried_over",
        ),
    ];
    for (token, case, body, want, code) in refused {
        let (status, answer) = scene.set_reason(token, case, body).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (want, Some(code)),
            "{case}: {answer}"
        );
    }
    let clerk = scene.token("clerk-li", Role::Clerk, Some("u1"));
    let (status, body) = scene
        .set_reason(&clerk, "A", json!({"code": "materials"}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden_role"))
    );
    let other_boss = scene.token("sup-qian", Role::Supervisor, Some("u2"));
    let (status, body) = scene.send("POST", sign, &other_boss, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("wrong_unit"))
    );
    let (status, body) = scene
        .send(
            "POST",
            "/api/v1/clearance/u1/2026-3-5/sign-off",
            &boss,
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_day"))
    );
    let future = format!(
        "/api/v1/clearance/u1/{}/sign-off",
        Utc::now().date_naive() + Duration::days(3)
    );
    let (status, body) = scene.send("POST", &future, &boss, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("day_not_started"))
    );
    let today = clock().day_of(Utc::now()).date;
    let running = format!("/api/v1/clearance/u1/{today}/sign-off");
    let (status, body) = scene.send("POST", &running, &boss, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("day_not_over"))
    );
    assert_eq!(
        scene.rows_written().await,
        (0, 0),
        "nothing refused was written"
    );

    for (case, code) in [
        ("A", "materials"),
        ("C", "another_agency"),
        ("D", "production"),
        ("E", "appointment"),
    ] {
        let (status, body) = scene.set_reason(&boss, case, json!({"code": code})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, body) = scene.send("POST", sign, &boss, None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["errors"][0]["field"], "H-finished-at-the-end");
    assert!(body["detail"].as_str().unwrap().starts_with("1 "));
    let unsigned: ClearanceReport = scene
        .get_ok("/api/v1/clearance/u1/2026-03-05", &clerk)
        .await;
    assert_eq!((unsigned.reasons_missing, unsigned.sign_off), (1, None));

    let (status, _) = scene
        .set_reason(
            &boss,
            "H",
            json!({"code": "other", "text": "resident abroad"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = scene.send("POST", sign, &boss, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let signed: ClearanceReport = serde_json::from_value(body).unwrap();
    let by = signed.sign_off.as_ref().unwrap();
    assert_eq!(
        (by.by.as_str(), by.role.as_str()),
        ("sup-zhou", "supervisor")
    );
    assert!((Utc::now() - by.at).num_seconds() < 60);

    let (status, body) = scene.send("POST", sign, &boss, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_signed_off"))
    );
    let (status, body) = scene
        .set_reason(&boss, "A", json!({"code": "production"}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_signed_off"))
    );
}

async fn a_signed_day_stays_as_it_was_signed(backend: Backend) {
    let scene = scene(backend).await;
    let admin = scene.token("admin-1", Role::Admin, None);
    for case in ["A", "C", "D", "E", "H"] {
        let (status, _) = scene
            .set_reason(&admin, case, json!({"code": "materials"}))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, body) = scene
        .send(
            "POST",
            "/api/v1/clearance/u1/2026-03-05/sign-off",
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let signed: ClearanceReport = serde_json::from_value(body).unwrap();

    // A late event: A was cancelled during the day, and the backlog hears of it only now.
    let late = received("u1", "late", bj(4, 10, 0, 0));
    let a = scene.case("A");
    let cancel = event(
        a.id,
        &a.number,
        "u1",
        3,
        bj(5, 12, 0, 0),
        Payload::Cancelled(v1::Cancelled {
            reason: "withdrew".into(),
        }),
    );
    scene.db.apply(&cancel).await;
    scene.db.apply_all(&late.events).await;

    let now = bj(9, 12, 0, 0);
    let frozen = scene.report(5, now).await;
    assert_eq!(frozen, signed, "the signed report does not move");
    assert_eq!(figures(&frozen), [3, 4, 2, 5]);
    assert_eq!(
        frozen.carried_over_cases[0].status.as_deref(),
        Some("pending_approval")
    );
    assert_eq!(frozen.sign_off.as_ref().unwrap().role, "admin");
    let next = scene.report(6, now).await;
    assert_eq!(
        next.figures.open_at_start, 5,
        "the next day is live: 4 carried + the late one"
    );
}

async fn the_csv_lists_the_carried_over_cases(backend: Backend) {
    let scene = scene(backend).await;
    let boss = scene.token("sup-zhou", Role::Supervisor, Some("u1"));
    let text = "waits for \"district\" office, then =call";
    let (status, _) = scene
        .set_reason(&boss, "E", json!({"code": "other", "text": text}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let fulfil = scene.token("officer-sun", Role::Fulfilment, Some("u1"));
    let request = Request::get("/api/v1/clearance/u1/2026-03-05/report.csv")
        .header("authorization", format!("Bearer {fulfil}"))
        .body(Body::empty())
        .unwrap();
    let response = scene.router().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("clearance-u1-2026-03-05.csv"));
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let csv = String::from_utf8(bytes.to_vec()).unwrap();
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
    assert_eq!(
        lines,
        [
            "unit,day,case_number,service_type,status,received_at_local,reason_code,reason_text",
            "u1,2026-03-05,A-open-before,residence_permit,pending_approval,2026-03-04 10:00,,",
            "u1,2026-03-05,C-last-second-before,residence_permit,pending_approval,2026-03-04 17:29,,",
            "u1,2026-03-05,D-at-the-boundary,residence_permit,pending_approval,2026-03-04 17:30,,",
            "u1,2026-03-05,E-after-midnight,residence_permit,pending_approval,2026-03-05 00:30,other,\"waits for \"\"district\"\" office, then =call\"",
            "u1,2026-03-05,H-finished-at-the-end,residence_permit,cancelled,2026-03-05 10:00,,",
            "",
        ]
    );
    assert!(!csv.contains("110***"), "nothing about the resident");
}

async fn rates_cover_thirty_days_per_unit_with_the_sign_off(backend: Backend) {
    let scene = scene(backend).await;
    let clerk = scene.token("clerk-li", Role::Clerk, Some("u1"));
    let view: RatesView = scene
        .get_ok("/api/v1/clearance/rates?until=2026-03-06", &clerk)
        .await;
    assert_eq!(
        (view.from, view.until),
        (date(6) - Duration::days(29), date(6))
    );
    assert_eq!(view.units.len(), 1);
    let days = &view.units[0].days;
    assert_eq!(days.len(), 30);
    assert!(days[..27]
        .iter()
        .all(|d| d.rate.is_none() && d.figures.received == 0));
    let tail: Vec<_> = days[27..]
        .iter()
        .map(|d| (d.day, d.figures.finished, d.rate))
        .collect();
    assert_eq!(
        tail,
        [
            (date(4), 0, Some(0.0)),
            (date(5), 2, Some(0.2857)),
            (date(6), 1, Some(0.1667))
        ]
    );

    // The end-of-day job records the 4th; an admin signs the 5th off.
    let closed = job::close_day(&scene.db.db, &clock(), date(4), bj(9, 0, 0, 0))
        .await
        .unwrap();
    assert_eq!(closed, 2, "u1 and u2");
    assert_eq!(
        job::close_day(&scene.db.db, &clock(), date(4), bj(9, 0, 0, 0))
            .await
            .unwrap(),
        0
    );
    let admin = scene.token("admin-1", Role::Admin, None);
    for case in ["A", "C", "D", "E", "H"] {
        scene
            .set_reason(&admin, case, json!({"code": "production"}))
            .await;
    }
    let (status, _) = scene
        .send(
            "POST",
            "/api/v1/clearance/u1/2026-03-05/sign-off",
            &admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let all: RatesView = scene
        .get_ok("/api/v1/clearance/rates?until=2026-03-06&days=3", &admin)
        .await;
    let units: Vec<_> = all.units.iter().map(|u| u.unit.as_str()).collect();
    assert_eq!(units, ["u1", "u2"]);
    let u1: Vec<_> = all.units[0]
        .days
        .iter()
        .map(|d| {
            (
                d.figures.carried_over,
                d.rate,
                serde_json::to_value(d.source).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        u1,
        [
            (3, Some(0.0), json!("closed")),
            (5, Some(0.2857), json!("signed")),
            (5, Some(0.1667), json!("live"))
        ]
    );
    assert_eq!(
        all.units[0].days[1].sign_off.as_ref().unwrap().by,
        "admin-1"
    );
    assert_eq!(all.units[1].days[1].figures.received, 1, "u2's case");

    let today: RatesView = scene.get_ok("/api/v1/clearance/rates", &clerk).await;
    assert_eq!(today.until, clock().day_of(Utc::now()).date);
    assert_eq!(today.units[0].days.len(), 30);
    for (query, code) in [
        ("days=0", "invalid_days"),
        ("days=91", "invalid_days"),
        ("until=March", "invalid_day"),
    ] {
        let (status, body) = scene
            .send(
                "GET",
                &format!("/api/v1/clearance/rates?{query}"),
                &clerk,
                None,
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code))
        );
    }
    let (status, _) = scene
        .send("GET", "/api/v1/clearance/rates?unit=u2", &clerk, None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// The job closes the day that ended last when it starts, and stops when told to.
async fn the_end_of_day_job_catches_up_and_stops_on_shutdown(backend: Backend) {
    let scene = scene(backend).await;
    let shutdown = clearline_platform::shutdown::Shutdown::new();
    let job = tokio::spawn(job::run(scene.db.db.clone(), clock(), shutdown.clone()));
    let yesterday = clock().day_of(Utc::now()).date - Duration::days(1);
    let recorded = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        loop {
            let row = clearline_backlog::clearance::store::day(&scene.db.db, "u1", yesterday)
                .await
                .unwrap();
            if let Some(row) = row {
                break row;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the job records the day that ended last");
    // Every case of the scene is long received; only the open ones are carried.
    assert_eq!((recorded.received, recorded.carried_over), (0, 5));
    shutdown.cancel();
    tokio::time::timeout(std::time::Duration::from_secs(10), job)
        .await
        .expect("the job stops on shutdown")
        .unwrap();
}

on_both_backends!(
    the_end_of_day_job_catches_up_and_stops_on_shutdown,
    counts_follow_the_local_day_across_midnight_and_the_end_of_day,
    sign_off_waits_for_every_reason_and_bad_input_writes_nothing,
    a_signed_day_stays_as_it_was_signed,
    the_csv_lists_the_carried_over_cases,
    rates_cover_thirty_days_per_unit_with_the_sign_off,
);

#[test]
fn every_clearance_route_is_in_the_openapi_document() {
    use utoipa::OpenApi;
    let doc = serde_json::to_value(routes::ApiDoc::openapi()).unwrap();
    for (path, method) in [
        ("/api/v1/clearance/{unit}/{day}", "get"),
        ("/api/v1/clearance/{unit}/{day}/report.csv", "get"),
        (
            "/api/v1/clearance/{unit}/{day}/cases/{case_id}/reason",
            "put",
        ),
        ("/api/v1/clearance/{unit}/{day}/sign-off", "post"),
        ("/api/v1/clearance/rates", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} undocumented"
        );
    }
}
