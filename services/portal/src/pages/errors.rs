//! What a page answers when it cannot show what was asked: a sign-in redirect, or an HTML
//! error page with the right status. Our own failures are logged once (by the platform's
//! error middleware, from the cause left in the response) and never shown.

use super::Chrome;
use crate::api::ApiFailure;
use crate::i18n::Lang;
use askama::Template;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use clearline_platform::http::{ErrorCause, ProblemCode};

#[derive(Debug)]
pub enum PageError {
    /// Not signed in: go to the sign-in page, then come back to this path.
    SignIn(Lang, String),
    /// Signed in, but the role may not see this page (403).
    Forbidden(Lang),
    NotFound(Lang),
    /// A form without a valid CSRF token (403); nothing was read or written for it.
    BadForm(Lang),
    /// A service could not be reached (502).
    Upstream(Lang, String),
    /// Our own failure (500).
    Internal(Lang, String),
}

impl PageError {
    pub fn internal(lang: Lang, error: impl std::fmt::Display) -> PageError {
        PageError::Internal(lang, error.to_string())
    }

    /// A service's refusal of a read, as a page error.
    pub fn from_api(lang: Lang, failure: ApiFailure) -> PageError {
        match failure {
            ApiFailure::Refused { status: 403, .. } => PageError::Forbidden(lang),
            ApiFailure::Refused { status: 404, .. } => PageError::NotFound(lang),
            ApiFailure::Refused { status, code, .. } => {
                PageError::Upstream(lang, format!("refused {status} {code}"))
            }
            ApiFailure::Unavailable(error) => PageError::Upstream(lang, format!("{error:#}")),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    c: Chrome,
    heading: &'static str,
    text: &'static str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (lang, status, code, cause) = match &self {
            PageError::SignIn(_, path) => {
                let target = format!("/signin?next={}", encode_path(path));
                return Redirect::to(&target).into_response();
            }
            PageError::Forbidden(l) => (*l, StatusCode::FORBIDDEN, "forbidden_page", None),
            PageError::NotFound(l) => (*l, StatusCode::NOT_FOUND, "not_found", None),
            PageError::BadForm(l) => (*l, StatusCode::FORBIDDEN, "invalid_csrf_token", None),
            PageError::Upstream(l, cause) => (
                *l,
                StatusCode::BAD_GATEWAY,
                "upstream_unavailable",
                Some(cause.clone()),
            ),
            PageError::Internal(l, cause) => (
                *l,
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                Some(cause.clone()),
            ),
        };
        let t = lang.t();
        let (heading, text) = match self {
            PageError::Forbidden(_) => (t.forbidden_title, t.forbidden_text),
            PageError::NotFound(_) => (t.not_found_title, t.not_found_text),
            PageError::BadForm(_) => (t.bad_form_title, t.bad_form_text),
            PageError::Upstream(..) => (t.upstream_title, t.upstream_text),
            _ => (t.error_title, t.error_text),
        };
        let page = ErrorPage {
            c: Chrome::anonymous(lang, heading),
            heading,
            text,
        };
        let body = page.render().unwrap_or_else(|_| heading.to_string());
        let mut response =
            (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response();
        response.extensions_mut().insert(ProblemCode(code));
        if let Some(cause) = cause {
            response.extensions_mut().insert(ErrorCause(cause));
        }
        response
    }
}

/// A path as a query value (only our own paths come here; keeps `/` readable).
fn encode_path(path: &str) -> String {
    form_urlencoded::byte_serialize(path.as_bytes()).collect()
}
