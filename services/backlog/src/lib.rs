//! The backlog service: the read model of every case, from intake to done.
//!
//! - [`projection`]: each event into the timeline; the case row and the counters re-derived
//!   from all of its events, in one transaction (pure derivation in [`projection::derive`]).
//! - [`store`]: the tables (`case_events`, `backlog_cases`, `case_counts`) and their reads.
//! - [`figures`]: dashboard figures as sums of the counters (pure).
//! - [`dashboard`]: the backlog view and the counter audit.
//! - [`metrics`]: the business gauges on `/metrics`.
//! - [`routes`]: the JSON API.
//! - [`events`]: the consumer that feeds the projection.
//! - [`audit`]: rows against their timelines, counters against a recount; the repair.
//! - [`watch`]: the clock side: promised-time warnings and breaches, stuck hand-overs.
//! - [`clearance`]: the daily clearance report, its sign-off and the end-of-day job.

pub mod audit;
pub mod clearance;
pub mod dashboard;
pub mod events;
pub mod figures;
pub mod metrics;
pub mod projection;
pub mod routes;
pub mod store;
pub mod watch;

use axum::extract::FromRef;
use chrono::Utc;
use clap::Parser;
use clearline_platform::config::{load_calendar, load_catalog, CommonConfig};
use clearline_platform::http::JwtKeys;
use clearline_platform::runtime::{Bound, Infra, InfraProbe, Parts};
use clearline_platform::shutdown::Shutdown;
use projection::Policy;
use sea_orm::DatabaseConnection;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use utoipa::OpenApi;

pub const SERVICE: &str = "backlog";
pub const DEFAULT_PORT: u16 = 8084;

#[derive(Debug, Clone, Parser)]
#[command(name = "clearline-backlog", about = "clearline backlog service")]
pub struct Config {
    #[command(flatten)]
    pub common: CommonConfig,
    /// The service catalog (TOML) whose promised times the clocks keep. Without it, the
    /// built-in seed catalog.
    #[arg(long, env = "CLEARLINE_CATALOG")]
    pub catalog: Option<PathBuf>,
    /// The working-day calendar (TOML: zone, holidays, make-up days). Without it, UTC+8
    /// with no holidays.
    #[arg(long, env = "CLEARLINE_CALENDAR")]
    pub calendar: Option<PathBuf>,
    /// The share of a promised time, in percent, at which a warning goes out.
    #[arg(long, env = "CLEARLINE_SLA_WARNING_PERCENT", default_value_t = DEFAULT_WARNING_PERCENT, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub sla_warning_percent: u8,
    /// How long a hand-over between services may take before the case is flagged (ms).
    #[arg(long, env = "CLEARLINE_STUCK_AFTER_MS", default_value_t = DEFAULT_STUCK_AFTER_MS)]
    pub stuck_after_ms: u64,
    /// How often the watch looks at the clocks (ms).
    #[arg(long, env = "CLEARLINE_WATCH_MS", default_value_t = DEFAULT_WATCH_MS)]
    pub watch_ms: u64,
    /// How often the backlog audits its own read model (ms); the drift goes to `/metrics`.
    #[arg(long, env = "CLEARLINE_SELF_CHECK_MS", default_value_t = DEFAULT_SELF_CHECK_MS)]
    pub self_check_ms: u64,
    /// How often the business gauges on `/metrics` are computed (ms); scrapes read the
    /// last computation.
    #[arg(long, env = "CLEARLINE_GAUGES_MS", default_value_t = DEFAULT_GAUGES_MS)]
    pub gauges_ms: u64,
    #[command(flatten)]
    pub clearance: clearance::ClearanceConfig,
}

const DEFAULT_WARNING_PERCENT: u8 = 75;
const DEFAULT_STUCK_AFTER_MS: u64 = 15 * 60 * 1000;
const DEFAULT_WATCH_MS: u64 = 5_000;
const DEFAULT_SELF_CHECK_MS: u64 = 5 * 60 * 1000;
const DEFAULT_GAUGES_MS: u64 = 5_000;

