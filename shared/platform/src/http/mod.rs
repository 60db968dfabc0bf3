//! The HTTP pieces every service shares.

pub mod auth;
pub mod dead_letters;
pub mod error;
pub mod extract;
pub mod json;
pub mod ops;
pub mod serve;
pub mod testing;

pub use auth::{AuthUser, Claims, JwtKeys, Role};
pub use error::{log_errors, ApiError, ErrorCause, FieldError, Problem, ProblemCode};
pub use extract::{ApiPath, ApiQuery};
pub use json::ApiJson;
pub use ops::{metrics_handle, ops_router, track_http, Probe, ServiceName};
pub use serve::{layered, serve};
