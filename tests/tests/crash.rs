//! Crash and restart: while clerks, approvers and officers carry cases through their whole
//! lifecycle, every service in turn is SIGKILLed at a random moment and started again.
//! Afterwards every case a clerk was told was registered (a 201) is closed everywhere, and
//! every effect happened exactly once: nothing lost, nothing twice (DESIGN.md §4).
//!
//! The people retry the way a real client would: on a transport error or a 5xx (the service
//! is down), on a 404 (the task has not arrived yet), and on a 409 unless the task already
//! shows the step (an earlier attempt was applied but its answer died with the service).
//! Case creation carries an `Idempotency-Key`, so a retried create is the same case.
//!
//! `CLEARLINE_CRASH_SEED` replays a run's kill schedule (timing still varies).

use anyhow::Context;
use clearline_platform::http::Role;
use clearline_tests::people::case_request;
use clearline_tests::system::SERVICES;
use clearline_tests::{Backend, Person, Reply, System};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use sea_orm::{ConnectionTrait, DatabaseConnection, QueryResult, Statement};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

clearline_tests::on_both_backends!(crash_and_restart);

/// Cases carried through per backend, at least: the workers keep taking new cases until the
/// faults are over, so every kill lands while cases are in flight.
const MIN_CASES: usize = 150;
/// People working at once, each on one case at a time.
const WORKERS: usize = 8;
/// How long one step may keep failing before the run counts as broken.
const STEP_BUDGET: Duration = Duration::from_secs(30);
/// Rounds of kills, each service once per round in a random order.
const ROUNDS: usize = 3;
/// How long the system may take to catch up once the faults stop.
const SETTLE: Duration = Duration::from_secs(45);
/// Everything a residence permit needs, so a case goes straight to approval.
const MATERIALS: [&str; 3] = ["id_card", "proof_of_residence", "proof_of_work_or_study"];
/// The backlog timeline of such a case, each event exactly once.
const TIMELINE: [&str; 6] = [
    "received",
    "submitted",
    "approved",
    "fulfilment_started",
    "fulfilled",
    "closed",
];

/// One scenario at a time: on a 2-core machine two systems under load at once starve each
/// other, and the test would measure that instead of the faults.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Staff {
    clerk: Person,
    approver: Person,
    officer: Person,
    supervisor: Person,
}

/// What the people saw while the services were dying under them.
#[derive(Default)]
struct Tally {
    next_case: AtomicUsize,
    /// Set once the last killed service is back: the workers finish what they hold and stop.
    faults_over: AtomicBool,
    /// Retries because the service was down (a transport error or a 5xx).
    retries_down: AtomicUsize,
    /// Retries because what the step needs had not arrived yet (404, or 409 not yet).
    retries_not_yet: AtomicUsize,
    /// Steps whose retry found them already applied (the first answer was lost).
    already_applied: AtomicUsize,
    /// The step that took longest, and when it ended: how long a fault held a case up.
    slowest: std::sync::Mutex<Option<(Duration, String, Instant)>>,
}

impl Tally {
    fn took(&self, started: Instant, what: impl FnOnce() -> String) {
        let took = started.elapsed();
        if let Ok(mut slowest) = self.slowest.lock() {
            if slowest.as_ref().is_none_or(|(longest, ..)| took > *longest) {
                *slowest = Some((took, what(), Instant::now()));
            }
        }
    }
}

/// A case a clerk was told is registered: its idempotency key and its id.
struct Acknowledged {
    key: String,
    id: Uuid,
}

