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
//! - [`clearance`]: the daily clearance report, its sign-off and the end-of-day job.

pub mod clearance;
pub mod dashboard;
pub mod events;
pub mod figures;
pub mod metrics;
pub mod projection;
pub mod routes;
pub mod store;

use axum::extract::FromRef;
use chrono::Utc;
use clap::Parser;
use clearline_platform::config::CommonConfig;
use clearline_platform::http::JwtKeys;
use clearline_platform::runtime::{Bound, Infra, InfraProbe, Parts};
use clearline_platform::shutdown::Shutdown;
use sea_orm::DatabaseConnection;
use std::net::SocketAddr;
use std::sync::Arc;
use utoipa::OpenApi;

pub const SERVICE: &str = "backlog";
pub const DEFAULT_PORT: u16 = 8084;

#[derive(Debug, Clone, Parser)]
#[command(name = "clearline-backlog", about = "clearline backlog service")]
pub struct Config {
    #[command(flatten)]
    pub common: CommonConfig,
    #[command(flatten)]
    pub clearance: clearance::ClearanceConfig,
}

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub keys: Arc<JwtKeys>,
}

impl FromRef<AppState> for Arc<JwtKeys> {
    fn from_ref(state: &AppState) -> Self {
        state.keys.clone()
    }
}

/// A built service: connected, migrated and bound, not yet serving.
pub struct Application(Bound, clearance::DayClock);

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let clock = config.clearance.clock()?;
        let bound = Bound::build::<store::Migrator>(
            SERVICE,
            DEFAULT_PORT,
            config.common,
            Some(events::CONSUMER),
            |infra| {
                let state = AppState {
                    db: infra.db.clone(),
                    keys: infra.keys.clone(),
                };
                Parts {
                    router: routes::router(state.clone())
                        .merge(routes::clearance_router(state, clock)),
                    openapi: routes::ApiDoc::openapi(),
                    probe: scrape_metrics(infra),
                }
            },
        )
        .await?;
        Ok(Application(bound, clock))
    }

    pub fn addr(&self) -> SocketAddr {
        self.0.addr()
    }

    /// Serves the API and consumes every event until `shutdown`. The backlog emits nothing
    /// yet (SLA warnings come later), so it runs no outbox relay.
    pub async fn run(self, shutdown: Shutdown) -> anyhow::Result<()> {
        tokio::spawn(clearance::run(
            self.0.infra().db.clone(),
            self.1,
            shutdown.clone(),
        ));
        self.0
            .run(Some(events::BacklogEvents), false, shutdown)
            .await
    }
}

/// The pipe metrics every service reports, plus the business figures read at scrape time.
fn scrape_metrics(infra: &Infra) -> InfraProbe {
    let db = infra.db.clone();
    infra.probe(Some(events::CONSUMER)).with_metrics(move || {
        let db = db.clone();
        Box::pin(async move {
            metrics::render(&db, Utc::now())
                .await
                .unwrap_or_else(|error| {
                    // A failed scrape shows as missing series; the pipe metrics still go out.
                    tracing::warn!(%error, "backlog metrics not read");
                    String::new()
                })
        })
    })
}
