//! Daily clearance (当日清零) for supervisors: a unit's day (received, finished, carried
//! over, the rate), a reason for every carried-over case, the sign-off (which the backlog
//! refuses until every case has a reason and the day is over), who signed and when, and
//! the CSV export. Everything is the backlog's; this page only reads and forwards.

use super::cases::service_name;
use super::clerk::encode;
use super::panels::percent;
use super::{after_post, posted_form, render, Choice, Chrome, Nav, PageError, CLEARANCE};
use crate::api::dto::{ClearanceReport, RatesView};
use crate::api::{ApiFailure, Service};
use crate::i18n::{self, Lang, CARRY_REASONS};
use crate::session::Viewer;
use crate::AppState;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

/// Days listed for picking one.
const RECENT_DAYS: u32 = 14;

pub struct DayLink {
    pub href: String,
    pub day: String,
    pub rate: String,
    pub signed: bool,
    pub current: bool,
}

pub struct CarriedRow {
    pub case_id: Uuid,
    pub case_number: String,
    pub service: String,
    pub status: String,
    pub received: String,
    pub reasons: Vec<Choice>,
    pub text: String,
    /// The reason in words and who gave it when; `None` while it is missing.
    pub given: Option<String>,
}

#[derive(Template)]
#[template(path = "clearance.html")]
struct ClearancePage {
    c: Chrome,
    units: Vec<Choice>,
    unit: String,
    unit_q: String,
    day: String,
    days: Vec<DayLink>,
    report: Option<Summary>,
    rows: Vec<CarriedRow>,
    missing: Vec<String>,
    message: Option<&'static str>,
    refused: Option<&'static str>,
}

/// The report's head: the figures, whether the day is over, the sign-off.
pub struct Summary {
    pub open_at_start: i64,
    pub received: i64,
    pub finished: i64,
    pub carried_over: i64,
    pub rate: String,
    pub complete: bool,
    pub as_of: String,
    pub signed: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    unit: Option<String>,
    day: Option<String>,
    saved: Option<String>,
    signed: Option<String>,
    refused: Option<String>,
}

fn page_path(unit: &str, day: &str) -> String {
    format!("/clearance?unit={}&day={day}", encode(unit))
}

