//! The overdue figure comes from the due-day counters (past days) plus an indexed count of
//! today's due cases. Whatever the clock says and however the cases move, it must equal a
//! recount of the rows (open and due before now), and the counters must equal their own
//! recount; a tampered counter is found and repaired.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod support;

use chrono::{DateTime, Duration, Utc};
use clearline_backlog::projection::Policy;
use clearline_backlog::store::queries;
use clearline_backlog::{audit, dashboard};
use clearline_domain::Stage;
use sea_orm::ConnectionTrait;
use std::collections::BTreeMap;
use support::*;

const UNITS: [&str; 3] = ["u1", "u2", "u3"];

/// Open cases in three units, due from about nine days ago to ten days ahead (some at
/// midnight UTC exactly), a few finished and a few paused waiting on the resident.
fn stories() -> Vec<Story> {
    let t0 = base_time();
    let midnight = DateTime::from_timestamp(t0.timestamp() - t0.timestamp() % 86_400, 0).unwrap();
    let mut out = Vec::new();
    for n in 0..36u32 {
        let unit = UNITS[n as usize % UNITS.len()];
        let start = t0 + Duration::hours(i64::from(n) * 3);
        let due_in = Duration::hours(12 + i64::from(n) * 13);
        let mut story = Story::new(n, unit, "residence_permit", true, start, due_in);
        if n % 9 == 4 {
            // Due on the stroke of a UTC midnight: the edge between two due days.
            story.due_at = midnight + Duration::days(i64::from(n % 5) + 2);
        }
        match n % 6 {
            0 => story.received(CLERK, &["photo"]),
            1 => story
                .received(CLERK, &[])
                .approved(None)
                .handed_over("counter_pickup"),
            _ => story.received(CLERK, &[]),
        };
        out.push(story);
    }
    out
}

/// Open cases due before `now`, per unit, counted from the rows themselves.
async fn recounted(db: &TestDb, now: DateTime<Utc>) -> BTreeMap<String, i64> {
    let mut late = BTreeMap::new();
    for row in queries::all_cases(&db.db).await.unwrap() {
        let open = row.status().is_some_and(|s| s.stage() != Stage::Done);
        if open && row.due_at.is_some_and(|due| due < now) {
            *late.entry(row.unit.clone()).or_insert(0) += 1;
        }
    }
    late
}

async fn from_counters(
    db: &TestDb,
    unit: Option<&str>,
    now: DateTime<Utc>,
) -> BTreeMap<String, i64> {
    queries::overdue_by_unit(&db.db, unit, now)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, n)| *n != 0)
        .collect()
}

/// Every instant worth asking about: each due time, a millisecond either side, and every
/// five hours from before the first to after the last.
fn clock_positions(db_rows: &[clearline_backlog::store::case::Model]) -> Vec<DateTime<Utc>> {
    let dues: Vec<DateTime<Utc>> = db_rows.iter().filter_map(|r| r.due_at).collect();
    let first = *dues.iter().min().unwrap() - Duration::days(1);
    let last = *dues.iter().max().unwrap() + Duration::days(1);
    let mut out: Vec<DateTime<Utc>> = dues
        .iter()
        .flat_map(|d| {
            [
                *d - Duration::milliseconds(1),
                *d,
                *d + Duration::milliseconds(1),
            ]
        })
        .collect();
    let mut at = first;
    while at <= last {
        out.push(at);
        at += Duration::hours(5);
    }
    out
}

async fn assert_overdue_matches_a_recount(db: &TestDb) {
    let rows = queries::all_cases(&db.db).await.unwrap();
    for now in clock_positions(&rows) {
        let expected = recounted(db, now).await;
        assert_eq!(from_counters(db, None, now).await, expected, "at {now}");
        let u2: BTreeMap<String, i64> = expected.into_iter().filter(|(u, _)| u == "u2").collect();
        assert_eq!(from_counters(db, Some("u2"), now).await, u2, "u2 at {now}");
    }
    let snap = db.snapshot().await;
    assert_eq!(snap.due, snap.due_recounted);
    assert!(dashboard::verify(&db.db, None).await.unwrap().ok);
}

async fn overdue_equals_a_recount_wherever_the_clock_stands(backend: Backend) {
    let db = fresh(backend).await;
    let mut stories = stories();
    for story in &stories {
        db.apply_all(&story.events).await;
    }
    assert_overdue_matches_a_recount(&db).await;
    let view = dashboard::backlog(&db.db, None, Utc::now()).await.unwrap();
    assert_eq!(
        view.totals.overdue,
        recounted(&db, view.generated_at)
            .await
            .values()
            .sum::<i64>()
    );

    // The cases move on: materials come in (the clock runs again), approval books a later
    // due time, cases close; the counters follow every move.
    for (n, story) in stories.iter_mut().enumerate() {
        let before = story.events.len();
        match n % 6 {
            0 => {
                story.completed(CLERK);
            }
            2 => {
                let later = story.due_at + Duration::days(3);
                story.approved(Some(later));
            }
            3 => {
                story.approved(None).handed_over("mail");
            }
            _ => {}
        }
        db.apply_all(&story.events[before..]).await;
    }
    assert_overdue_matches_a_recount(&db).await;
}

async fn a_tampered_due_counter_is_reported_and_repaired(backend: Backend) {
    let db = fresh(backend).await;
    for story in stories() {
        db.apply_all(&story.events).await;
    }
    db.db
        .execute_unprepared(
            "UPDATE due_counts SET n = n + 2 WHERE unit = 'u3' AND due_day = (SELECT MIN(due_day) FROM due_counts WHERE unit = 'u3')",
        )
        .await
        .unwrap();
    let report = dashboard::verify(&db.db, None).await.unwrap();
    assert!(!report.ok && report.drift.is_empty());
    assert_eq!(report.due_drift.len(), 1);
    assert_eq!(
        report.due_drift[0].maintained - report.due_drift[0].counted,
        2
    );

    let repaired = audit::repair(&db.db, &Policy::default(), &[])
        .await
        .unwrap();
    assert!(repaired.counters_rewritten);
    assert!(dashboard::verify(&db.db, None).await.unwrap().ok);
    assert_overdue_matches_a_recount(&db).await;
}

on_both_backends!(
    overdue_equals_a_recount_wherever_the_clock_stands,
    a_tampered_due_counter_is_reported_and_repaired,
);
