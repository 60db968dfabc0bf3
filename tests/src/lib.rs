//! The test kit for the cross-service suite: real nats-servers, real databases, the real
//! service binaries, and clients that read like the people who use clearline.
//!
//! - [`infra`]: a nats-server per test on a free port, and a fresh database per service
//!   (a SQLite file or a PostgreSQL database), removed when the test ends.
//! - [`system`]: the four services as separate processes (so a test can SIGKILL one).
//! - [`people`]: clerks, approvers, fulfilment officers and supervisors as typed clients.

pub mod infra;
pub mod people;
pub mod system;

pub use infra::Backend;
pub use people::{Person, Reply};
pub use system::System;