async fn crash_and_restart(backend: Backend) -> anyhow::Result<()> {
    let _turn = ONE_AT_A_TIME.lock().await;
    let seed = std::env::var("CLEARLINE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    println!("crash test on {backend:?}: seed {seed}");
    let mut system = System::spawn(backend).await?;
    let result = run(&mut system, seed).await;
    if let Err(error) = &result {
        println!("crash test on {backend:?} failed (seed {seed}): {error:#}");
        for service in SERVICES {
            println!(
                "----- {service} log (last lines) -----\n{}",
                system.log_tail(service, 60)
            );
        }
    }
    result
}

async fn run(system: &mut System, seed: u64) -> anyhow::Result<()> {
    let staff = Arc::new(Staff {
        clerk: system.person("clerk1", Role::Clerk, Some("HP01")),
        approver: system.person("approver1", Role::Approver, Some("HP01")),
        officer: system.person("officer1", Role::Fulfilment, Some("HP01")),
        supervisor: system.person("supervisor1", Role::Supervisor, None),
    });
    let tally = Arc::new(Tally::default());
    let began = Instant::now();
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| tokio::spawn(work(staff.clone(), tally.clone())))
        .collect();

    let mut rng = StdRng::seed_from_u64(seed);
    let kills = chaos(system, &mut rng).await;
    tally.faults_over.store(true, Ordering::Relaxed);
    let kills = kills?;
    let last_fault = kills.last().map_or(began, |k| k.at);
    let schedule: Vec<String> = kills
        .iter()
        .map(|k| format!("{}@{:.1}s", k.service, (k.at - began).as_secs_f64()))
        .collect();
    println!("kills: {}", schedule.join(", "));

    let mut acknowledged = Vec::new();
    for worker in workers {
        acknowledged.extend(worker.await.context("a worker panicked")??);
    }
    let worked_for = began.elapsed();
    let workers_done_after = last_fault.elapsed();
    anyhow::ensure!(
        acknowledged.len() >= MIN_CASES,
        "only {} cases were carried through",
        acknowledged.len()
    );

    let n = acknowledged.len() as i64;
    system
        .eventually("the backlog to show every case closed", SETTLE, || async {
            let totals = staff.supervisor.backlog().await.body["totals"].clone();
            (totals["by_status"]["closed"] == n && totals["open"]["total"] == 0).then_some(())
        })
        .await?;
    let settled_after = last_fault.elapsed();

    check_intake(system, &acknowledged).await?;
    check_tasks(system, &acknowledged).await?;
    check_timelines(&staff.supervisor, &acknowledged).await?;
    check_backlog_figures(&staff.supervisor, n).await?;
    check_pipes(system, n).await?;

    report(
        system.dbs.backend,
        acknowledged.len(),
        &kills,
        &tally,
        Timings {
            began,
            last_fault,
            worked_for,
            workers_done_after,
            settled_after,
        },
    );
    Ok(())
}

struct Timings {
    began: Instant,
    last_fault: Instant,
    /// From the first case to the last worker's last close.
    worked_for: Duration,
    /// From the last SIGKILL until the workers were done.
    workers_done_after: Duration,
    /// From the last SIGKILL until the backlog showed every case closed.
    settled_after: Duration,
}

