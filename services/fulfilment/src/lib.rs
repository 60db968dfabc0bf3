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
use clearline_platform::http::JwtKeys;
use clearline_platform::outbox::Outbox;
use clearline_platform::runtime::{Bound, Parts};
use clearline_platform::shutdown::Shutdown;
use sea_orm::DatabaseConnection;
use std::net::SocketAddr;
use std::sync::Arc;
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
pub struct Application(Bound);

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let bound = Bound::build::<store::Migrator>(
            SERVICE,
            DEFAULT_PORT,
            config.common,
            Some(events::CONSUMER),
            |infra| {
                let state = AppState {
                    db: infra.db.clone(),
                    outbox: infra.outbox.clone(),
                    keys: infra.keys.clone(),
                };
                Parts {
                    router: routes::router(state),
                    openapi: routes::ApiDoc::openapi(),
                    probe: infra.probe(Some(events::CONSUMER)),
                }
            },
        )
        .await?;
        Ok(Application(bound))
    }

    pub fn addr(&self) -> SocketAddr {
        self.0.addr()
    }

    pub async fn run(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let outbox = self.0.infra().outbox.clone();
        self.0
            .run(Some(events::FulfilmentEvents { outbox }), true, shutdown)
            .await
    }
}
