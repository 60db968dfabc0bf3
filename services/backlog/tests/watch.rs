//! The watch with injected time: each promised-time warning and breach, and each stuck
//! hand-over, is announced exactly once, whatever the number of ticks, and the announcement
//! moves the case when it comes back through the projection.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[macro_use]
mod support;

use chrono::{DateTime, Duration, Utc};
use clearline_backlog::projection::Policy;
use clearline_backlog::store::{case, BacklogCases};
use clearline_backlog::watch::{self, Raised};
use clearline_contracts::{v1, Actor, CaseEvent, EventDraft, EventKind, Payload};
use clearline_platform::outbox::Outbox;
use sea_orm::EntityTrait;
use support::*;

on_both_backends!(
    a_warning_and_a_breach_go_out_once_each,
    the_clock_stops_while_the_resident_is_awaited,
    a_hand_over_that_never_comes_is_flagged_once,
);

async fn tick(db: &TestDb, policy: &Policy, now: DateTime<Utc>) -> Raised {
    watch::tick(&db.db, &Outbox::new(), policy, now)
        .await
        .unwrap()
}

async fn row(db: &TestDb, story: &Story) -> case::Model {
    BacklogCases::find_by_id(story.case_id)
        .one(&db.db)
        .await
        .unwrap()
        .unwrap()
}

/// The service's confirmation that it opened its task for `cause`.
fn task_opened(cause: &CaseEvent, queue: &str, at: DateTime<Utc>) -> CaseEvent {
    let payload = Payload::TaskOpened(v1::TaskOpened {
        queue: queue.into(),
        for_event_id: cause.event_id.clone(),
    });
    EventDraft::notice(cause, &Actor::system(queue), payload).build(at)
}

async fn a_warning_and_a_breach_go_out_once_each(backend: Backend) {
    let db = fresh(backend).await;
    let policy = Policy::default();
    // A same-day service (all time counts), promised 8 hours from the start.
    let mut story = Story::new(
        1,
        "u1",
        "temporary_id_card",
        false,
        base_time(),
        Duration::hours(8),
    );
    story.received(CLERK, &[]);
    let submitted = story.last().clone();
    db.apply_all(&story.events).await;
    db.apply(&task_opened(&submitted, "fulfilment", story.at()))
        .await;
    let received_at = story.events[0].occurred_at();
    let due = story.due_at;
    // 75% of the budget from receipt to the due time.
    let warn_at = received_at + (due - received_at) * 3 / 4;

    let mut seen = 0;
    assert_eq!(
        tick(&db, &policy, warn_at - Duration::minutes(1)).await,
        Raised::default()
    );
    for _ in 0..3 {
        tick(&db, &policy, warn_at + Duration::minutes(1)).await;
    }
    let warnings = announced(&db, &mut seen).await;
    assert_eq!(warnings.len(), 1, "one warning however many ticks");
    assert_eq!(warnings[0].kind(), Some(EventKind::SlaWarning));
    // Even before the warning comes back through the consumer, it is not made again.
    assert_eq!(
        tick(&db, &policy, warn_at + Duration::minutes(2)).await,
        Raised::default()
    );

    db.apply(&warnings[0]).await;
    let warned = row(&db, &story).await;
    assert_eq!(warned.sla_level.as_deref(), Some("warning"));
    assert_eq!(warned.next_alert_at, Some(due));

    for _ in 0..3 {
        tick(&db, &policy, due + Duration::seconds(1)).await;
    }
    let breaches = announced(&db, &mut seen).await;
    assert_eq!(breaches.len(), 1, "one breach however many ticks");
    assert_eq!(breaches[0].kind(), Some(EventKind::SlaBreached));
    db.apply(&breaches[0]).await;
    let breached = row(&db, &story).await;
    assert_eq!(breached.sla_level.as_deref(), Some("breached"));
    assert_eq!(breached.next_alert_at, None, "nothing left to announce");
    assert_eq!(
        tick(&db, &policy, due + Duration::days(3)).await,
        Raised::default()
    );
}

async fn the_clock_stops_while_the_resident_is_awaited(backend: Backend) {
    let db = fresh(backend).await;
    let policy = Policy::default();
    let mut story = Story::new(
        2,
        "u1",
        "temporary_id_card",
        false,
        base_time(),
        Duration::hours(8),
    );
    story.received(CLERK, &["photo"]);
    db.apply_all(&story.events).await;
    let paused = row(&db, &story).await;
    assert_eq!(paused.wait_reason.as_deref(), Some("resident_materials"));
    assert_eq!(
        paused.due_at, None,
        "no deadline runs while the resident is awaited"
    );
    assert_eq!(paused.next_alert_at, None);
    // Long past the original due time: the watch owes nothing to a paused case.
    let mut seen = 0;
    tick(&db, &policy, story.due_at + Duration::days(2)).await;
    assert!(announced(&db, &mut seen).await.is_empty());

    // The resident brings the photo 7 minutes later (the story's step); the whole promise
    // is still there, counted from then.
    let requested_at = story.at();
    story.completed(CLERK);
    db.apply_all(&story.events).await;
    let resumed = row(&db, &story).await;
    let budget = story.due_at - story.events[0].occurred_at();
    let completed_at = story.events[story.events.len() - 2].occurred_at();
    assert!(completed_at > requested_at);
    assert_eq!(resumed.due_at, Some(completed_at + budget));
    assert_eq!(resumed.wait_reason.as_deref(), Some("production"));
}

async fn a_hand_over_that_never_comes_is_flagged_once(backend: Backend) {
    let db = fresh(backend).await;
    let policy = Policy::default();
    let mut story = Story::new(
        3,
        "u1",
        "residence_permit",
        true,
        base_time(),
        Duration::days(14),
    );
    story.received(CLERK, &[]);
    let submitted = story.last().clone();
    db.apply_all(&story.events).await;
    let waiting = row(&db, &story).await;
    let expect_by = submitted.occurred_at() + policy.stuck_after;
    assert_eq!(waiting.expect_by, Some(expect_by));

    let mut seen = 0;
    assert_eq!(
        tick(&db, &policy, expect_by - Duration::seconds(1))
            .await
            .stuck,
        0
    );
    for _ in 0..3 {
        tick(&db, &policy, expect_by + Duration::seconds(1)).await;
    }
    let flags = announced(&db, &mut seen).await;
    assert_eq!(flags.len(), 1);
    let Some(Payload::AttentionNeeded(flag)) = &flags[0].payload else {
        panic!("{:?}", flags[0]);
    };
    assert_eq!(flag.reason, "no_approval_task");
    assert_eq!(flag.source_event_id, submitted.event_id);

    db.apply(&flags[0]).await;
    let stuck = row(&db, &story).await;
    assert_eq!(stuck.attention.as_deref(), Some("no_approval_task"));
    assert_eq!(stuck.wait_reason.as_deref(), Some("needs_attention"));
    assert_eq!(stuck.expect_by, None, "flagged once, not expected again");

    // The task turns up after all: the flag is over.
    db.apply(&task_opened(
        &submitted,
        "approval",
        expect_by + Duration::hours(1),
    ))
    .await;
    let found = row(&db, &story).await;
    assert_eq!(found.attention, None);
    assert_eq!(found.wait_reason.as_deref(), Some("approver"));
}
