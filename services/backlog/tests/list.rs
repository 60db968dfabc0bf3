//! The case list: pages in one total order (soonest due, cases without a due time last),
//! each case once however it is paged, and a total that is exact from the counters or,
//! for other filters, honest about where it stopped counting.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod support;

use chrono::{Duration, Utc};
use clearline_backlog::store::queries::{self, CaseFilter};
use clearline_backlog::store::total::COUNT_CAP;
use clearline_domain::{Stage, Status, WaitReason};
use sea_orm::ConnectionTrait;
use support::*;
use uuid::Uuid;

/// Cases in two units: open with a due time, waiting on materials (no due time), booked
/// (none either), finished.
async fn filled(backend: Backend) -> TestDb {
    let db = fresh(backend).await;
    let t0 = base_time();
    for n in 0..24u32 {
        let unit = if n % 3 == 0 { "u2" } else { "u1" };
        let start = t0 + Duration::hours(i64::from(n));
        let due_in = Duration::days(1 + i64::from(n * 7 % 11));
        let mut story = Story::new(n, unit, "residence_permit", true, start, due_in);
        match n % 4 {
            0 => story.received(CLERK, &["photo"]),
            1 => story.booked(CLERK),
            2 => story
                .received(CLERK, &[])
                .approved(None)
                .started("mail")
                .fulfilled()
                .closed(),
            _ => story.received(CLERK, &[]),
        };
        db.apply_all(&story.events).await;
    }
    db
}

fn filters() -> Vec<CaseFilter> {
    let unit = |u: &str| Some(u.to_string());
    vec![
        CaseFilter::default(),
        CaseFilter {
            unit: unit("u1"),
            ..Default::default()
        },
        CaseFilter {
            status: Some(Status::PendingApproval),
            ..Default::default()
        },
        CaseFilter {
            unit: unit("u2"),
            stage: Some(Stage::Intake),
            ..Default::default()
        },
        CaseFilter {
            stage: Some(Stage::Done),
            service_type: Some("residence_permit".into()),
            ..Default::default()
        },
        CaseFilter {
            service_type: Some("no_such_service".into()),
            ..Default::default()
        },
        CaseFilter {
            overdue: Some(false),
            ..Default::default()
        },
        CaseFilter {
            wait_reason: Some(WaitReason::ResidentMaterials),
            ..Default::default()
        },
    ]
}

async fn every_page_in_one_order_and_an_exact_total(backend: Backend) {
    let db = filled(backend).await;
    let now = Utc::now();
    for filter in filters() {
        let (all, total) = queries::list_cases(&db.db, &filter, now, 500, 0)
            .await
            .unwrap();
        assert_eq!(
            (total.n, total.capped),
            (all.len() as u64, false),
            "{filter:?}"
        );
        // The promised order: due time (none last), receipt (none last), id.
        let key = |c: &clearline_backlog::store::case::Model| {
            (
                c.due_at.is_none(),
                c.due_at,
                c.received_at.is_none(),
                c.received_at,
                c.case_id,
            )
        };
        assert!(
            all.windows(2).all(|w| key(&w[0]) < key(&w[1])),
            "{filter:?} out of order"
        );
        let mut paged = Vec::new();
        for offset in (0..all.len() as u64 + 3).step_by(3) {
            let (page, _) = queries::list_cases(&db.db, &filter, now, 3, offset)
                .await
                .unwrap();
            paged.extend(page);
        }
        assert_eq!(
            paged.iter().map(|c| c.case_id).collect::<Vec<_>>(),
            all.iter().map(|c| c.case_id).collect::<Vec<_>>(),
            "{filter:?} paged"
        );
    }
}

/// Past the cap a filter the counters cannot answer is reported as "more than the cap";
/// one they can answer is still exact.
async fn a_count_past_the_cap_says_so(backend: Backend) {
    let db = fresh(backend).await;
    let now = Utc::now();
    // Rows written straight into the table: this is about counting, not projecting.
    let rows = COUNT_CAP + 5;
    let numbers: Vec<u64> = (0..rows).collect();
    for chunk in numbers.chunks(500) {
        let mut values = vec![sea_orm::Value::from(now)];
        let mut tuples = Vec::new();
        for n in chunk {
            values.push(Uuid::now_v7().into());
            tuples.push(format!(
                "(${}, 'u1-{n}', 'u1', 'residence_permit', 'pending_approval', 'approval', 'approver', $1, 0, 0)",
                values.len()
            ));
        }
        db.db
            .execute(sea_orm::Statement::from_sql_and_values(
                db.db.get_database_backend(),
                format!(
                    "INSERT INTO backlog_cases (case_id, case_number, unit, service_type, status, stage, wait_reason, updated_at, last_sequence, event_count) VALUES {}",
                    tuples.join(", ")
                ),
                values,
            ))
            .await
            .unwrap();
    }
    let waiting = CaseFilter {
        wait_reason: Some(WaitReason::Approver),
        ..Default::default()
    };
    let (page, total) = queries::list_cases(&db.db, &waiting, now, 50, 0)
        .await
        .unwrap();
    assert_eq!((page.len(), total.n, total.capped), (50, COUNT_CAP, true));
    let one = CaseFilter {
        case_number: Some("u1-7".into()),
        ..Default::default()
    };
    let (_, total) = queries::list_cases(&db.db, &one, now, 50, 0).await.unwrap();
    assert_eq!((total.n, total.capped), (1, false));
}

on_both_backends!(
    every_page_in_one_order_and_an_exact_total,
    a_count_past_the_cap_says_so,
);
