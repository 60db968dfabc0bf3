//! Connecting to the service's own database, and the tables every service has: the outbox,
//! the inbox, the dead letters and the idempotency keys.
//!
//! Migrations are plain SQL with the few type names that differ between PostgreSQL and
//! SQLite filled in by [`Ddl`]; that keeps each table readable in one place.

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr,
};
use sea_orm_migration::prelude::*;
use std::time::Duration;

/// Connections a service's pool holds at most on PostgreSQL, unless configured
/// (`CLEARLINE_DB_MAX_CONNECTIONS`).
pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;

/// Opens a pool of [`DEFAULT_MAX_CONNECTIONS`]; see [`connect_with`].
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, DEFAULT_MAX_CONNECTIONS).await
}

/// Opens a pool of at most `max_connections` on PostgreSQL: every replica of every service
/// holds one, and together they must stay under the server's `max_connections`. SQLite
/// gets one connection: SQLite has one writer anyway, and a single connection avoids
/// "database is locked" when a read transaction upgrades to a write.
#[tracing::instrument(skip_all, fields(backend))]
pub async fn connect_with(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let sqlite = url.starts_with("sqlite:");
    tracing::Span::current().record("backend", if sqlite { "sqlite" } else { "postgres" });
    let mut options = ConnectOptions::new(url.to_string());
    options
        .sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(10));
    if sqlite {
        options.max_connections(1).min_connections(1);
    } else {
        options
            .max_connections(max_connections.max(1))
            .min_connections(1);
    }
    let db = Database::connect(options).await?;
    if sqlite {
        // WAL lets readers run beside the writer; FULL keeps each commit durable; the busy
        // timeout covers a second process (the audit tool) opening the same file.
        for pragma in [
            "PRAGMA journal_mode = WAL",
            "PRAGMA synchronous = FULL",
            "PRAGMA busy_timeout = 5000",
            "PRAGMA foreign_keys = ON",
        ] {
            db.execute_unprepared(pragma).await?;
        }
    }
    Ok(db)
}

/// Column types that differ by backend.
#[derive(Debug, Clone, Copy)]
pub struct Ddl(pub DatabaseBackend);

impl Ddl {
    pub fn uuid(self) -> &'static str {
        match self.0 {
            DatabaseBackend::Postgres => "UUID",
            _ => "BLOB",
        }
    }
    pub fn timestamp(self) -> &'static str {
        match self.0 {
            DatabaseBackend::Postgres => "TIMESTAMPTZ",
            _ => "TEXT",
        }
    }
    pub fn json(self) -> &'static str {
        match self.0 {
            DatabaseBackend::Postgres => "JSONB",
            _ => "TEXT",
        }
    }
    pub fn bytes(self) -> &'static str {
        match self.0 {
            DatabaseBackend::Postgres => "BYTEA",
            _ => "BLOB",
        }
    }
    /// An auto-increasing 64-bit primary key.
    pub fn serial_pk(self) -> &'static str {
        match self.0 {
            DatabaseBackend::Postgres => "BIGSERIAL PRIMARY KEY",
            _ => "INTEGER PRIMARY KEY AUTOINCREMENT",
        }
    }
}

/// Runs each statement in order; `{uuid}`, `{ts}`, `{json}`, `{bytes}` and `{serial_pk}`
/// are replaced with the backend's type.
pub async fn run_ddl(manager: &SchemaManager<'_>, statements: &[&str]) -> Result<(), DbErr> {
    let ddl = Ddl(manager.get_database_backend());
    for statement in statements {
        let sql = statement
            .replace("{uuid}", ddl.uuid())
            .replace("{ts}", ddl.timestamp())
            .replace("{json}", ddl.json())
            .replace("{bytes}", ddl.bytes())
            .replace("{serial_pk}", ddl.serial_pk());
        manager.get_connection().execute_unprepared(&sql).await?;
    }
    Ok(())
}

/// The platform's tables; every service's migrator lists this first.
pub struct PlatformTables;

