//! The portal's own tables: staff users and their sessions. Nothing about cases lives here.

pub mod migration;
pub mod password;
pub mod store;

pub use migration::Migrator;
pub use store::{SessionRow, User};
