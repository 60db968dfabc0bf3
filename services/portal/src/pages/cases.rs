//! Case search and the case page with its timeline, for every role (each sees the units
//! the services let it see). Also the pieces other case pages share: the facts block, the
//! timeline rows and service names.

use super::clerk::encode;
use super::clocks::{self, SlaBadge, Waiting};
use super::{render, Choice, Chrome, Nav, PageError, SEARCH};
use crate::api::dto::{CaseDetail, CasePage, IntakeCase, TimelineEntry};
use crate::api::{ApiFailure, Service};
use crate::clock;
use crate::i18n::{self, Lang};
use crate::session::Viewer;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use clearline_domain::{Catalog, Status, WaitReason};
use serde::Deserialize;
use uuid::Uuid;

const PAGE_SIZE: u64 = 50;

pub fn service_name(catalog: &Catalog, lang: Lang, code: &str) -> String {
    catalog.get(code).map_or_else(
        || code.to_string(),
        |s| lang.pick(&s.name_zh, &s.name_en).to_string(),
    )
}

/// A case's facts as intake holds them (applicant masked).
pub struct CaseFacts {
    pub case_id: Uuid,
    pub case_number: String,
    pub service: String,
    pub unit: String,
    pub window: String,
    pub status: String,
    pub received: String,
    pub due: String,
    pub applicant: String,
    pub phone: String,
    pub provided: Vec<String>,
    pub missing: Vec<String>,
}

impl CaseFacts {
    pub fn from_intake(
        app: &AppState,
        lang: Lang,
        catalog: &Catalog,
        case: &IntakeCase,
    ) -> CaseFacts {
        let names = |list: &[crate::api::dto::Material]| {
            list.iter()
                .map(|m| lang.pick(&m.name_zh, &m.name_en).to_string())
                .collect()
        };
        CaseFacts {
            case_id: case.id,
            case_number: case.case_number.clone(),
            service: service_name(catalog, lang, &case.service_type),
            unit: case.unit.clone(),
            window: case.window.clone(),
            status: i18n::status(lang, &case.status),
            received: app.zone.datetime(case.received_at),
            due: app.zone.datetime(case.due_at),
            applicant: format!("{}（{}）", case.applicant.name, case.applicant.id_number),
            phone: case.applicant.phone.clone(),
            provided: names(&case.provided_materials),
            missing: names(&case.missing_materials),
        }
    }
}

pub struct TimelineRow {
    pub at: String,
    pub event: String,
    pub by: String,
    pub detail: String,
}

/// The non-personal details an event carries, in words.
fn detail_text(lang: Lang, catalog: &Catalog, service_type: &str, entry: &TimelineEntry) -> String {
    let t = lang.t();
    let mut parts = Vec::new();
    if let Some(reason) = entry.detail["reason"].as_str().filter(|r| !r.is_empty()) {
        parts.push(format!("{}：{reason}", t.reason));
    }
    if let Some(note) = entry.detail["note"].as_str().filter(|r| !r.is_empty()) {
        parts.push(format!("{}：{note}", t.note));
    }
    if let Some(list) = entry.detail["missing_materials"]
        .as_array()
        .filter(|l| !l.is_empty())
    {
        let service = catalog.get(service_type);
        let names: Vec<String> = list
            .iter()
            .filter_map(|m| m.as_str())
            .map(|code| {
                service
                    .and_then(|s| s.materials.iter().find(|m| m.code == code))
                    .map_or_else(
                        || code.to_string(),
                        |m| lang.pick(&m.name_zh, &m.name_en).to_string(),
                    )
            })
            .collect();
        parts.push(format!("{}：{}", t.materials_missing, names.join("、")));
    }
    if let Some(mode) = entry.detail["mode"].as_str().filter(|m| !m.is_empty()) {
        parts.push(i18n::mode(lang, mode));
    }
    parts.join("；")
}

/// The backlog's timeline of a case, as rows.
pub async fn timeline(
    app: &AppState,
    viewer: &Viewer,
    token: &str,
    id: Uuid,
) -> Result<Vec<TimelineRow>, PageError> {
    let lang = viewer.lang;
    let catalog = app
        .api
        .catalog()
        .await
        .map_err(|e| PageError::from_api(lang, e))?;
    let detail: CaseDetail = app
        .api
        .get(token, Service::Backlog, &format!("/api/v1/cases/{id}"))
        .await
        .map_err(|e| PageError::from_api(lang, e))?;
    Ok(rows(app, lang, &catalog, &detail))
}

fn rows(app: &AppState, lang: Lang, catalog: &Catalog, detail: &CaseDetail) -> Vec<TimelineRow> {
    detail
        .timeline
        .iter()
        .map(|entry| TimelineRow {
            at: app.zone.datetime(entry.at),
            event: i18n::event(lang, &entry.event_type),
            by: if entry.actor_role == "system" {
                // A service acting on its own (e.g. intake issuing a notice).
                i18n::service(lang, &entry.actor_id)
            } else {
                format!(
                    "{}（{}）",
                    entry.actor_id,
                    i18n::role(lang, &entry.actor_role)
                )
            },
            detail: detail_text(lang, catalog, &detail.case.service_type, entry),
        })
        .collect()
}

