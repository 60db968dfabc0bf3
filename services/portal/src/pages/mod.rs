//! The pages. Each module is one family of pages; this one holds the router, the chrome
//! every page shares (language, navigation, CSRF token) and the response helpers.
//!
//! Rules every handler follows: GET never changes anything; every POST checks the CSRF
//! token before it reads the rest of the form; a page a role may not see is a 403 and its
//! link is not in the navigation.

pub mod admin;
pub mod approver;
pub mod cases;
pub mod clearance;
pub mod clerk;
pub mod clocks;
pub mod dashboard;
pub mod dead_letters;
pub mod errors;
pub mod fulfilment;
pub mod panels;
pub mod pipes;
pub mod public;

use crate::api::ApiFailure;
use crate::form::FormData;
use crate::i18n::{Lang, Texts};
use crate::session::{self, Viewer};
use crate::{assets, live, AppState};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use clearline_platform::http::Role;
pub use errors::PageError;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(public::home))
        .route("/catalog", get(public::catalog))
        .route("/signin", get(public::signin_page).post(public::signin))
        .route("/signout", post(public::signout))
        .route("/lang", post(public::switch_lang))
        .route("/clerk", get(clerk::page))
        .route("/clerk/cases", post(clerk::register))
        .route("/clerk/cases/{id}", get(clerk::case_page))
        .route("/clerk/cases/{id}/materials", post(clerk::add_materials))
        .route("/clerk/cases/{id}/cancel", post(clerk::cancel))
        .route("/approver", get(approver::queue))
        .route("/approver/cases/{id}", get(approver::case_page))
        .route("/approver/cases/{id}/decision", post(approver::decide))
        .route("/fulfilment", get(fulfilment::tasks))
        .route("/fulfilment/cases/{id}/{action}", post(fulfilment::act))
        .route("/dashboard", get(dashboard::page))
        .route("/dead-letters", get(dead_letters::list))
        .route(
            "/dead-letters/{service}/{event_id}",
            get(dead_letters::show),
        )
        .route(
            "/dead-letters/{service}/{event_id}/replay",
            post(dead_letters::replay),
        )
        .route("/clearance", get(clearance::page))
        .route(
            "/clearance/{unit}/{day}/cases/{case_id}/reason",
            post(clearance::set_reason),
        )
        .route(
            "/clearance/{unit}/{day}/sign-off",
            post(clearance::sign_off),
        )
        .route("/clearance/{unit}/{day}/report.csv", get(clearance::csv))
        .route("/cases", get(cases::search))
        .route("/cases/{id}", get(cases::case_page))
        .route("/admin", get(admin::page))
        .route("/admin/users", post(admin::add_user))
        .route("/admin/users/{id}/{action}", post(admin::change_user))
        .route("/live", get(live::stream))
        .route("/assets/{name}", get(asset))
        .layer(from_fn_with_state(
            state.clone(),
            session::ensure_csrf_cookie,
        ))
        .layer(from_fn(security_headers))
        .with_state(state)
}

