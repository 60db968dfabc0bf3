//! The web portal: the pages clerks, approvers, fulfilment officers, supervisors and
//! admins work in, in Chinese or English. It owns only users and sessions; everything about
//! cases comes from the services' JSON APIs, called with a token minted for the signed-in
//! user, and live updates come from the event stream.
//!
//! - [`users`]: users, password hashes and sessions (the portal's own tables).
//! - [`session`]: the signed-in viewer, cookies, CSRF and role checks.
//! - [`api`]: the services' JSON APIs, called as the viewer.
//! - [`live`]: case events from NATS, pushed to browsers as server-sent events.
//! - [`pages`]: one module per page family; [`charts`] draws the dashboard's SVG.
//! - [`i18n`]: every string in 简体中文 and English; [`clock`]: times in the unit's zone.
//! - [`assets`]: the stylesheet and script, embedded.

pub mod api;
pub mod assets;
pub mod bench;
pub mod charts;
pub mod clock;
pub mod demo;
pub mod form;
pub mod i18n;
pub mod live;
pub mod pages;
pub mod session;
pub mod users;

use clap::Parser;
use clearline_platform::config::CommonConfig;
use clearline_platform::http::JwtKeys;
use clearline_platform::runtime::{Bound, NoEvents, Parts};
use clearline_platform::shutdown::Shutdown;
use sea_orm::DatabaseConnection;
use std::net::SocketAddr;
use std::sync::Arc;
use utoipa::OpenApi;

pub const SERVICE: &str = "portal";
pub const DEFAULT_PORT: u16 = 8080;

#[derive(Debug, Clone, Parser)]
#[command(name = "clearline-portal", about = "clearline web portal")]
pub struct Config {
    #[command(flatten)]
    pub common: CommonConfig,
    #[command(flatten)]
    pub services: clearline_platform::config::ServiceUrls,
    /// The units' time zone (IANA name): pages show every time in it.
    #[arg(long, env = "CLEARLINE_TIME_ZONE", default_value = "Asia/Shanghai")]
    pub time_zone: String,
    /// Set when the portal is served over HTTPS (directly or behind a TLS proxy): the session
    /// cookie becomes `__Host-`-prefixed and `Secure`.
    #[arg(long, env = "CLEARLINE_PORTAL_TLS", default_value_t = false)]
    pub tls: bool,
    /// A session ends after this many minutes without a request.
    #[arg(long, env = "CLEARLINE_SESSION_IDLE_MINUTES", default_value_t = 30)]
    pub session_idle_minutes: i64,
    /// A session ends this many hours after sign-in, however busy.
    #[arg(long, env = "CLEARLINE_SESSION_MAX_HOURS", default_value_t = 12)]
    pub session_max_hours: i64,
    /// Create the demo users (password `clearline-demo`) when they are missing. Development
    /// and demos only.
    #[arg(long, env = "CLEARLINE_PORTAL_DEMO_USERS", default_value_t = false)]
    pub demo_users: bool,
}

/// Everything a page handler needs.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub keys: Arc<JwtKeys>,
    pub api: api::Services,
    pub live: live::Hub,
    pub zone: clock::Zone,
    pub cookies: session::CookiePolicy,
    pub panels: pages::panels::RatesCache,
    pub pipes: pages::pipes::PipesCache,
}

/// A built portal: connected, migrated and bound, not yet serving.
pub struct Application {
    bound: Bound,
    live: live::Hub,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let zone = clock::Zone::parse(&config.time_zone)?;
        let cookies = session::CookiePolicy::new(
            config.tls,
            chrono::Duration::minutes(config.session_idle_minutes),
            chrono::Duration::hours(config.session_max_hours),
        );
        let services = api::Services::new(&config)?;
        let live = live::Hub::new();
        let hub = live.clone();
        let bound =
            Bound::build::<users::Migrator>(SERVICE, DEFAULT_PORT, config.common, None, |infra| {
                let state = AppState {
                    db: infra.db.clone(),
                    keys: infra.keys.clone(),
                    api: services,
                    live: hub,
                    zone,
                    cookies,
                    panels: pages::panels::RatesCache::default(),
                    pipes: pages::pipes::PipesCache::default(),
                };
                Parts {
                    router: pages::router(state),
                    openapi: ApiDoc::openapi(),
                    probe: infra.probe(None),
                }
            })
            .await?;
        if config.demo_users {
            users::store::seed(&bound.infra().db, &demo::DEMO_USERS).await?;
        }
        Ok(Application { bound, live })
    }

    pub fn addr(&self) -> SocketAddr {
        self.bound.addr()
    }

    /// The database, for tools that seed users.
    pub fn db(&self) -> &DatabaseConnection {
        &self.bound.infra().db
    }

    /// Serves the pages and relays case events to browsers until `shutdown`.
    pub async fn run(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let listener = tokio::spawn(live::listen(
            self.bound.infra().nats.clone(),
            self.live.clone(),
            shutdown.clone(),
        ));
        let served = self.bound.run(None::<NoEvents>, false, shutdown).await;
        let _ = listener.await;
        served
    }
}

/// The portal answers HTML, not JSON; its OpenAPI document lists only the ops endpoints.
#[derive(OpenApi)]
#[openapi(info(
    title = "clearline portal",
    description = "Web pages for staff; the public service catalog. HTML, not a JSON API."
))]
struct ApiDoc;
