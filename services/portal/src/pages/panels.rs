//! Dashboard panels beside the counters: promised-time warnings and breaches per unit, and
//! the daily-clearance rate over the last 30 days. Each says how fresh it is; a panel whose
//! service does not answer says so and the rest of the dashboard still shows.

use super::clerk::encode;
use crate::api::dto::{RatesView, SlaView};
use crate::api::{ApiFailure, Service};
use crate::i18n::Lang;
use crate::{charts, AppState};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Days in the clearance-rate panel.
const RATE_DAYS: u32 = 30;
/// Past days are recorded and do not change; today's figure moves slowly. A minute's
/// cache keeps the series (30 days × units) off every live refresh.
const RATES_MAX_AGE: Duration = Duration::from_secs(60);
/// Older than this, the rates are fetched while the viewer waits rather than shown stale.
const RATES_STALE_AT_MOST: Duration = Duration::from_secs(600);

pub struct SlaRow {
    pub unit: String,
    /// The unit as a query value, for the links to the matching cases.
    pub unit_q: String,
    pub warning: i64,
    pub breached: i64,
}

/// Open cases due soon or past due, per unit (summed from counters: cheap, never cached).
pub struct SlaPanel {
    pub rows: Vec<SlaRow>,
    pub warning: i64,
    pub breached: i64,
    pub as_of: String,
}

pub async fn sla(app: &AppState, token: &str) -> Option<SlaPanel> {
    let view: SlaView = app
        .api
        .get(token, Service::Backlog, "/api/v1/sla/units")
        .await
        .map_err(|e| tracing::warn!(code = e.code(), "promised-time panel unavailable"))
        .ok()?;
    Some(SlaPanel {
        rows: view
            .units
            .into_iter()
            .map(|u| SlaRow {
                unit_q: encode(&u.unit),
                unit: u.unit,
                warning: u.counts.warning,
                breached: u.counts.breached,
            })
            .collect(),
        warning: view.totals.warning,
        breached: view.totals.breached,
        as_of: app.zone.clock(view.generated_at),
    })
}

pub struct RateRow {
    pub unit: String,
    pub unit_q: String,
    /// The mean of the daily rates over the days that had work, as a percentage.
    pub mean: String,
    /// The latest day that is over.
    pub latest: String,
    /// Days signed off out of the days that are over.
    pub signed: String,
}

pub struct RatePanel {
    pub rows: Vec<RateRow>,
    pub chart: String,
    pub as_of: String,
}

/// `0.875` → `87.5%`; no work → the "none" word.
pub fn percent(lang: Lang, rate: Option<f64>) -> String {
    rate.map_or_else(
        || lang.t().none.to_string(),
        |r| format!("{:.1}%", r * 100.0),
    )
}

/// A scope's rates as last fetched.
struct CachedRates {
    /// When they were fetched (for the cache) and stamped (for the panel).
    fetched: Instant,
    at: DateTime<Utc>,
    view: RatesView,
    /// A viewer's request is fetching newer ones.
    refreshing: bool,
}

/// The rates per scope. Past their minute they are still shown (the panel says when they
/// were read) while one fetch runs behind the page: a city's month of rates takes the
/// backlog 20–30 ms at 100,000 open cases, which no dashboard view should wait for twice.
#[derive(Clone, Default)]
pub struct RatesCache {
    entries: Arc<Mutex<HashMap<String, CachedRates>>>,
}

impl RatesCache {
    async fn get(
        &self,
        app: &AppState,
        scope: &str,
        token: &str,
    ) -> Result<(DateTime<Utc>, RatesView), ApiFailure> {
        if let Some(cached) = self.entries.lock().await.get_mut(scope) {
            let age = cached.fetched.elapsed();
            if age < RATES_STALE_AT_MOST {
                if age >= RATES_MAX_AGE && !cached.refreshing {
                    cached.refreshing = true;
                    let (cache, app) = (self.clone(), app.clone());
                    let (scope, token) = (scope.to_string(), token.to_string());
                    tokio::spawn(async move {
                        if let Err(error) = cache.fetch(&app, &scope, &token).await {
                            tracing::warn!(code = error.code(), "clearance rates not refreshed");
                        }
                    });
                }
                return Ok((cached.at, cached.view.clone()));
            }
        }
        self.fetch(app, scope, token).await
    }

    /// Fetches a scope's rates and keeps them; a failure lets the next viewer try again.
    async fn fetch(
        &self,
        app: &AppState,
        scope: &str,
        token: &str,
    ) -> Result<(DateTime<Utc>, RatesView), ApiFailure> {
        let path = format!("/api/v1/clearance/rates?days={RATE_DAYS}");
        let fetched = app
            .api
            .get::<RatesView>(token, Service::Backlog, &path)
            .await;
        let mut entries = self.entries.lock().await;
        let view = match fetched {
            Ok(view) => view,
            Err(error) => {
                if let Some(cached) = entries.get_mut(scope) {
                    cached.refreshing = false;
                }
                return Err(error);
            }
        };
        let at = Utc::now();
        let cached = CachedRates {
            fetched: Instant::now(),
            at,
            view: view.clone(),
            refreshing: false,
        };
        entries.insert(scope.to_string(), cached);
        Ok((at, view))
    }
}

pub async fn rates(app: &AppState, lang: Lang, scope: &str, token: &str) -> Option<RatePanel> {
    let t = lang.t();
    let (at, view) = app
        .panels
        .get(app, scope, token)
        .await
        .map_err(|e| tracing::warn!(code = e.code(), "clearance-rate panel unavailable"))
        .ok()?;
    // The chart pools every unit per day: finished over the work on hand that day.
    let mut per_day: BTreeMap<chrono::NaiveDate, (i64, i64)> = BTreeMap::new();
    let rows = view
        .units
        .iter()
        .map(|unit| {
            let worked: Vec<f64> = unit.days.iter().filter_map(|d| d.rate).collect();
            let mean =
                (!worked.is_empty()).then(|| worked.iter().sum::<f64>() / worked.len() as f64);
            let over: Vec<_> = unit.days.iter().filter(|d| d.complete).collect();
            for day in &unit.days {
                let entry = per_day.entry(day.day).or_default();
                entry.0 += day.finished;
                entry.1 += day.open_at_start + day.received;
            }
            RateRow {
                unit_q: encode(&unit.unit),
                unit: unit.unit.clone(),
                mean: percent(lang, mean),
                latest: percent(lang, over.last().and_then(|d| d.rate)),
                signed: format!(
                    "{}/{}",
                    over.iter().filter(|d| d.sign_off.is_some()).count(),
                    over.len()
                ),
            }
        })
        .collect();
    let points: Vec<(String, i64)> = per_day
        .iter()
        .filter(|(_, (_, work))| *work > 0)
        .map(|(day, (finished, work))| (day.format("%m-%d").to_string(), finished * 100 / work))
        .collect();
    Some(RatePanel {
        rows,
        chart: charts::line(t.clearance_30d, &points),
        as_of: app.zone.clock(at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_show_as_percentages_and_no_work_as_none() {
        assert_eq!(percent(Lang::En, Some(0.875)), "87.5%");
        assert_eq!(percent(Lang::Zh, Some(1.0)), "100.0%");
        assert_eq!(percent(Lang::Zh, None), "无");
    }
}
