//! The end-of-day job: when a day ends, record each unit's figures as they stand then
//! (the day "closes" and awaits sign-off). Recording is idempotent (a day already recorded
//! is left alone), so every replica may run the job, and a restart catches up on the day
//! that ended while it was down.

use super::day::DayClock;
use super::{report, store};
use chrono::{DateTime, Days, NaiveDate, Utc};
use clearline_platform::shutdown::Shutdown;
use sea_orm::{DatabaseConnection, DbErr};
use std::time::Duration;

/// How long to wait before trying again after the database failed.
const RETRY: Duration = Duration::from_secs(60);

/// Closes each day as it ends until `shutdown`.
pub async fn run(db: DatabaseConnection, clock: DayClock, shutdown: Shutdown) {
    loop {
        let now = Utc::now();
        let running = clock.day_of(now);
        let ended = running.date.checked_sub_days(Days::new(1));
        let wait = match ended {
            Some(date) => match close_day(&db, &clock, date, now).await {
                Ok(_) => (running.ends_at - now).to_std().unwrap_or(Duration::ZERO),
                Err(error) => {
                    tracing::warn!(%error, day = %date, "clearance day not closed; retrying");
                    RETRY
                }
            },
            None => return,
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Records the figures of every unit's `date` as of `now`; returns how many units this
/// call recorded (0 when all were recorded already).
pub async fn close_day(
    db: &DatabaseConnection,
    clock: &DayClock,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    let day = clock.day(date);
    let mut recorded = 0;
    for unit in store::units(db).await? {
        let cases = store::cases_between(db, &unit, day.starts_at, now.min(day.ends_at)).await?;
        let figures = report::figures(&day, now, &cases);
        if store::record_close(db, &unit, date, &figures, now).await? {
            recorded += 1;
            tracing::info!(
                unit,
                day = %date,
                received = figures.received,
                finished = figures.finished,
                carried_over = figures.carried_over,
                "clearance day closed; awaiting sign-off"
            );
        }
    }
    Ok(recorded)
}
