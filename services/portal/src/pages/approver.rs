//! The approver's queue (soonest due first, with each case's promised-time badge from the
//! backlog; filterable, live, keyboard-driven) and the case
//! page where a case is approved, rejected with a reason, or returned for materials.

use super::cases::{self, CaseFacts, TimelineRow};
use super::clerk::encode;
use super::clocks::{self, Queued, SlaBadge};
use super::{render, see_other, Choice, Chrome, Nav, PageError, APPROVER};
use crate::api::dto::{ApprovalTask, IntakeCase};
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

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    pub unit: Option<String>,
    pub service_type: Option<String>,
    pub overdue: Option<String>,
}

impl Filters {
    fn query(&self) -> String {
        let mut q = String::from("/api/v1/approvals?status=pending&limit=200");
        if let Some(unit) = self.unit.as_deref().filter(|u| !u.is_empty()) {
            q.push_str(&format!("&unit={}", encode(unit)));
        }
        if let Some(service) = self.service_type.as_deref().filter(|s| !s.is_empty()) {
            q.push_str(&format!("&service_type={}", encode(service)));
        }
        if self.overdue_only() {
            q.push_str("&overdue=true");
        }
        q
    }

    fn overdue_only(&self) -> bool {
        self.overdue.as_deref().is_some_and(|v| !v.is_empty())
    }
}

pub struct QueueRow {
    pub case_id: Uuid,
    pub case_number: String,
    pub service: String,
    pub unit: String,
    pub window: String,
    pub submitted: String,
    pub due: String,
    pub overdue: bool,
    pub sla: Option<SlaBadge>,
}

#[derive(Template)]
#[template(path = "approver.html")]
struct QueuePage {
    c: Chrome,
    rows: Vec<QueueRow>,
    services: Vec<Choice>,
    unit: String,
    overdue_only: bool,
    done: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct QueueQuery {
    #[serde(flatten)]
    filters: Filters,
    done: Option<String>,
}

/// The pending tasks, what is due first first (the order the queue shows and `j`/`k`
/// follow).
async fn pending(
    app: &AppState,
    viewer: &Viewer,
    token: &str,
    filters: &Filters,
) -> Result<Vec<Queued<ApprovalTask>>, PageError> {
    let tasks: Vec<ApprovalTask> = app
        .api
        .get(token, Service::Approval, &filters.query())
        .await
        .map_err(|e| PageError::from_api(viewer.lang, e))?;
    Ok(clocks::due_first(app, token, tasks, |t| t.case_id, |t| t.due_at).await)
}

/// `GET /approver`.
pub async fn queue(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(query): Query<QueueQuery>,
) -> Result<Response, PageError> {
    viewer.require(APPROVER)?;
    let lang = viewer.lang;
    let token = viewer.bearer(&app.keys)?;
    let catalog = app
        .api
        .catalog()
        .await
        .map_err(|e| PageError::from_api(lang, e))?;
    let tasks = pending(&app, &viewer, &token, &query.filters).await?;
    let chosen = query.filters.service_type.clone().unwrap_or_default();
    let rows = tasks
        .into_iter()
        .map(|queued| {
            let due = queued.due;
            let sla = queued.badge(lang);
            let overdue = queued.task.overdue || queued.past_due(Utc::now());
            let task = queued.task;
            QueueRow {
                service: cases::service_name(&catalog, lang, &task.service_type),
                submitted: task
                    .submitted_at
                    .map(|t| app.zone.datetime(t))
                    .unwrap_or_default(),
                due: due.map(|t| app.zone.datetime(t)).unwrap_or_default(),
                overdue,
                sla,
                case_id: task.case_id,
                case_number: task.case_number,
                unit: task.unit,
                window: task.window,
            }
        })
        .collect();
    let page = QueuePage {
        c: Chrome::new(&viewer, lang.t().approver_title, Nav::Approver).live(),
        rows,
        services: catalog
            .services
            .iter()
            .map(|s| Choice {
                selected: s.code == chosen,
                code: s.code.clone(),
                name: lang.pick(&s.name_zh, &s.name_en).to_string(),
            })
            .collect(),
        unit: query.filters.unit.clone().unwrap_or_default(),
        overdue_only: query.filters.overdue_only(),
        done: query.done.is_some(),
    };
    render(lang, &page)
}

pub struct ReturnItem {
    pub code: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "approver_case.html")]
