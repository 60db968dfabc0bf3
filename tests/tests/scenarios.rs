//! The stories the bureau lives by, across every service on real NATS and real databases,
//! each on SQLite and on PostgreSQL with a system of its own: the return loop, rejection,
//! withdrawal at every stage, a service with no approval, retried requests, duplicated
//! events, bad input, and a day's mixed work that the dashboard must count right.

use clearline_domain::{ResidentId, Stage, Status};
use clearline_platform::http::Role;
use clearline_tests::forensics::Evidence;
use clearline_tests::on_both_backends;
use clearline_tests::people::case_request;
use clearline_tests::pipes::Pipes;
use clearline_tests::station::{
    case_ids, expect_status, material_codes, step_types, Station, PERMIT, PERMIT_MATERIALS,
};
use clearline_tests::{Backend, Reply, System};
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
    let evidence = Evidence::keep_on_failure(&system);
    let hp = Station::at(&system, "HP01");
    let id = hp.receive_complete(1).await?;
    hp.approval_shows(&id, "pending").await?;

    let asked = ["proof_of_residence"];
    expect_status(hp.approver.return_for(&id, &asked).await, 200, "returning")?;
    let at_window = hp.window_shows(&id, "awaiting_materials").await?;
    assert_eq!(material_codes(&at_window["missing_materials"]), asked);
    assert_eq!(
        material_codes(&at_window["provided_materials"]),
        ["id_card", "proof_of_work_or_study"],
        "what was asked for again no longer counts as provided"
    );
    let task = hp.approval_shows(&id, "returned").await?;
    assert_eq!(task["returned_materials"], json!(asked));
    let tracked = hp.backlog_holds(&id, 4).await?;
    assert_eq!(tracked["status"], "awaiting_materials");
    assert_eq!(tracked["stage"], "intake");
    assert_eq!(
        step_types(&tracked),
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
    hp.hand_over(&id).await?;
    let tracked = hp.backlog_holds(&id, 14).await?;
    assert_eq!(tracked["status"], "closed", "{tracked}");
    assert_eq!(tracked["stage"], "done");
    assert_eq!(
        step_types(&tracked),
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
    // Notices (task_opened) carry the number of the event they follow; the lifecycle
    // events alone form one causal chain.
    let sequences: Vec<i64> = tracked["timeline"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter(|e| e["type"] != "task_opened")
                .filter_map(|e| e["sequence"].as_i64())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(sequences, (1..=14).collect::<Vec<_>>(), "one causal chain");
    hp.window_shows(&id, "closed").await?;
    hp.counters_agree().await?;
    evidence.not_needed();
    Ok(())
}

/// A rejection needs a reason; without one nothing changes. With one the case is finished:
/// the window may no longer withdraw it and fulfilment never hears of it.
async fn rejection(backend: Backend) -> anyhow::Result<()> {
    let system = System::spawn(backend).await?;
    let evidence = Evidence::keep_on_failure(&system);
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
    hp.counters_agree().await?;
    evidence.not_needed();
    Ok(())
}

/// A resident may withdraw at any stage; afterwards the stage that held the case refuses
/// to act on it.
async fn cancellation_at_each_stage(backend: Backend) -> anyhow::Result<()> {
    let system = System::spawn(backend).await?;
    let evidence = Evidence::keep_on_failure(&system);
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
    hp.counters_agree().await?;
    evidence.not_needed();
    Ok(())
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
    let evidence = Evidence::keep_on_failure(&system);
    let pipes = Pipes::open(&system).await?;
    let hp = Station::at(&system, "HP01");
    let id = hp.receive_without_approval(4).await?;
    hp.fulfilment_shows(&id, "awaiting").await?;
    let tracked = hp.backlog_shows(&id, "awaiting_fulfilment").await?;
    assert_eq!(tracked["owner"], hp.clerk.user.as_str());
    pipes.settled(&system).await?;
    let task = hp.approver.approval_task(&id).await;
    assert_eq!((task.status, task.code()), (404, "task_not_found"));

    hp.hand_over(&id).await?;
    let tracked = hp.backlog_holds(&id, 5).await?;
    assert_eq!(tracked["status"], "closed");
    assert_eq!(
        step_types(&tracked),
        [
            "received",
            "submitted",
            "fulfilment_started",
            "fulfilled",
            "closed"
        ]
    );
    hp.window_shows(&id, "closed").await?;
    hp.counters_agree().await?;
    evidence.not_needed();
    Ok(())
}

/// A clerk's client retries (or double-submits) a registration: one case, one answer.
async fn idempotency(backend: Backend) -> anyhow::Result<()> {
    let system = System::spawn(backend).await?;
    let evidence = Evidence::keep_on_failure(&system);
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
        case_ids(&at_window.body),
        ids,
        "the window lists each case once"
    );
    let tracked = hp.supervisor.tracked_cases("limit=500").await;
    assert_eq!(tracked.body["total"], 4, "{}", tracked.body);
    assert_eq!(case_ids(&tracked.body["items"]), ids);
    // Two events per case (received, then submitted or the notice): none from a racer
    // that lost.
    assert_eq!(pipes.outbox("intake").await?.len(), 8);
    hp.counters_agree().await?;
    evidence.not_needed();
    Ok(())
}

/// Every event reaches every consumer twice: once resent by a relay under its original
/// `Nats-Msg-Id` (the broker drops it), once published again under a new id (the broker
/// keeps it, the consumers' inboxes drop it). Each effect still happens once.
async fn effects_once_under_duplicates(backend: Backend) -> anyhow::Result<()> {
    let system = System::spawn(backend).await?;
    let evidence = Evidence::keep_on_failure(&system);
    let pipes = Pipes::open(&system).await?;
    let hp = Station::at(&system, "HP01");
    let id = hp.take_case_to(6, Status::PendingApproval).await?;
    pipes.settled(&system).await?;
    // received and submitted from intake, task_opened from approval.
    assert_eq!(pipes.stream_messages().await?, 3);

    pipes.deliver_everything_twice(&system, &["intake"]).await?;
    assert_eq!(
        pipes.stream_messages().await?,
        5,
        "relay resends were dropped"
    );
    let task = hp.approval_shows(&id, "pending").await?;
    assert_eq!(task["round"], 1, "{task}");
    assert_eq!(pipes.inbox("approval", "approval").await?, 1);
    hp.backlog_shows(&id, "pending_approval").await?;
    pipes.settled(&system).await?;
    let tracked = hp.supervisor.tracked_case(&id).await.body;
    assert_eq!(tracked["event_count"], 3, "{tracked}");

    expect_status(hp.approver.approve(&id).await, 200, "approving")?;
    hp.hand_over(&id).await?;
    hp.backlog_shows(&id, "closed").await?;
    pipes.settled(&system).await?;
    // 8 events (2 + 2 + 4, with one task_opened each from approval and fulfilment) and
    // intake's 2 published again.
    assert_eq!(pipes.stream_messages().await?, 10);
    pipes
        .deliver_everything_twice(&system, &["intake", "approval", "fulfilment"])
        .await?;
    assert_eq!(pipes.stream_messages().await?, 18);

    // Each service emitted its events once, and applied each event it acts on once.
    let emitted = [("intake", 2), ("approval", 2), ("fulfilment", 4)];
    for (service, n) in emitted {
        assert_eq!(pipes.outbox(service).await?.len(), n, "{service}'s events");
    }
    let applied = [
        ("intake", 1),
        ("approval", 1),
        ("fulfilment", 2),
        ("backlog", 8),
    ];
    for (service, n) in applied {
        assert_eq!(pipes.inbox(service, service).await?, n, "{service}'s inbox");
    }
    for (service, at_least) in [("approval", 2.0), ("fulfilment", 3.0), ("backlog", 8.0)] {
        let series = format!("consumer_duplicates_total{{consumer=\"{service}\"}}");
        let skipped = hp.supervisor.metric(service, &series).await.unwrap_or(0.0);
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
    // Six lifecycle events and the two tasks opened.
    assert_eq!(tracked["event_count"], 8, "{tracked}");
    assert_eq!(
        step_types(&tracked),
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
    assert_eq!(distinct.len(), 8);
    let backlog = hp.supervisor.backlog().await.body;
    let totals = &backlog["totals"];
    let counted = (totals["received"].as_i64(), totals["finished"].as_i64());
    assert_eq!(counted, (Some(1), Some(1)), "{totals}");
    hp.counters_agree().await?;
    evidence.not_needed();
    Ok(())
}

/// Every kind of bad request is refused with its own code, echoes no ID number, and leaves
/// every table of every service exactly as it was.
async fn bad_input_writes_nothing(backend: Backend) -> anyhow::Result<()> {
    let system = System::spawn(backend).await?;
    let evidence = Evidence::keep_on_failure(&system);
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
    evidence.not_needed();
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

/// Two stations' day of mixed work, all at once. Afterwards the dashboard's figures agree
/// with what the staff did, with the backlog's own list, and with its own recount.
async fn counters_match_recount(backend: Backend) -> anyhow::Result<()> {
    let system = System::spawn(backend).await?;
    let evidence = Evidence::keep_on_failure(&system);
    let pipes = Pipes::open(&system).await?;
    let stations = [Station::at(&system, "HP01"), Station::at(&system, "HP02")];
    let work = stations.iter().enumerate().flat_map(|(s, station)| {
        let first = 800 + 100 * s as u32;
        (first..)
            .zip(DAY)
            .map(move |(n, plan)| work_case(station, n, plan))
    });
    let done = futures::future::try_join_all(work).await?;
    for (station, id, status) in &done {
        station.backlog_shows(id, status.as_str()).await?;
    }
    pipes.settled(&system).await?;
    let hp = &stations[0];
    hp.counters_agree().await?;

    let did = tally(
        done.iter()
            .map(|(s, _, status)| (s.unit.clone(), status.to_string())),
    );
    let listed = hp.supervisor.tracked_cases("limit=500").await.body;
    assert_eq!(listed["total"], 30, "{listed}");
    let items = listed["items"].as_array().cloned().unwrap_or_default();
    let recounted = tally(items.iter().map(|c| (text(&c["unit"]), text(&c["status"]))));
    assert_eq!(recounted, did, "the backlog lists what the staff did");

    let dashboard = hp.supervisor.backlog().await.body;
    let units = dashboard["units"].as_array().cloned().unwrap_or_default();
    assert_eq!(units.len(), 2, "{dashboard}");
    for figures in &units {
        let unit = text(&figures["unit"]);
        let counts = did.get(&unit).cloned().unwrap_or_default();
        assert_eq!(figures["by_status"], json!(counts), "{unit}");
        let in_stage = |stage: Stage| {
            let statuses = Status::ALL.into_iter().filter(|s| s.stage() == stage);
            statuses.map(|s| counts[s.as_str()]).sum::<i64>()
        };
        let (received, finished) = (counts.values().sum::<i64>(), in_stage(Stage::Done));
        assert_eq!(figures["received"], received, "{unit}");
        assert_eq!(figures["finished"], finished, "{unit}");
        let open = json!({
            "intake": in_stage(Stage::Intake),
            "approval": in_stage(Stage::Approval),
            "fulfilment": in_stage(Stage::Fulfilment),
            "total": received - finished,
        });
        assert_eq!(
            figures["open"], open,
            "{unit}: open = received − finished, by stage"
        );
        for stage in ["intake", "approval", "fulfilment"] {
            let query = format!("unit={unit}&stage={stage}&limit=1");
            let listed = hp.supervisor.tracked_cases(&query).await.body;
            assert_eq!(
                listed["total"], open[stage],
                "{unit} {stage}: the list agrees"
            );
        }
    }
    let sum = |pointer: &str| {
        units
            .iter()
            .filter_map(|u| u.pointer(pointer)?.as_i64())
            .sum::<i64>()
    };
    for pointer in ["/received", "/finished", "/open/total"] {
        assert_eq!(
            dashboard["totals"].pointer(pointer),
            Some(&json!(sum(pointer))),
            "{pointer}"
        );
    }
    evidence.not_needed();
    Ok(())
}

/// Cases per unit and status, every status present (zero when none), as the dashboard's
/// `by_status` shows them.
fn tally(cases: impl Iterator<Item = (String, String)>) -> BTreeMap<String, BTreeMap<String, i64>> {
    let mut out: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for (unit, status) in cases {
        let unit = out.entry(unit).or_insert_with(|| {
            Status::ALL
                .iter()
                .map(|s| (s.as_str().to_string(), 0))
                .collect()
        });
        *unit.entry(status).or_default() += 1;
    }
    out
}

/// Works one case of the day's mix: who worked it, its id, and the status it should end in.
async fn work_case<'s, 'a>(
    station: &'s Station<'a>,
    n: u32,
    plan: Plan,
) -> anyhow::Result<(&'s Station<'a>, String, Status)> {
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
    Ok((station, id, status))
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}
