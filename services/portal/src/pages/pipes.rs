//! The dashboard's pipes panel: each service's outbox, consumer and dead letters, read
//! from its `/metrics`. Four scrapes per page view would make the dashboard as slow as
//! the slowest service, and the figures move slowly, so they are kept for a few seconds
//! and shared by every viewer; the panel shows when they were read.

use crate::api::{gauge, Service};
use crate::i18n::{self, Lang};
use crate::AppState;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long read figures are shown before the next viewer reads them again.
const PIPES_MAX_AGE: Duration = Duration::from_secs(5);

pub struct PipeRow {
    pub service: String,
    pub outbox_unsent: String,
    pub consumer_pending: String,
    pub dead_letters: String,
    pub attention: bool,
}

/// One service's figures as read; `None` when the service did not answer or lacks one.
#[derive(Clone)]
struct Read {
    service: Service,
    answered: bool,
    unsent: Option<f64>,
    pending: Option<f64>,
    dead: Option<f64>,
}

#[derive(Clone)]
struct Cached {
    reads: Vec<Read>,
    at: DateTime<Utc>,
    fetched: Instant,
}

/// The last reading of every service's pipes. The lock is held while reading, so viewers
/// arriving together wait for one reading instead of each making their own.
#[derive(Clone, Default)]
pub struct PipesCache {
    last: Arc<Mutex<Option<Cached>>>,
}

impl PipesCache {
    /// The pipes as rows in `lang`, and when they were read.
    pub async fn rows(&self, app: &AppState, lang: Lang) -> (Vec<PipeRow>, DateTime<Utc>) {
        let mut last = self.last.lock().await;
        let fresh = last
            .as_ref()
            .filter(|c| c.fetched.elapsed() < PIPES_MAX_AGE)
            .cloned();
        let cached = match fresh {
            Some(cached) => cached,
            None => {
                let cached = read_all(app).await;
                *last = Some(cached.clone());
                cached
            }
        };
        drop(last);
        (
            cached.reads.iter().map(|r| row(lang, r)).collect(),
            cached.at,
        )
    }
}

async fn read_all(app: &AppState) -> Cached {
    let texts = futures::future::join_all(Service::ALL.iter().map(|s| app.api.metrics(*s))).await;
    let reads = Service::ALL
        .iter()
        .zip(texts)
        .map(|(service, text)| {
            let text = text.unwrap_or_default();
            Read {
                service: *service,
                answered: !text.is_empty(),
                unsent: gauge(&text, "clearline_outbox_unsent"),
                pending: gauge(&text, "clearline_consumer_pending"),
                dead: gauge(&text, "clearline_dead_letters"),
            }
        })
        .collect();
    Cached {
        reads,
        at: Utc::now(),
        fetched: Instant::now(),
    }
}

fn row(lang: Lang, read: &Read) -> PipeRow {
    let missing = lang.t().unavailable;
    let show = |v: Option<f64>| v.map_or_else(|| missing.to_string(), |v| format!("{v:.0}"));
    PipeRow {
        service: i18n::service(lang, read.service.name()),
        attention: read.dead.is_some_and(|d| d > 0.0) || !read.answered,
        // Every service has an outbox; the backlog's carries the watch's notices
        // (warnings, breaches, attention), which matter as much as the cases' own events.
        outbox_unsent: show(read.unsent),
        consumer_pending: show(read.pending),
        dead_letters: show(read.dead),
    }
}
