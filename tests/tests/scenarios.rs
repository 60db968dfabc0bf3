//! The stories the bureau lives by, across every service on real NATS and real databases,
//! each on SQLite and on PostgreSQL with a system of its own: the return loop, rejection,
//! withdrawal at every stage, a service with no approval, retried requests, duplicated
//! events, bad input, and a day's mixed work that the dashboard must count right.

use clearline_domain::{ResidentId, Status};
use clearline_platform::http::Role;
use clearline_tests::on_both_backends;
use clearline_tests::people::case_request;
use clearline_tests::pipes::Pipes;
use clearline_tests::station::{
    expect_status, material_codes, timeline_types, Station, PERMIT, PERMIT_MATERIALS, SETTLE,
};
use clearline_tests::{Backend, Person, Reply, System};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

on_both_backends!(
    return_loop_twice,
    rejection,
    cancellation_at_each_stage,
    no_approval_service_type,
    idempotency,
    effects_once_under_duplicates,
    bad_input_writes_nothing,
    counters_match_recount,
);

/// The approver twice finds something missing; each time the case goes back to the window
/// with one notice listing exactly what was asked for, and comes back a round later.
async fn return_loop_twice(backend: Backend) -> anyhow::Result<()> {
    let system = System::spawn(backend).await?;
    let hp = Station::at(&system, "HP01");
    let id = hp.receive_complete(1).await?;
    hp.approval_shows(&id, "pending").await?;

    let asked = ["proof_of_residence"];
    expect_status(hp.approver.return_for(&id, &asked).await, 200, "returning")?;
    let at_window = hp.window_shows(&id, "awaiting_materials").await?;
    assert_eq!(material_codes(&at_window["missing_materials"]), asked);
    let tracked = hp.backlog_shows(&id, "awaiting_materials").await?;
    assert_eq!(tracked["stage"], "intake");
    assert_eq!(
        timeline_types(&tracked),
        ["received", "submitted", "returned", "materials_requested"]
    );

    let resubmitted = expect_status(hp.clerk.add_materials(&id, &asked).await, 200, "adding")?;
    assert_eq!(resubmitted["status"], "pending_approval");
    assert_eq!(resubmitted["round"], 2);
    let task = hp.approval_shows(&id, "pending").await?;
    assert_eq!(task["round"], 2, "{task}");

    // The second time, two things at once: still one notice.
    let asked = ["id_card", "proof_of_work_or_study"];
    expect_status(
        hp.approver.return_for(&id, &asked).await,
        200,
        "returning again",
    )?;
    let at_window = hp.window_shows(&id, "awaiting_materials").await?;
    assert_eq!(material_codes(&at_window["missing_materials"]), asked);
    let resubmitted = expect_status(hp.clerk.add_materials(&id, &asked).await, 200, "adding")?;
    assert_eq!(resubmitted["round"], 3);
    assert_eq!(hp.approval_shows(&id, "pending").await?["round"], 3);

    expect_status(hp.approver.approve(&id).await, 200, "approving")?;
    finish_fulfilment(&hp, &id).await?;
    let tracked = hp.backlog_shows(&id, "closed").await?;
    assert_eq!(tracked["stage"], "done");
    assert_eq!(
        timeline_types(&tracked),
        [
            "received",
            "submitted",
            "returned",
            "materials_requested",
            "materials_completed",
            "submitted",
            "returned",
            "materials_requested",
            "materials_completed",
            "submitted",
            "approved",
            "fulfilment_started",
            "fulfilled",
            "closed",
        ]
    );
    let sequences: Vec<i64> = tracked["timeline"]
        .as_array()
        .map(|t| t.iter().filter_map(|e| e["sequence"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(sequences, (1..=14).collect::<Vec<_>>(), "one causal chain");
    hp.window_shows(&id, "closed").await?;
    counters_verify(&hp.supervisor).await
}

/// A rejection needs a reason; without one nothing changes. With one the case is finished:
/// the window may no longer withdraw it and fulfilment never hears of it.
async fn rejection(backend: Backend) -> anyhow::Result<()> {
    let system = System::spawn(backend).await?;
    let pipes = Pipes::open(&system).await?;
    let hp = Station::at(&system, "HP01");
    let id = hp.take_case_to(2, Status::PendingApproval).await?;
    pipes.settled(&system).await?;
    let before = pipes.row_counts().await?;

    for reason in [None, Some("   ")] {
        let mut decision = json!({ "decision": "reject" });
        if let Some(reason) = reason {
            decision["reason"] = json!(reason);
        }
        let refused = hp.approver.decide(&id, decision).await;
        assert_eq!((refused.status, refused.code()), (422, "reason_required"));
    }
    assert_eq!(
        pipes.row_counts().await?,
        before,
        "a refused decision writes nothing"
    );
    let task = hp.approval_shows(&id, "pending").await?;
    assert!(task["decided_by"].is_null(), "{task}");

    let rejected = hp.approver.reject(&id, "the lease has expired").await;
    assert_eq!(
        expect_status(rejected, 200, "rejecting")?["status"],
        "rejected"
    );
    let tracked = hp.backlog_shows(&id, "rejected").await?;
    assert_eq!(tracked["stage"], "done");
    assert_eq!(tracked["owner"], hp.approver.user.as_str());

    hp.window_shows(&id, "rejected").await?;
    let late = hp
        .clerk
        .cancel(&id, "the resident changed their mind")
        .await;
    assert_eq!((late.status, late.code()), (409, "invalid_transition"));
    pipes.settled(&system).await?;
    let task = hp.officer.fulfilment_task(&id).await;
    assert_eq!((task.status, task.code()), (404, "task_not_found"));
    counters_verify(&hp.supervisor).await
}

/// A resident may withdraw at any stage; afterwards the stage that held the case refuses
/// to act on it.
async fn cancellation_at_each_stage(backend: Backend) -> anyhow::Result<()> {
    let system = System::spawn(backend).await?;
    let pipes = Pipes::open(&system).await?;
    let hp = Station::at(&system, "HP01");

    let waiting = hp.take_case_to(31, Status::AwaitingMaterials).await?;
    withdraw(&hp, &waiting).await?;

    let pending = hp.take_case_to(32, Status::PendingApproval).await?;
    withdraw(&hp, &pending).await?;
    hp.approval_shows(&pending, "cancelled").await?;
    let late = hp.approver.approve(&pending).await;
    assert_eq!((late.status, late.code()), (409, "not_pending"));

    let approved = hp.take_case_to(33, Status::AwaitingFulfilment).await?;
    withdraw(&hp, &approved).await?;
    hp.fulfilment_shows(&approved, "cancelled").await?;
    let late = hp.officer.start(&approved, "counter_pickup").await;
    assert_eq!((late.status, late.code()), (409, "invalid_transition"));

    let started = hp.take_case_to(34, Status::InFulfilment).await?;
    withdraw(&hp, &started).await?;
    hp.fulfilment_shows(&started, "cancelled").await?;
    let late = hp.officer.fulfil(&started).await;
    assert_eq!((late.status, late.code()), (409, "invalid_transition"));

    let ready = hp.take_case_to(35, Status::Fulfilled).await?;
    withdraw(&hp, &ready).await?;
    hp.fulfilment_shows(&ready, "cancelled").await?;
    let late = hp.officer.close(&ready).await;
    assert_eq!((late.status, late.code()), (409, "invalid_transition"));

    pipes.settled(&system).await?;
    let backlog = hp.supervisor.backlog().await;
    let totals = &backlog.body["totals"];
    assert_eq!(totals["open"]["total"], 0, "{}", backlog.body);
    assert_eq!(totals["by_status"]["cancelled"], 5, "{}", backlog.body);
    counters_verify(&hp.supervisor).await
}

/// The clerk withdraws the case; the backlog shows it cancelled by the clerk, and the window
/// refuses a second withdrawal.
async fn withdraw(hp: &Station<'_>, id: &str) -> anyhow::Result<()> {
    let cancelled = hp.clerk.cancel(id, "the resident withdrew").await;
    assert_eq!(
        expect_status(cancelled, 200, "cancelling")?["status"],
        "cancelled"
    );
    let tracked = hp.backlog_shows(id, "cancelled").await?;
    assert_eq!(tracked["stage"], "done");
    assert_eq!(tracked["owner"], hp.clerk.user.as_str());
    let again = hp.clerk.cancel(id, "twice").await;
    assert_eq!((again.status, again.code()), (409, "invalid_transition"));
    Ok(())
}

/// A temporary ID card needs no approval: from the window straight to fulfilment.
async fn no_approval_service_type(backend: Backend) -> anyhow::Result<()> {
    let system = System::spawn(backend).await?;
    let pipes = Pipes::open(&system).await?;
    let hp = Station::at(&system, "HP01");
    let id = hp.receive_without_approval(4).await?;
    hp.fulfilment_shows(&id, "awaiting").await?;
    let tracked = hp.backlog_shows(&id, "awaiting_fulfilment").await?;
    assert_eq!(tracked["owner"], hp.clerk.user.as_str());
    pipes.settled(&system).await?;
    let task = hp.approver.approval_task(&id).await;
    assert_eq!((task.status, task.code()), (404, "task_not_found"));

    finish_fulfilment(&hp, &id).await?;
    let tracked = hp.backlog_shows(&id, "closed").await?;
    assert_eq!(
        timeline_types(&tracked),
        [
            "received",
            "submitted",
            "fulfilment_started",
            "fulfilled",
            "closed"
        ]
    );
    hp.window_shows(&id, "closed").await?;
    counters_verify(&hp.supervisor).await
}

/// A clerk's client retries (or double-submits) a registration: one case, one answer.
async fn idempotency(backend: Backend) -> anyhow::Result<()> {
    let system = System::spawn(backend).await?;
    let pipes = Pipes::open(&system).await?;
    let hp = Station::at(&system, "HP01");

    let request = case_request(PERMIT, &PERMIT_MATERIALS, 5);
    let first = hp.clerk.receive_with_key(request.clone(), "w3-0001").await;
    let retry = hp.clerk.receive_with_key(request, "w3-0001").await;
    assert_eq!((first.status, retry.status), (201, 201), "{:?}", retry.body);
    assert_eq!(first.body, retry.body, "a retry gets the first answer");
    let mut ids = BTreeSet::from([first.id()]);

    // The same request sent twice at once, three times over.
    for n in 0..3u32 {
        let key = format!("w3-race-{n}");
        let request = case_request(PERMIT, &["id_card"], 50 + n);
        let (a, b) = tokio::join!(
            hp.clerk.receive_with_key(request.clone(), &key),
            hp.clerk.receive_with_key(request, &key)
        );
        assert_eq!(
            (a.status, b.status),
            (201, 201),
            "{:?} {:?}",
            a.body,
            b.body
        );
        assert_eq!(a.id(), b.id(), "both racers get the one case");
        ids.insert(a.id());
    }
    assert_eq!(ids.len(), 4);

    let other = case_request(PERMIT, &PERMIT_MATERIALS, 6);
    let reused = hp.clerk.receive_with_key(other, "w3-0001").await;
    assert_eq!(
        (reused.status, reused.code()),
        (422, "idempotency_key_reused")
    );

    pipes.settled(&system).await?;
    let at_window = hp.clerk.cases_at_window().await;
    assert_eq!(
        ids_in(&at_window.body),
        ids,
        "the window lists each case once"
    );
    let tracked = hp.supervisor.tracked_cases("limit=500").await;
    assert_eq!(tracked.body["total"], 4, "{}", tracked.body);
    assert_eq!(ids_in(&tracked.body["items"]), ids);
    // Two events per case (received, then submitted or the notice): none from a racer
    // that lost.
    assert_eq!(pipes.outbox("intake").await?.len(), 8);
    counters_verify(&hp.supervisor).await
}

/// Every event reaches every consumer twice: once resent by a relay under its original
/// `Nats-Msg-Id` (the broker drops it), once published again under a new id (the broker
/// keeps it, the consumers' inboxes drop it). Each effect still happens once.
async fn effects_once_under_duplicates(backend: Backend) -> anyhow::Result<()> {
    let system = System::spawn(backend).await?;
    let pipes = Pipes::open(&system).await?;
    let hp = Station::at(&system, "HP01");
    let id = hp.take_case_to(6, Status::PendingApproval).await?;
    pipes.settled(&system).await?;
    assert_eq!(pipes.stream_messages().await?, 2);

    deliver_everything_twice(&system, &pipes, &["intake"]).await?;
    assert_eq!(
        pipes.stream_messages().await?,
        4,
        "relay resends were dropped"
    );
    let task = hp.approval_shows(&id, "pending").await?;
    assert_eq!(task["round"], 1, "{task}");
    assert_eq!(pipes.inbox("approval", "approval").await?, 1);
    let tracked = hp.backlog_shows(&id, "pending_approval").await?;
    assert_eq!(tracked["event_count"], 2, "{tracked}");

    expect_status(hp.approver.approve(&id).await, 200, "approving")?;
    finish_fulfilment(&hp, &id).await?;
    hp.backlog_shows(&id, "closed").await?;
    pipes.settled(&system).await?;
    assert_eq!(pipes.stream_messages().await?, 8);
    deliver_everything_twice(&system, &pipes, &["intake", "approval", "fulfilment"]).await?;
    assert_eq!(pipes.stream_messages().await?, 14);

    // Each service emitted its events once, and applied each event it acts on once.
    let emitted = [("intake", 2), ("approval", 1), ("fulfilment", 3)];
    for (service, n) in emitted {
        assert_eq!(pipes.outbox(service).await?.len(), n, "{service}'s events");
    }
    let applied = [
        ("intake", 1),
        ("approval", 1),
        ("fulfilment", 2),
        ("backlog", 6),
    ];
    for (service, n) in applied {
        assert_eq!(pipes.inbox(service, service).await?, n, "{service}'s inbox");
    }
    for (service, at_least) in [("approval", 2), ("fulfilment", 3), ("backlog", 8)] {
        let skipped = duplicates_skipped(&hp.supervisor, service).await;
        assert!(
            skipped >= at_least,
            "{service} skipped {skipped} duplicates"
        );
    }
    let task = hp.approval_shows(&id, "approved").await?;
    assert_eq!(task["round"], 1, "{task}");
    hp.fulfilment_shows(&id, "closed").await?;
    hp.window_shows(&id, "closed").await?;

    let tracked = hp.backlog_shows(&id, "closed").await?;
    assert_eq!(tracked["event_count"], 6, "{tracked}");
    assert_eq!(
        timeline_types(&tracked),
        [
            "received",
            "submitted",
            "approved",
            "fulfilment_started",
            "fulfilled",
            "closed"
        ]
    );
    let distinct: BTreeSet<&str> = tracked["timeline"]
        .as_array()
        .map(|t| t.iter().filter_map(|e| e["event_id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(distinct.len(), 6);
    let backlog = hp.supervisor.backlog().await.body;
    assert_eq!(
        (
            &backlog["totals"]["received"],
            &backlog["totals"]["finished"]
        ),
        (&json!(1), &json!(1)),
        "{backlog}"
    );
    counters_verify(&hp.supervisor).await
}

/// For each of `services`: (a) its relay resends every event it ever sent, under the
/// original ids, and (b) the same bytes are published once more under new ids. Returns
/// when every consumer has taken in all of it.
async fn deliver_everything_twice(
    system: &System,
    pipes: &Pipes,
    services: &[&str],
) -> anyhow::Result<()> {
    for service in services {
        let emitted = pipes.outbox(service).await?;
        let marked = pipes.mark_outbox_unsent(service).await?;
        assert_eq!(marked as usize, emitted.len());
        let what = format!("{service}'s relay to resend its outbox");
        system
            .eventually(&what, SETTLE, || async {
                (pipes.unsent(service).await.ok()? == 0).then_some(())
            })
            .await?;
        for (subject, payload) in emitted {
            let ack = pipes.publish_again(&subject, payload).await?;
            assert!(!ack.duplicate, "a new message id is a new message");
        }
    }
    pipes.settled(system).await
}

/// `consumer_duplicates_total` from the service's `/metrics`: events its inbox skipped.
async fn duplicates_skipped(who: &Person, service: &str) -> u64 {
    let (_, text) = who.get_text(service, "/metrics").await;
    let series = format!("consumer_duplicates_total{{consumer=\"{service}\"}}");
    text.lines()
        .find_map(|line| line.strip_prefix(series.as_str()))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map_or(0, |value| value as u64)
}

/// Every kind of bad request is refused with its own code, echoes no ID number, and leaves
/// every table of every service exactly as it was.
async fn bad_input_writes_nothing(backend: Backend) -> anyhow::Result<()> {
    let system = System::spawn(backend).await?;
    let pipes = Pipes::open(&system).await?;
    let hp = Station::at(&system, "HP01");
    let id = hp.take_case_to(7, Status::PendingApproval).await?;
    pipes.settled(&system).await?;
    let before = pipes.row_counts().await?;

    let good = case_request(PERMIT, &PERMIT_MATERIALS, 70);
    let id_number = ResidentId::synthetic(70).as_str().to_string();
    let with = |pointer: &str, value: Value| {
        let mut request = good.clone();
        if let Some(slot) = request.pointer_mut(pointer) {
            *slot = value;
        }
        request
    };
    let no_applicant = {
        let mut request = good.clone();
        request.as_object_mut().map(|r| r.remove("applicant"));
        request
    };
    let malformed =
        format!(r#"{{"service_type": "{PERMIT}", "applicant": {{"id_number": "{id_number}""#);
    // Signed in as an approver, but the same user who received the case.
    let same_user = system.person(&hp.clerk.user, Role::Approver, Some("HP01"));

    let attempts: Vec<(&str, Reply, u16, &str)> = vec![
        (
            "an ID number whose check digit is wrong",
            hp.clerk
                .receive(with(
                    "/applicant/id_number",
                    json!(wrong_check_digit(&id_number)),
                ))
                .await,
            422,
            "invalid_id_check_digit",
        ),
        (
            "a service type not in the catalog",
            hp.clerk
                .receive(with("/service_type", json!("dog_licence")))
                .await,
            422,
            "unknown_service_type",
        ),
        (
            "no applicant",
            hp.clerk.receive(no_applicant).await,
            422,
            "invalid_body",
        ),
        (
            "JSON that does not parse",
            hp.clerk
                .post_raw("intake", "/api/v1/cases", "application/json", &malformed)
                .await,
            400,
            "invalid_json",
        ),
        (
            "an approver registering a case",
            hp.approver.receive(good.clone()).await,
            403,
            "forbidden_role",
        ),
        (
            "no token",
            hp.clerk
                .post_without_token("intake", "/api/v1/cases", good.clone())
                .await,
            401,
            "missing_token",
        ),
        (
            "the receiving clerk deciding their own case",
            same_user.approve(&id).await,
            403,
            "approver_is_receiving_clerk",
        ),
        (
            "a material not in the catalog",
            hp.clerk
                .receive(with("/materials", json!(["id_card", "library_card"])))
                .await,
            422,
            "unknown_material",
        ),
        (
            "a phone that is not a phone",
            hp.clerk
                .receive(with("/applicant/phone", json!("call me maybe")))
                .await,
            422,
            "invalid_phone",
        ),
        (
            "a return that lists nothing missing",
            hp.approver
                .decide(&id, json!({ "decision": "return" }))
                .await,
            422,
            "materials_required",
        ),
    ];
    for (what, reply, status, code) in attempts {
        assert_eq!(
            (reply.status, reply.code()),
            (status, code),
            "{what}: {}",
            reply.body
        );
        let text = reply.body.to_string();
        assert!(
            !text.contains(&id_number[..17]),
            "{what} echoed the ID number: {text}"
        );
        assert_eq!(pipes.row_counts().await?, before, "{what} wrote something");
    }
    // Nothing arrives later either.
    pipes.settled(&system).await?;
    assert_eq!(pipes.row_counts().await?, before);
    hp.approval_shows(&id, "pending").await?;
    Ok(())
}

/// The same number with its last (check) character changed.
fn wrong_check_digit(id_number: &str) -> String {
    let (body, check) = id_number.split_at(17);
    let wrong = if check == "0" { "1" } else { "0" };
    format!("{body}{wrong}")
}

/// Where a case of the day's mix ends up.
#[derive(Debug, Clone, Copy)]
enum Plan {
    /// A residence permit worked until it rests at this status.
    Permit(Status),
    /// A residence permit worked until this status, then withdrawn.
    WithdrawnAt(Status),
    /// A temporary ID card, waiting for fulfilment.
    TemporaryId,
}

const DAY: [Plan; 15] = [
    Plan::Permit(Status::AwaitingMaterials),
    Plan::Permit(Status::AwaitingMaterials),
    Plan::Permit(Status::PendingApproval),
    Plan::Permit(Status::PendingApproval),
    Plan::Permit(Status::AwaitingFulfilment),
    Plan::TemporaryId,
    Plan::Permit(Status::InFulfilment),
    Plan::Permit(Status::Fulfilled),
    Plan::Permit(Status::Closed),
    Plan::Permit(Status::Closed),
    Plan::Permit(Status::Rejected),
    Plan::Permit(Status::Rejected),
    Plan::Permit(Status::Cancelled),
    Plan::WithdrawnAt(Status::PendingApproval),
    Plan::WithdrawnAt(Status::InFulfilment),
];

/// Two stations' day of mixed work, all at once. Afterwards the dashboard's counters match
/// a recount of the cases, the backlog's own list, and what the staff actually did.
async fn counters_match_recount(backend: Backend) -> anyhow::Result<()> {
    let system = System::spawn(backend).await?;
    let pipes = Pipes::open(&system).await?;
    let stations = [Station::at(&system, "HP01"), Station::at(&system, "HP02")];
    let work = stations.iter().enumerate().flat_map(|(s, station)| {
        DAY.iter()
            .enumerate()
            .map(move |(c, plan)| work_case(station, (s * 100 + c) as u32 + 800, *plan))
    });
    let done: Vec<(String, String, Status)> = futures::future::try_join_all(work).await?;
    assert_eq!(done.len(), 30);
    for (unit, id, status) in &done {
        let station = stations
            .iter()
            .find(|s| &s.unit == unit)
            .unwrap_or(&stations[0]);
        station.backlog_shows(id, status.as_str()).await?;
    }
    pipes.settled(&system).await?;
    let supervisor = &stations[0].supervisor;
    counters_verify(supervisor).await?;

    // What the staff did, counted per unit and status.
    let mut expected: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (unit, _, status) in &done {
        *expected
            .entry((unit.clone(), status.to_string()))
            .or_default() += 1;
    }
    // What the backlog lists, counted the same way.
    let listed = supervisor.tracked_cases("limit=500").await.body;
    assert_eq!(listed["total"], 30, "{listed}");
    let mut recounted: BTreeMap<(String, String), i64> = BTreeMap::new();
    for item in listed["items"].as_array().into_iter().flatten() {
        let key = (text(&item["unit"]), text(&item["status"]));
        *recounted.entry(key).or_default() += 1;
    }
    assert_eq!(recounted, expected, "the backlog lists what the staff did");

    let dashboard = supervisor.backlog().await.body;
    let units = dashboard["units"].as_array().cloned().unwrap_or_default();
    assert_eq!(units.len(), 2, "{dashboard}");
    for figures in &units {
        let unit = text(&figures["unit"]);
        let of = |status: Status| {
            expected
                .get(&(unit.clone(), status.to_string()))
                .copied()
                .unwrap_or(0)
        };
        let in_stage = |stage: &str| {
            Status::ALL
                .iter()
                .filter(|s| s.stage().as_str() == stage)
                .map(|s| of(*s))
                .sum::<i64>()
        };
        for status in Status::ALL {
            assert_eq!(
                figures["by_status"][status.as_str()],
                of(status),
                "{unit} {status}"
            );
        }
        let (received, finished) = (
            Status::ALL.iter().map(|s| of(*s)).sum::<i64>(),
            in_stage("done"),
        );
        assert_eq!(
            (figures["received"].as_i64(), figures["finished"].as_i64()),
            (Some(received), Some(finished)),
            "{unit}"
        );
        let open = &figures["open"];
        for stage in ["intake", "approval", "fulfilment"] {
            assert_eq!(open[stage], in_stage(stage), "{unit} open in {stage}");
            let query = format!("unit={unit}&stage={stage}&limit=1");
            let listed = supervisor.tracked_cases(&query).await.body;
            assert_eq!(
                listed["total"], open[stage],
                "{unit} {stage}: list and counter agree"
            );
        }
        assert_eq!(
            open["total"],
            received - finished,
            "{unit}: open = received − finished"
        );
        assert_eq!(
            open["total"].as_i64(),
            ["intake", "approval", "fulfilment"]
                .iter()
                .map(|s| open[*s].as_i64())
                .sum(),
            "{unit}"
        );
    }
    let totals = &dashboard["totals"];
    assert_eq!(totals["received"], 30);
    let sum = |field: &str| units.iter().filter_map(|u| u[field].as_i64()).sum::<i64>();
    assert_eq!(totals["finished"], sum("finished"));
    let open_total = units
        .iter()
        .filter_map(|u| u["open"]["total"].as_i64())
        .sum::<i64>();
    assert_eq!(totals["open"]["total"], open_total);
    Ok(())
}

/// Works one case of the day's mix: (unit, case id, the status it should end in).
async fn work_case(
    station: &Station<'_>,
    n: u32,
    plan: Plan,
) -> anyhow::Result<(String, String, Status)> {
    let (id, status) = match plan {
        Plan::Permit(status) => (station.take_case_to(n, status).await?, status),
        Plan::WithdrawnAt(status) => {
            let id = station.take_case_to(n, status).await?;
            let cancelled = station.clerk.cancel(&id, "the resident withdrew").await;
            expect_status(cancelled, 200, "withdrawing")?;
            (id, Status::Cancelled)
        }
        Plan::TemporaryId => {
            let id = station.receive_without_approval(n).await?;
            (id, Status::AwaitingFulfilment)
        }
    };
    Ok((station.unit.clone(), id, status))
}

/// The officer hands the result over: start, fulfil, close.
async fn finish_fulfilment(hp: &Station<'_>, id: &str) -> anyhow::Result<()> {
    hp.fulfilment_shows(id, "awaiting").await?;
    expect_status(
        hp.officer.start(id, "counter_pickup").await,
        200,
        "starting",
    )?;
    expect_status(hp.officer.fulfil(id).await, 200, "fulfilling")?;
    expect_status(hp.officer.close(id).await, 200, "closing")?;
    Ok(())
}

/// The backlog's own audit: every maintained counter equals a recount of the cases.
async fn counters_verify(supervisor: &Person) -> anyhow::Result<()> {
    let verify = supervisor.verify_counters().await;
    assert_eq!(verify.body["ok"], true, "{}", verify.body);
    Ok(())
}

/// The `id` (intake) or `case_id` (backlog) of each case in a JSON list.
fn ids_in(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|case| case["id"].as_str().or(case["case_id"].as_str()))
        .map(str::to_string)
        .collect()
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}
