//! The fulfilment service: carrying approved (or approval-free) cases out until the
//! resident has the result.
//!
//! - [`store`]: fulfilment's table, one task per case (or a tombstone for an early cancel).
//! - [`commands`]: taking in ready cases and cancels; start, fulfil and close, as transactions.
//! - [`routes`]: the JSON API.
//! - [`events`]: reacting to `approved`, approval-free `submitted`, and `cancelled`.

pub mod commands;
pub mod events;
pub mod routes;
pub mod store;

use axum::extract::FromRef;
use clap::Parser;
use clearline_platform::config::CommonConfig;
use clearline_platform::consumer::ConsumerSpec;
use clearline_platform::http::{self, JwtKeys};
use clearline_platform::outbox::Outbox;
use clearline_platform::runtime::{self, Infra, Workers};
use clearline_platform::shutdown::Shutdown;
use sea_orm::DatabaseConnection;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use utoipa::OpenApi;

pub const SERVICE: &str = "fulfilment";
pub const DEFAULT_PORT: u16 = 8083;

#[derive(Debug, Clone, Parser)]
#[command(name = "clearline-fulfilment", about = "clearline fulfilment service")]
pub struct Config {
    #[command(flatten)]
    pub common: CommonConfig,
}

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub outbox: Outbox,
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
            outbox: infra.outbox.clone(),
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

    pub async fn run(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let config = &self.infra.config;
        let spec = ConsumerSpec::new(events::CONSUMER, config.max_deliver, config.ack_wait());
        let workers = Workers {
            consumer: Some((spec, Arc::new(events::FulfilmentEvents))),
            relay: true,
        };
        runtime::run(self.infra, self.listener, self.router, workers, shutdown).await
    }
}