fn report(backend: Backend, cases: usize, kills: &[Kill], tally: &Tally, t: Timings) {
    let mut per_service = BTreeMap::new();
    for kill in kills {
        *per_service.entry(kill.service).or_insert(0) += 1;
    }
    let ms = |d: Option<Duration>| d.unwrap_or_default().as_millis();
    let restarts = kills.iter().map(|k| k.took);
    println!(
        "crash test on {backend:?}: {cases} cases closed by {WORKERS} workers in {:.1}s; \
         {} kills {per_service:?}, the last {:.1}s in, each back and ready in {}-{} ms",
        t.worked_for.as_secs_f64(),
        kills.len(),
        (t.last_fault - t.began).as_secs_f64(),
        ms(restarts.clone().min()),
        ms(restarts.max()),
    );
    println!(
        "  retries: {} while a service was down, {} while a task had not arrived; \
         already applied when retried: {} steps",
        tally.retries_down.load(Ordering::Relaxed),
        tally.retries_not_yet.load(Ordering::Relaxed),
        tally.already_applied.load(Ordering::Relaxed),
    );
    if let Ok(Some((took, what, ended))) = tally.slowest.lock().map(|s| s.clone()) {
        println!(
            "  slowest step: {what}, {:.1}s, ending {:.1}s in",
            took.as_secs_f64(),
            (ended - t.began).as_secs_f64()
        );
    }
    println!(
        "  after the last fault: workers done in {:.1}s, backlog settled in {:.1}s",
        t.workers_done_after.as_secs_f64(),
        t.settled_after.as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------
// The people.

/// One worker: takes the next case, carries it from the window to hand-over, repeats until
/// the faults are over and enough cases have been taken.
async fn work(staff: Arc<Staff>, tally: Arc<Tally>) -> anyhow::Result<Vec<Acknowledged>> {
    let mut done = Vec::new();
    loop {
        let n = tally.next_case.fetch_add(1, Ordering::Relaxed);
        if n >= MIN_CASES && tally.faults_over.load(Ordering::Relaxed) {
            return Ok(done);
        }
        let started = Instant::now();
        let case = receive(&staff, &tally, n).await?;
        tally.took(started, || format!("registering case {n}"));
        let id = case.id.to_string();
        for step in [Step::Approve, Step::Start, Step::Fulfil, Step::Close] {
            let started = Instant::now();
            step.apply(&staff, &tally, &id).await?;
            tally.took(started, || format!("{step:?} on case {id}"));
        }
        done.push(case);
    }
}

/// Registers case `n`, retrying with the same key until intake answers 201.
async fn receive(staff: &Staff, tally: &Tally, n: usize) -> anyhow::Result<Acknowledged> {
    let key = format!("crash-case-{n}");
    let request = case_request("residence_permit", &MATERIALS, 1 + n as u32);
    let deadline = Instant::now() + STEP_BUDGET;
    loop {
        let reply = staff.clerk.receive_with_key(request.clone(), &key).await;
        match reply.status {
            201 => {
                anyhow::ensure!(
                    reply.body["status"] == "pending_approval",
                    "case {n} was registered as {}",
                    reply.body["status"]
                );
                let id = reply.id().parse().context("the new case's id")?;
                return Ok(Acknowledged { key, id });
            }
            // The first request with this key is still being written: ask again.
            409 if reply.code() == "idempotency_conflict" => {}
            status if transient(status) => {}
            status => anyhow::bail!("registering case {n} answered {status}: {}", reply.body),
        }
        retry_after(tally, &reply, deadline, &format!("registering case {n}")).await?;
    }
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Approve,
    Start,
    Fulfil,
    Close,
}

impl Step {
    async fn send(self, staff: &Staff, id: &str) -> Reply {
        match self {
            Step::Approve => staff.approver.approve(id).await,
            Step::Start => staff.officer.start(id, "counter_pickup").await,
            Step::Fulfil => staff.officer.fulfil(id).await,
            Step::Close => staff.officer.close(id).await,
        }
    }

    /// The task this step acts on, as its service shows it now.
    async fn task(self, staff: &Staff, id: &str) -> Reply {
        match self {
            Step::Approve => staff.approver.approval_task(id).await,
            _ => staff.officer.fulfilment_task(id).await,
        }
    }

    /// Task statuses that show this step has been applied.
    fn applied_in(self) -> &'static [&'static str] {
        match self {
            Step::Approve => &["approved"],
            Step::Start => &["in_fulfilment", "fulfilled", "closed"],
            Step::Fulfil => &["fulfilled", "closed"],
            Step::Close => &["closed"],
        }
    }

    /// Applies the step once, whatever the services do meanwhile.
    async fn apply(self, staff: &Staff, tally: &Tally, id: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + STEP_BUDGET;
        loop {
            let reply = self.send(staff, id).await;
            match reply.status {
                200 => return Ok(()),
                // Either a refusal, or our earlier attempt was applied and only its answer
                // was lost when the service died: the task tells which.
                409 => {
                    let task = self.task(staff, id).await;
                    let status = task.body["status"].as_str().unwrap_or_default();
                    if task.status == 200 && self.applied_in().contains(&status) {
                        tally.already_applied.fetch_add(1, Ordering::Relaxed);
                        return Ok(());
                    }
                }
                // The task has not arrived yet.
                404 => {}
                status if transient(status) => {}
                status => anyhow::bail!("{self:?} on case {id} answered {status}: {}", reply.body),
            }
            retry_after(tally, &reply, deadline, &format!("{self:?} on case {id}")).await?;
        }
    }
}

/// The service is down or restarting (0 is a transport error).
fn transient(status: u16) -> bool {
    status == 0 || status >= 500
}

/// Counts a retry and waits before it, or fails once the step's budget is spent.
async fn retry_after(
    tally: &Tally,
    reply: &Reply,
    deadline: Instant,
    what: &str,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        Instant::now() < deadline,
        "{what} still failing after {STEP_BUDGET:?}; last answer {}: {}",
        reply.status,
        reply.body
    );
    let (counter, pause) = if transient(reply.status) {
        (&tally.retries_down, 100)
    } else {
        (&tally.retries_not_yet, 20)
    };
    counter.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(pause)).await;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The faults.

