//! The intake window: register a request (the chosen service's materials as a checklist,
//! the applicant's ID number and phone checked as typed and again by intake), the one-time
//! notice or the receipt, the window's cases today, adding materials and withdrawing.

use super::{render, see_other, Chrome, Nav, PageError, CLERK};
use crate::api::dto::IntakeCase;
use crate::api::{ApiFailure, Service};
use crate::form::FormData;
use crate::i18n::{self, Lang, Texts};
use crate::session::{Viewer, CSRF_FIELD};
use crate::AppState;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use clearline_domain::Catalog;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

pub struct MaterialOption {
    pub code: String,
    pub name: String,
    pub checked: bool,
}

pub struct ServiceOption {
    pub code: String,
    pub name: String,
    pub selected: bool,
    pub materials: Vec<MaterialOption>,
}

pub struct TodayRow {
    pub id: Uuid,
    pub case_number: String,
    pub service: String,
    pub status: String,
    pub received: String,
    pub waiting: bool,
}

/// What the clerk typed, kept when the form comes back with errors.
#[derive(Default)]
pub struct Entered {
    pub name: String,
    pub id_number: String,
    pub phone: String,
    pub window: String,
}

#[derive(Template)]
#[template(path = "clerk.html")]
struct ClerkPage {
    c: Chrome,
    services: Vec<ServiceOption>,
    entered: Entered,
    errors: FieldErrors,
    form_error: Option<String>,
    form_key: String,
    today: Vec<TodayRow>,
}

/// Intake's complaints about the form, one sentence per field (empty when fine).
#[derive(Default)]
pub struct FieldErrors {
    pub name: String,
    pub id_number: String,
    pub phone: String,
    pub other: String,
}

impl FieldErrors {
    fn from_fields(t: &Texts, fields: Vec<(String, String)>) -> FieldErrors {
        let mut errors = FieldErrors::default();
        for (field, code) in fields {
            let message = field_message(t, &code);
            match field.as_str() {
                "applicant.name" => errors.name = message,
                "applicant.id_number" => errors.id_number = message,
                "applicant.phone" => errors.phone = message,
                _ => errors.other = message,
            }
        }
        errors
    }
}

#[derive(Deserialize)]
pub struct PageQuery {
    service: Option<String>,
}

fn service_name(catalog: &Catalog, lang: Lang, code: &str) -> String {
    catalog.get(code).map_or_else(
        || code.to_string(),
        |s| lang.pick(&s.name_zh, &s.name_en).to_string(),
    )
}

fn options(catalog: &Catalog, lang: Lang, chosen: &str, ticked: &[String]) -> Vec<ServiceOption> {
    let chosen = if catalog.get(chosen).is_some() {
        chosen.to_string()
    } else {
        catalog
            .services
            .first()
            .map(|s| s.code.clone())
            .unwrap_or_default()
    };
    catalog
        .services
        .iter()
        .map(|s| ServiceOption {
            code: s.code.clone(),
            name: lang.pick(&s.name_zh, &s.name_en).to_string(),
            selected: s.code == chosen,
            materials: s
                .materials
                .iter()
                .map(|m| MaterialOption {
                    code: m.code.clone(),
                    name: lang.pick(&m.name_zh, &m.name_en).to_string(),
                    checked: s.code == chosen && ticked.contains(&m.code),
                })
                .collect(),
        })
        .collect()
}

async fn today(
    app: &AppState,
    viewer: &Viewer,
    token: &str,
    catalog: &Catalog,
) -> Result<Vec<TodayRow>, PageError> {
    let lang = viewer.lang;
    let user = viewer.signed_in()?;
    let now = Utc::now();
    let start = app.zone.day_start(now);
    let hours = ((now - start).num_minutes() / 60 + 1).max(1);
    let window = user.window.clone().unwrap_or_else(|| "1".into());
    let path = format!(
        "/api/v1/cases?window={}&hours={hours}&limit=200",
        encode(&window)
    );
    let cases: Vec<IntakeCase> = app
        .api
        .get(token, Service::Intake, &path)
        .await
        .map_err(|e| PageError::from_api(lang, e))?;
    Ok(cases
        .into_iter()
        .filter(|c| c.received_at >= start)
        .map(|c| TodayRow {
            waiting: c.status == "awaiting_materials",
            id: c.id,
            service: service_name(catalog, lang, &c.service_type),
            status: i18n::status(lang, &c.status),
            received: app.zone.datetime(c.received_at),
            case_number: c.case_number,
        })
        .collect())
}

