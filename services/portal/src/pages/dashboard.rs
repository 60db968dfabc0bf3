//! The supervisor's dashboard: open cases by stage and unit, oldest age, overdue, today's
//! flow, the last 14 days, the age of open cases, the event pipes ([`super::pipes`]), and
//! (from [`panels`]) promised-time warnings and breaches per unit and the 30-day clearance
//! rate. Every panel says how fresh its figures are; the page refreshes its panels when case
//! events arrive.

use super::pipes::PipeRow;
use super::{panels, render, Chrome, Nav, PageError, DASHBOARD};
use crate::api::dto::{BacklogView, Flow};
use crate::api::Service;
use crate::i18n::Lang;
use crate::session::Viewer;
use crate::{charts, clock, i18n, AppState};
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use chrono::Utc;

/// Days in the open-count history.
const HISTORY_DAYS: i64 = 14;

pub struct UnitRow {
    pub unit: String,
    pub intake: i64,
    pub approval: i64,
    pub fulfilment: i64,
    pub total: i64,
    pub oldest: String,
    pub overdue: i64,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    c: Chrome,
    units: Vec<UnitRow>,
    totals: UnitRow,
    stage_chart: String,
    backlog_as_of: String,
    received_today: i64,
    finished_today: i64,
    history_chart: String,
    ages_chart: String,
    flow_as_of: String,
    flow_ok: bool,
    pipes: Vec<PipeRow>,
    pipes_as_of: String,
    sla: Option<panels::SlaPanel>,
    rates: Option<panels::RatePanel>,
}

fn unit_row(lang: Lang, unit: &str, f: &crate::api::dto::Figures) -> UnitRow {
    UnitRow {
        unit: unit.to_string(),
        intake: f.open.intake,
        approval: f.open.approval,
        fulfilment: f.open.fulfilment,
        total: f.open.total,
        oldest: f
            .oldest_open_age_seconds
            .map(|s| clock::age(lang, s))
            .unwrap_or_else(|| lang.t().none.to_string()),
        overdue: f.overdue,
    }
}

fn age_label(lang: Lang, from: i64, to: Option<i64>) -> String {
    let d = lang.t().days_short;
    match to {
        Some(to) if from == 0 => format!("<{to}{d}"),
        Some(to) => format!("{from}–{to}{d}"),
        None => format!("≥{from}{d}"),
    }
}

/// `GET /dashboard`.
pub async fn page(State(app): State<AppState>, viewer: Viewer) -> Result<Response, PageError> {
    viewer.require(DASHBOARD)?;
    let lang = viewer.lang;
    let t = lang.t();
    let token = viewer.bearer(&app.keys)?;
    let now = Utc::now();
    let flow_path = format!(
        "/api/v1/supervisor/flow?today_start={}&days={HISTORY_DAYS}",
        super::clerk::encode(&app.zone.day_start(now).to_rfc3339())
    );
    let scope = viewer.signed_in()?.unit.clone().unwrap_or_default();
    let (backlog, flow, pipes, sla, rates) = tokio::join!(
        app.api
            .get::<BacklogView>(&token, Service::Backlog, "/api/v1/backlog"),
        app.api.get::<Flow>(&token, Service::Backlog, &flow_path),
        app.pipes.rows(&app, lang),
        panels::sla(&app, &token),
        panels::rates(&app, lang, &scope, &token),
    );
    let backlog = backlog.map_err(|e| PageError::from_api(lang, e))?;
    let units: Vec<UnitRow> = backlog
        .units
        .iter()
        .map(|u| unit_row(lang, &u.unit, &u.figures))
        .collect();
    let stage_chart = charts::stacked_bars(
        t.open_by_stage,
        [
            &i18n::stage(lang, "intake"),
            &i18n::stage(lang, "approval"),
            &i18n::stage(lang, "fulfilment"),
        ],
        &units
            .iter()
            .map(|u| (u.unit.clone(), [u.intake, u.approval, u.fulfilment]))
            .collect::<Vec<_>>(),
    );
    let (flow_ok, received_today, finished_today, history_chart, ages_chart, flow_as_of) =
        match flow {
            Ok(flow) => {
                let history: Vec<(String, i64)> = flow
                    .history
                    .iter()
                    .map(|p| {
                        (
                            app.zone.month_day(p.at - chrono::Duration::seconds(1)),
                            p.open,
                        )
                    })
                    .collect();
                let ages: Vec<(String, i64)> = flow
                    .ages
                    .iter()
                    .map(|b| (age_label(lang, b.from_days, b.to_days), b.open))
                    .collect();
                (
                    true,
                    flow.received_today,
                    flow.finished_today,
                    charts::line(t.open_history, &history),
                    charts::bars(t.age_histogram, &ages),
                    app.zone.clock(flow.generated_at),
                )
            }
            Err(error) => {
                tracing::warn!(code = error.code(), "dashboard flow unavailable");
                (false, 0, 0, String::new(), String::new(), String::new())
            }
        };
    let (pipes, pipes_at) = pipes;
    let page = DashboardPage {
        c: Chrome::new(&viewer, t.dashboard_title, Nav::Dashboard).live(),
        totals: unit_row(lang, t.total, &backlog.totals),
        units,
        stage_chart,
        backlog_as_of: app.zone.clock(backlog.generated_at),
        received_today,
        finished_today,
        history_chart,
        ages_chart,
        flow_as_of,
        flow_ok,
        pipes,
        pipes_as_of: app.zone.clock(pipes_at),
        sla,
        rates,
    };
    render(lang, &page)
}
