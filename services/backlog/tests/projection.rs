//! The read model is a pure function of the set of events: the same histories, applied in
//! order, shuffled, or with the broker's duplicates, give the same cases and counters, and
//! the counters always agree with a recount.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod support;

use chrono::{DateTime, Duration, Utc};
use clearline_backlog::dashboard;
use clearline_backlog::projection::Applied;
use clearline_backlog::store::case;
use clearline_contracts::CaseEvent;
use clearline_domain::{Stage, Status};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use support::*;

/// What a story should end as.
struct Expect {
    status: Option<Status>,
    owner: Option<&'static str>,
}

fn expect(status: Status, owner: (&'static str, &str)) -> Expect {
    Expect {
        status: Some(status),
        owner: Some(owner.0),
    }
}

/// Several cases in two units with every kind of ending, and some still open.
fn world() -> Vec<(Story, Expect)> {
    let t0 = base_time();
    let at = |i: i64| t0 + Duration::hours(i);
    let mut w = Vec::new();
    let story = |n: u32, unit: &str, service: &str, approval: bool, due_days: i64| {
        Story::new(
            n,
            unit,
            service,
            approval,
            at(i64::from(n)),
            Duration::days(due_days),
        )
    };

    let mut s = story(1, "u1", "resident_id_card", true, 20);
    let later = s.at() + Duration::days(25);
    s.received(CLERK, &["photo_receipt"])
        .completed(CLERK)
        .approved(Some(later))
        .started("counter_pickup")
        .fulfilled()
        .closed();
    w.push((s, expect(Status::Closed, OFFICER)));

    let mut s = story(2, "u1", "residence_permit", true, 14);
    s.received(CLERK, &[])
        .returned(&["proof_of_residence"])
        .completed(CLERK2)
        .returned(&["photo"])
        .completed(CLERK);
    s.approved(None).started("home_visit");
    w.push((s, expect(Status::InFulfilment, OFFICER)));

    let mut s = story(3, "u1", "no_criminal_record_certificate", true, 5);
    s.received(CLERK, &[]).rejected();
    w.push((s, expect(Status::Rejected, APPROVER)));

    let mut s = story(4, "u1", "birth_registration", true, 3);
    s.received(CLERK, &["birth_medical_certificate"])
        .cancelled(CLERK2);
    w.push((s, expect(Status::Cancelled, CLERK2)));

    let mut s = story(5, "u2", "household_transfer", true, 3);
    s.received(CLERK, &[]).cancelled(CLERK);
    w.push((s, expect(Status::Cancelled, CLERK)));

    let mut s = story(6, "u2", "residence_permit", true, 14);
    s.received(CLERK, &[])
        .approved(None)
        .started("mail")
        .cancelled(CLERK2);
    w.push((s, expect(Status::Cancelled, CLERK2)));

    // The resident withdrew while the approver approved: the cancel wins.
    let mut s = story(7, "u1", "residence_permit", true, 14);
    s.received(CLERK, &[])
        .approved(None)
        .cancelled_racing(CLERK);
    w.push((s, expect(Status::Cancelled, CLERK)));

    // A withdrawal that lost the race to the hand-over: the close wins.
    let mut s = story(8, "u1", "resident_id_card", true, 20);
    s.received(CLERK, &[])
        .approved(None)
        .started("counter_pickup")
        .fulfilled()
        .closed()
        .cancelled_racing(CLERK);
    w.push((s, expect(Status::Closed, OFFICER)));

    let mut s = story(9, "u1", "temporary_id_card", false, 1);
    s.received(CLERK, &[])
        .started("counter_pickup")
        .fulfilled()
        .closed();
    w.push((s, expect(Status::Closed, OFFICER)));

    let mut s = story(10, "u2", "temporary_residence_registration", false, 1);
    s.received(CLERK2, &[]);
    w.push((s, expect(Status::AwaitingFulfilment, CLERK2)));

    let mut s = story(11, "u1", "resident_id_card", true, 20);
    s.booked(CLERK);
    w.push((s, expect(Status::Booked, CLERK)));

    let mut s = story(12, "u1", "resident_id_card", true, 20);
    s.booked(CLERK).received(CLERK2, &[]);
    w.push((s, expect(Status::PendingApproval, CLERK2)));

    let mut s = story(13, "u2", "residence_permit", true, 2);
    s.received(CLERK, &[]);
    w.push((s, expect(Status::PendingApproval, CLERK)));

    let mut s = story(14, "u1", "residence_permit", true, 14);
    s.received(CLERK, &["photo", "proof_of_residence"]);
    w.push((s, expect(Status::AwaitingMaterials, CLERK)));

    let mut s = story(15, "u2", "resident_id_card", true, 20);
    s.received(CLERK, &[])
        .approved(None)
        .started("counter_pickup")
        .fulfilled();
    w.push((s, expect(Status::Fulfilled, OFFICER)));

    // Approved with nothing before it yet: no valid history, no status, not counted.
    let mut s = story(16, "u2", "residence_permit", true, 14);
    s.received(CLERK, &[]).approved(None);
    s.events.remove(0);
    s.events.remove(0);
    w.push((
        s,
        Expect {
            status: None,
            owner: None,
        },
    ));
    w
}

fn all_events(world: &[(Story, Expect)]) -> Vec<CaseEvent> {
    world
        .iter()
        .flat_map(|(s, _)| s.events.iter().cloned())
        .collect()
}

fn row<'a>(cases: &'a [case::Model], story: &Story) -> &'a case::Model {
    cases.iter().find(|c| c.case_id == story.case_id).unwrap()
}

