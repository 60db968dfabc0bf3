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
use clearline_platform::consumer::ConsumerSpec;
use clearline_platform::http::{self, JwtKeys};
use clearline_platform::runtime::{self, Infra, Workers};
use clearline_platform::shutdown::Shutdown;
use sea_orm::DatabaseConnection;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use utoipa::OpenApi;

pub const SERVICE: &str = "backlog";
pub const DEFAULT_PORT: u16 = 8084;

#[derive(Debug, Clone, Parser)]
#[command(name = "clearline-backlog", about = "clearline backlog service")]
pub struct Config {
    #[command(flatten)]
    pub common: CommonConfig,
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
pub struct Application {
    infra: Infra,
    listener: TcpListener,
    addr: SocketAddr,
    router: axum::Router,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let infra = Infra::connect::<store::Migrator>(SERVICE, config.common).await?;
        let (listener, addr) = infra.bind(DEFAULT_PORT).await?;
        let state = AppState {
            db: infra.db.clone(),
            keys: infra.keys.clone(),
        };
        let db = infra.db.clone();
        let probe = infra.probe(Some(events::CONSUMER)).with_metrics(move || {
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
        });
        let router =
            routes::router(state).merge(http::ops_router(probe, routes::ApiDoc::openapi()));
        let router = http::serve::layered(router, SERVICE);
        Ok(Application {
            infra,
            listener,
            addr,
            router,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves the API and consumes every event until `shutdown`. The backlog emits nothing
    /// yet (SLA warnings come later), so it runs no outbox relay.
    pub async fn run(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let config = &self.infra.config;
        let spec = ConsumerSpec::new(events::CONSUMER, config.max_deliver, config.ack_wait());
        let workers = Workers {
            consumer: Some((spec, Arc::new(events::BacklogEvents))),
            relay: false,
        };
        runtime::run(self.infra, self.listener, self.router, workers, shutdown).await
    }
}
