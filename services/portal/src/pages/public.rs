//! Pages anyone may open: the service catalog, sign-in and the language switch; and
//! sign-out.

use super::{render, see_other, Chrome, Nav, PageError};
use crate::form::FormData;
use crate::i18n::Lang;
use crate::session::{Viewer, CSRF_FIELD};
use crate::users::store::{self, User};
use crate::AppState;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use clearline_domain::PromisedTime;
use clearline_platform::http::Role;
use serde::Deserialize;

/// `/`: a signed-in user's first page for their role; the catalog for everyone else.
pub async fn home(viewer: Viewer) -> Response {
    see_other(&landing(viewer.user.as_ref()))
}

fn landing(user: Option<&User>) -> String {
    let Some(user) = user else {
        return "/catalog".into();
    };
    let page = [
        (Role::Clerk, "/clerk"),
        (Role::Approver, "/approver"),
        (Role::Fulfilment, "/fulfilment"),
        (Role::Supervisor, "/dashboard"),
        (Role::Admin, "/dashboard"),
    ]
    .into_iter()
    .find(|(role, _)| user.has(*role))
    .map_or("/cases", |(_, page)| page);
    page.to_string()
}

pub struct ServiceEntry {
    pub code: String,
    pub name: String,
    pub approval: &'static str,
    pub promised: String,
    pub materials: Vec<String>,
    pub steps: Vec<String>,
}

#[derive(Template)]
#[template(path = "catalog.html")]
struct CatalogPage {
    c: Chrome,
    services: Vec<ServiceEntry>,
}

pub fn promised_text(lang: Lang, promised: PromisedTime) -> String {
    let t = lang.t();
    match promised {
        PromisedTime::WorkingDays(n) => format!("{n} {}", t.working_days),
        PromisedTime::CalendarDays(0) => t.same_day.to_string(),
        PromisedTime::CalendarDays(n) => format!("{n} {}", t.calendar_days),
        PromisedTime::Hours(n) => format!("{n} {}", t.hours),
    }
}

/// `GET /catalog`: every service as posted at the window.
pub async fn catalog(State(app): State<AppState>, viewer: Viewer) -> Result<Response, PageError> {
    let lang = viewer.lang;
    let catalog = app
        .api
        .catalog()
        .await
        .map_err(|e| PageError::from_api(lang, e))?;
    let t = lang.t();
    let services = catalog
        .services
        .iter()
        .map(|s| ServiceEntry {
            code: s.code.clone(),
            name: lang.pick(&s.name_zh, &s.name_en).to_string(),
            approval: if s.approval_required {
                t.approval_needed
            } else {
                t.approval_not_needed
            },
            promised: promised_text(lang, s.promised),
            materials: s
                .materials
                .iter()
                .map(|m| lang.pick(&m.name_zh, &m.name_en).to_string())
                .collect(),
            steps: if lang.is_zh() {
                s.steps_zh.clone()
            } else {
                s.steps_en.clone()
            },
        })
        .collect();
    render(
        lang,
        &CatalogPage {
            c: Chrome::new(&viewer, t.catalog_title, Nav::Catalog),
            services,
        },
    )
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SigninPage {
    c: Chrome,
    next: String,
    failed: bool,
    expired: bool,
    user_id: String,
}

#[derive(Deserialize)]
pub struct SigninQuery {
    next: Option<String>,
}

/// Only a local path may be the page to return to (no open redirect).
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_string(),
        _ => "/".to_string(),
    }
}

pub async fn signin_page(
    viewer: Viewer,
    Query(query): Query<SigninQuery>,
) -> Result<Response, PageError> {
    let lang = viewer.lang;
    render(
        lang,
        &SigninPage {
            c: Chrome::new(&viewer, lang.t().sign_in, Nav::None),
            next: local_path(query.next.as_deref()),
            failed: false,
            expired: viewer.expired,
            user_id: String::new(),
        },
    )
}

/// `POST /signin`: a fresh session on success; the old one, if any, ends.
pub async fn signin(
    State(app): State<AppState>,
    viewer: Viewer,
    body: Bytes,
) -> Result<Response, PageError> {
    let lang = viewer.lang;
    let form = FormData::parse(&body);
    viewer.check_csrf(&form.get(CSRF_FIELD))?;
    let user_id = form.get("user_id");
    let password = form.get("password");
    let next = local_path(Some(&form.get("next")));
    let user = store::authenticate(&app.db, &user_id, &password)
        .await
        .map_err(|e| PageError::internal(lang, e))?;
    let Some(user) = user else {
        let page = SigninPage {
            c: Chrome::new(&viewer, lang.t().sign_in, Nav::None),
            next,
            failed: true,
            expired: false,
            user_id,
        };
        let mut response = render(lang, &page)?;
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        return Ok(response);
    };
    if let Some(old) = viewer.session_hash() {
        store::end_session(&app.db, old)
            .await
            .map_err(|e| PageError::internal(lang, e))?;
    }
    let token = store::start_session(&app.db, &user.id, Utc::now())
        .await
        .map_err(|e| PageError::internal(lang, e))?;
    tracing::info!(user_id = %user.id, "signed in");
    let target = if next == "/" {
        landing(Some(&user))
    } else {
        next
    };
    let mut response = see_other(&target);
    if let Ok(cookie) = app.cookies.set_session(&token).parse() {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    Ok(response)
}

/// `POST /signout`: the session ends on the server, so the old cookie is worth nothing.
pub async fn signout(
    State(app): State<AppState>,
    viewer: Viewer,
    body: Bytes,
) -> Result<Response, PageError> {
    let lang = viewer.lang;
    let form = FormData::parse(&body);
    viewer.check_csrf(&form.get(CSRF_FIELD))?;
    if let Some(hash) = viewer.session_hash() {
        store::end_session(&app.db, hash)
            .await
            .map_err(|e| PageError::internal(lang, e))?;
    }
    let mut response = see_other("/signin");
    if let Ok(cookie) = app.cookies.clear_session().parse() {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    Ok(response)
}

/// `POST /lang`: the switch; the choice sticks in a cookie.
pub async fn switch_lang(
    State(app): State<AppState>,
    viewer: Viewer,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = FormData::parse(&body);
    viewer.check_csrf(&form.get(CSRF_FIELD))?;
    let lang = Lang::parse(&form.get("lang")).unwrap_or(viewer.lang);
    let mut response = see_other(&local_path(Some(&form.get("next"))));
    if let Ok(cookie) = app.cookies.set_lang(lang).parse() {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
    Ok(response.into_response())
}