struct Kill {
    service: &'static str,
    /// When the SIGKILL went out.
    at: Instant,
    /// From the SIGKILL until the new process was ready.
    took: Duration,
}

/// Kills each service in turn, in a random order and at random moments, and restarts it
/// after a short random pause, [`ROUNDS`] times over.
async fn chaos(system: &mut System, rng: &mut StdRng) -> anyhow::Result<Vec<Kill>> {
    let mut kills = Vec::new();
    for _ in 0..ROUNDS {
        let mut order = SERVICES;
        order.shuffle(rng);
        for service in order {
            tokio::time::sleep(Duration::from_millis(rng.gen_range(200..1200))).await;
            let down_for = Duration::from_millis(rng.gen_range(50..600));
            let before = system.pid(service);
            let at = Instant::now();
            system.restart(service, down_for).await?;
            anyhow::ensure!(
                before.is_some() && system.pid(service) != before,
                "{service} was not replaced by a new process"
            );
            kills.push(Kill {
                service,
                at,
                took: at.elapsed(),
            });
        }
    }
    Ok(kills)
}

// ---------------------------------------------------------------------------------------
// The checks, read straight from each service's own database.

async fn query(db: &DatabaseConnection, sql: &str) -> anyhow::Result<Vec<QueryResult>> {
    Ok(db
        .query_all(Statement::from_string(db.get_database_backend(), sql))
        .await?)
}

async fn count(db: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    let rows = query(db, sql).await?;
    let row = rows.first().context("COUNT returned no row")?;
    Ok(row.try_get("", "n")?)
}

/// Every acknowledged case exists exactly once in intake, closed, and each idempotency key
/// names one case: the one the clerk was given.
async fn check_intake(system: &System, acknowledged: &[Acknowledged]) -> anyhow::Result<()> {
    let db = system.dbs.connect("intake").await?;
    // Intake hears of the close from fulfilment, as the backlog does, on its own consumer.
    system
        .eventually("intake to record every case closed", SETTLE, || async {
            count(
                &db,
                "SELECT COUNT(*) AS n FROM cases WHERE status <> 'closed'",
            )
            .await
            .ok()
            .filter(|open| *open == 0)
        })
        .await?;
    let expected: HashSet<Uuid> = acknowledged.iter().map(|a| a.id).collect();
    anyhow::ensure!(
        expected.len() == acknowledged.len(),
        "two keys were answered with the same case"
    );
    let mut cases = HashSet::new();
    for row in query(&db, "SELECT id FROM cases").await? {
        let id: Uuid = row.try_get("", "id")?;
        anyhow::ensure!(cases.insert(id), "case {id} is stored twice in intake");
    }
    anyhow::ensure!(
        cases == expected,
        "intake holds {} cases, {} acknowledged; unacknowledged {:?}, missing {:?}",
        cases.len(),
        expected.len(),
        cases.difference(&expected).collect::<Vec<_>>(),
        expected.difference(&cases).collect::<Vec<_>>()
    );
    let mut by_key = HashMap::new();
    for row in query(&db, "SELECT key, body FROM idempotency_keys").await? {
        let key: String = row.try_get("", "key")?;
        let body: serde_json::Value = row.try_get("", "body")?;
        by_key.insert(key, body["id"].as_str().unwrap_or_default().to_string());
    }
    anyhow::ensure!(
        by_key.len() == acknowledged.len(),
        "{} idempotency keys for {} cases",
        by_key.len(),
        acknowledged.len()
    );
    for a in acknowledged {
        anyhow::ensure!(
            by_key.get(&a.key) == Some(&a.id.to_string()),
            "key {} names {:?}, but the clerk was given {}",
            a.key,
            by_key.get(&a.key),
            a.id
        );
    }
    Ok(())
}

