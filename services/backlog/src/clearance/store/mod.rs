//! The clearance's storage: closed and signed days, reasons, and the case facts a report
//! reads from the read model.

pub mod day_row;
pub mod migration;
pub mod reason_row;

pub use migration::ClearanceTables;

use super::reason::ReasonCode;
use super::report::{CarryReason, CaseFacts, DayFigures};
use crate::store::{case, count, BacklogCases, CaseCounts};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use std::collections::{BTreeSet, HashMap};
use uuid::Uuid;

/// How a day is keyed in the tables.
pub fn day_key(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// The unit's received cases that matter to the days in `[from, until)`: received before
/// `until` and not finished before `from`. One index range on `(unit, received_at)`.
pub async fn cases_between<C: ConnectionTrait>(
    db: &C,
    unit: &str,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<CaseFacts>, DbErr> {
    use case::Column;
    type Row = (
        Uuid,
        String,
        String,
        Option<String>,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
    );
    let rows: Vec<Row> = BacklogCases::find()
        .select_only()
        .columns([
            Column::CaseId,
            Column::CaseNumber,
            Column::ServiceType,
            Column::Status,
            Column::ReceivedAt,
            Column::FinishedAt,
        ])
        .filter(Column::Unit.eq(unit))
        .filter(Column::ReceivedAt.is_not_null())
        .filter(Column::ReceivedAt.lt(until))
        .filter(
            Condition::any()
                .add(Column::FinishedAt.is_null())
                .add(Column::FinishedAt.gte(from)),
        )
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(case_id, case_number, service_type, status, received_at, finished_at)| CaseFacts {
                case_id,
                case_number,
                service_type,
                status,
                received_at,
                finished_at,
            },
        )
        .collect())
}

/// Every unit the backlog knows of, from its cases and its recorded days.
pub async fn units<C: ConnectionTrait>(db: &C) -> Result<Vec<String>, DbErr> {
    // From the counters, a row or two per unit and status, not from every case.
    let from_cases: Vec<String> = CaseCounts::find()
        .select_only()
        .column(count::Column::Unit)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    let from_days: Vec<String> = day_row::Entity::find()
        .select_only()
        .column(day_row::Column::Unit)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    let all: BTreeSet<String> = from_cases.into_iter().chain(from_days).collect();
    Ok(all.into_iter().collect())
}

/// The reasons recorded for a unit's day, by case.
pub async fn reasons<C: ConnectionTrait>(
    db: &C,
    unit: &str,
    date: NaiveDate,
) -> Result<HashMap<Uuid, CarryReason>, DbErr> {
    use reason_row::Column;
    let rows = reason_row::Entity::find()
        .filter(Column::Unit.eq(unit))
        .filter(Column::Day.eq(day_key(date)))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            // Codes are checked before they are written; one that is not known any more
            // shows as missing, so the day cannot be signed off on it.
            let code = ReasonCode::parse(&row.code)?;
            Some((
                row.case_id,
                CarryReason {
                    code,
                    text: row.text,
                    set_by: row.set_by,
                    set_at: row.set_at,
                },
            ))
        })
        .collect())
}

/// Records (or replaces) the reason a case was carried over on a unit's day.
pub async fn set_reason<C: ConnectionTrait>(
    db: &C,
    unit: &str,
    date: NaiveDate,
    case_id: Uuid,
    reason: &CarryReason,
) -> Result<(), DbErr> {
    use reason_row::Column;
    let row = reason_row::ActiveModel {
        unit: Set(unit.to_string()),
        day: Set(day_key(date)),
        case_id: Set(case_id),
        code: Set(reason.code.as_str().to_string()),
        text: Set(reason.text.clone()),
        set_by: Set(reason.set_by.clone()),
        set_at: Set(reason.set_at),
    };
    reason_row::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([Column::Unit, Column::Day, Column::CaseId])
                .update_columns([Column::Code, Column::Text, Column::SetBy, Column::SetAt])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn day<C: ConnectionTrait>(
    db: &C,
    unit: &str,
    date: NaiveDate,
) -> Result<Option<day_row::Model>, DbErr> {
    day_row::Entity::find_by_id((unit.to_string(), day_key(date)))
        .one(db)
        .await
}

/// The recorded days from `from` to `until` (both included), for one unit or all.
pub async fn days<C: ConnectionTrait>(
    db: &C,
    unit: Option<&str>,
    from: NaiveDate,
    until: NaiveDate,
) -> Result<Vec<day_row::Model>, DbErr> {
    use day_row::Column;
    let mut select = day_row::Entity::find()
        .filter(Column::Day.gte(day_key(from)))
        .filter(Column::Day.lte(day_key(until)));
    if let Some(unit) = unit {
        select = select.filter(Column::Unit.eq(unit));
    }
    select
        .order_by_asc(Column::Unit)
        .order_by_asc(Column::Day)
        .all(db)
        .await
}

/// Records a day's figures at its close, unless the day already has a row. Returns whether
/// this call wrote it.
pub async fn record_close<C: ConnectionTrait>(
    db: &C,
    unit: &str,
    date: NaiveDate,
    figures: &DayFigures,
    at: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let row = day_row::ActiveModel {
        unit: Set(unit.to_string()),
        day: Set(day_key(date)),
        recorded_at: Set(at),
        open_at_start: Set(figures.open_at_start),
        received: Set(figures.received),
        finished: Set(figures.finished),
        carried_over: Set(figures.carried_over),
        signed_off_by: Set(None),
        signed_off_role: Set(None),
        signed_off_at: Set(None),
        report: Set(None),
    };
    let result = day_row::Entity::insert(row)
        .on_conflict_do_nothing()
        .exec_without_returning(db)
        .await?;
    Ok(matches!(result, sea_orm::TryInsertResult::Inserted(n) if n > 0))
}

/// What a sign-off writes.
pub struct Signing<'a> {
    pub figures: &'a DayFigures,
    pub by: &'a str,
    pub role: &'a str,
    pub at: DateTime<Utc>,
    pub report: serde_json::Value,
}

/// Signs a unit's day off: the day's row gets the signed figures, who, when and the frozen
/// report, unless it is signed already. Returns false (writing nothing) when it was. Run it
/// in a transaction: the row is first made to exist, then updated only while unsigned, so
/// two supervisors signing at once cannot both succeed.
pub async fn sign_off<C: ConnectionTrait>(
    db: &C,
    unit: &str,
    date: NaiveDate,
    signing: Signing<'_>,
) -> Result<bool, DbErr> {
    use day_row::Column;
    use sea_orm::sea_query::Expr;
    record_close(db, unit, date, signing.figures, signing.at).await?;
    let figures = signing.figures;
    let updated = day_row::Entity::update_many()
        .col_expr(Column::RecordedAt, Expr::value(signing.at))
        .col_expr(Column::OpenAtStart, Expr::value(figures.open_at_start))
        .col_expr(Column::Received, Expr::value(figures.received))
        .col_expr(Column::Finished, Expr::value(figures.finished))
        .col_expr(Column::CarriedOver, Expr::value(figures.carried_over))
        .col_expr(Column::SignedOffBy, Expr::value(signing.by))
        .col_expr(Column::SignedOffRole, Expr::value(signing.role))
        .col_expr(Column::SignedOffAt, Expr::value(signing.at))
        .col_expr(Column::Report, Expr::value(signing.report))
        .filter(Column::Unit.eq(unit))
        .filter(Column::Day.eq(day_key(date)))
        .filter(Column::SignedOffAt.is_null())
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}