fn at_ms(event: &CaseEvent) -> DateTime<Utc> {
    event.occurred_at()
}

async fn histories_applied_in_order_give_the_expected_cases(backend: Backend) {
    let world = world();
    let db = fresh(backend).await;
    db.apply_all(&all_events(&world)).await;
    let snap = db.snapshot().await;

    assert_eq!(snap.cases.len(), world.len());
    for (story, want) in &world {
        let got = row(&snap.cases, story);
        assert_eq!(got.status(), want.status, "{}", got.case_number);
        assert_eq!(got.owner.as_deref(), want.owner, "{}", got.case_number);
        assert_eq!(
            got.stage,
            want.status.map(|s| s.stage().as_str().to_string())
        );
        assert_eq!(got.event_count, story.events.len() as i64);
        assert_eq!(got.updated_at, at_ms(story.last()));
        let finished = want.status.is_some_and(Status::is_finished);
        assert_eq!(got.finished_at.is_some(), finished, "{}", got.case_number);
    }
    // The promised time follows approval's new due time.
    let (full, _) = &world[0];
    assert_eq!(row(&snap.cases, full).due_at, Some(full.due_at));
    // Finished when the finishing event happened: the racing cancel, not the approval.
    let (raced, _) = &world[6];
    assert_eq!(
        row(&snap.cases, raced).finished_at,
        Some(at_ms(raced.last()))
    );
    let (closed, _) = &world[7];
    let close = &closed.events[closed.events.len() - 2];
    assert_eq!(row(&snap.cases, closed).finished_at, Some(at_ms(close)));
    // A booking is visible before the resident comes: window and channel, no receipt yet.
    let booked = row(&snap.cases, &world[10].0);
    assert_eq!(
        (booked.service_window.as_deref(), booked.channel.as_deref()),
        (Some("W2"), Some("phone_appointment"))
    );
    assert_eq!((booked.received_at, booked.due_at), (None, None));

    assert_eq!(
        snap.counts, snap.recounted,
        "maintained counters match a recount"
    );
    assert_eq!(snap.due, snap.due_recounted, "so do the due-day counters");
    assert_eq!(snap.flow, snap.flow_recounted, "and the flow counters");
    assert!(dashboard::verify(&db.db, None).await.unwrap().ok);
}

async fn the_dashboard_adds_up_per_unit_and_stage(backend: Backend) {
    let world = world();
    let db = fresh(backend).await;
    db.apply_all(&all_events(&world)).await;
    let view = dashboard::backlog(&db.db, None, Utc::now()).await.unwrap();

    let u1 = &view.units.iter().find(|u| u.unit == "u1").unwrap().figures;
    // u1: booked, awaiting materials and pending approval (intake 2, approval 1); in fulfilment 1.
    assert_eq!(
        (u1.open.intake, u1.open.approval, u1.open.fulfilment),
        (2, 1, 1)
    );
    assert_eq!((u1.received, u1.finished), (10, 6));
    let u2 = &view.units.iter().find(|u| u.unit == "u2").unwrap().figures;
    assert_eq!(
        (u2.open.approval, u2.open.fulfilment, u2.finished),
        (1, 2, 2)
    );
    // Case 13's two-day promise is long past; case 10's one-day one too.
    assert_eq!(u2.overdue, 2);
    for figures in view.units.iter().map(|u| &u.figures).chain([&view.totals]) {
        assert_eq!(figures.open.total, figures.received - figures.finished);
        assert_eq!(
            figures.open.total,
            figures.open.intake + figures.open.approval + figures.open.fulfilment
        );
        assert!(figures.oldest_open_age_seconds.unwrap() > 9 * 24 * 3600);
    }
    assert_eq!(view.totals.received, u1.received + u2.received);

    let mine = dashboard::backlog(&db.db, Some("u9"), Utc::now())
        .await
        .unwrap();
    assert_eq!(
        mine.units.len(),
        1,
        "a unit with no cases yet is listed with zeros"
    );
    assert_eq!(mine.totals.received, 0);
}

