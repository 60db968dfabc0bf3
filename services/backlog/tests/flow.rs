//! The supervisor's flow panel is summed from half-hourly counters. Wherever the clock
//! stands and whichever day is asked about, every figure must equal a count of the case
//! rows under the panel's rules (a day starts on the hour or the half hour; a case is
//! finished no earlier than received; ages in whole half hours from the one of receipt);
//! the counters must equal their own recount, and a tampered one is found and repaired.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod support;

use chrono::{DateTime, Duration, Utc};
use clearline_backlog::clearance::{self, report, reports, DayClock};
use clearline_backlog::projection::Policy;
use clearline_backlog::routes::supervisor::{flow, FlowView};
use clearline_backlog::store::{case, flow_count, queries};
use clearline_backlog::{audit, dashboard};
use clearline_platform::http::Role;
use sea_orm::ConnectionTrait;
use support::*;

const UNITS: [&str; 2] = ["u1", "u2"];
const AGE_BOUNDS: [i64; 6] = [0, 1, 3, 7, 14, 30];

/// Forty-eight cases received over about forty days at all hours; some finish the same
/// hour, some days later, one is rejected, one cancelled, one booked and never received.
fn stories() -> Vec<Story> {
    let t0 = base_time() - Duration::days(30);
    let mut out = Vec::new();
    for n in 0..48u32 {
        let unit = UNITS[n as usize % UNITS.len()];
        let start = t0 + Duration::minutes(i64::from(n) * 1_237);
        let mut story = Story::new(n, unit, "residence_permit", true, start, Duration::days(20));
        match n % 8 {
            0 => story.booked(CLERK),
            1 => story
                .received(CLERK, &[])
                .approved(None)
                .handed_over("counter_pickup"),
            2 => story
                .received(CLERK, &[])
                .later(Duration::hours(i64::from(n) * 5))
                .approved(None)
                .handed_over("mail"),
            3 => story
                .received(CLERK, &[])
                .later(Duration::days(2))
                .rejected(),
            4 => story
                .received(CLERK, &["photo"])
                .later(Duration::hours(30))
                .cancelled(CLERK),
            5 => story.received(CLERK, &["photo"]),
            _ => story.received(CLERK, &[]).approved(None),
        };
        out.push(story);
    }
    out
}

/// The half hour `at` falls in, counted from the epoch.
fn slot(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(1_800)
}

/// The panel counted from the rows themselves.
fn counted(
    rows: &[case::Model],
    unit: Option<&str>,
    today_start: DateTime<Utc>,
    days: i64,
    now: DateTime<Utc>,
) -> FlowView {
    let rows: Vec<&case::Model> = rows
        .iter()
        .filter(|r| r.status.is_some() && r.received_at.is_some())
        .filter(|r| unit.is_none_or(|u| r.unit == u))
        .collect();
    let received = |r: &case::Model| r.received_at.unwrap();
    let done = |r: &case::Model| r.finished_at.map(|f| f.max(received(r)));
    let count =
        |keep: &dyn Fn(&case::Model) -> bool| rows.iter().filter(|r| keep(r)).count() as i64;
    let history = (0..days)
        .map(|k| {
            let at = (today_start - Duration::days(days - 1 - k) + Duration::days(1)).min(now);
            let open = if at >= now {
                count(&|r| r.finished_at.is_none())
            } else {
                count(&|r| received(r) < at && done(r).is_none_or(|d| d >= at))
            };
            clearline_backlog::routes::supervisor::HistoryPoint { at, open }
        })
        .collect();
    let ages = AGE_BOUNDS
        .iter()
        .enumerate()
        .map(|(k, from)| {
            let to = AGE_BOUNDS.get(k + 1).copied();
            let open = count(&|r| {
                let age = slot(now) - slot(received(r));
                r.finished_at.is_none() && age >= from * 48 && to.is_none_or(|to| age < to * 48)
            });
            clearline_backlog::routes::supervisor::AgeBucket {
                from_days: *from,
                to_days: to,
                open,
            }
        })
        .collect();
    FlowView {
        generated_at: now,
        received_today: count(&|r| received(r) >= today_start),
        finished_today: count(&|r| done(r).is_some_and(|d| d >= today_start)),
        history,
        ages,
    }
}

/// Day starts on the hour and the half hour from before the first case to after the last,
/// each asked about at its own start, a minute in, mid-day and a second before the next day.
async fn assert_flow_matches_the_rows(db: &TestDb) {
    let rows = queries::all_cases(&db.db).await.unwrap();
    let first = rows.iter().filter_map(|r| r.received_at).min().unwrap();
    let last = rows
        .iter()
        .filter_map(|r| r.finished_at.or(r.received_at))
        .max()
        .unwrap();
    let mut today_start =
        DateTime::from_timestamp(slot(first) * 1_800, 0).unwrap() - Duration::hours(20);
    while today_start <= last + Duration::days(2) {
        for into in [
            Duration::zero(),
            Duration::minutes(1),
            Duration::hours(11) + Duration::minutes(7),
            Duration::days(1) - Duration::seconds(1),
        ] {
            let now = today_start + into;
            for (unit, days) in [(None, 14), (Some("u2"), 3), (Some("u1"), 1)] {
                let expected = counted(&rows, unit, today_start, days, now);
                let answered = flow(&db.db, unit, today_start, days, now).await.unwrap();
                assert_eq!(
                    answered, expected,
                    "{unit:?}, day from {today_start}, now {now}"
                );
            }
        }
        today_start += Duration::minutes(37 * 60 + 30);
    }
    let snap = db.snapshot().await;
    assert_eq!(snap.flow, snap.flow_recounted);
    assert!(dashboard::verify(&db.db, None).await.unwrap().ok);
    assert!(
        dashboard::verify(&db.db, Some("u1")).await.unwrap().ok,
        "a unit's own"
    );
    let emptied = flow_count::counters(&db.db, None).await.unwrap();
    assert!(
        emptied.iter().all(|c| c.n != 0),
        "a counter at zero is removed"
    );
}

