//! Case numbers residents can read out at the window: `UNIT-YYYYMMDD-NNNNN`, counted per
//! unit and local day, allocated inside the creating transaction so a rollback wastes none
//! that anyone saw.

use chrono::{DateTime, FixedOffset, Utc};
use sea_orm::{ConnectionTrait, DbErr, Statement, Value};

pub async fn next_case_number<C: ConnectionTrait>(
    txn: &C,
    unit: &str,
    now: DateTime<Utc>,
    zone: FixedOffset,
) -> Result<String, DbErr> {
    let day = now.with_timezone(&zone).format("%Y%m%d").to_string();
    let row = txn
        .query_one(Statement::from_sql_and_values(
            txn.get_database_backend(),
            "INSERT INTO case_number_counters (unit, day, last) VALUES ($1, $2, 1)
             ON CONFLICT (unit, day) DO UPDATE SET last = case_number_counters.last + 1
             RETURNING last",
            [Value::from(unit.to_string()), Value::from(day.clone())],
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("case number counter returned no row".into()))?;
    let last: i32 = row.try_get("", "last")?;
    let prefix: String = unit
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    Ok(format!("{prefix}-{day}-{last:05}"))
}
