//! Why a clearance command was refused. Each is the caller's business (a 4xx) except
//! [`ClearanceError::Db`]; nothing is written when any is returned.

use super::reason::ReasonError;
use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum ClearanceError {
    /// The day has not started yet.
    #[error("the day has not started yet")]
    DayInFuture,
    /// Sign-off waits for the day's end: until then the carried-over list is not final.
    #[error("the day is not over yet")]
    DayNotOver,
    #[error("the day is already signed off")]
    AlreadySignedOff,
    /// The case numbers still without a reason.
    #[error("{} carried-over cases have no reason", .0.len())]
    ReasonsMissing(Vec<String>),
    /// The case was not open at the day's end (or belongs to another unit, or does not
    /// exist): there is nothing to explain.
    #[error("the case was not carried over that day")]
    NotCarriedOver,
    #[error("invalid reason")]
    Reason(ReasonError),
    #[error(transparent)]
    Db(#[from] DbErr),
}
