//! The intake service: residents' requests as the window receives them.
//!
//! - [`store`]: intake's tables (the only place with a resident's full personal data).
//! - [`commands`]: register, add materials, cancel, take back a returned case.
//! - [`routes`]: the JSON API.
//! - [`events`]: reacting to approval's return and to finished cases.

pub mod commands;
pub mod events;
pub mod routes;
pub mod store;

use axum::extract::FromRef;
use clap::Parser;
use clearline_domain::{Catalog, WorkCalendar};
use clearline_platform::config::{load_catalog, CommonConfig};
use clearline_platform::consumer::ConsumerSpec;
use clearline_platform::http::{self, JwtKeys};
use clearline_platform::outbox::Outbox;
use clearline_platform::runtime::{self, Infra, Workers};
use clearline_platform::shutdown::Shutdown as CancellationToken;
use sea_orm::DatabaseConnection;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use utoipa::OpenApi;

pub const SERVICE: &str = "intake";
pub const DEFAULT_PORT: u16 = 8081;

#[derive(Debug, Clone, Parser)]
#[command(name = "clearline-intake", about = "clearline intake service")]
pub struct Config {
    #[command(flatten)]
    pub common: CommonConfig,
    /// The service catalog (TOML). Without it, the built-in seed catalog is used.
    #[arg(long, env = "CLEARLINE_CATALOG")]
    pub catalog: Option<PathBuf>,
}

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub outbox: Outbox,
    pub catalog: Arc<Catalog>,
    pub calendar: WorkCalendar,
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
        let catalog = Arc::new(load_catalog(config.catalog.as_deref())?);
        let infra = Infra::connect::<store::Migrator>(SERVICE, config.common).await?;
        let (listener, addr) = infra.bind(DEFAULT_PORT).await?;
        let state = AppState {
            db: infra.db.clone(),
            outbox: infra.outbox.clone(),
            catalog,
            calendar: WorkCalendar::china(),
            keys: infra.keys.clone(),
        };
        let router = routes::router(state).merge(http::ops_router(
            infra.probe(Some(events::CONSUMER)),
            routes::ApiDoc::openapi(),
        ));
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

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let config = &self.infra.config;
        let spec = ConsumerSpec::new(events::CONSUMER, config.max_deliver, config.ack_wait());
        let handler = Arc::new(events::IntakeEvents {
            outbox: self.infra.outbox.clone(),
        });
        let workers = Workers {
            consumer: Some((spec, handler)),
            relay: true,
        };
        runtime::run(self.infra, self.listener, self.router, workers, shutdown).await
    }
}
