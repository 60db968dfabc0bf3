//! The fulfilment officer's tasks by mode, what is due first first with each case's
//! promised-time badge (from the backlog): start (with a visit time for home visits), mark
//! ready, close on hand-over.

use super::cases::service_name;
use super::clerk::encode;
use super::clocks::{self, SlaBadge};
use super::{render, see_other, Chrome, Nav, PageError, FULFILMENT};
use crate::api::dto::FulfilmentTask;
use crate::api::{ApiFailure, Service};
use crate::form::FormData;
use crate::i18n;
use crate::session::{Viewer, CSRF_FIELD};
use crate::AppState;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

/// The tabs: every open task, those not started, and one per mode.
const TABS: [&str; 5] = ["", "awaiting", "counter_pickup", "mail", "home_visit"];
const MODES: [&str; 3] = ["counter_pickup", "mail", "home_visit"];

pub struct Tab {
    pub href: String,
    pub label: String,
    pub current: bool,
}

pub struct ModeOption {
    pub code: &'static str,
    pub name: String,
}

pub struct TaskRow {
    pub case_id: Uuid,
    pub case_number: String,
    pub service: String,
    pub unit: String,
    pub status: String,
    pub mode: String,
    pub scheduled: String,
    pub due: String,
    pub overdue: bool,
    pub sla: Option<SlaBadge>,
    /// Which action the row offers: `start`, `fulfil` or `close`.
    pub action: &'static str,
}

#[derive(Template)]
#[template(path = "fulfilment.html")]
struct TasksPage {
    c: Chrome,
    tabs: Vec<Tab>,
    rows: Vec<TaskRow>,
    modes: Vec<ModeOption>,
    tab: String,
    message: Option<String>,
}

#[derive(Deserialize)]
pub struct TasksQuery {
    tab: Option<String>,
    refused: Option<String>,
}

/// `GET /fulfilment`.
pub async fn tasks(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(query): Query<TasksQuery>,
) -> Result<Response, PageError> {
    viewer.require(FULFILMENT)?;
    let lang = viewer.lang;
    let t = lang.t();
    let token = viewer.bearer(&app.keys)?;
    let catalog = app
        .api
        .catalog()
        .await
        .map_err(|e| PageError::from_api(lang, e))?;
    let tab = query
        .tab
        .filter(|t| TABS.contains(&t.as_str()))
        .unwrap_or_default();
    let path = match tab.as_str() {
        "" => "/api/v1/fulfilments?limit=200".to_string(),
        "awaiting" => "/api/v1/fulfilments?status=awaiting&limit=200".to_string(),
        mode => format!("/api/v1/fulfilments?mode={mode}&limit=200"),
    };
    let tasks: Vec<FulfilmentTask> = app
        .api
        .get(&token, Service::Fulfilment, &path)
        .await
        .map_err(|e| PageError::from_api(lang, e))?;
    let tasks: Vec<FulfilmentTask> = tasks
        .into_iter()
        .filter(|task| !matches!(task.status.as_str(), "closed" | "cancelled"))
        .collect();
    let tasks = clocks::due_first(&app, &token, tasks, |t| t.case_id, |t| t.due_at).await;
    let now = Utc::now();
    let rows = tasks
        .into_iter()
        .map(|queued| {
            let sla = queued.badge(lang);
            let overdue = queued.task.overdue || queued.past_due(now);
            let due = queued.due.map(|t| app.zone.datetime(t)).unwrap_or_default();
            let task = queued.task;
            TaskRow {
                sla,
                overdue,
                due,
                action: match task.status.as_str() {
                    "awaiting" => "start",
                    "in_fulfilment" => "fulfil",
                    _ => "close",
                },
                service: service_name(&catalog, lang, &task.service_type),
                status: i18n::status(lang, &task.status),
                mode: task
                    .mode
                    .as_deref()
                    .map(|m| i18n::mode(lang, m))
                    .unwrap_or_default(),
                scheduled: task
                    .scheduled_for
                    .map(|t| app.zone.datetime(t))
                    .unwrap_or_default(),
                case_id: task.case_id,
                case_number: task.case_number,
                unit: task.unit,
            }
        })
        .collect();
    let tabs = TABS
        .iter()
        .map(|code| Tab {
            href: if code.is_empty() {
                "/fulfilment".to_string()
            } else {
                format!("/fulfilment?tab={code}")
            },
            label: match *code {
                "" => t.all.to_string(),
                "awaiting" => t.not_started.to_string(),
                mode => i18n::mode(lang, mode),
            },
            current: *code == tab,
        })
        .collect();
    let page = TasksPage {
        c: Chrome::new(&viewer, t.fulfilment_title, Nav::Fulfilment).live(),
        tabs,
        rows,
        modes: MODES
            .iter()
            .map(|code| ModeOption {
                code,
                name: i18n::mode(lang, code),
            })
            .collect(),
        tab,
        message: query
            .refused
            .map(|code| i18n::refusal(lang, &code).to_string()),
    };
    render(lang, &page)
}

/// `POST /fulfilment/cases/{id}/{start|fulfil|close}`.
pub async fn act(
    State(app): State<AppState>,
    viewer: Viewer,
    Path((id, action)): Path<(Uuid, String)>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = FormData::parse(&body);
    viewer.check_csrf(&form.get(CSRF_FIELD))?;
    viewer.require(FULFILMENT)?;
    let lang = viewer.lang;
    let token = viewer.bearer(&app.keys)?;
    let tab = form.get("tab");
    let back = |refused: Option<&str>| {
        let mut path = format!("/fulfilment?tab={}", encode(&tab));
        if let Some(code) = refused {
            path.push_str(&format!("&refused={}", encode(code)));
        }
        path
    };
    let request = match action.as_str() {
        "start" => {
            let mode = form.get("mode");
            let scheduled = app
                .zone
                .parse_local(&form.get("scheduled_for"))
                .map(|t| t.to_rfc3339());
            if mode == "home_visit" && scheduled.is_none() {
                return Ok(see_other(&back(Some("missing_field"))));
            }
            json!({ "mode": mode, "scheduled_for": scheduled })
        }
        "fulfil" | "close" => json!({}),
        _ => return Err(PageError::NotFound(lang)),
    };
    let path = format!("/api/v1/fulfilments/{id}/{action}");
    match app
        .api
        .post(&token, Service::Fulfilment, &path, &request, None)
        .await
    {
        Ok(_) => Ok(see_other(&back(None))),
        Err(ApiFailure::Refused { status, code, .. })
            if (400..500).contains(&status) && status != 404 =>
        {
            Ok(see_other(&back(Some(&code))))
        }
        Err(failure) => Err(PageError::from_api(lang, failure)),
    }
}
