//! What every clearline service needs, done one way.
//!
//! - [`config`]: the settings every service shares (listen address, database, NATS, secrets).
//! - [`telemetry`]: tracing, OpenTelemetry export, trace context through NATS headers.
//! - [`db`]: connecting to PostgreSQL or SQLite, and the platform's own tables.
//! - [`outbox`]: events committed with the state change, relayed to JetStream.
//! - [`consumer`]: durable pull consumers with inbox dedup and dead letters.
//! - [`dead_letters`]: the events no delivery could apply, kept, listed and replayed.
//! - [`stream`]: the JetStream stream every event lives in.
//! - [`idempotency`]: `Idempotency-Key` on creating requests.
//! - [`http`]: problem+json errors, JSON extraction, bearer auth, health, metrics, serving.
//! - [`runtime`]: connect, migrate, and run HTTP, relay and consumer under one shutdown.
//! - [`shutdown`]: one cancellation signal for the HTTP server, relays and consumers.

pub mod config;
pub mod consumer;
pub mod db;
pub mod dead_letters;
pub mod http;
pub mod idempotency;
pub mod outbox;
pub mod runtime;
pub mod shutdown;
pub mod stream;
pub mod telemetry;