#[derive(Debug, Default, Deserialize)]
pub struct SearchQuery {
    pub case_number: Option<String>,
    pub unit: Option<String>,
    pub status: Option<String>,
    pub service_type: Option<String>,
    pub wait_reason: Option<String>,
    pub sla_level: Option<String>,
    /// Set by the "needs attention only" box: the same as that wait reason.
    pub attention: Option<String>,
    /// `YYYY-MM-DD`, the units' local days (the backlog reads them in their zone).
    pub received_from: Option<String>,
    pub received_to: Option<String>,
    pub offset: Option<u64>,
}

pub struct ResultRow {
    pub case_id: Uuid,
    pub case_number: String,
    pub unit: String,
    pub service: String,
    pub status: String,
    pub owner: String,
    pub received: String,
    pub age: String,
    pub overdue: bool,
    pub waiting: Option<Waiting>,
    pub sla: Option<SlaBadge>,
}

/// The levels the search offers.
const SLA_LEVELS: [&str; 2] = ["warning", "breached"];

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    c: Chrome,
    case_number: String,
    unit: String,
    statuses: Vec<Choice>,
    services: Vec<Choice>,
    wait_reasons: Vec<Choice>,
    sla_levels: Vec<Choice>,
    attention_only: bool,
    received_from: String,
    received_to: String,
    /// The backlog refused a filter (a date it cannot read): nothing was searched.
    refused: Option<&'static str>,
    rows: Vec<ResultRow>,
    /// "12,500", or "10,000+" when the backlog stopped counting.
    total: String,
    prev: Option<String>,
    next: Option<String>,
}

/// A result count with thousands separators (the same in both languages); a lower bound
/// ends in "+", so the page never presents a capped count as the number of matches.
fn total_label(total: u64, capped: bool) -> String {
    let digits = total.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    if capped {
        out.push('+');
    }
    out
}

