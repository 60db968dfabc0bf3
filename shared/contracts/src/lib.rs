//! The event contract between clearline's services.
//!
//! - [`v1`]: the generated proto types (`proto/clearline/events/v1`).
//! - [`subjects`]: the stream, its subjects and each service's durable consumer.
//! - [`event`]: building, encoding and reading a [`v1::CaseEvent`], and its link to the
//!   domain's [`clearline_domain::Step`].

pub mod event;
pub mod subjects;

/// Generated from `proto/clearline/events/v1/case_events.proto`.
#[allow(clippy::all, missing_docs)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/clearline.events.v1.rs"));
}

pub use event::{Actor, CaseFacts, EventDraft, EventKind, SCHEMA_VERSION};
pub use v1::case_event::Payload;
pub use v1::CaseEvent;
