//! The faults: every service SIGKILLed and restarted several times, the broker restarted
//! twice and the database once, each at a random moment of the run (seeded).
//!
//! The moments are tied to the run's progress, not to the clock: a fault comes when the
//! workers have taken a drawn share of the run's cases, so a long run has its faults spread
//! over all of it and a short one still has every fault while cases are in flight.

use super::clients::Tally;
use super::watch::ConsumerCounts;
use clearline_tests::system::SERVICES;
use clearline_tests::Person;
use clearline_tests::System;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// SIGKILLs per service.
pub const KILLS_PER_SERVICE: usize = 3;
/// Restarts of the test's nats-server.
pub const NATS_RESTARTS: usize = 2;
/// Restarts of the test's PostgreSQL (on PostgreSQL runs).
pub const POSTGRES_RESTARTS: usize = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Service(&'static str),
    Nats,
    Postgres,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Service(name) => f.write_str(name),
            Target::Nats => f.write_str("nats-server"),
            Target::Postgres => f.write_str("postgresql"),
        }
    }
}

/// A fault as drawn before the run.
pub struct Planned {
    pub target: Target,
    /// Comes once the workers have taken this many cases.
    pub after_cases: usize,
    /// How long the target stays down.
    pub down_for: Duration,
}

/// A fault as it happened.
pub struct Fault {
    pub target: Target,
    /// When it struck.
    pub at: Instant,
    /// When the target was back (a service ready again, a server accepting connections).
    pub healed: Instant,
}

/// Draws the run's faults: in a random order, at random shares (5 %–85 %) of `cases`.
pub fn plan(rng: &mut StdRng, cases: usize, postgres: bool) -> Vec<Planned> {
    let mut targets = Vec::new();
    for service in SERVICES {
        targets.extend(std::iter::repeat_n(
            Target::Service(service),
            KILLS_PER_SERVICE,
        ));
    }
    targets.extend(std::iter::repeat_n(Target::Nats, NATS_RESTARTS));
    if postgres {
        targets.extend(std::iter::repeat_n(Target::Postgres, POSTGRES_RESTARTS));
    }
    targets.shuffle(rng);
    let mut moments: Vec<usize> = targets
        .iter()
        .map(|_| rng.gen_range(cases * 5 / 100..=cases * 85 / 100))
        .collect();
    moments.sort_unstable();
    targets
        .into_iter()
        .zip(moments)
        .map(|(target, after_cases)| {
            let ms = match target {
                Target::Service(_) => rng.gen_range(50..1500),
                Target::Nats => rng.gen_range(500..3000),
                Target::Postgres => rng.gen_range(1000..4000),
            };
            Planned {
                target,
                after_cases,
                down_for: Duration::from_millis(ms),
            }
        })
        .collect()
}

/// Runs the planned faults one after another as the run reaches each one's moment.
/// `reader` reads each service's counters before it is killed, into `counts`.
pub async fn strike(
    system: &mut System,
    planned: Vec<Planned>,
    tally: Arc<Tally>,
    reader: &Person,
    counts: &mut ConsumerCounts,
) -> anyhow::Result<Vec<Fault>> {
    let mut done = Vec::with_capacity(planned.len());
    for fault in planned {
        wait_for_progress(&tally, fault.after_cases).await?;
        let at = Instant::now();
        match fault.target {
            Target::Service(service) => {
                let before = system.pid(service);
                counts.bank(reader, service).await;
                system.restart(service, fault.down_for).await?;
                anyhow::ensure!(
                    before.is_some() && system.pid(service) != before,
                    "{service} was not replaced by a new process"
                );
            }
            Target::Nats => system.restart_nats(fault.down_for).await?,
            Target::Postgres => system.restart_postgres(fault.down_for).await?,
        }
        done.push(Fault {
            target: fault.target,
            at,
            healed: Instant::now(),
        });
    }
    Ok(done)
}

/// How long the run may take no new case before it counts as stuck (a step's own retry
/// budget is shorter, so live workers always move on within it).
const STALL: Duration = Duration::from_secs(180);

/// Waits until the workers have taken `cases` cases; fails if they stop taking any (they
/// all failed), so the run never waits forever.
async fn wait_for_progress(tally: &Tally, cases: usize) -> anyhow::Result<()> {
    let mut last = tally.next_case.load(Ordering::Relaxed);
    let mut moved = Instant::now();
    while last < cases {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = tally.next_case.load(Ordering::Relaxed);
        if now != last {
            (last, moved) = (now, Instant::now());
        }
        anyhow::ensure!(
            moved.elapsed() < STALL,
            "no new case for {STALL:?} at case {last}: the workers have stopped"
        );
    }
    Ok(())
}
