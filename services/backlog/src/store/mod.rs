//! The backlog's storage: migrations, the three tables' entities, and the read queries the
//! API and the metrics share.

pub mod case;
pub mod count;
pub mod event;
pub mod migration;
pub mod queries;
pub mod sla;
mod watch_migration;

pub use case::Entity as BacklogCases;
pub use count::Entity as CaseCounts;
pub use event::Entity as CaseEvents;
pub use migration::Migrator;
