//! Daily clearance (当日清零): at each unit's end of day, what it received, what it
//! finished and what it carries over, why each carried-over case is still open, and the
//! supervisor's sign-off that freezes the day.
//!
//! - [`day`]: which instants make up a clearance day (the unit's zone, its end of day).
//! - [`report`]: the report and its figures as a pure function of the cases and the clock;
//!   the definitions of *carried over* and *rate* live there.
//! - [`reason`]: the reason codes.
//! - [`reports`]: reading a report (frozen once signed) and the 30-day rates.
//! - [`sign`]: recording reasons and signing off.
//! - [`csv`]: the export.
//! - [`job`]: the end-of-day job that records each day's figures as it ends.
//! - [`store`]: the `clearance_days` and `clearance_reasons` tables.
//!
//! Decisions:
//! - A day is recorded twice at most: when it ends (the job) and when it is signed (the
//!   signed figures and report replace the closing ones). Rates read recorded days, so a
//!   late event does not rewrite history; a day never recorded is computed.
//! - The report of a day not yet signed is computed from the read model when asked, so the
//!   supervisor signs what is true then; signing freezes it (figures, case list, reasons).
//! - Sign-off waits until the day is over; reasons may be given while it runs.

pub mod config;
pub mod csv;
pub mod day;
pub mod error;
pub mod job;
pub mod reason;
pub mod report;
pub mod reports;
pub mod sign;
pub mod store;

pub use config::ClearanceConfig;
pub use day::{ClearanceDay, DayClock, DayEnd};
pub use error::ClearanceError;
pub use job::run;
pub use reason::ReasonCode;
pub use report::{CarriedCase, CarryReason, ClearanceReport, DayFigures, SignOff};
pub use reports::{DayRate, FigureSource, RatesView, UnitRates};