/// One approval task per case, approved in round 1; one fulfilment task, closed.
async fn check_tasks(system: &System, acknowledged: &[Acknowledged]) -> anyhow::Result<()> {
    let approval = system.dbs.connect("approval").await?;
    let mut tasks = HashMap::new();
    for row in query(
        &approval,
        "SELECT case_id, status, round FROM approval_tasks",
    )
    .await?
    {
        let id: Uuid = row.try_get("", "case_id")?;
        let status: String = row.try_get("", "status")?;
        let round: i32 = row.try_get("", "round")?;
        tasks.insert(id, (status, round));
    }
    anyhow::ensure!(
        tasks.len() == acknowledged.len(),
        "{} approval tasks",
        tasks.len()
    );
    for a in acknowledged {
        let task = tasks.get(&a.id);
        anyhow::ensure!(
            task == Some(&("approved".to_string(), 1)),
            "approval task of {}: {task:?}",
            a.id
        );
    }

    let fulfilment = system.dbs.connect("fulfilment").await?;
    let mut tasks = HashMap::new();
    for row in query(&fulfilment, "SELECT case_id, status FROM fulfilment_tasks").await? {
        let id: Uuid = row.try_get("", "case_id")?;
        let status: String = row.try_get("", "status")?;
        tasks.insert(id, status);
    }
    anyhow::ensure!(
        tasks.len() == acknowledged.len(),
        "{} fulfilment tasks",
        tasks.len()
    );
    for a in acknowledged {
        let task = tasks.get(&a.id);
        anyhow::ensure!(
            task.map(String::as_str) == Some("closed"),
            "fulfilment task of {}: {task:?}",
            a.id
        );
    }
    Ok(())
}

/// Each case closed in the backlog, its timeline holding every event exactly once.
async fn check_timelines(supervisor: &Person, acknowledged: &[Acknowledged]) -> anyhow::Result<()> {
    for a in acknowledged {
        let case = supervisor.tracked_case(&a.id.to_string()).await;
        anyhow::ensure!(case.status == 200, "backlog case {}: {:?}", a.id, case.body);
        anyhow::ensure!(
            case.body["status"] == "closed" && case.body["stage"] == "done",
            "backlog shows {} as {} / {}",
            a.id,
            case.body["status"],
            case.body["stage"]
        );
        // Lifecycle events only: notices (task_opened) ride along and are checked below.
        let types = clearline_tests::station::timeline_types(&case.body);
        let mut sorted = types.clone();
        sorted.sort_unstable();
        let mut wanted: Vec<String> = TIMELINE.iter().map(|t| t.to_string()).collect();
        wanted.sort_unstable();
        anyhow::ensure!(
            sorted == wanted,
            "timeline of {}: {types:?}, wanted each of {TIMELINE:?} once",
            a.id
        );
        let notices = clearline_tests::station::notice_types(&case.body);
        anyhow::ensure!(
            notices == ["task_opened", "task_opened"],
            "notices of {}: {notices:?}, wanted one task opened by approval and one by fulfilment",
            a.id
        );
        anyhow::ensure!(
            case.body["event_count"] == TIMELINE.len() + notices.len(),
            "event_count of {} is {}",
            a.id,
            case.body["event_count"]
        );
    }
    Ok(())
}

/// The dashboard's counters agree with the cases, and every case is received and closed.
async fn check_backlog_figures(supervisor: &Person, n: i64) -> anyhow::Result<()> {
    let verify = supervisor.verify_counters().await;
    anyhow::ensure!(
        verify.status == 200 && verify.body["ok"] == true,
        "backlog verify: {} {}",
        verify.status,
        verify.body
    );
    let totals = supervisor.backlog().await.body["totals"].clone();
    anyhow::ensure!(
        totals["received"] == n
            && totals["finished"] == n
            && totals["by_status"]["closed"] == n
            && totals["open"]["total"] == 0,
        "backlog totals for {n} closed cases: {totals}"
    );
    Ok(())
}

