//! What the portal's lists and dashboard read besides the counters, through the real router:
//! promised-time warnings and breaches per unit, the queue lookup of cases by id, and the
//! case list's receipt-date filter (local days in the units' zone; bad input refused).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod support;

use axum::http::StatusCode;
use chrono::{DateTime, Duration, FixedOffset, Utc};
use clearline_backlog::projection::Policy;
use clearline_backlog::routes::dto::CasePage;
use clearline_backlog::routes::sla::{CaseLookup, SlaView};
use clearline_backlog::{audit, dashboard, watch};
use clearline_platform::http::Role;
use clearline_platform::outbox::Outbox;
use sea_orm::ConnectionTrait;
use support::*;

on_both_backends!(
    warnings_and_breaches_are_counted_per_unit_for_open_cases_only,
    a_tampered_level_counter_is_reported_and_repaired,
    a_queue_looks_its_cases_up_by_id_within_the_readers_unit,
    the_list_filters_by_local_receipt_days_and_refuses_bad_dates,
);

struct Fixture {
    db: TestDb,
    warned: Story,
    breached: Story,
    calm: Story,
    closed_late: Story,
}

/// u1: one case past 75% of its promise, one well within it, one closed long after its
/// due time; u2: one past its due time. The watch announces at `now`, and the
/// announcements come back through the projection as they do in the running service.
async fn spawn(backend: Backend) -> Fixture {
    let t0 = base_time();
    // Temporary ID cards count every second, so the shares are plain arithmetic.
    let mut warned = Story::new(1, "u1", "temporary_id_card", false, t0, Duration::days(12));
    warned.received(CLERK, &[]);
    let mut calm = Story::new(2, "u1", "temporary_id_card", false, t0, Duration::days(100));
    calm.received(CLERK, &[]);
    let mut closed_late = Story::new(3, "u1", "temporary_id_card", false, t0, Duration::days(1));
    closed_late.received(CLERK, &[]);
    let mut breached = Story::new(4, "u2", "temporary_id_card", false, t0, Duration::days(2));
    breached.received(CLERK2, &[]);
    let db = fresh(backend).await;
    for story in [&warned, &calm, &closed_late, &breached] {
        db.apply_all(&story.events).await;
    }
    let policy = Policy::default();
    let mut seen = 0;
    // The late case is breached while open, then handed over: it stays breached on record.
    watch::tick(&db.db, &Outbox::new(), &policy, Utc::now())
        .await
        .unwrap();
    for notice in announced(&db, &mut seen).await {
        db.apply(&notice).await;
    }
    closed_late.started("counter_pickup").fulfilled().closed();
    db.apply_all(&closed_late.events).await;
    Fixture {
        db,
        warned,
        breached,
        calm,
        closed_late,
    }
}

impl Fixture {
    async fn get(
        &self,
        path: &str,
        role: Role,
        unit: Option<&str>,
    ) -> (StatusCode, serde_json::Value) {
        get_as(&self.db, path, role, unit).await
    }

    async fn get_ok<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        role: Role,
        unit: Option<&str>,
    ) -> T {
        get_ok_as(&self.db, path, role, unit).await
    }
}