/// `GET /clearance`.
pub async fn page(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(query): Query<PageQuery>,
) -> Result<Response, PageError> {
    let user = viewer.require(CLEARANCE)?;
    let lang = viewer.lang;
    let t = lang.t();
    let token = viewer.bearer(&app.keys)?;
    let rates: RatesView = app
        .api
        .get(
            &token,
            Service::Backlog,
            &format!("/api/v1/clearance/rates?days={RECENT_DAYS}"),
        )
        .await
        .map_err(|e| PageError::from_api(lang, e))?;
    let asked = query
        .unit
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty());
    let unit = asked
        .filter(|u| rates.units.iter().any(|r| r.unit == *u))
        .or(user.unit.as_deref())
        .or(rates.units.first().map(|u| u.unit.as_str()))
        .unwrap_or_default()
        .to_string();
    let series = rates.units.iter().find(|u| u.unit == unit);
    // The day asked for, else the latest that is over (the one to sign), else today.
    let day = query
        .day
        .as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .or_else(|| {
            series.and_then(|s| {
                s.days
                    .iter()
                    .rev()
                    .find(|d| d.complete)
                    .or(s.days.last())
                    .map(|d| d.day)
            })
        })
        .unwrap_or(rates.until);
    let day_text = day.format("%Y-%m-%d").to_string();
    let days = series
        .map(|s| {
            s.days
                .iter()
                .rev()
                .map(|d| {
                    let text = d.day.format("%Y-%m-%d").to_string();
                    DayLink {
                        href: page_path(&unit, &text),
                        current: d.day == day,
                        rate: percent(lang, d.rate),
                        signed: d.sign_off.is_some(),
                        day: text,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let report = if unit.is_empty() {
        None
    } else {
        let path = format!("/api/v1/clearance/{}/{day_text}", encode(&unit));
        match app
            .api
            .get::<ClearanceReport>(&token, Service::Backlog, &path)
            .await
        {
            Ok(report) => Some(report),
            // A day that has not started yet: nothing to show for it.
            Err(ApiFailure::Refused { status: 422, .. }) => None,
            Err(failure) => return Err(PageError::from_api(lang, failure)),
        }
    };
    let catalog = app
        .api
        .catalog()
        .await
        .map_err(|e| PageError::from_api(lang, e))?;
    let signed = report.as_ref().is_some_and(|r| r.sign_off.is_some());
    let rows: Vec<CarriedRow> = report
        .iter()
        .flat_map(|r| r.carried_over_cases.iter())
        .map(|case| {
            let code = case
                .reason
                .as_ref()
                .map(|r| r.code.as_str())
                .unwrap_or_default();
            CarriedRow {
                case_id: case.case_id,
                case_number: case.case_number.clone(),
                service: service_name(&catalog, lang, &case.service_type),
                status: case
                    .status
                    .as_deref()
                    .map(|s| i18n::status(lang, s))
                    .unwrap_or_default(),
                received: app.zone.datetime(case.received_at),
                reasons: CARRY_REASONS
                    .iter()
                    .map(|c| Choice {
                        code: (*c).to_string(),
                        name: i18n::carry_reason(lang, c),
                        selected: *c == code,
                    })
                    .collect(),
                text: case
                    .reason
                    .as_ref()
                    .and_then(|r| r.text.clone())
                    .unwrap_or_default(),
                given: case.reason.as_ref().map(|r| {
                    let mut words = i18n::carry_reason(lang, &r.code);
                    if let Some(text) = r.text.as_deref().filter(|t| !t.is_empty()) {
                        words.push_str(&format!("：{text}"));
                    }
                    format!(
                        "{words}（{} {}，{}）",
                        t.reason_by,
                        r.set_by,
                        app.zone.datetime(r.set_at)
                    )
                }),
            }
        })
        .collect();
    let refused = query
        .refused
        .as_deref()
        .map(|code| i18n::refusal(lang, code));
    let missing = if query.refused.as_deref() == Some("reasons_missing") && !signed {
        rows.iter()
            .filter(|r| r.given.is_none())
            .map(|r| r.case_number.clone())
            .collect()
    } else {
        Vec::new()
    };
    let summary = report.map(|r| Summary {
        open_at_start: r.open_at_start,
        received: r.received,
        finished: r.finished,
        carried_over: r.carried_over,
        rate: percent(lang, r.rate),
        complete: r.complete,
        as_of: app.zone.datetime(r.as_of),
        signed: r.sign_off.map(|s| {
            format!(
                "{}（{}），{}",
                s.by,
                i18n::role(lang, &s.role),
                app.zone.datetime(s.at)
            )
        }),
    });
    let page = ClearancePage {
        c: Chrome::new(&viewer, t.clearance_title, Nav::Clearance),
        units: rates
            .units
            .iter()
            .map(|u| Choice {
                code: u.unit.clone(),
                name: u.unit.clone(),
                selected: u.unit == unit,
            })
            .collect(),
        unit_q: encode(&unit),
        unit,
        day: day_text,
        days,
        report: summary,
        rows,
        missing,
        message: if query.signed.is_some() {
            Some(t.signed_ok)
        } else if query.saved.is_some() {
            Some(t.saved)
        } else {
            None
        },
        refused,
    };
    render(lang, &page)
}

/// Where a form on the page comes back to, with what happened.
fn back(unit: &str, day: &str, outcome: &str) -> String {
    format!("{}&{outcome}", page_path(unit, day))
}

fn valid_day(lang: Lang, day: &str) -> Result<(), PageError> {
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map(|_| ())
        .map_err(|_| PageError::NotFound(lang))
}

/// `POST /clearance/{unit}/{day}/cases/{case_id}/reason`.
pub async fn set_reason(
    State(app): State<AppState>,
    viewer: Viewer,
    Path((unit, day, case_id)): Path<(String, String, Uuid)>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = posted_form(&viewer, &body, CLEARANCE)?;
    let lang = viewer.lang;
    valid_day(lang, &day)?;
    let token = viewer.bearer(&app.keys)?;
    let text = Some(form.get("text")).filter(|t| !t.is_empty());
    let request = json!({ "code": form.get("code"), "text": text });
    let path = format!(
        "/api/v1/clearance/{}/{day}/cases/{case_id}/reason",
        encode(&unit)
    );
    let result = app.api.put(&token, Service::Backlog, &path, &request).await;
    after_post(lang, result, &back(&unit, &day, "saved=1"), |code| {
        back(&unit, &day, &format!("refused={}", encode(code)))
    })
}

/// `POST /clearance/{unit}/{day}/sign-off`.
pub async fn sign_off(
    State(app): State<AppState>,
    viewer: Viewer,
    Path((unit, day)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, PageError> {
    posted_form(&viewer, &body, CLEARANCE)?;
    let lang = viewer.lang;
    valid_day(lang, &day)?;
    let token = viewer.bearer(&app.keys)?;
    let path = format!("/api/v1/clearance/{}/{day}/sign-off", encode(&unit));
    let result = app
        .api
        .post(&token, Service::Backlog, &path, &json!({}), None)
        .await;
    after_post(lang, result, &back(&unit, &day, "signed=1"), |code| {
        back(&unit, &day, &format!("refused={}", encode(code)))
    })
}

/// `GET /clearance/{unit}/{day}/report.csv`: the backlog's export, passed through.
pub async fn csv(
    State(app): State<AppState>,
    viewer: Viewer,
    Path((unit, day)): Path<(String, String)>,
) -> Result<Response, PageError> {
    viewer.require(CLEARANCE)?;
    let lang = viewer.lang;
    valid_day(lang, &day)?;
    let token = viewer.bearer(&app.keys)?;
    let path = format!("/api/v1/clearance/{}/{day}/report.csv", encode(&unit));
    let (kind, bytes) = app
        .api
        .get_document(&token, Service::Backlog, &path)
        .await
        .map_err(|e| PageError::from_api(lang, e))?;
    let name: String = unit
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    let disposition = format!("attachment; filename=\"clearance-{name}-{day}.csv\"");
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_str(&kind)
                    .unwrap_or_else(|_| HeaderValue::from_static("text/csv; charset=utf-8")),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition)
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            ),
        ],
        bytes,
    )
        .into_response())
}