/// Outboxes drained, no dead letters, no event written twice, and the broker holds each
/// written event exactly once.
async fn check_pipes(system: &System, n: i64) -> anyhow::Result<()> {
    let mut written = 0;
    for service in SERVICES {
        let db = system.dbs.connect(service).await?;
        // The relay marks rows sent just after the broker's ack; give a restarted one a moment.
        system
            .eventually(
                &format!("{service}'s outbox to drain"),
                Duration::from_secs(10),
                || async {
                    count(
                        &db,
                        "SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL",
                    )
                    .await
                    .ok()
                    .filter(|unsent| *unsent == 0)
                },
            )
            .await?;
        let dead = count(&db, "SELECT COUNT(*) AS n FROM dead_letters").await?;
        anyhow::ensure!(dead == 0, "{service} has {dead} dead letters");
        let twice = query(
            &db,
            "SELECT case_id, subject, COUNT(*) AS n FROM outbox
             GROUP BY case_id, subject HAVING COUNT(*) > 1",
        )
        .await?;
        anyhow::ensure!(
            twice.is_empty(),
            "{service} wrote {} events twice for one case",
            twice.len()
        );
        written += count(&db, "SELECT COUNT(*) AS n FROM outbox").await?;
    }
    for (service, subject) in [
        ("approval", "clearline.case.approved"),
        ("fulfilment", "clearline.case.closed"),
    ] {
        let db = system.dbs.connect(service).await?;
        let rows = count(
            &db,
            &format!("SELECT COUNT(*) AS n FROM outbox WHERE subject = '{subject}'"),
        )
        .await?;
        anyhow::ensure!(rows == n, "{service} wrote {rows} {subject} for {n} cases");
    }
    anyhow::ensure!(
        // The lifecycle and one task opened each by approval and fulfilment.
        written == n * (TIMELINE.len() as i64 + 2),
        "the outboxes hold {written} events for {n} cases"
    );

    let client = async_nats::connect(system.nats.url()).await?;
    let js = async_nats::jetstream::new(client);
    let mut stream = js.get_stream(clearline_contracts::subjects::STREAM).await?;
    let messages = stream.info().await?.state.messages;
    anyhow::ensure!(
        messages == written as u64,
        "the stream holds {messages} messages for {written} written events"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// A consumer that dies with an event in hand, again and again.

/// DESIGN.md §4: "An event that fails `max_deliver` times is not dropped: it lands in a
/// dead-letter store". Deliveries that end with the process dead (a crash loop, or a stall
/// past `ack_wait` followed by a kill) count at the broker too, and the broker gives up after
/// its `max_deliver` without telling anyone. Here fulfilment is frozen (SIGSTOP) while an
/// approval is delivered to it, so the broker redelivers it every `ack_wait` (5 s in the
/// kit) into the frozen process until its deliveries are spent; then the process is killed
/// and started again. The approval must still reach fulfilment, or at least its dead letters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_outlives_a_consumer_that_dies_with_it_in_hand() -> anyhow::Result<()> {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;

    let _turn = ONE_AT_A_TIME.lock().await;
    let mut system = System::spawn(Backend::Sqlite).await?;
    let clerk = system.person("clerk1", Role::Clerk, Some("HP01"));
    let approver = system.person("approver1", Role::Approver, Some("HP01"));
    let officer = system.person("officer1", Role::Fulfilment, Some("HP01"));

    let id = clerk
        .receive(case_request("residence_permit", &MATERIALS, 1))
        .await
        .id();
    system
        .eventually("the approval task", Duration::from_secs(20), || async {
            (approver.approval_task(&id).await.status == 200).then_some(())
        })
        .await?;
    // A fresh fulfilment, so its pull request outlives the five deliveries (it expires
    // after 30 s); give the new consumer a moment to ask for messages, then freeze it.
    system
        .restart("fulfilment", Duration::from_millis(50))
        .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let pid = system
        .pid("fulfilment")
        .context("fulfilment is not running")?;
    kill(Pid::from_raw(i32::try_from(pid)?), Signal::SIGSTOP)?;
    let approved = approver.approve(&id).await;
    anyhow::ensure!(approved.status == 200, "approve: {:?}", approved.body);
    // Deliveries at 0, 5, 10, 15 and 20 s, each into the frozen process.
    tokio::time::sleep(Duration::from_secs(27)).await;
    system
        .restart("fulfilment", Duration::from_millis(50))
        .await?;

    let arrived = system
        .eventually("the fulfilment task", Duration::from_secs(15), || async {
            (officer.fulfilment_task(&id).await.status == 200).then_some(())
        })
        .await;
    let db = system.dbs.connect("fulfilment").await?;
    let dead = count(&db, "SELECT COUNT(*) AS n FROM dead_letters").await?;
    anyhow::ensure!(
        arrived.is_ok() || dead > 0,
        "the approval of {id} never reached fulfilment and is not in its dead letters"
    );
    Ok(())
}
