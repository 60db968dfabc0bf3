//! The people at the counters: each worker takes the next case, carries it through its
//! story, and takes another, until the run has its cases and the faults are over.
//!
//! They retry the way a real client would: on a transport error or a 5xx (the service or
//! its database is down), on a 404 (the task has not arrived yet), and on a 409 unless the
//! service already shows the step (an earlier attempt was applied and only its answer was
//! lost). Registration carries an `Idempotency-Key`, so a retried one is the same case.

use super::plan::{Plan, Step, RETURNED_FOR};
use clearline_platform::http::Role;
use clearline_tests::people::case_request;
use clearline_tests::station::PERMIT_MATERIALS;
use clearline_tests::{Person, Reply, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How long one step may keep failing before the run counts as broken: longer than any
/// fault lasts, including a database restart and the reconnections after it.
const STEP_BUDGET: Duration = Duration::from_secs(90);

/// One unit's staff.
pub struct Staff {
    clerk: Person,
    approver: Person,
    officer: Person,
}

impl Staff {
    pub fn at(system: &System, unit: &str) -> Staff {
        Staff {
            clerk: system.person(&format!("clerk-{unit}"), Role::Clerk, Some(unit)),
            approver: system.person(&format!("approver-{unit}"), Role::Approver, Some(unit)),
            officer: system.person(&format!("officer-{unit}"), Role::Fulfilment, Some(unit)),
        }
    }
}

/// What the people saw while the system failed under them.
#[derive(Default)]
pub struct Tally {
    /// Cases taken so far (the next case's number).
    pub next_case: AtomicUsize,
    /// Set once the last fault has healed: the workers finish what they hold and stop once
    /// the run has its cases.
    pub faults_over: AtomicBool,
    /// Retries because a service was down or failing (a transport error or a 5xx).
    pub retries_down: AtomicUsize,
    /// Retries because what the step needs had not arrived yet (404, or a 409 not yet).
    pub retries_not_yet: AtomicUsize,
    /// Steps whose retry found them already applied (the first answer was lost).
    pub already_applied: AtomicUsize,
    /// The longest any one step took, in ms: how long a fault held a case up.
    pub slowest_step_ms: AtomicUsize,
}

/// A case the clerk was told is registered (a 201), and what was meant to happen to it.
#[derive(Debug, Clone)]
pub struct Acknowledged {
    pub key: String,
    pub id: Uuid,
    pub unit: String,
    pub plan: Plan,
}

/// One worker at `unit`: cases until the run has `cases` of them and the faults are over.
pub async fn work(
    staff: Arc<Staff>,
    unit: String,
    tally: Arc<Tally>,
    seed: u64,
    cases: usize,
) -> anyhow::Result<Vec<Acknowledged>> {
    let mut done = Vec::new();
    loop {
        let n = tally.next_case.fetch_add(1, Ordering::Relaxed);
        if n >= cases && tally.faults_over.load(Ordering::Relaxed) {
            return Ok(done);
        }
        let plan = Plan::of(seed, n);
        let started = Instant::now();
        let id = receive(&staff, &tally, seed, n, plan).await?;
        tally.took(started);
        let case = id.to_string();
        for step in plan.steps() {
            let started = Instant::now();
            apply(&staff, &tally, &case, *step).await?;
            tally.took(started);
        }
        done.push(Acknowledged {
            key: key_of(seed, n),
            id,
            unit: unit.clone(),
            plan,
        });
    }
}

impl Tally {
    fn took(&self, started: Instant) {
        let ms = started.elapsed().as_millis() as usize;
        self.slowest_step_ms.fetch_max(ms, Ordering::Relaxed);
    }
}

fn key_of(seed: u64, n: usize) -> String {
    format!("chaos-{seed}-{n}")
}

/// Registers case `n`, retrying with the same key until intake answers 201.
async fn receive(
    staff: &Staff,
    tally: &Tally,
    seed: u64,
    n: usize,
    plan: Plan,
) -> anyhow::Result<Uuid> {
    let key = key_of(seed, n);
    let (service_type, materials) = plan.request();
    let request = case_request(service_type, materials, 1 + n as u32);
    let what = format!("registering case {n} ({plan:?})");
    let deadline = Instant::now() + STEP_BUDGET;
    loop {
        let reply = staff.clerk.receive_with_key(request.clone(), &key).await;
        match reply.status {
            201 => {
                anyhow::ensure!(
                    reply.body["status"] == plan.registered_as(),
                    "{what}: registered as {}",
                    reply.body["status"]
                );
                return Ok(reply.id().parse()?);
            }
            // The first request with this key is still being written: ask again.
            409 if reply.code() == "idempotency_conflict" => {}
            status if transient(status) => {}
            status => anyhow::bail!("{what} answered {status}: {}", reply.body),
        }
        retry_after(tally, &reply, deadline, &what).await?;
    }
}

/// Applies one step once, whatever the services do meanwhile.
async fn apply(staff: &Staff, tally: &Tally, id: &str, step: Step) -> anyhow::Result<()> {
    let what = format!("{step:?} on case {id}");
    let deadline = Instant::now() + STEP_BUDGET;
    loop {
        let reply = send(staff, id, step).await;
        match reply.status {
            200 if !is_wait(step) => return Ok(()),
            200 if shows(step, &reply) => return Ok(()),
            // A wait that sees the case, not yet as wanted.
            200 => {}
            // Either a refusal, or our earlier attempt was applied and only its answer was
            // lost when the service died: what the service shows now tells which.
            409 => {
                let now = look(staff, id, step).await;
                if shows(step, &now) {
                    tally.already_applied.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
            }
            // The task has not arrived yet.
            404 => {}
            status if transient(status) => {}
            status => anyhow::bail!("{what} answered {status}: {}", reply.body),
        }
        retry_after(tally, &reply, deadline, &what).await?;
    }
}

fn is_wait(step: Step) -> bool {
    matches!(step, Step::AwaitApproval | Step::AwaitFulfilment)
}

async fn send(staff: &Staff, id: &str, step: Step) -> Reply {
    match step {
        Step::AddMaterials { .. } => staff.clerk.add_materials(id, &PERMIT_MATERIALS).await,
        Step::Approve => staff.approver.approve(id).await,
        Step::Reject => staff.approver.reject(id, "the lease has expired").await,
        Step::Return => staff.approver.return_for(id, &RETURNED_FOR).await,
        Step::Start => staff.officer.start(id, "counter_pickup").await,
        Step::Fulfil => staff.officer.fulfil(id).await,
        Step::Close => staff.officer.close(id).await,
        Step::Cancel => staff.clerk.cancel(id, "the resident withdrew").await,
        Step::AwaitApproval | Step::AwaitFulfilment => look(staff, id, step).await,
    }
}

/// What the service that takes the step shows of the case now.
async fn look(staff: &Staff, id: &str, step: Step) -> Reply {
    match step {
        Step::AddMaterials { .. } | Step::Cancel => staff.clerk.case_at_window(id).await,
        Step::Approve | Step::Reject | Step::Return | Step::AwaitApproval => {
            staff.approver.approval_task(id).await
        }
        Step::Start | Step::Fulfil | Step::Close | Step::AwaitFulfilment => {
            staff.officer.fulfilment_task(id).await
        }
    }
}

/// Whether `seen` (from [`look`]) shows the step done.
fn shows(step: Step, seen: &Reply) -> bool {
    if seen.status != 200 {
        return false;
    }
    let status = seen.body["status"].as_str().unwrap_or_default();
    match step {
        Step::AddMaterials { round } => {
            status != "awaiting_materials" && seen.body["round"].as_i64() >= Some(round)
        }
        Step::Approve => status == "approved",
        Step::Reject => status == "rejected",
        Step::Return => status == "returned",
        Step::AwaitApproval => status == "pending",
        Step::AwaitFulfilment => status == "awaiting",
        Step::Start => ["in_fulfilment", "fulfilled", "closed"].contains(&status),
        Step::Fulfil => ["fulfilled", "closed"].contains(&status),
        Step::Close => status == "closed",
        Step::Cancel => status == "cancelled",
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
        (&tally.retries_down, 200)
    } else {
        (&tally.retries_not_yet, 50)
    };
    counter.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(pause)).await;
    Ok(())
}
