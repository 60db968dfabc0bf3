//! Who is looking at a page: their session, language and CSRF token; and the rules that
//! guard pages (sign-in, roles) and forms (the CSRF token).
//!
//! - The session cookie holds a random token; only its hash is stored. It is `HttpOnly`,
//!   `SameSite=Lax`, and over TLS `Secure` with the `__Host-` prefix (bound to this host,
//!   path `/`). Sign-in always makes a fresh token.
//! - A session ends after an idle period, after an absolute period, at sign-out, and when an
//!   admin disables the user.
//! - Every form carries a CSRF token: the session's own once signed in; before sign-in a
//!   random value also held in a cookie (double submit), so even the sign-in form cannot be
//!   posted from another site.

use crate::i18n::{Lang, LANG_COOKIE};
use crate::pages::errors::PageError;
use crate::users::store::{self, SessionRow, User};
use crate::AppState;
use axum::extract::{FromRequestParts, Request};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{Duration, Utc};
use clearline_platform::http::{JwtKeys, Role};

/// The cookie holding the pre-sign-in CSRF value.
const CSRF_COOKIE: &str = "clearline_csrf";
/// The form field every form sends its token in.
pub const CSRF_FIELD: &str = "_csrf";
/// Seen-at updates are written at most this often, to keep writes off the hot path.
const TOUCH_EVERY_SECONDS: i64 = 60;

/// Cookie and timeout settings.
#[derive(Debug, Clone, Copy)]
pub struct CookiePolicy {
    pub tls: bool,
    pub idle: Duration,
    pub absolute: Duration,
}

impl CookiePolicy {
    pub fn new(tls: bool, idle: Duration, absolute: Duration) -> Self {
        CookiePolicy {
            tls,
            idle,
            absolute,
        }
    }

    pub fn session_cookie(&self) -> &'static str {
        if self.tls {
            "__Host-clearline_session"
        } else {
            "clearline_session"
        }
    }

    fn attributes(&self) -> &'static str {
        if self.tls {
            "Path=/; HttpOnly; SameSite=Lax; Secure"
        } else {
            "Path=/; HttpOnly; SameSite=Lax"
        }
    }

    pub fn set_session(&self, token: &str) -> String {
        format!(
            "{}={token}; {}; Max-Age={}",
            self.session_cookie(),
            self.attributes(),
            self.absolute.num_seconds()
        )
    }

    pub fn clear_session(&self) -> String {
        format!(
            "{}=; {}; Max-Age=0",
            self.session_cookie(),
            self.attributes()
        )
    }

    pub fn set_lang(&self, lang: Lang) -> String {
        let code = if lang.is_zh() { "zh" } else { "en" };
        format!(
            "{LANG_COOKIE}={code}; {}; Max-Age=31536000",
            self.attributes()
        )
    }

    fn set_csrf(&self, value: &str) -> String {
        format!("{CSRF_COOKIE}={value}; {}", self.attributes())
    }
}

/// The value of cookie `name` in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The pre-sign-in CSRF value this request carries or was just given.
#[derive(Clone)]
struct PreSessionCsrf(String);

/// Middleware: makes sure every browser has a pre-sign-in CSRF cookie.
pub async fn ensure_csrf_cookie(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let existing = cookie(req.headers(), CSRF_COOKIE)
        .filter(|v| v.len() == 64)
        .map(str::to_string);
    let (value, fresh) = match existing {
        Some(v) => (v, false),
        None => (store::random_token(), true),
    };
    req.extensions_mut().insert(PreSessionCsrf(value.clone()));
    let mut response = next.run(req).await;
    if fresh {
        if let Ok(header) = HeaderValue::from_str(&state.cookies.set_csrf(&value)) {
            response.headers_mut().append(SET_COOKIE, header);
        }
    }
    response
}

/// The person looking at the page, signed in or not.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub lang: Lang,
    pub user: Option<User>,
    session: Option<SessionRow>,
    pre_csrf: String,
    /// The request's path, to come back to after sign-in.
    pub path: String,
    /// A session cookie came with the request but its session is over.
    pub expired: bool,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let lang = Lang::from_request(cookie(&parts.headers, LANG_COOKIE), &parts.headers);
        let pre_csrf = parts
            .extensions
            .get::<PreSessionCsrf>()
            .map(|c| c.0.clone())
            .unwrap_or_default();
        let mut viewer = Viewer {
            lang,
            user: None,
            session: None,
            pre_csrf,
            path: parts.uri.path().to_string(),
            expired: false,
        };
        let Some(token) = cookie(&parts.headers, state.cookies.session_cookie()) else {
            return Ok(viewer);
        };
        if token.is_empty() {
            return Ok(viewer);
        }
        let db = &state.db;
        let now = Utc::now();
        let found = store::find_session(db, token)
            .await
            .map_err(|e| PageError::internal(lang, e))?;
        let Some(session) = found else {
            viewer.expired = true;
            return Ok(viewer);
        };
        let user = store::find(db, &session.user_id)
            .await
            .map_err(|e| PageError::internal(lang, e))?;
        let live = user.filter(|u| !u.disabled).filter(|_| {
            now - session.last_seen_at < state.cookies.idle
                && now - session.created_at < state.cookies.absolute
        });
        let Some(user) = live else {
            store::end_session(db, &session.token_hash)
                .await
                .map_err(|e| PageError::internal(lang, e))?;
            viewer.expired = true;
            return Ok(viewer);
        };
        if (now - session.last_seen_at).num_seconds() >= TOUCH_EVERY_SECONDS {
            store::touch_session(db, &session.token_hash, now)
                .await
                .map_err(|e| PageError::internal(lang, e))?;
        }
        tracing::Span::current().record("user_id", user.id.as_str());
        viewer.user = Some(user);
        viewer.session = Some(session);
        Ok(viewer)
    }
}

impl Viewer {
    /// The token every form of this page carries.
    pub fn csrf(&self) -> &str {
        match &self.session {
            Some(session) => &session.csrf_token,
            None => &self.pre_csrf,
        }
    }

    /// The signed-in user, or a redirect to the sign-in page.
    pub fn signed_in(&self) -> Result<&User, PageError> {
        self.user
            .as_ref()
            .ok_or_else(|| PageError::SignIn(self.lang, self.path.clone()))
    }

    /// The signed-in user when they hold one of `roles`; 403 otherwise.
    pub fn require(&self, roles: &[Role]) -> Result<&User, PageError> {
        let user = self.signed_in()?;
        if user.has_any(roles) {
            Ok(user)
        } else {
            Err(PageError::Forbidden(self.lang))
        }
    }

    /// Refuses a form whose token is missing or not this viewer's. Checked before anything
    /// is read or written for the form.
    pub fn check_csrf(&self, sent: &str) -> Result<(), PageError> {
        let expected = self.csrf();
        if !expected.is_empty() && constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
            Ok(())
        } else {
            Err(PageError::BadForm(self.lang))
        }
    }

    /// The session's hash, for sign-out.
    pub fn session_hash(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.token_hash.as_str())
    }

    /// A short-lived bearer token for calling the services as this user.
    pub fn bearer(&self, keys: &JwtKeys) -> Result<String, PageError> {
        let user = self.signed_in()?;
        Ok(keys.issue(
            &user.id,
            &user.name,
            &user.roles,
            user.unit.as_deref(),
            Duration::minutes(5),
        ))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