pub fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `GET /clerk`.
pub async fn page(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(query): Query<PageQuery>,
) -> Result<Response, PageError> {
    let user = viewer.require(CLERK)?;
    let entered = Entered {
        window: user.window.clone().unwrap_or_else(|| "1".into()),
        ..Entered::default()
    };
    show_form(
        &app,
        &viewer,
        query.service.as_deref().unwrap_or(""),
        &[],
        entered,
        FieldErrors::default(),
        None,
    )
    .await
}

async fn show_form(
    app: &AppState,
    viewer: &Viewer,
    chosen: &str,
    ticked: &[String],
    entered: Entered,
    errors: FieldErrors,
    form_error: Option<String>,
) -> Result<Response, PageError> {
    let lang = viewer.lang;
    let token = viewer.bearer(&app.keys)?;
    let catalog = app
        .api
        .catalog()
        .await
        .map_err(|e| PageError::from_api(lang, e))?;
    let today = today(app, viewer, &token, &catalog).await?;
    let page = ClerkPage {
        c: Chrome::new(viewer, lang.t().clerk_title, Nav::Clerk).live(),
        services: options(&catalog, lang, chosen, ticked),
        entered,
        errors,
        form_error,
        form_key: Uuid::new_v4().to_string(),
        today,
    };
    render(lang, &page)
}

/// A field error code from intake as a sentence.
fn field_message(t: &Texts, code: &str) -> String {
    match code {
        "invalid_id_number" => t.invalid_id_number,
        "invalid_id_check_digit" => t.invalid_id_check_digit,
        "invalid_phone" => t.invalid_phone,
        "invalid_name" => t.invalid_name,
        "missing_field" => t.refused_missing,
        _ => t.invalid_field,
    }
    .to_string()
}

/// `POST /clerk/cases`: registers through intake; the notice or the receipt follows.
pub async fn register(
    State(app): State<AppState>,
    viewer: Viewer,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = FormData::parse(&body);
    viewer.check_csrf(&form.get(CSRF_FIELD))?;
    let user = viewer.require(CLERK)?;
    let lang = viewer.lang;
    let token = viewer.bearer(&app.keys)?;
    let catalog = app
        .api
        .catalog()
        .await
        .map_err(|e| PageError::from_api(lang, e))?;
    let service = form.get("service_type");
    // Without script every checklist is sent; keep only the chosen service's materials.
    let known: Vec<String> = catalog
        .get(&service)
        .map(|s| s.materials.iter().map(|m| m.code.clone()).collect())
        .unwrap_or_default();
    let materials: Vec<String> = form
        .all("materials")
        .into_iter()
        .filter(|m| known.contains(m))
        .collect();
    let entered = Entered {
        name: form.get("name"),
        id_number: form.get("id_number"),
        phone: form.get("phone"),
        window: Some(form.get("window"))
            .filter(|w| !w.is_empty())
            .or_else(|| user.window.clone())
            .unwrap_or_else(|| "1".into()),
    };
    let request = json!({
        "service_type": service,
        "window": entered.window,
        "applicant": { "name": entered.name, "id_number": entered.id_number, "phone": entered.phone },
        "materials": materials,
    });
    let key = Some(form.get("form_key")).filter(|k| !k.is_empty());
    match app
        .api
        .post(
            &token,
            Service::Intake,
            "/api/v1/cases",
            &request,
            key.as_deref(),
        )
        .await
    {
        Ok(created) => {
            let id = created["id"].as_str().unwrap_or_default();
            Ok(see_other(&format!("/clerk/cases/{id}")))
        }
        Err(ApiFailure::Refused {
            status: 422,
            fields,
            ..
        }) => {
            let t = lang.t();
            let errors = FieldErrors::from_fields(t, fields);
            let mut response = show_form(
                &app,
                &viewer,
                &service,
                &materials,
                entered,
                errors,
                Some(t.form_has_errors.to_string()),
            )
            .await?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(response)
        }
        Err(failure) => Err(PageError::from_api(lang, failure)),
    }
}