async fn warnings_and_breaches_are_counted_per_unit_for_open_cases_only(backend: Backend) {
    let f = spawn(backend).await;
    let view: SlaView = f.get_ok("/api/v1/sla/units", Role::Supervisor, None).await;
    let units: Vec<_> = view
        .units
        .iter()
        .map(|u| (u.unit.as_str(), u.counts.warning, u.counts.breached))
        .collect();
    assert_eq!(
        units,
        [("u1", 1, 0), ("u2", 0, 1)],
        "the closed late case and the calm one are not counted"
    );
    assert_eq!((view.totals.warning, view.totals.breached), (1, 1));

    // A unit's staff see their own unit only.
    let own: SlaView = f
        .get_ok("/api/v1/sla/units", Role::Approver, Some("u2"))
        .await;
    assert_eq!(own.units.len(), 1);
    assert_eq!(own.totals.breached, 1);
    let (status, body) = f
        .get("/api/v1/sla/units?unit=u1", Role::Approver, Some("u2"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

/// The view sums maintained counters, so a counter gone wrong shows in it until the
/// recount finds it and the repair rewrites it.
async fn a_tampered_level_counter_is_reported_and_repaired(backend: Backend) {
    let f = spawn(backend).await;
    let verified = dashboard::verify(&f.db.db, None).await.unwrap();
    assert!(verified.ok, "{verified:?}");
    f.db.db
        .execute_unprepared(
            "UPDATE sla_counts SET n = n + 1 WHERE unit = 'u2' AND level = 'breached'",
        )
        .await
        .unwrap();
    let view: SlaView = f.get_ok("/api/v1/sla/units", Role::Supervisor, None).await;
    assert_eq!(view.totals.breached, 2, "the view reads the counters");

    let report = dashboard::verify(&f.db.db, None).await.unwrap();
    assert!(!report.ok && report.drift.is_empty() && report.flow_drift.is_empty());
    assert_eq!(report.level_drift.len(), 1, "{report:?}");
    let drift = &report.level_drift[0];
    assert_eq!(
        (
            drift.unit.as_str(),
            drift.level.as_str(),
            drift.counted,
            drift.maintained
        ),
        ("u2", "breached", 1, 2)
    );

    let repaired = audit::repair(&f.db.db, &Policy::default(), &[])
        .await
        .unwrap();
    assert!(repaired.counters_rewritten);
    assert!(dashboard::verify(&f.db.db, None).await.unwrap().ok);
    let view: SlaView = f.get_ok("/api/v1/sla/units", Role::Supervisor, None).await;
    assert_eq!((view.totals.warning, view.totals.breached), (1, 1));
}

async fn a_queue_looks_its_cases_up_by_id_within_the_readers_unit(backend: Backend) {
    let f = spawn(backend).await;
    let unknown = uuid::Uuid::now_v7();
    let ids = [
        f.breached.case_id,
        f.calm.case_id,
        unknown,
        f.warned.case_id,
    ];
    let list = ids.map(|id| id.to_string()).join(",");
    let found: CaseLookup = f
        .get_ok(
            &format!("/api/v1/cases/lookup?ids={list}"),
            Role::Supervisor,
            None,
        )
        .await;
    let levels: Vec<_> = found
        .items
        .iter()
        .map(|c| (c.case_id, c.sla_level.as_deref()))
        .collect();
    assert_eq!(
        levels,
        [
            (f.breached.case_id, Some("breached")),
            (f.calm.case_id, None),
            (f.warned.case_id, Some("warning")),
        ],
        "in the order asked, the unknown id left out"
    );
    assert!(found.items[0].due_at.is_some() && found.items[0].overdue);

    let own: CaseLookup = f
        .get_ok(
            &format!("/api/v1/cases/lookup?ids={list}"),
            Role::Approver,
            Some("u1"),
        )
        .await;
    assert_eq!(own.items.len(), 2, "another unit's case is not shown");

    let (status, body) = f
        .get(
            "/api/v1/cases/lookup?ids=not-a-case",
            Role::Supervisor,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "invalid_case_id");
    let many = vec![unknown.to_string(); 501].join(",");
    let (status, body) = f
        .get(
            &format!("/api/v1/cases/lookup?ids={many}"),
            Role::Supervisor,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "too_many_ids");
}

/// The units' local date (UTC+8, the default calendar's zone) of an instant.
fn local_day(at: DateTime<Utc>) -> String {
    let zone = FixedOffset::east_opt(8 * 3600).unwrap();
    at.with_timezone(&zone).format("%Y-%m-%d").to_string()
}

async fn the_list_filters_by_local_receipt_days_and_refuses_bad_dates(backend: Backend) {
    let f = spawn(backend).await;
    // One more case, received three days later than the others.
    let mut later = Story::new(
        5,
        "u1",
        "temporary_id_card",
        false,
        base_time() + Duration::days(3),
        Duration::days(30),
    );
    later.received(CLERK, &[]);
    f.db.apply_all(&later.events).await;
    let early = f.warned.events[0].occurred_at();
    let late = later.events[0].occurred_at();

    let ids = |page: &CasePage| {
        let mut ids: Vec<_> = page.items.iter().map(|c| c.case_id).collect();
        ids.sort();
        ids
    };
    let from_later: CasePage = f
        .get_ok(
            &format!("/api/v1/cases?received_from={}", local_day(late)),
            Role::Supervisor,
            None,
        )
        .await;
    assert_eq!(ids(&from_later), [later.case_id]);

    // `to` includes its whole day: the first day's four cases, not the later one.
    let first_day: CasePage = f
        .get_ok(
            &format!(
                "/api/v1/cases?received_from={d}&received_to={d}",
                d = local_day(early)
            ),
            Role::Supervisor,
            None,
        )
        .await;
    assert_eq!(first_day.total, 4);
    assert!(!first_day.items.iter().any(|c| c.case_id == later.case_id));

    // An instant works as well as a date (the `+` of an offset must be escaped; `Z` needs not).
    let instant = (late - Duration::seconds(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let after: CasePage = f
        .get_ok(
            &format!("/api/v1/cases?received_from={instant}"),
            Role::Supervisor,
            None,
        )
        .await;
    assert_eq!(ids(&after), [later.case_id]);

    for (query, code) in [
        ("received_from=2026-02-30", "invalid_date"),
        ("received_to=tomorrow", "invalid_date"),
        (
            "received_from=2026-11-05&received_to=2026-11-04",
            "invalid_date_range",
        ),
    ] {
        let (status, body) = f
            .get(&format!("/api/v1/cases?{query}"), Role::Supervisor, None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["code"], code, "{query}");
        assert!(body["errors"][0]["field"].is_string(), "{body}");
    }
    let _ = f.closed_late;
}
