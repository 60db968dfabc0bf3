//! The test kit for the cross-service suite: real nats-servers, real databases, the real
//! service binaries, and clients that read like the people who use clearline.
//!
//! - [`infra`]: a nats-server per test on a free port, and a fresh database per service
//!   (a SQLite file or a PostgreSQL database), removed when the test ends.
//! - [`postgres`]: a PostgreSQL server of the test's own, for tests that restart it.
//! - [`system`]: the four services as separate processes (so a test can SIGKILL one).
//! - [`cluster`]: several replicas of every service, as a deployment runs them.
//! - [`people`]: clerks, approvers, fulfilment officers and supervisors as typed clients.
//! - [`station`]: one unit's staff working cases through the system, and waits for what
//!   each of them would see next.
//! - [`pipes`]: the broker and the databases underneath: "is everything consumed?",
//!   outboxes, inboxes, row counts.
//! - [`backends`]: `on_both_backends!`, a scenario once on SQLite and once on PostgreSQL.
//! - [`forensics`]: the services' logs kept when a scenario fails.
//! - [`faults`]: faults injected underneath a running system (a database refusing writes).
//! - [`web`]: the web portal beside a system, and a cookie-keeping HTTP client for it.
//! - [`browser`]: headless Chromium over WebDriver, one browser per person.

pub mod backends;
pub mod browser;
pub mod cluster;
pub mod faults;
pub mod forensics;
pub mod infra;
pub mod people;
pub mod pipes;
pub mod postgres;
pub mod station;
pub mod system;
pub mod web;

pub use infra::Backend;
pub use people::{Person, Reply};
pub use system::System;
