//! The backlog's storage: migrations, the tables' entities, and the read queries the
//! API and the metrics share.

pub mod case;
pub mod count;
mod dashboard_migration;
pub mod due_count;
pub mod event;
pub mod flow_count;
pub mod migration;
pub mod queries;
pub mod sla;
pub mod sla_count;
pub mod total;
mod watch_migration;

pub use case::Entity as BacklogCases;
pub use count::Entity as CaseCounts;
pub use due_count::Entity as DueCounts;
pub use event::Entity as CaseEvents;
pub use migration::Migrator;
