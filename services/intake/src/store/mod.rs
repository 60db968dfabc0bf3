//! Intake's storage: its migrations, the case entity and case numbers.

pub mod case;
pub mod migration;
pub mod numbers;

pub use case::{ActiveModel as CaseRow, Entity as Cases, Model as Case};
pub use migration::Migrator;