async fn the_same_event_twice_changes_nothing(backend: Backend) {
    let world = world();
    let db = fresh(backend).await;
    let (story, _) = &world[1];
    db.apply_all(&story.events).await;
    let before = db.snapshot().await;
    for event in &story.events {
        assert_eq!(db.apply(event).await, Applied::Duplicate);
    }
    assert_eq!(db.snapshot().await, before);
}

async fn an_event_ahead_of_its_history_waits_without_a_status(backend: Backend) {
    let mut story = Story::new(
        1,
        "u1",
        "residence_permit",
        true,
        base_time(),
        Duration::days(14),
    );
    story.received(CLERK, &[]).approved(None).started("mail");
    let db = fresh(backend).await;
    let [received, submitted, approved, started] = &story.events[..] else {
        panic!("four events")
    };

    db.apply(approved).await;
    db.apply(started).await;
    let snap = db.snapshot().await;
    assert_eq!(
        (
            snap.cases[0].status.as_deref(),
            snap.cases[0].stage.as_deref()
        ),
        (None, None)
    );
    assert!(
        snap.counts.is_empty(),
        "a case without a status is not counted"
    );

    db.apply(received).await;
    assert_eq!(
        db.snapshot().await.cases[0].status(),
        Some(Status::Received)
    );
    db.apply(submitted).await;
    let snap = db.snapshot().await;
    assert_eq!(snap.cases[0].status(), Some(Status::InFulfilment));
    assert_eq!(
        snap.cases[0].stage.as_deref(),
        Some(Stage::Fulfilment.as_str())
    );
    assert_eq!(snap.counts, snap.recounted);
    assert_eq!(snap.due, snap.due_recounted);
    assert_eq!(snap.flow, snap.flow_recounted);
}

/// Applies the world's events shuffled and with duplicates to a fresh database, checking
/// the counters against a recount after every event, and compares the end state with the
/// in-order one.
fn shuffled_and_duplicated_events_converge(backend: Backend, cases: u32) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let events = all_events(&world());
    let expected = rt.block_on(async {
        let a = fresh(backend).await;
        a.apply_all(&events).await;
        a.snapshot().await
    });
    assert_eq!(expected.counts, expected.recounted);
    assert_eq!(expected.due, expected.due_recounted);
    assert_eq!(expected.flow, expected.flow_recounted);

    let n = events.len();
    let order = Just((0..n).collect::<Vec<usize>>()).prop_shuffle();
    let duplicates = prop::collection::vec((0..n, any::<prop::sample::Index>()), 0..n / 2);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(order, duplicates), |(order, duplicates)| {
            let mut messy: Vec<&CaseEvent> = order.iter().map(|i| &events[*i]).collect();
            for (event, position) in duplicates {
                let at = position.index(messy.len() + 1);
                messy.insert(at, &events[event]);
            }
            rt.block_on(async {
                let b = fresh(backend).await;
                for event in messy {
                    b.apply(event).await;
                    let audit = dashboard::verify(&b.db, None).await.unwrap();
                    prop_assert!(audit.ok, "counters drifted: {:?}", audit.drift);
                }
                prop_assert_eq!(b.snapshot().await, expected.clone());
                Ok(())
            })
        })
        .unwrap();
}

#[test]
fn shuffled_and_duplicated_events_converge_on_sqlite() {
    shuffled_and_duplicated_events_converge(Backend::Sqlite, 16);
}

/// Fewer cases: each one creates a PostgreSQL database.
#[test]
fn shuffled_and_duplicated_events_converge_on_postgres() {
    shuffled_and_duplicated_events_converge(Backend::Postgres, 6);
}

on_both_backends!(
    histories_applied_in_order_give_the_expected_cases,
    the_dashboard_adds_up_per_unit_and_stage,
    the_same_event_twice_changes_nothing,
    an_event_ahead_of_its_history_waits_without_a_status,
);

/// Several replicas of the backlog project one stream at once (a shared durable consumer):
/// the per-case row lock makes each see the events the others committed, so the result is
/// still the in-order one. PostgreSQL only: SQLite has a single writer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_replicas_converge_on_postgres() {
    let events = all_events(&world());
    let a = fresh(Backend::Postgres).await;
    a.apply_all(&events).await;
    let expected = a.snapshot().await;

    let b = fresh(Backend::Postgres).await;
    let mut shuffled = events.clone();
    // Neighbours in a case's history go to different replicas.
    shuffled.sort_by_key(|e| (e.sequence, e.event_id.clone()));
    let replicas = 4;
    let mut tasks = tokio::task::JoinSet::new();
    for r in 0..replicas {
        let mine: Vec<CaseEvent> = shuffled.iter().skip(r).step_by(replicas).cloned().collect();
        let db = b.db.clone();
        tasks.spawn(async move {
            for event in &mine {
                let txn = sea_orm::TransactionTrait::begin(&db).await.unwrap();
                clearline_backlog::projection::apply(&txn, event, &Default::default())
                    .await
                    .unwrap();
                txn.commit().await.unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    assert_eq!(b.snapshot().await, expected);
}
