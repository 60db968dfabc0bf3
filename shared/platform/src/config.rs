//! The settings every service shares. Each service's `main` flattens [`CommonConfig`] into
//! its own command line, so every setting is both a flag and an environment variable.

use clap::Args;
use std::net::SocketAddr;
use std::time::Duration;

/// The development signing secret. `clearline dev` and the tests use it; a deployment must
/// set `CLEARLINE_JWT_SECRET`.
pub const DEV_JWT_SECRET: &str = "clearline-dev-secret-change-me";

#[derive(Debug, Clone, Args)]
pub struct CommonConfig {
    /// Address the HTTP API listens on.
    #[arg(long, env = "CLEARLINE_LISTEN")]
    pub listen: Option<SocketAddr>,

    /// Database URL: postgres://… or sqlite://path?mode=rwc.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,

    /// Most connections this process holds to its PostgreSQL database. Every replica of
    /// every service holds a pool, and all of them together must stay under the server's
    /// `max_connections`.
    #[arg(long, env = "CLEARLINE_DB_MAX_CONNECTIONS", default_value_t = crate::db::DEFAULT_MAX_CONNECTIONS)]
    pub db_max_connections: u32,

    /// NATS server URL.
    #[arg(long, env = "NATS_URL", default_value = "nats://127.0.0.1:4222")]
    pub nats_url: String,

    /// NATS user, when the broker asks for one: a deployment gives each service its own,
    /// allowed only the subjects that service needs (k8s/base/nats/permissions.conf).
    #[arg(long, env = "NATS_USER", requires = "nats_password")]
    pub nats_user: Option<String>,

    /// The NATS user's password.
    #[arg(long, env = "NATS_PASSWORD", hide_env_values = true)]
    pub nats_password: Option<String>,

    /// Shared HS256 secret that signs and verifies bearer tokens.
    #[arg(long, env = "CLEARLINE_JWT_SECRET", default_value = DEV_JWT_SECRET, hide_default_value = true)]
    pub jwt_secret: String,

    /// How often the outbox relay looks for unsent events when nothing woke it (ms).
    #[arg(long, env = "CLEARLINE_RELAY_POLL_MS", default_value_t = 500)]
    pub relay_poll_ms: u64,

    /// Deliveries of one event before it goes to the dead letters (a handler that keeps
    /// failing, or a process that keeps dying while it holds the event).
    #[arg(long, env = "CLEARLINE_MAX_DELIVER", default_value_t = 10)]
    pub max_deliver: i64,

    /// How long the broker waits for an ack before redelivering (ms). Longer than the
    /// slowest handler, so a slow commit is not mistaken for a lost one.
    #[arg(long, env = "CLEARLINE_ACK_WAIT_MS", default_value_t = 30_000)]
    pub ack_wait_ms: u64,

    /// How long a SIGTERM may take (ms): HTTP drains, consumers finish their batch, the
    /// relay makes a last pass; whatever is still running then is abandoned (the inbox and
    /// the outbox make that safe) and the process exits. Keep it under the orchestrator's
    /// own grace period (Kubernetes: 30 s by default).
    #[arg(long, env = "CLEARLINE_SHUTDOWN_GRACE_MS", default_value_t = 20_000)]
    pub shutdown_grace_ms: u64,
}

/// Where each service answers, for callers of their APIs (the portal, the operator CLI).
#[derive(Debug, Clone, Args)]
pub struct ServiceUrls {
    /// The intake service's base URL.
    #[arg(
        long,
        env = "CLEARLINE_INTAKE_URL",
        default_value = "http://127.0.0.1:8081"
    )]
    pub intake_url: String,
    /// The approval service's base URL.
    #[arg(
        long,
        env = "CLEARLINE_APPROVAL_URL",
        default_value = "http://127.0.0.1:8082"
    )]
    pub approval_url: String,
    /// The fulfilment service's base URL.
    #[arg(
        long,
        env = "CLEARLINE_FULFILMENT_URL",
        default_value = "http://127.0.0.1:8083"
    )]
    pub fulfilment_url: String,
    /// The backlog service's base URL.
    #[arg(
        long,
        env = "CLEARLINE_BACKLOG_URL",
        default_value = "http://127.0.0.1:8084"
    )]
    pub backlog_url: String,
}

impl ServiceUrls {
    /// The four, named, in the order intake, approval, fulfilment, backlog.
    pub fn all(&self) -> [(&'static str, &str); 4] {
        [
            ("intake", &self.intake_url),
            ("approval", &self.approval_url),
            ("fulfilment", &self.fulfilment_url),
            ("backlog", &self.backlog_url),
        ]
    }
}

impl CommonConfig {
    /// Settings for a test or the all-in-one runner.
    pub fn new(database_url: impl Into<String>, nats_url: impl Into<String>) -> Self {
        CommonConfig {
            listen: None,
            database_url: database_url.into(),
            db_max_connections: crate::db::DEFAULT_MAX_CONNECTIONS,
            nats_url: nats_url.into(),
            nats_user: None,
            nats_password: None,
            jwt_secret: DEV_JWT_SECRET.to_string(),
            relay_poll_ms: 500,
            max_deliver: 10,
            ack_wait_ms: 30_000,
            shutdown_grace_ms: 20_000,
        }
    }

    pub fn listen_or(&self, default_port: u16) -> SocketAddr {
        self.listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], default_port)))
    }

    /// The NATS user and password, when both are set.
    pub fn nats_login(&self) -> Option<(&str, &str)> {
        self.nats_user.as_deref().zip(self.nats_password.as_deref())
    }

    pub fn relay_poll(&self) -> Duration {
        Duration::from_millis(self.relay_poll_ms)
    }

    pub fn ack_wait(&self) -> Duration {
        Duration::from_millis(self.ack_wait_ms)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }
}

/// Loads the service catalog from a TOML file, or the built-in seed when no file is given.
pub fn load_catalog(path: Option<&std::path::Path>) -> anyhow::Result<clearline_domain::Catalog> {
    use anyhow::Context as _;
    match path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the catalog {}", path.display()))?;
            clearline_domain::Catalog::from_toml_str(&text)
                .with_context(|| format!("parsing the catalog {}", path.display()))
        }
        None => Ok(clearline_domain::Catalog::seed()),
    }
}

/// Loads the working-day calendar (holidays, make-up days, zone) from a TOML file, or UTC+8
/// with no holidays when no file is given.
pub fn load_calendar(
    path: Option<&std::path::Path>,
) -> anyhow::Result<clearline_domain::WorkCalendar> {
    use anyhow::Context as _;
    match path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the calendar {}", path.display()))?;
            let config: clearline_domain::calendar::WorkCalendarConfig = toml::from_str(&text)
                .with_context(|| format!("parsing the calendar {}", path.display()))?;
            config
                .into_calendar()
                .with_context(|| format!("checking the calendar {}", path.display()))
        }
        None => Ok(clearline_domain::WorkCalendar::china()),
    }
}