async fn asset(Path(name): Path<String>) -> Response {
    let path = format!("/assets/{name}");
    if path == *assets::CSS_PATH {
        assets::css().await.into_response()
    } else if path == *assets::JS_PATH {
        assets::js().await.into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

/// Pages may not be framed, sniffed or cached, and run only our own script and style.
async fn security_headers(req: Request, next: Next) -> Response {
    let is_asset = req.uri().path().starts_with("/assets/");
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !is_asset && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Which navigation entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Catalog,
    Clerk,
    Approver,
    Fulfilment,
    Dashboard,
    Clearance,
    DeadLetters,
    Search,
    Admin,
    None,
}

/// Who may see each page family. The navigation shows only these links.
pub const CLERK: &[Role] = &[Role::Clerk];
pub const APPROVER: &[Role] = &[Role::Approver];
pub const FULFILMENT: &[Role] = &[Role::Fulfilment];
pub const DASHBOARD: &[Role] = &[Role::Supervisor, Role::Admin];
/// The daily clearance report: supervisors sign units' days off (admins may too).
pub const CLEARANCE: &[Role] = &[Role::Supervisor, Role::Admin];
/// Dead letters: supervisors and admins read, only admins replay ([`ADMIN`]).
pub const DEAD_LETTERS: &[Role] = &[Role::Supervisor, Role::Admin];
pub const SEARCH: &[Role] = &Role::ALL;
pub const ADMIN: &[Role] = &[Role::Admin];

/// An option of a `<select>`.
pub struct Choice {
    pub code: String,
    pub name: String,
    pub selected: bool,
}

pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
    pub key: &'static str,
}

/// What every page's frame shows.
pub struct Chrome {
    pub lang: &'static str,
    pub t: &'static Texts,
    pub title: String,
    pub user_name: Option<String>,
    pub user_id: String,
    pub nav: Vec<NavLink>,
    pub csrf: String,
    pub css: &'static str,
    pub js: &'static str,
    /// Whether the page listens for live updates.
    pub live: bool,
    pub switch_to: &'static str,
    pub switch_label: &'static str,
    pub next: String,
}

impl Chrome {
    pub fn new(viewer: &Viewer, title: &str, current: Nav) -> Chrome {
        let lang = viewer.lang;
        let t = lang.t();
        let mut links = vec![(Nav::Catalog, "/catalog", t.nav_catalog, "catalog")];
        if let Some(user) = &viewer.user {
            for (nav, href, label, key, roles) in [
                (Nav::Clerk, "/clerk", t.nav_clerk, "clerk", CLERK),
                (
                    Nav::Approver,
                    "/approver",
                    t.nav_approver,
                    "approver",
                    APPROVER,
                ),
                (
                    Nav::Fulfilment,
                    "/fulfilment",
                    t.nav_fulfilment,
                    "fulfilment",
                    FULFILMENT,
                ),
                (
                    Nav::Dashboard,
                    "/dashboard",
                    t.nav_dashboard,
                    "dashboard",
                    DASHBOARD,
                ),
                (
                    Nav::Clearance,
                    "/clearance",
                    t.nav_clearance,
                    "clearance",
                    CLEARANCE,
                ),
                (
                    Nav::DeadLetters,
                    "/dead-letters",
                    t.nav_dead_letters,
                    "dead-letters",
                    DEAD_LETTERS,
                ),
                (Nav::Search, "/cases", t.nav_search, "search", SEARCH),
                (Nav::Admin, "/admin", t.nav_admin, "admin", ADMIN),
            ] {
                if user.has_any(roles) {
                    links.push((nav, href, label, key));
                }
            }
        }
        let (switch_to, switch_label) = match lang {
            Lang::Zh => ("en", "English"),
            Lang::En => ("zh", "中文"),
        };
        Chrome {
            lang: lang.code(),
            t,
            title: title.to_string(),
            user_name: viewer.user.as_ref().map(|u| u.name.clone()),
            user_id: viewer
                .user
                .as_ref()
                .map(|u| u.id.clone())
                .unwrap_or_default(),
            nav: links
                .into_iter()
                .map(|(nav, href, label, key)| NavLink {
                    href,
                    label,
                    current: nav == current,
                    key,
                })
                .collect(),
            csrf: viewer.csrf().to_string(),
            css: assets::CSS_PATH.as_str(),
            js: assets::JS_PATH.as_str(),
            live: false,
            switch_to,
            switch_label,
            next: viewer.path.clone(),
        }
    }

    /// The frame of an error page: no user details, no forms.
    pub fn anonymous(lang: Lang, title: &str) -> Chrome {
        let t = lang.t();
        let (switch_to, switch_label) = match lang {
            Lang::Zh => ("en", "English"),
            Lang::En => ("zh", "中文"),
        };
        Chrome {
            lang: lang.code(),
            t,
            title: title.to_string(),
            user_name: None,
            user_id: String::new(),
            nav: vec![NavLink {
                href: "/catalog",
                label: t.nav_catalog,
                current: false,
                key: "catalog",
            }],
            csrf: String::new(),
            css: assets::CSS_PATH.as_str(),
            js: assets::JS_PATH.as_str(),
            live: false,
            switch_to,
            switch_label,
            next: "/".to_string(),
        }
    }

    pub fn live(mut self) -> Chrome {
        self.live = true;
        self
    }
}

/// Renders a template; a template error is our failure.
pub fn render(lang: Lang, template: &impl Template) -> Result<Response, PageError> {
    template
        .render()
        .map(|html| Html(html).into_response())
        .map_err(|e| PageError::internal(lang, e))
}

/// The POST-redirect-GET answer: a reload never resubmits the form.
pub fn see_other(path: &str) -> Response {
    Redirect::to(path).into_response()
}

/// A posted form, read once its CSRF token is checked (before anything else) and the
/// viewer holds one of `roles`.
pub fn posted_form(viewer: &Viewer, body: &Bytes, roles: &[Role]) -> Result<FormData, PageError> {
    let form = FormData::parse(body);
    viewer.check_csrf(&form.get(session::CSRF_FIELD))?;
    viewer.require(roles)?;
    Ok(form)
}

/// A service's answer to a form, as the redirect back: to `done` when it was done, to
/// `refused(code)` when the service refused it (a 4xx but 404, which is a page of its own),
/// an error page when it could not answer.
pub fn after_post(
    lang: Lang,
    result: Result<serde_json::Value, ApiFailure>,
    done: &str,
    refused: impl FnOnce(&str) -> String,
) -> Result<Response, PageError> {
    match result {
        Ok(_) => Ok(see_other(done)),
        Err(ApiFailure::Refused { status, code, .. })
            if (400..500).contains(&status) && status != 404 =>
        {
            Ok(see_other(&refused(&code)))
        }
        Err(failure) => Err(PageError::from_api(lang, failure)),
    }
}
