//! The pure rules of clearline case work. No I/O, no clocks read here: callers pass time in.
//!
//! - [`lifecycle`]: a case's statuses, stages and the one transition function every service uses.
//! - [`catalog`]: service types, their required materials and promised times (data, not code).
//! - [`calendar`]: working days, holidays and make-up days, and promised due times.
//! - [`clock`]: promised-time clocks that count working time and pause while the resident is awaited.
//! - [`waiting`]: what an open case waits on, and the attention it needs.
//! - [`validation`]: resident ID numbers (GB 11643) and phone numbers, parsed into masked newtypes.

pub mod calendar;
pub mod catalog;
pub mod clock;
pub mod lifecycle;
pub mod validation;
pub mod waiting;

pub use calendar::WorkCalendar;
pub use catalog::{Catalog, Material, PromisedTime, ServiceType, StagePromises};
pub use clock::{Budget, ClockKind, Run};
pub use lifecycle::{fold, next, Channel, FulfilmentMode, InvalidTransition, Stage, Status, Step};
pub use validation::{Phone, ResidentId, ValidationError};
pub use waiting::WaitReason;
