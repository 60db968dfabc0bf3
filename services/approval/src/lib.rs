//! The approval service: the approvers' queue and their decisions.
//!
//! - [`store`]: approval's table, one task per case (or a tombstone for an early cancel).
//! - [`commands`]: taking in submissions and cancels, and deciding, as transactions.
//! - [`routes`]: the JSON API.
//! - [`events`]: reacting to intake's `submitted` and `cancelled`.

pub mod commands;
pub mod events;
pub mod routes;
pub mod store;

use axum::extract::FromRef;
use clap::Parser;
use clearline_domain::Catalog;
use clearline_platform::config::{load_catalog, CommonConfig};
use clearline_platform::http::JwtKeys;
use clearline_platform::outbox::Outbox;
use clearline_platform::runtime::{Bound, Parts};
use clearline_platform::shutdown::Shutdown;
use sea_orm::DatabaseConnection;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use utoipa::OpenApi;

pub const SERVICE: &str = "approval";
pub const DEFAULT_PORT: u16 = 8082;

#[derive(Debug, Clone, Parser)]
#[command(name = "clearline-approval", about = "clearline approval service")]
pub struct Config {
    #[command(flatten)]
    pub common: CommonConfig,
    /// The service catalog (TOML), to check the materials a return asks for. Without it,
    /// the built-in seed catalog is used. Must be the same catalog intake uses.
    #[arg(long, env = "CLEARLINE_CATALOG")]
    pub catalog: Option<PathBuf>,
}

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub outbox: Outbox,
    pub catalog: Arc<Catalog>,
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
        let catalog = Arc::new(load_catalog(config.catalog.as_deref())?);
        let bound = Bound::build::<store::Migrator>(
            SERVICE,
            DEFAULT_PORT,
            config.common,
            Some(events::CONSUMER),
            |infra| {
                let state = AppState {
                    db: infra.db.clone(),
                    outbox: infra.outbox.clone(),
                    catalog,
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
            .run(Some(events::ApprovalEvents { outbox }), true, shutdown)
            .await
    }
}
