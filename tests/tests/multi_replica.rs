//! Nothing assumes one replica. Two processes of every service (each service's two share its
//! PostgreSQL database; all share one nats-server) work 3,000 cases through their whole
//! lifecycle, a quarter of them returned once, the requests going to either replica. Every
//! case is finished exactly once, each case's events are in the stream in their causal
//! order, and each replica did part of the work, by its own /metrics.

use clearline_contracts::CaseEvent;
use clearline_platform::http::Role;
use clearline_tests::cluster::Cluster;
use clearline_tests::people::case_request;
use clearline_tests::pipes::Pipes;
use clearline_tests::station::{
    expect_status, is_notice, step_types, CLOSED_AFTER_A_RETURN, CLOSED_TIMELINE, PERMIT,
    PERMIT_MATERIALS, SETTLE,
};
use clearline_tests::system::SERVICES;
use clearline_tests::Person;
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::{Duration, Instant};

const REPLICAS: usize = 2;
/// Cases worked; `CLEARLINE_MULTI_REPLICA_CASES` sets another number for a longer run.
fn cases() -> u32 {
    std::env::var("CLEARLINE_MULTI_REPLICA_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3_000)
}
/// Cases worked at the same time, like that many clerks and approvers at their desks.
const DESKS: usize = 32;
/// Every fourth case is returned once for a material, so intake's consumer works too.
fn returned(n: u32) -> bool {
    n.is_multiple_of(4)
}

/// The staff of one unit, talking to one replica of every service.
struct Desk {
    clerk: Person,
    approver: Person,
    officer: Person,
}

fn desks(cluster: &Cluster) -> Vec<Desk> {
    (0..REPLICAS)
        .map(|i| Desk {
            clerk: cluster.person("clerk-HP01", Role::Clerk, Some("HP01"), i),
            approver: cluster.person("approver-HP01", Role::Approver, Some("HP01"), i),
            officer: cluster.person("officer-HP01", Role::Fulfilment, Some("HP01"), i),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_of_every_service_share_the_work() -> anyhow::Result<()> {
    let cluster = Cluster::spawn(REPLICAS).await?;
    let result = share_the_work(&cluster).await;
    if result.is_err() {
        for service in SERVICES {
            for i in 0..REPLICAS {
                let log = cluster.log_tail(service, i, 20);
                eprintln!("--- {service} replica {i}:\n{log}");
            }
        }
    }
    result
}

async fn share_the_work(cluster: &Cluster) -> anyhow::Result<()> {
    let desks = desks(cluster);
    let started = Instant::now();

    let cases = cases();
    let worked: Vec<anyhow::Result<String>> = futures::stream::iter(0..cases)
        .map(|n| work_case(&desks, n))
        .buffer_unordered(DESKS)
        .collect()
        .await;
    let ids: Vec<String> = worked.into_iter().collect::<anyhow::Result<_>>()?;
    let worked_in = started.elapsed();

    let pipes = Pipes::connect(&cluster.nats.url(), &cluster.dbs).await?;
    settle(&pipes).await?;
    let settled_in = started.elapsed();

    let events = pipes.stream_events().await?;
    let by_case = events_by_case(&events);
    finished_exactly_once(&ids, &by_case)?;
    in_causal_order(&by_case)?;
    backlog_shows_every_case_closed(cluster, &ids).await?;
    effects_once(&pipes, &by_case).await?;
    let shares = work_spread(cluster).await?;

    println!(
        "{cases} cases, {} events, {REPLICAS} replicas per service: worked in {:.1}s, \
         settled in {:.1}s",
        events.len(),
        worked_in.as_secs_f64(),
        settled_in.as_secs_f64()
    );
    for line in shares {
        println!("{line}");
    }
    Ok(())
}

/// One case from the window to the hand-over. Case `n` goes to replica `n % 2` at the
/// window, `n / 2 % 2` at approval and `n / 4 % 2` at fulfilment, so every pairing of
/// replicas occurs.
async fn work_case(desks: &[Desk], n: u32) -> anyhow::Result<String> {
    let at = |shift: u32| &desks[(n >> shift) as usize % REPLICAS];
    let (window, approval, fulfilment) = (at(0), at(1), at(2));
    let reply = window
        .clerk
        .receive(case_request(PERMIT, &PERMIT_MATERIALS, n))
        .await;
    let received = expect_status(reply, 201, "receiving")?;
    let id = received["id"].as_str().unwrap_or_default().to_string();
    wait_for(&format!("approval task of {id}"), || async {
        let task = approval.approver.approval_task(&id).await;
        task.status == 200 && task.body["status"] == "pending"
    })
    .await?;
    if returned(n) {
        let asked = ["proof_of_residence"];
        expect_status(
            approval.approver.return_for(&id, &asked).await,
            200,
            "returning",
        )?;
        wait_for(&format!("{id} back at the window"), || async {
            let case = window.clerk.case_at_window(&id).await;
            case.status == 200 && case.body["status"] == "awaiting_materials"
        })
        .await?;
        expect_status(window.clerk.add_materials(&id, &asked).await, 200, "adding")?;
        wait_for(&format!("round 2 of {id} at approval"), || async {
            let task = approval.approver.approval_task(&id).await;
            task.status == 200 && task.body["status"] == "pending" && task.body["round"] == 2
        })
        .await?;
    }
    expect_status(approval.approver.approve(&id).await, 200, "approving")?;
    wait_for(&format!("fulfilment task of {id}"), || async {
        fulfilment.officer.fulfilment_task(&id).await.status == 200
    })
    .await?;
    let officer = &fulfilment.officer;
    expect_status(officer.start(&id, "counter_pickup").await, 200, "starting")?;
    expect_status(officer.fulfil(&id).await, 200, "fulfilling")?;
    expect_status(officer.close(&id).await, 200, "closing")?;
    Ok(id)
}

/// Polls `check` every 40 ms until it holds; fails after [`SETTLE`].
async fn wait_for<F, Fut>(what: &str, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        anyhow::ensure!(start.elapsed() < SETTLE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    Ok(())
}

/// Waits until nothing is in flight: every outbox sent, every consumer caught up. Fails when
/// nothing has moved for [`SETTLE`]: slow (a loaded machine) is not stuck.
async fn settle(pipes: &Pipes) -> anyhow::Result<()> {
    let mut last = Vec::new();
    let mut moved = Instant::now();
    loop {
        let busy = pipes.in_flight().await?;
        if busy.is_empty() {
            return Ok(());
        }
        if busy != last {
            last = busy;
            moved = Instant::now();
        }
        anyhow::ensure!(
            moved.elapsed() < SETTLE,
            "nothing moved for {SETTLE:?}, still in flight: {}",
            last.join("; ")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn events_by_case(events: &[CaseEvent]) -> BTreeMap<String, Vec<&CaseEvent>> {
    let mut by_case: BTreeMap<String, Vec<&CaseEvent>> = BTreeMap::new();
    for event in events {
        by_case
            .entry(event.case_id.clone())
            .or_default()
            .push(event);
    }
    by_case
}

/// Every case the staff worked is in the stream once per step: one `received`, one
/// `closed`, no event twice, nothing else.
fn finished_exactly_once(
    ids: &[String],
    by_case: &BTreeMap<String, Vec<&CaseEvent>>,
) -> anyhow::Result<()> {
    let worked: BTreeSet<&String> = ids.iter().collect();
    anyhow::ensure!(worked.len() == ids.len(), "case ids repeat");
    let streamed: BTreeSet<&String> = by_case.keys().collect();
    anyhow::ensure!(
        worked == streamed,
        "the stream's cases differ from those worked"
    );
    for (case, events) in by_case {
        let closed = events.iter().filter(|e| e.r#type == "closed").count();
        anyhow::ensure!(closed == 1, "case {case} closed {closed} times");
        let ids: BTreeSet<&String> = events.iter().map(|e| &e.event_id).collect();
        anyhow::ensure!(ids.len() == events.len(), "case {case} has an event twice");
    }
    Ok(())
}

/// Each case's events are in the stream in the order they happened: two relays per
/// service never put a case's later step before its earlier one (steps are numbered 1, 2,
/// 3, ... in stream order), and a notice comes after the event it is about.
fn in_causal_order(by_case: &BTreeMap<String, Vec<&CaseEvent>>) -> anyhow::Result<()> {
    for (case, events) in by_case {
        let sequences: Vec<u32> = events
            .iter()
            .filter(|e| !is_notice(&e.r#type))
            .map(|e| e.sequence)
            .collect();
        let expected: Vec<u32> = (1..=sequences.len() as u32).collect();
        anyhow::ensure!(
            sequences == expected,
            "case {case}: the stream holds its steps as {:?}",
            events
                .iter()
                .map(|e| format!("{}:{}", e.sequence, e.r#type))
                .collect::<Vec<_>>()
        );
        for (i, notice) in events
            .iter()
            .enumerate()
            .filter(|(_, e)| is_notice(&e.r#type))
        {
            anyhow::ensure!(
                events[..i]
                    .iter()
                    .any(|e| e.event_id == notice.causation_id),
                "case {case}: {} came before the event it is about",
                notice.r#type
            );
        }
    }
    Ok(())
}

/// The read model (either backlog replica's answer) shows every case closed with its
/// whole timeline, and its counters agree with a recount.
async fn backlog_shows_every_case_closed(cluster: &Cluster, ids: &[String]) -> anyhow::Result<()> {
    let supervisors: Vec<Person> = (0..REPLICAS)
        .map(|i| cluster.person("supervisor", Role::Supervisor, None, i))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        let tracked = supervisors[i % REPLICAS].tracked_case(id).await;
        anyhow::ensure!(tracked.status == 200, "{id}: {}", tracked.body);
        anyhow::ensure!(tracked.body["status"] == "closed", "{id}: {}", tracked.body);
        let types = step_types(&tracked.body);
        anyhow::ensure!(
            types == CLOSED_TIMELINE || types == CLOSED_AFTER_A_RETURN,
            "{id}: timeline {types:?}"
        );
    }
    for supervisor in &supervisors {
        let verify = supervisor.verify_counters().await;
        anyhow::ensure!(verify.body["ok"] == true, "counters: {}", verify.body);
    }
    Ok(())
}

/// Each consuming service applied each event it handles exactly once, whichever replica
/// took it: its inbox holds exactly one row per such event in the stream, and nothing went
/// to the dead letters.
async fn effects_once(
    pipes: &Pipes,
    by_case: &BTreeMap<String, Vec<&CaseEvent>>,
) -> anyhow::Result<()> {
    let count = |types: &[&str]| -> i64 {
        by_case
            .values()
            .flatten()
            .filter(|e| types.contains(&e.r#type.as_str()))
            .count() as i64
    };
    let all: i64 = by_case.values().map(|e| e.len() as i64).sum();
    let handled = [
        ("intake", count(&["returned", "rejected", "closed"])),
        ("approval", count(&["submitted", "cancelled"])),
        ("fulfilment", count(&["approved", "submitted", "cancelled"])),
        ("backlog", all),
    ];
    for (service, expected) in handled {
        let dead = clearline_platform::dead_letters::open_count(pipes.db(service)?).await?;
        anyhow::ensure!(dead == 0, "{service} dead-lettered {dead} events");
        let applied = pipes.inbox(service, service).await?;
        anyhow::ensure!(
            applied == expected,
            "{service} applied {applied} events, the stream holds {expected} it handles"
        );
    }
    Ok(())
}

/// Each replica's own counters: events its consumer applied and events its relay
/// published. Every replica of every service must have done some of each kind of work.
async fn work_spread(cluster: &Cluster) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    for service in SERVICES {
        let mut applied = Vec::new();
        let mut published = Vec::new();
        for i in 0..REPLICAS {
            let reader = cluster.person("supervisor", Role::Supervisor, None, i);
            let series = format!("consumer_applied_total{{consumer=\"{service}\"}}");
            applied.push(reader.metric(service, &series).await.unwrap_or(0.0));
            published.push(
                reader
                    .metric(service, "outbox_published_total")
                    .await
                    .unwrap_or(0.0),
            );
        }
        lines.push(format!(
            "{service:<10} events applied per replica {applied:?}, published {published:?}"
        ));
        anyhow::ensure!(
            applied.iter().all(|&n| n > 0.0),
            "{service}: a replica applied no event: {applied:?}"
        );
        // The backlog only reads: it has no outbox.
        if service != "backlog" {
            anyhow::ensure!(
                published.iter().all(|&n| n > 0.0),
                "{service}: a replica published no event: {published:?}"
            );
        }
    }
    Ok(lines)
}
