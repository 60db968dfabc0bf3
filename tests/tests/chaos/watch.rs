//! What the run looks like from outside while it lasts: the outboxes' lag, sampled from
//! each service's database, and the consumers' redeliveries and skipped duplicates, summed
//! over every life of each service from its `/metrics`.

use clearline_platform::outbox;
use clearline_tests::system::SERVICES;
use clearline_tests::Person;
use sea_orm::DatabaseConnection;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const EVERY: Duration = Duration::from_millis(500);

/// The largest lag seen.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// Most unsent outbox rows of one service at one look: how many, whose, when.
    pub most_unsent: i64,
    pub most_unsent_in: &'static str,
    pub most_unsent_at: Option<Instant>,
    /// The oldest unsent outbox row seen, in seconds: how old, whose, when.
    pub oldest_unsent_s: f64,
    pub oldest_unsent_in: &'static str,
    pub oldest_unsent_at: Option<Instant>,
    /// Looks at a database that failed (it was down).
    pub failed_looks: usize,
    /// Every look that found an unsent row: when, whose, the oldest row's age in seconds.
    pub lagging: Vec<(Instant, &'static str, f64)>,
}

impl Seen {
    /// The oldest unsent row seen from `from` until `to`, and whose outbox held it.
    pub fn worst_between(&self, from: Instant, to: Instant) -> Option<(f64, &'static str)> {
        self.lagging
            .iter()
            .filter(|(at, ..)| *at >= from && *at < to)
            .map(|(_, service, age)| (*age, *service))
            .max_by(|a, b| a.0.total_cmp(&b.0))
    }
}

/// Samples until `stop`, then returns what it saw.
pub async fn watch(dbs: Vec<(&'static str, DatabaseConnection)>, stop: Arc<AtomicBool>) -> Seen {
    let mut seen = Seen::default();
    while !stop.load(Ordering::Relaxed) {
        for (service, db) in &dbs {
            match outbox::backlog(db).await {
                Ok((unsent, oldest)) => {
                    if unsent > seen.most_unsent {
                        seen.most_unsent = unsent;
                        seen.most_unsent_in = service;
                        seen.most_unsent_at = Some(Instant::now());
                    }
                    if unsent > 0 {
                        seen.lagging.push((Instant::now(), service, oldest));
                    }
                    if oldest > seen.oldest_unsent_s {
                        seen.oldest_unsent_s = oldest;
                        seen.oldest_unsent_in = service;
                        seen.oldest_unsent_at = Some(Instant::now());
                    }
                }
                Err(_) => seen.failed_looks += 1,
            }
        }
        tokio::time::sleep(EVERY).await;
    }
    seen
}

/// The consumers' counters (`consumer_redeliveries_total`, `consumer_duplicates_total`)
/// start at zero in every life of a process: they are read just before each SIGKILL and
/// banked, and the last lives are added at the end.
#[derive(Debug, Default, Clone, Copy)]
pub struct ConsumerCounts {
    /// Events delivered more than once to a consumer.
    pub redeliveries: u64,
    /// Redelivered events the inbox recognised as already applied and skipped.
    pub duplicates: u64,
}

impl ConsumerCounts {
    /// Adds what `service`'s current life has counted so far.
    pub async fn bank(&mut self, reader: &Person, service: &str) {
        let series = |name: &str| format!("{name}{{consumer=\"{service}\"}}");
        let read = |name| {
            let series = series(name);
            async move { reader.metric(service, &series).await.unwrap_or(0.0) as u64 }
        };
        self.redeliveries += read("consumer_redeliveries_total").await;
        self.duplicates += read("consumer_duplicates_total").await;
    }

    /// Adds the current life of every service.
    pub async fn bank_all(&mut self, reader: &Person) {
        for service in SERVICES {
            self.bank(reader, service).await;
        }
    }
}