impl Config {
    /// The defaults the command line has, for the all-in-one runner and tests.
    pub fn new(common: CommonConfig, catalog: Option<PathBuf>, calendar: Option<PathBuf>) -> Self {
        Config {
            common,
            catalog,
            calendar,
            sla_warning_percent: DEFAULT_WARNING_PERCENT,
            stuck_after_ms: DEFAULT_STUCK_AFTER_MS,
            watch_ms: DEFAULT_WATCH_MS,
            self_check_ms: DEFAULT_SELF_CHECK_MS,
            gauges_ms: DEFAULT_GAUGES_MS,
            clearance: clearance::ClearanceConfig::default(),
        }
    }

    /// The derivation's settings, from the files and numbers given.
    pub fn policy(&self) -> anyhow::Result<Policy> {
        Ok(Policy {
            catalog: Arc::new(load_catalog(self.catalog.as_deref())?),
            calendar: load_calendar(self.calendar.as_deref())?,
            warning_share: f64::from(self.sla_warning_percent) / 100.0,
            stuck_after: chrono::TimeDelta::milliseconds(
                i64::try_from(self.stuck_after_ms).unwrap_or(i64::MAX),
            ),
        })
    }
}

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub keys: Arc<JwtKeys>,
    pub policy: Arc<Policy>,
}

impl FromRef<AppState> for Arc<JwtKeys> {
    fn from_ref(state: &AppState) -> Self {
        state.keys.clone()
    }
}

/// A built service: connected, migrated and bound, not yet serving.
pub struct Application {
    bound: Bound,
    policy: Arc<Policy>,
    watch_every: Duration,
    self_check_every: Duration,
    day_clock: clearance::DayClock,
    gauges: metrics::Gauges,
    gauges_every: Duration,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let policy = Arc::new(config.policy()?);
        let state_policy = policy.clone();
        let clock = config.clearance.clock(&policy.calendar);
        let gauges = metrics::Gauges::default();
        let scraped = gauges.clone();
        let bound = Bound::build::<store::Migrator>(
            SERVICE,
            DEFAULT_PORT,
            config.common,
            Some(events::CONSUMER),
            |infra| {
                let state = AppState {
                    db: infra.db.clone(),
                    keys: infra.keys.clone(),
                    policy: state_policy,
                };
                Parts {
                    router: routes::router(state.clone())
                        .merge(routes::clearance_router(state, clock)),
                    openapi: routes::ApiDoc::openapi(),
                    probe: scrape_metrics(infra, scraped),
                }
            },
        )
        .await?;
        Ok(Application {
            bound,
            policy,
            watch_every: Duration::from_millis(config.watch_ms),
            self_check_every: Duration::from_millis(config.self_check_ms),
            day_clock: clock,
            gauges,
            gauges_every: Duration::from_millis(config.gauges_ms),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.bound.addr()
    }

    /// Serves the API, consumes every event and runs the watch until `shutdown`. The watch's
    /// announcements go out through the backlog's own outbox relay.
    pub async fn run(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let infra = self.bound.infra();
        let mut clocks = tokio::task::JoinSet::new();
        clocks.spawn(watch::run(
            infra.db.clone(),
            infra.outbox.clone(),
            self.policy.clone(),
            self.watch_every,
            shutdown.clone(),
        ));
        clocks.spawn(audit::run_self_check(
            infra.db.clone(),
            self.policy.clone(),
            self.self_check_every,
            shutdown.clone(),
        ));
        clocks.spawn(
            self.gauges
                .run(infra.db.clone(), self.gauges_every, shutdown.clone()),
        );
        clocks.spawn(clearance::run(
            infra.db.clone(),
            self.day_clock,
            shutdown.clone(),
        ));
        let handler = events::BacklogEvents::new(self.policy);
        let served = self.bound.run(Some(handler), true, shutdown.clone()).await;
        shutdown.cancel();
        clocks.shutdown().await;
        served
    }
}

/// The pipe metrics every service reports, plus the business figures as last computed.
fn scrape_metrics(infra: &Infra, gauges: metrics::Gauges) -> InfraProbe {
    infra.probe(Some(events::CONSUMER)).with_metrics(move || {
        let text = gauges.text(Utc::now());
        Box::pin(async move { text })
    })
}