impl MigrationName for PlatformTables {
    fn name(&self) -> &str {
        "m0000_platform_tables"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for PlatformTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(
            manager,
            &[
                // Events waiting to be published, and kept after sending for replay.
                "CREATE TABLE outbox (
                    id {serial_pk},
                    event_id {uuid} NOT NULL UNIQUE,
                    case_id {uuid} NOT NULL,
                    subject TEXT NOT NULL,
                    payload {bytes} NOT NULL,
                    traceparent TEXT,
                    created_at {ts} NOT NULL,
                    sent_at {ts}
                )",
                "CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL",
                "CREATE INDEX outbox_case_unsent ON outbox (case_id, id) WHERE sent_at IS NULL",
                // Events this service has already applied, per consumer.
                "CREATE TABLE inbox (
                    consumer TEXT NOT NULL,
                    event_id {uuid} NOT NULL,
                    processed_at {ts} NOT NULL,
                    PRIMARY KEY (consumer, event_id)
                )",
                // Events that failed every delivery; kept until an operator replays them.
                "CREATE TABLE dead_letters (
                    id {serial_pk},
                    consumer TEXT NOT NULL,
                    event_id {uuid} NOT NULL,
                    case_id {uuid},
                    subject TEXT NOT NULL,
                    payload {bytes} NOT NULL,
                    error TEXT NOT NULL,
                    deliveries BIGINT NOT NULL,
                    failed_at {ts} NOT NULL,
                    replayed_at {ts},
                    UNIQUE (consumer, event_id)
                )",
                // The first answer to each creating request, returned again on a retry.
                "CREATE TABLE idempotency_keys (
                    user_id TEXT NOT NULL,
                    key TEXT NOT NULL,
                    request_hash TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    body {json} NOT NULL,
                    created_at {ts} NOT NULL,
                    PRIMARY KEY (user_id, key)
                )",
            ],
        )
        .await
    }
}

/// Pings the database, for `/readyz`.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.ping().await
}

/// The database URL of one service under a base PostgreSQL URL: `…/clearline` becomes
/// `…/clearline_intake`. Each service owns its database; none reads another's.
pub fn service_database_url(base: &str, service: &str) -> anyhow::Result<String> {
    let (head, query) = match base.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (base, None),
    };
    let slash = head
        .rfind('/')
        .filter(|&i| i > head.find("://").map_or(0, |s| s + 2))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "the database URL needs a database name, e.g. postgres://localhost/clearline"
            )
        })?;
    let name = &head[slash + 1..];
    let name = if name.is_empty() { "clearline" } else { name };
    let mut url = format!("{}/{}_{}", &head[..slash], name, service);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    Ok(url)
}

/// Creates the PostgreSQL database a URL names, when it does not exist yet.
pub async fn create_database_if_missing(url: &str) -> anyhow::Result<()> {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let slash = head
        .rfind('/')
        .ok_or_else(|| anyhow::anyhow!("no database name in URL"))?;
    let name = &head[slash + 1..];
    anyhow::ensure!(
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "database names may use letters, digits and _ only"
    );
    let admin_url = format!(
        "{}/postgres{}",
        &head[..slash],
        query.map(|q| format!("?{q}")).unwrap_or_default()
    );
    let admin = Database::connect(
        ConnectOptions::new(admin_url)
            .sqlx_logging(false)
            .to_owned(),
    )
    .await?;
    let exists = admin
        .query_one(sea_orm::Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT 1 AS one FROM pg_database WHERE datname = $1",
            [name.into()],
        ))
        .await?
        .is_some();
    if !exists {
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await?;
    }
    admin.close().await?;
    Ok(())
}

/// Drops a PostgreSQL database (tests clean up after themselves).
pub async fn drop_database(url: &str) -> anyhow::Result<()> {
    let slash = url
        .rfind('/')
        .ok_or_else(|| anyhow::anyhow!("no database name in URL"))?;
    let name = url[slash + 1..].split('?').next().unwrap_or_default();
    let admin = Database::connect(
        ConnectOptions::new(format!("{}/postgres", &url[..slash]))
            .sqlx_logging(false)
            .to_owned(),
    )
    .await?;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await?;
    admin.close().await?;
    Ok(())
}
