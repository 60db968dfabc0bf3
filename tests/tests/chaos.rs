//! The chaos suite: cases of every kind (straight through, waiting for materials, the
//! return loop, rejection, withdrawal at each stage, a service type with no approval)
//! carried through their lifecycles by concurrent clerks, approvers and officers at several
//! units, while at random moments every service is SIGKILLed and restarted several times,
//! the test's own nats-server is restarted twice and, on PostgreSQL, the test's own
//! PostgreSQL server once. Once the faults have healed and the system is quiet, every
//! acknowledged case exists exactly once and is finished as its story says, no effect
//! happened twice, the reconciliation finds no drift and the counters equal a recount.
//! See docs/RELIABILITY.md for what each check proves and the figures of a full run.
//!
//! - `CLEARLINE_CHAOS_CASES`: cases per run (default 300; `scripts/chaos` runs 5,000).
//! - `CLEARLINE_CHAOS_WORKERS`: people working at once, each on one case at a time (12).
//! - `CLEARLINE_CHAOS_SEED`: replays a run's stories and fault schedule (timing still varies).
//!
//! Everything runs on 127.0.0.1 and stops by itself: the run is bounded by its case count,
//! every step by a retry budget, and the settling by a deadline.

mod chaos {
    pub mod audit;
    pub mod checks;
    pub mod clients;
    pub mod faults;
    pub mod plan;
    pub mod watch;
}

use anyhow::Context;
use chaos::clients::{self, Acknowledged, Staff, Tally};
use chaos::faults::{self, Fault, Target};
use chaos::watch::{self, ConsumerCounts, Seen};
use chaos::{audit, checks};
use clearline_platform::http::Role;
use clearline_tests::forensics::Evidence;
use clearline_tests::pipes::Pipes;
use clearline_tests::system::SERVICES;
use clearline_tests::{Backend, System};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The units whose staff work the cases, so counters are checked per unit too.
const UNITS: [&str; 3] = ["HP01", "HP02", "HP03"];
/// How long the system may take to become quiet once the workers are done.
const SETTLE: Duration = Duration::from_secs(180);

/// One run at a time: on a 2-core machine two systems under load starve each other, and
/// the run would measure that instead of the faults.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// On the test's own PostgreSQL: every fault, the database restart included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres() -> anyhow::Result<()> {
    let _turn = ONE_AT_A_TIME.lock().await;
    let settings = Settings::from_env()?;
    let system = System::spawn_on_own_postgres(&[]).await?;
    chaos(system, settings).await
}

/// On SQLite: the services and the broker fail; there is no database server to restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite() -> anyhow::Result<()> {
    let _turn = ONE_AT_A_TIME.lock().await;
    let settings = Settings::from_env()?;
    let system = System::spawn(Backend::Sqlite).await?;
    chaos(system, settings).await
}

struct Settings {
    cases: usize,
    workers: usize,
    seed: u64,
}

impl Settings {
    fn from_env() -> anyhow::Result<Settings> {
        let number = |name: &str, default: u64| -> anyhow::Result<u64> {
            match std::env::var(name) {
                Ok(value) => value.parse().with_context(|| format!("{name}={value}")),
                Err(_) => Ok(default),
            }
        };
        Ok(Settings {
            cases: number("CLEARLINE_CHAOS_CASES", 300)? as usize,
            workers: number("CLEARLINE_CHAOS_WORKERS", 12)? as usize,
            seed: number("CLEARLINE_CHAOS_SEED", rand::random())?,
        })
    }
}

async fn chaos(mut system: System, settings: Settings) -> anyhow::Result<()> {
    let backend = system.dbs.backend;
    println!(
        "chaos on {backend:?}: seed {} (CLEARLINE_CHAOS_SEED), {} cases, {} workers",
        settings.seed, settings.cases, settings.workers
    );
    let result = run(&mut system, &settings).await;
    if let Err(error) = &result {
        println!(
            "chaos on {backend:?} failed (seed {}): {error:#}",
            settings.seed
        );
        // Keeps every service's log and prints their last lines.
        drop(Evidence::keep_on_failure(&system));
        if let Some(server) = &system.postgres {
            let log = server.log();
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(30)..].join("\n");
            println!("--- postgresql (last lines) ---\n{tail}");
        }
    }
    result
}

/// What the run measured, for the report.
struct Figures {
    backend: Backend,
    seed: u64,
    acknowledged: Vec<Acknowledged>,
    workers: usize,
    faults: Vec<Fault>,
    began: Instant,
    workers_done: Instant,
    settled: Instant,
    seen: Seen,
    counts: ConsumerCounts,
    tally: Arc<Tally>,
    verdict: checks::Verdict,
    audit: String,
}

