//! The supervisor's two commands: give a carried-over case its reason, and sign the day
//! off. Each checks everything before it writes, in one transaction.

use super::day::DayClock;
use super::error::ClearanceError;
use super::reason;
use super::report::{open_at, CarryReason, CaseFacts, ClearanceReport, SignOff};
use super::reports;
use super::store::{self, Signing};
use crate::store::queries;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};
use uuid::Uuid;

/// Who acts: the staff user id and the role they act in.
#[derive(Debug, Clone, Copy)]
pub struct Staff<'a> {
    pub id: &'a str,
    pub role: &'a str,
}

/// Records why `case_id` was carried over on the unit's day (replacing an earlier reason).
/// Refused when the code is unknown, `other` has no text, the day is signed off or has
/// not begun, or the case was not open at the day's end (for the running day: now).
#[allow(clippy::too_many_arguments)] // each is one fact of the command; a struct would only rename them
pub async fn set_reason(
    db: &DatabaseConnection,
    clock: &DayClock,
    unit: &str,
    date: NaiveDate,
    case_id: Uuid,
    code: &str,
    text: Option<&str>,
    by: Staff<'_>,
    now: DateTime<Utc>,
) -> Result<CarryReason, ClearanceError> {
    let (code, text) = reason::check(code, text).map_err(ClearanceError::Reason)?;
    let day = clock.day(date);
    if day.starts_at > now {
        return Err(ClearanceError::DayInFuture);
    }
    let txn = db.begin().await?;
    refuse_signed(&txn, unit, date).await?;
    let carried = queries::find_case(&txn, case_id)
        .await?
        .filter(|row| row.unit == unit)
        .and_then(|row| {
            Some(CaseFacts {
                case_id: row.case_id,
                case_number: row.case_number,
                service_type: row.service_type,
                status: row.status,
                received_at: row.received_at?,
                finished_at: row.finished_at,
            })
        })
        .is_some_and(|case| open_at(now.min(day.ends_at), &case));
    if !carried {
        return Err(ClearanceError::NotCarriedOver);
    }
    let reason = CarryReason {
        code,
        text,
        set_by: by.id.to_string(),
        set_at: now,
    };
    store::set_reason(&txn, unit, date, case_id, &reason).await?;
    txn.commit().await?;
    Ok(reason)
}

/// Signs the unit's day off and freezes its report as it is now. Refused while the day
/// runs, when it is signed already, or while any carried-over case has no reason.
pub async fn sign_off(
    db: &DatabaseConnection,
    clock: &DayClock,
    unit: &str,
    date: NaiveDate,
    by: Staff<'_>,
    now: DateTime<Utc>,
) -> Result<ClearanceReport, ClearanceError> {
    let day = clock.day(date);
    if day.starts_at > now {
        return Err(ClearanceError::DayInFuture);
    }
    if now < day.ends_at {
        return Err(ClearanceError::DayNotOver);
    }
    let txn = db.begin().await?;
    refuse_signed(&txn, unit, date).await?;
    let mut report = reports::live(&txn, clock, unit, &day, now).await?;
    let missing: Vec<String> = report
        .carried_over_cases
        .iter()
        .filter(|c| c.reason.is_none())
        .map(|c| c.case_number.clone())
        .collect();
    if !missing.is_empty() {
        return Err(ClearanceError::ReasonsMissing(missing));
    }
    report.sign_off = Some(SignOff {
        by: by.id.to_string(),
        role: by.role.to_string(),
        at: now,
    });
    let frozen = serde_json::to_value(&report)
        .map_err(|e| DbErr::Custom(format!("the clearance report does not serialise: {e}")))?;
    let signing = Signing {
        figures: &report.figures,
        by: by.id,
        role: by.role,
        at: now,
        report: frozen,
    };
    if !store::sign_off(&txn, unit, date, signing).await? {
        return Err(ClearanceError::AlreadySignedOff);
    }
    txn.commit().await?;
    tracing::info!(
        unit,
        day = %date,
        carried_over = report.figures.carried_over,
        signed_by = by.id,
        "clearance day signed off"
    );
    Ok(report)
}

async fn refuse_signed<C: ConnectionTrait>(
    db: &C,
    unit: &str,
    date: NaiveDate,
) -> Result<(), ClearanceError> {
    match store::day(db, unit, date).await? {
        Some(row) if row.signed_off_at.is_some() => Err(ClearanceError::AlreadySignedOff),
        _ => Ok(()),
    }
}
