//! The backlog's business gauges for `/metrics`: counts from the maintained counters,
//! ages and overdue from indexed reads of the cases. They are computed every few seconds
//! by [`Gauges::run`], not per scrape, so any number of scrapers (Prometheus, the portal's
//! pipes panel) cost the database nothing; `clearline_backlog_gauges_age_seconds` says how
//! old the figures are.

use crate::dashboard;
use crate::figures::{self, Tally};
use crate::store::queries::{self, OPEN_STAGES};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The business gauges as last computed, shared by the task that computes them and the
/// scrapes that read them.
#[derive(Clone)]
pub struct Gauges(Arc<watch::Sender<Option<Computed>>>);

#[derive(Clone)]
struct Computed {
    text: String,
    at: DateTime<Utc>,
}

impl Default for Gauges {
    fn default() -> Self {
        Gauges(Arc::new(watch::Sender::new(None)))
    }
}

impl Gauges {
    /// Computes the gauges now.
    pub async fn refresh(&self, db: &DatabaseConnection) -> Result<(), DbErr> {
        let at = Utc::now();
        let txn = queries::snapshot(db).await?;
        let text = render(&txn, at).await?;
        txn.commit().await?;
        self.0.send_replace(Some(Computed { text, at }));
        Ok(())
    }

    /// The last figures and their age; nothing before the first computation (the series
    /// are missing rather than zero).
    pub fn text(&self, now: DateTime<Utc>) -> String {
        let Some(computed) = self.0.borrow().clone() else {
            return String::new();
        };
        let mut out = Text(computed.text);
        out.family("clearline_backlog_gauges_age_seconds", "gauge");
        let age = (now - computed.at).num_seconds().max(0);
        let _ = writeln!(out.0, "clearline_backlog_gauges_age_seconds {age}");
        out.0
    }

    /// Recomputes every `every` until `shutdown`, starting at once.
    pub async fn run(self, db: DatabaseConnection, every: Duration, shutdown: CancellationToken) {
        loop {
            if let Err(error) = self.refresh(&db).await {
                // The last figures stay, and their age shows they are stale.
                tracing::warn!(%error, "backlog gauges not computed; will retry");
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = shutdown.cancelled() => return,
            }
        }
    }
}

/// Prometheus text (with `# TYPE` lines) for every unit the counters know.
pub async fn render<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> Result<String, DbErr> {
    let rows = queries::counters(db, None).await?;
    let by_type = figures::tally_by(&rows, |r| (r.unit.clone(), r.service_type.clone()));
    let by_unit = figures::tally_by(&rows, |r| r.unit.clone());
    let overdue: BTreeMap<String, i64> = queries::overdue_by_unit(db, None, now)
        .await?
        .into_iter()
        .collect();

    let mut out = Text::default();
    out.family("clearline_backlog_open", "gauge");
    for ((unit, service_type), tally) in &by_type {
        for stage in OPEN_STAGES {
            out.sample(
                "clearline_backlog_open",
                &[
                    ("unit", unit),
                    ("stage", stage.as_str()),
                    ("service_type", service_type),
                ],
                tally.in_stage(stage),
            );
        }
    }
    per_type(
        &mut out,
        &by_type,
        "clearline_backlog_received_total",
        Tally::received,
    );
    per_type(
        &mut out,
        &by_type,
        "clearline_backlog_finished_total",
        Tally::finished,
    );

    out.family("clearline_backlog_oldest_open_age_seconds", "gauge");
    for (unit, tally) in &by_unit {
        for stage in OPEN_STAGES {
            let age = match tally.in_stage(stage) {
                0 => None,
                _ => dashboard::stage_age(db, unit, stage, now).await?,
            };
            // No open case means nothing is waiting: an age of 0 keeps alert rules simple.
            out.sample(
                "clearline_backlog_oldest_open_age_seconds",
                &[("unit", unit), ("stage", stage.as_str())],
                age.unwrap_or(0),
            );
        }
    }
    out.family("clearline_backlog_overdue", "gauge");
    for unit in by_unit.keys() {
        let n = overdue.get(unit).copied().unwrap_or(0);
        out.sample("clearline_backlog_overdue", &[("unit", unit)], n);
    }
    Ok(out.0)
}

/// A family summed per (unit, service type). Received and finished only grow, so counters.
fn per_type(
    out: &mut Text,
    by_type: &BTreeMap<(String, String), Tally>,
    name: &str,
    figure: fn(&Tally) -> i64,
) {
    out.family(name, "counter");
    for ((unit, service_type), tally) in by_type {
        out.sample(
            name,
            &[("unit", unit), ("service_type", service_type)],
            figure(tally),
        );
    }
}

#[derive(Default)]
struct Text(String);

impl Text {
    fn family(&mut self, name: &str, kind: &str) {
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: i64) {
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect();
        let _ = writeln!(self.0, "{name}{{{}}} {value}", labels.join(","));
    }
}

/// Label values are data (unit codes, service types): escape what the format reserves.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn label_values_are_escaped() {
        assert_eq!(super::escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
