//! The HTTP pieces every service shares.

pub mod auth;
pub mod error;
pub mod json;
pub mod ops;
pub mod serve;

pub use auth::{AuthUser, JwtKeys, Role};
pub use error::{ApiError, FieldError};
pub use json::ApiJson;
pub use ops::{ops_router, Probe};
pub use serve::serve;