async fn the_flow_panel_equals_a_count_of_the_rows(backend: Backend) {
    let db = fresh(backend).await;
    let mut stories = stories();
    for story in &stories {
        db.apply_all(&story.events).await;
    }
    assert_flow_matches_the_rows(&db).await;

    // Cases move on: the waiting ones get their materials and approval, open ones close,
    // the booked resident arrives; the counters follow.
    for (n, story) in stories.iter_mut().enumerate() {
        let before = story.events.len();
        match n % 8 {
            0 => {
                story.received(CLERK, &[]);
            }
            5 => {
                story
                    .later(Duration::hours(50))
                    .completed(CLERK)
                    .approved(None);
            }
            6 => {
                story
                    .later(Duration::hours(9))
                    .handed_over("counter_pickup");
            }
            _ => {}
        }
        db.apply_all(&story.events[before..]).await;
    }
    assert_flow_matches_the_rows(&db).await;
}

/// The 30-day clearance rates are summed from the same counters when days end on a half
/// hour; every day's figures must equal the day report's, which counts the cases themselves. Asked from the last event on
/// (the running day then holds everything so far), at times across several days.
async fn the_clearance_rates_equal_the_day_reports(backend: Backend) {
    let db = fresh(backend).await;
    for story in stories() {
        db.apply_all(&story.events).await;
    }
    let rows = queries::all_cases(&db.db).await.unwrap();
    let last = rows.iter().map(|r| r.updated_at).max().unwrap();
    let units: Vec<String> = UNITS.iter().map(|u| u.to_string()).collect();
    // 17:30 in UTC+8 is on a half hour (the counters); 17:45 is not (the cases).
    let quarter_to = DayClock::new(DayClock::default().zone, "17:45".parse().unwrap());
    for (clock, step) in [DayClock::default(), quarter_to]
        .into_iter()
        .flat_map(|clock| (0..8).map(move |step| (clock, step)))
    {
        let now = last + Duration::minutes(step * 7 * 60 + 13);
        let today = clock.day_of(now).date;
        let view = reports::rates(&db.db, &clock, &units, today, 45, now)
            .await
            .unwrap();
        for unit in &view.units {
            for rate in &unit.days {
                let day = clock.day(rate.day);
                let cases = clearance::store::cases_between(
                    &db.db,
                    &unit.unit,
                    day.starts_at,
                    now.min(day.ends_at),
                )
                .await
                .unwrap();
                let expected = report::figures(&day, now, &cases);
                assert_eq!(
                    rate.figures, expected,
                    "{} on {} at {now}",
                    unit.unit, rate.day
                );
            }
        }
    }
}

async fn a_day_start_off_the_half_hour_is_refused(backend: Backend) {
    let db = fresh(backend).await;
    let (status, body) = get_as(
        &db,
        "/api/v1/supervisor/flow?today_start=2026-11-28T18:45:00Z",
        Role::Supervisor,
        Some("u1"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["code"], "invalid_day_start");
    let (status, _) = get_as(
        &db,
        "/api/v1/supervisor/flow?today_start=2026-11-28T16:00:00Z",
        Role::Supervisor,
        Some("u1"),
    )
    .await;
    assert_eq!(status, 200);
}

async fn a_tampered_flow_counter_is_reported_and_repaired(backend: Backend) {
    let db = fresh(backend).await;
    for story in stories() {
        db.apply_all(&story.events).await;
    }
    db.db
        .execute_unprepared(
            "UPDATE flow_counts SET n = n - 1 WHERE unit = 'u1' AND measure = 'open'
             AND slot = (SELECT MAX(slot) FROM flow_counts WHERE unit = 'u1' AND measure = 'open' AND n > 0)",
        )
        .await
        .unwrap();
    let report = dashboard::verify(&db.db, None).await.unwrap();
    assert!(!report.ok && report.drift.is_empty() && report.due_drift.is_empty());
    assert_eq!(report.flow_drift.len(), 1);
    assert_eq!(
        report.flow_drift[0].counted - report.flow_drift[0].maintained,
        1
    );

    let repaired = audit::repair(&db.db, &Policy::default(), &[])
        .await
        .unwrap();
    assert!(repaired.counters_rewritten);
    assert_flow_matches_the_rows(&db).await;
}

on_both_backends!(
    the_flow_panel_equals_a_count_of_the_rows,
    the_clearance_rates_equal_the_day_reports,
    a_day_start_off_the_half_hour_is_refused,
    a_tampered_flow_counter_is_reported_and_repaired,
);