fn nonempty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// `GET /cases`: the backlog's list with filters, a page at a time.
pub async fn search(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(query): Query<SearchQuery>,
) -> Result<Response, PageError> {
    viewer.require(SEARCH)?;
    let lang = viewer.lang;
    let token = viewer.bearer(&app.keys)?;
    let catalog = app
        .api
        .catalog()
        .await
        .map_err(|e| PageError::from_api(lang, e))?;
    let offset = query.offset.unwrap_or(0);
    let attention_only = nonempty(&query.attention).is_some();
    let wait_reason = if attention_only {
        Some("needs_attention")
    } else {
        nonempty(&query.wait_reason).filter(|r| WaitReason::parse(r).is_some())
    };
    let mut filters = String::new();
    for (name, value) in [
        ("case_number", nonempty(&query.case_number)),
        ("unit", nonempty(&query.unit)),
        (
            "status",
            nonempty(&query.status).filter(|s| Status::parse(s).is_some()),
        ),
        ("service_type", nonempty(&query.service_type)),
        ("wait_reason", wait_reason),
        (
            "sla_level",
            nonempty(&query.sla_level).filter(|l| SLA_LEVELS.contains(l)),
        ),
        ("received_from", nonempty(&query.received_from)),
        ("received_to", nonempty(&query.received_to)),
    ] {
        if let Some(value) = value {
            filters.push_str(&format!("&{name}={}", encode(value)));
        }
    }
    let answer = app
        .api
        .get::<CasePage>(
            &token,
            Service::Backlog,
            &format!("/api/v1/cases?limit={PAGE_SIZE}&offset={offset}{filters}"),
        )
        .await;
    let (page, refused) = match answer {
        Ok(page) => (page, None),
        // A date range the backlog cannot read: say so on the form instead of an error page.
        Err(ApiFailure::Refused {
            status: 400, code, ..
        }) if code == "invalid_date" || code == "invalid_date_range" => {
            let empty = CasePage {
                items: Vec::new(),
                total: 0,
                total_capped: false,
                limit: PAGE_SIZE,
                offset: 0,
            };
            (empty, Some(lang.t().invalid_dates))
        }
        Err(failure) => return Err(PageError::from_api(lang, failure)),
    };
    let rows = page
        .items
        .into_iter()
        .map(|item| ResultRow {
            service: service_name(&catalog, lang, &item.service_type),
            status: item
                .status
                .as_deref()
                .map(|s| i18n::status(lang, s))
                .unwrap_or_default(),
            owner: item.owner.clone().unwrap_or_default(),
            received: item
                .received_at
                .map(|t| app.zone.datetime(t))
                .unwrap_or_default(),
            age: item
                .age_seconds
                .map(|s| clock::age(lang, s))
                .unwrap_or_default(),
            overdue: item.overdue,
            waiting: clocks::waiting(&app, lang, &item),
            sla: clocks::sla_badge(lang, item.sla_level.as_deref()),
            case_id: item.case_id,
            case_number: item.case_number,
            unit: item.unit,
        })
        .collect();
    let link = |offset: u64| {
        let attention = if attention_only { "&attention=1" } else { "" };
        format!("/cases?offset={offset}{filters}{attention}")
    };
    let chosen = |value: &Option<String>| nonempty(value).unwrap_or_default().to_string();
    let chosen_status = chosen(&query.status);
    let chosen_service = chosen(&query.service_type);
    let chosen_wait = wait_reason.unwrap_or_default();
    let chosen_level = chosen(&query.sla_level);
    let search_page = SearchPage {
        c: Chrome::new(&viewer, lang.t().search_title, Nav::Search),
        case_number: chosen(&query.case_number),
        unit: chosen(&query.unit),
        statuses: Status::ALL
            .iter()
            .map(|s| Choice {
                code: s.as_str().to_string(),
                name: i18n::status(lang, s.as_str()),
                selected: s.as_str() == chosen_status,
            })
            .collect(),
        services: catalog
            .services
            .iter()
            .map(|s| Choice {
                code: s.code.clone(),
                name: lang.pick(&s.name_zh, &s.name_en).to_string(),
                selected: s.code == chosen_service,
            })
            .collect(),
        wait_reasons: WaitReason::ALL
            .iter()
            .map(|r| Choice {
                code: r.as_str().to_string(),
                name: i18n::wait_reason(lang, r.as_str()),
                selected: r.as_str() == chosen_wait,
            })
            .collect(),
        sla_levels: SLA_LEVELS
            .iter()
            .filter_map(|level| clocks::sla_badge(lang, Some(*level)))
            .map(|badge| Choice {
                code: badge.level.to_string(),
                name: badge.label.to_string(),
                selected: badge.level == chosen_level,
            })
            .collect(),
        attention_only,
        received_from: chosen(&query.received_from),
        received_to: chosen(&query.received_to),
        refused,
        rows,
        total: total_label(page.total, page.total_capped),
        prev: (offset > 0).then(|| link(offset.saturating_sub(PAGE_SIZE))),
        next: (page.total_capped || offset + PAGE_SIZE < page.total)
            .then(|| link(offset + PAGE_SIZE)),
    };
    render(lang, &search_page)
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePageView {
    c: Chrome,
    case_number: String,
    service: String,
    unit: String,
    status: String,
    stage: String,
    owner: String,
    received: String,
    due: String,
    overdue: bool,
    waiting: Option<Waiting>,
    sla: Option<SlaBadge>,
    facts: Option<CaseFacts>,
    timeline: Vec<TimelineRow>,
}

/// `GET /cases/{id}`: the backlog's view and timeline, with intake's facts when the
/// viewer's role may read them.
pub async fn case_page(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<Uuid>,
) -> Result<Response, PageError> {
    viewer.require(SEARCH)?;
    let lang = viewer.lang;
    let token = viewer.bearer(&app.keys)?;
    let catalog = app
        .api
        .catalog()
        .await
        .map_err(|e| PageError::from_api(lang, e))?;
    let detail: CaseDetail = app
        .api
        .get(&token, Service::Backlog, &format!("/api/v1/cases/{id}"))
        .await
        .map_err(|e| PageError::from_api(lang, e))?;
    let intake: Option<IntakeCase> = app
        .api
        .get(&token, Service::Intake, &format!("/api/v1/cases/{id}"))
        .await
        .ok();
    let case = &detail.case;
    let page = CasePageView {
        c: Chrome::new(&viewer, &case.case_number, Nav::Search),
        case_number: case.case_number.clone(),
        service: service_name(&catalog, lang, &case.service_type),
        unit: case.unit.clone(),
        status: case
            .status
            .as_deref()
            .map(|s| i18n::status(lang, s))
            .unwrap_or_default(),
        stage: case
            .stage
            .as_deref()
            .map(|s| i18n::stage(lang, s))
            .unwrap_or_default(),
        owner: case.owner.clone().unwrap_or_default(),
        received: case
            .received_at
            .map(|t| app.zone.datetime(t))
            .unwrap_or_default(),
        due: case
            .due_at
            .map(|t| app.zone.datetime(t))
            .unwrap_or_default(),
        overdue: case.overdue,
        waiting: clocks::waiting(&app, lang, case),
        sla: clocks::sla_badge(lang, case.sla_level.as_deref()),
        facts: intake.map(|c| CaseFacts::from_intake(&app, lang, &catalog, &c)),
        timeline: rows(&app, lang, &catalog, &detail),
    };
    render(lang, &page)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_capped_total_reads_as_a_lower_bound() {
        assert_eq!(super::total_label(0, false), "0");
        assert_eq!(super::total_label(12_500, false), "12,500");
        assert_eq!(super::total_label(1_234_567, false), "1,234,567");
        assert_eq!(super::total_label(10_000, true), "10,000+");
    }
}