pub struct NamedMaterial {
    pub code: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "clerk_case.html")]
struct CasePage {
    c: Chrome,
    case_id: Uuid,
    case_number: String,
    service: String,
    unit: String,
    window: String,
    status: String,
    received: String,
    due: String,
    applicant_name: String,
    applicant_id: String,
    provided: Vec<NamedMaterial>,
    missing: Vec<NamedMaterial>,
    /// The one-time notice (something missing) rather than the receipt.
    notice: bool,
    open: bool,
    message: Option<String>,
}

fn named(lang: Lang, list: &[crate::api::dto::Material]) -> Vec<NamedMaterial> {
    list.iter()
        .map(|m| NamedMaterial {
            code: m.code.clone(),
            name: lang.pick(&m.name_zh, &m.name_en).to_string(),
        })
        .collect()
}

#[derive(Deserialize)]
pub struct CaseQuery {
    refused: Option<String>,
}

/// `GET /clerk/cases/{id}`: the notice while materials are missing, else the receipt.
pub async fn case_page(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<Uuid>,
    Query(query): Query<CaseQuery>,
) -> Result<Response, PageError> {
    viewer.require(CLERK)?;
    let lang = viewer.lang;
    let token = viewer.bearer(&app.keys)?;
    let catalog = app
        .api
        .catalog()
        .await
        .map_err(|e| PageError::from_api(lang, e))?;
    let case: IntakeCase = app
        .api
        .get(&token, Service::Intake, &format!("/api/v1/cases/{id}"))
        .await
        .map_err(|e| PageError::from_api(lang, e))?;
    let t = lang.t();
    let notice = case.status == "awaiting_materials" && !case.missing_materials.is_empty();
    let title = if notice {
        t.notice_title
    } else {
        t.receipt_title
    };
    let page = CasePage {
        c: Chrome::new(&viewer, title, Nav::Clerk),
        case_id: case.id,
        service: service_name(&catalog, lang, &case.service_type),
        unit: case.unit.clone(),
        window: case.window.clone(),
        status: i18n::status(lang, &case.status),
        received: app.zone.datetime(case.received_at),
        due: app.zone.datetime(case.due_at),
        applicant_name: case.applicant.name.clone(),
        applicant_id: case.applicant.id_number.clone(),
        provided: named(lang, &case.provided_materials),
        missing: named(lang, &case.missing_materials),
        notice,
        open: !matches!(case.status.as_str(), "closed" | "rejected" | "cancelled"),
        message: query
            .refused
            .map(|code| i18n::refusal(lang, &code).to_string()),
        case_number: case.case_number,
    };
    render(lang, &page)
}

/// `POST /clerk/cases/{id}/materials`.
pub async fn add_materials(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = FormData::parse(&body);
    viewer.check_csrf(&form.get(CSRF_FIELD))?;
    viewer.require(CLERK)?;
    let body = json!({ "materials": form.all("materials") });
    act(&app, &viewer, id, "materials", &body).await
}

/// `POST /clerk/cases/{id}/cancel`.
pub async fn cancel(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = FormData::parse(&body);
    viewer.check_csrf(&form.get(CSRF_FIELD))?;
    viewer.require(CLERK)?;
    let body = json!({ "reason": form.get("reason") });
    act(&app, &viewer, id, "cancel", &body).await
}

async fn act(
    app: &AppState,
    viewer: &Viewer,
    id: Uuid,
    action: &str,
    body: &serde_json::Value,
) -> Result<Response, PageError> {
    let token = viewer.bearer(&app.keys)?;
    let path = format!("/api/v1/cases/{id}/{action}");
    match app
        .api
        .post(&token, Service::Intake, &path, body, None)
        .await
    {
        Ok(_) => Ok(see_other(&format!("/clerk/cases/{id}"))),
        Err(ApiFailure::Refused { status, code, .. }) if status == 409 || status == 422 => Ok(
            see_other(&format!("/clerk/cases/{id}?refused={}", encode(&code))),
        ),
        Err(failure) => Err(PageError::from_api(viewer.lang, failure)),
    }
}
