//! The backlog's business gauges for `/metrics`, read at scrape time: counts from the
//! maintained counters, ages and overdue from indexed reads of the cases.

use crate::dashboard;
use crate::figures::{self, Tally};
use crate::store::queries::{self, OPEN_STAGES};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr};
use std::collections::BTreeMap;
use std::fmt::Write as _;

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