struct CasePage {
    c: Chrome,
    facts: CaseFacts,
    timeline: Vec<TimelineRow>,
    pending: bool,
    items: Vec<ReturnItem>,
    prev: Option<Uuid>,
    next: Option<Uuid>,
    message: Option<String>,
}

#[derive(Deserialize)]
pub struct CaseQuery {
    refused: Option<String>,
}

/// `GET /approver/cases/{id}`.
pub async fn case_page(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<Uuid>,
    Query(query): Query<CaseQuery>,
) -> Result<Response, PageError> {
    viewer.require(APPROVER)?;
    let lang = viewer.lang;
    let token = viewer.bearer(&app.keys)?;
    let catalog = app
        .api
        .catalog()
        .await
        .map_err(|e| PageError::from_api(lang, e))?;
    let task: ApprovalTask = app
        .api
        .get(
            &token,
            Service::Approval,
            &format!("/api/v1/approvals/{id}"),
        )
        .await
        .map_err(|e| PageError::from_api(lang, e))?;
    let intake: IntakeCase = app
        .api
        .get(&token, Service::Intake, &format!("/api/v1/cases/{id}"))
        .await
        .map_err(|e| PageError::from_api(lang, e))?;
    let timeline = cases::timeline(&app, &viewer, &token, id).await?;
    let queue = pending(&app, &viewer, &token, &Filters::default()).await?;
    let at = queue.iter().position(|q| q.task.case_id == id);
    let prev = at
        .and_then(|i| i.checked_sub(1))
        .and_then(|i| queue.get(i))
        .map(|q| q.task.case_id);
    let next = at.and_then(|i| queue.get(i + 1)).map(|q| q.task.case_id);
    let items = catalog
        .get(&task.service_type)
        .map(|s| {
            s.materials
                .iter()
                .map(|m| ReturnItem {
                    code: m.code.clone(),
                    name: lang.pick(&m.name_zh, &m.name_en).to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    let page = CasePage {
        c: Chrome::new(&viewer, &task.case_number, Nav::Approver),
        facts: CaseFacts::from_intake(&app, lang, &catalog, &intake),
        timeline,
        pending: task.status == "pending",
        items,
        prev,
        next,
        message: query
            .refused
            .map(|code| i18n::refusal(lang, &code).to_string()),
    };
    render(lang, &page)
}

/// `POST /approver/cases/{id}/decision`.
pub async fn decide(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = FormData::parse(&body);
    viewer.check_csrf(&form.get(CSRF_FIELD))?;
    viewer.require(APPROVER)?;
    let token = viewer.bearer(&app.keys)?;
    let decision = form.get("decision");
    let reason = Some(form.get("reason")).filter(|r| !r.is_empty());
    let materials = if decision == "return" {
        form.all("materials")
    } else {
        Vec::new()
    };
    let request = json!({ "decision": decision, "reason": reason, "materials": materials });
    let path = format!("/api/v1/approvals/{id}/decision");
    match app
        .api
        .post(&token, Service::Approval, &path, &request, None)
        .await
    {
        Ok(_) => Ok(see_other("/approver?done=1")),
        Err(ApiFailure::Refused { status, code, .. })
            if (400..500).contains(&status) && status != 404 =>
        {
            Ok(see_other(&format!(
                "/approver/cases/{id}?refused={}",
                encode(&code)
            )))
        }
        Err(failure) => Err(PageError::from_api(viewer.lang, failure)),
    }
}