async fn run(system: &mut System, settings: &Settings) -> anyhow::Result<()> {
    let supervisor = system.person("supervisor", Role::Supervisor, None);
    let tally = Arc::new(Tally::default());
    let began = Instant::now();

    let mut watched = Vec::new();
    for service in SERVICES {
        watched.push((service, system.dbs.connect(service).await?));
    }
    let stop_watching = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn(watch::watch(watched, stop_watching.clone()));

    let workers: Vec<_> = (0..settings.workers)
        .map(|w| {
            let unit = UNITS[w % UNITS.len()];
            let staff = Arc::new(Staff::at(system, unit));
            tokio::spawn(clients::work(
                staff,
                unit.to_string(),
                tally.clone(),
                settings.seed,
                settings.cases,
            ))
        })
        .collect();

    let mut rng = StdRng::seed_from_u64(settings.seed);
    let postgres = system.postgres.is_some();
    let planned = faults::plan(&mut rng, settings.cases, postgres);
    let mut counts = ConsumerCounts::default();
    let struck = faults::strike(system, planned, tally.clone(), &supervisor, &mut counts).await;
    tally.faults_over.store(true, Ordering::Relaxed);
    let faults = struck?;
    let last_healed = faults.iter().map(|f| f.healed).max().unwrap_or(began);

    let mut acknowledged: Vec<Acknowledged> = Vec::new();
    for worker in workers {
        acknowledged.extend(worker.await.context("a worker panicked")??);
    }
    let workers_done = Instant::now();

    let pipes = Pipes::open(system).await?;
    let n = acknowledged.len() as i64;
    pipes.settled_within(system, SETTLE).await?;
    system
        .eventually(
            "the backlog to show every case finished",
            SETTLE,
            || async {
                let totals = supervisor.backlog().await.body["totals"].clone();
                (totals["finished"] == n && totals["open"]["total"] == 0).then_some(())
            },
        )
        .await?;
    let settled = Instant::now();
    stop_watching.store(true, Ordering::Relaxed);
    let seen = watcher.await.context("the watcher panicked")?;
    counts.bank_all(&supervisor).await;

    let verdict = checks::all(&pipes, &supervisor, &acknowledged).await?;
    let audit = audit::no_drift(system).await?;
    let figures = Figures {
        backend: system.dbs.backend,
        seed: settings.seed,
        acknowledged,
        workers: settings.workers,
        faults,
        began,
        workers_done,
        settled,
        seen,
        counts,
        tally,
        verdict,
        audit,
    };
    report(&figures, last_healed);
    anyhow::ensure!(
        figures.verdict.dead_letters == 0,
        "{} events ended in dead letters",
        figures.verdict.dead_letters
    );
    anyhow::ensure!(
        figures.acknowledged.len() >= settings.cases,
        "only {} cases were carried through",
        figures.acknowledged.len()
    );
    Ok(())
}

fn report(f: &Figures, last_healed: Instant) {
    let secs = |from: Instant, to: Instant| (to - from).as_secs_f64();
    let kills = f
        .faults
        .iter()
        .filter(|x| matches!(x.target, Target::Service(_)))
        .count();
    let of = |target: Target| f.faults.iter().filter(|x| x.target == target).count();
    // Each fault with the worst outbox lag seen from it until the next one.
    let ends = f.faults.iter().skip(1).map(|x| x.at).chain([f.settled]);
    let schedule: Vec<String> = f
        .faults
        .iter()
        .zip(ends)
        .map(|(x, until)| {
            let lag = f
                .seen
                .worst_between(x.at, until)
                .map_or(String::new(), |(age, whose)| {
                    format!(" (outbox lag {age:.1}s {whose})")
                });
            format!("{}@{:.1}s{lag}", x.target, secs(f.began, x.at))
        })
        .collect();
    let slowest_heal = f
        .faults
        .iter()
        .map(|x| (x.target, secs(x.at, x.healed)))
        .fold(
            (None, 0.0),
            |(t, m), (x, s)| if s > m { (Some(x), s) } else { (t, m) },
        );
    let mut stories = std::collections::BTreeMap::new();
    for a in &f.acknowledged {
        *stories.entry(format!("{:?}", a.plan)).or_insert(0) += 1;
    }
    println!("chaos figures ({:?}, seed {}):", f.backend, f.seed);
    println!(
        "  cases: {} acknowledged and finished by {} workers in {:.1}s ({} events)",
        f.acknowledged.len(),
        f.workers,
        secs(f.began, f.workers_done),
        f.verdict.events
    );
    println!("  stories: {stories:?}");
    println!(
        "  kills: {kills} SIGKILLs; restarts: {} (services {kills}, nats-server {}, postgresql {})",
        f.faults.len(),
        of(Target::Nats),
        of(Target::Postgres)
    );
    println!("  faults (s into the run, the worst outbox lag until the next):");
    for line in schedule {
        println!("    {line}");
    }
    if let (Some(target), s) = slowest_heal {
        println!("  slowest recovery: {target} back in {s:.1}s");
    }
    println!(
        "  redeliveries: {} deliveries marked redelivered; {} events the inboxes skipped as \
         already applied (a crashed broker forgets recent acks and delivery counts, so this \
         can be the larger); dead letters: {}",
        f.counts.redeliveries, f.counts.duplicates, f.verdict.dead_letters
    );
    let when = |at: Option<Instant>| at.map_or(0.0, |at| secs(f.began, at));
    println!(
        "  largest outbox lag: {} unsent rows ({}, {:.1}s in); oldest unsent {:.1}s ({}, {:.1}s in); \
         {} looks failed while a database was down",
        f.seen.most_unsent,
        f.seen.most_unsent_in,
        when(f.seen.most_unsent_at),
        f.seen.oldest_unsent_s,
        f.seen.oldest_unsent_in,
        when(f.seen.oldest_unsent_at),
        f.seen.failed_looks
    );
    println!(
        "  client retries: {} while down, {} while not yet arrived, {} steps found applied; slowest step {:.1}s",
        f.tally.retries_down.load(Ordering::Relaxed),
        f.tally.retries_not_yet.load(Ordering::Relaxed),
        f.tally.already_applied.load(Ordering::Relaxed),
        f.tally.slowest_step_ms.load(Ordering::Relaxed) as f64 / 1000.0
    );
    println!(
        "  after the last fault healed: workers done in {:.1}s, everything settled in {:.1}s",
        secs(last_healed, f.workers_done.max(last_healed)),
        secs(last_healed, f.settled)
    );
    println!("  audit: {}", f.audit);
}
