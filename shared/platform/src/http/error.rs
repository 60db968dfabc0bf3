//! One error type for every HTTP boundary, answered as `application/problem+json` (RFC 9457).
//!
//! Clients get a stable `code` to match on and a `detail` written for people. Our own failures
//! (5xx from [`ApiError::internal`]) never show their cause: the cause travels to
//! [`log_errors`] in the response extensions and is logged once, inside the request span. This
//! follows axum's own style: `IntoResponse` builds the answer, a middleware does the logging.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where problem `type` URIs live; the code is appended.
const PROBLEM_BASE: &str = "https://clearline.dev/problems/";
const PROBLEM_JSON: &str = "application/problem+json";
const INTERNAL_CODE: &str = "internal_error";
const INTERNAL_DETAIL: &str = "an internal error occurred";

/// An error a handler returns. Build it with the constructor for its status.
///
/// `detail` and field messages are shown to the client and may be logged: they must never
/// contain personal data (ID numbers, names, phones) or internal error text.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    fields: Vec<FieldError>,
    /// The failure behind a 5xx. Logged by [`log_errors`], never sent to the client.
    source: Option<anyhow::Error>,
}

/// One invalid field in a request: `field` is a path such as `applicant.phone`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// The body of every error response (RFC 9457 plus our `code` and `errors`). Public so
/// services can name it in their OpenAPI documents and tests can read it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// `https://clearline.dev/problems/<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status's reason phrase.
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable, machine-readable; clients match on this, not on `detail`.
    pub code: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// The cause chain (`{:#}`) of a 5xx, left in the response extensions for [`log_errors`].
#[derive(Debug, Clone)]
pub struct ErrorCause(pub String);

/// The problem `code` of an error response, left in the response extensions for
/// [`log_errors`] and anything else that wants to count errors by code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemCode(pub &'static str);

impl ApiError {
    /// Any status; the named constructors below are the usual way in.
    pub(crate) fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail: detail.into(),
            fields: Vec::new(),
            source: None,
        }
    }

    /// 400: the request cannot be understood (bad query, bad header).
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 401: no usable credentials.
    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, detail)
    }

    /// 403: known user, not allowed to do this.
    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, detail)
    }

    /// 404: no such resource (or one the user may not know about).
    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, detail)
    }

    /// 409: the resource's current state does not allow this.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// 422: well-formed, but the values break a rule; add [`ApiError::with_field`]s.
    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    /// 500: our fault. The client sees only `internal_error`; `err` is logged.
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        ApiError {
            source: Some(err.into()),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                INTERNAL_CODE,
                INTERNAL_DETAIL,
            )
        }
    }

    /// 503: a dependency is down; retrying later may work.
    pub fn unavailable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, detail)
    }

    /// Names one invalid field. `message` is shown to the client: no personal data.
    pub fn with_field(mut self, field: &str, code: &str, message: &str) -> Self {
        self.fields.push(FieldError {
            field: field.to_string(),
            code: code.to_string(),
            message: message.to_string(),
        });
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The body this error answers with.
    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("{PROBLEM_BASE}{}", self.code),
            title: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_string(),
            errors: self.fields.clone(),
        }
    }
}

impl fmt::Display for ApiError {
    /// What a client would see; the cause is only reachable through `source()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let source: &(dyn std::error::Error + 'static) = self.source.as_ref()?.as_ref();
        Some(source)
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        ApiError::internal(err)
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        ApiError::internal(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Serialising plain strings and numbers cannot fail; answer anyway, without a body.
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 9110 asks a 401 to name the scheme that would work.
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response.extensions_mut().insert(ProblemCode(self.code));
        if let Some(source) = &self.source {
            response
                .extensions_mut()
                .insert(ErrorCause(format!("{source:#}")));
        }
        response
    }
}

/// Middleware (`axum::middleware::from_fn`) that logs each error response once, inside the
/// request span: 5xx at error level with the cause, 4xx at info level with the code only
/// (the client's mistake is not our incident). Nothing from the request is logged.
pub async fn log_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let code = response
        .extensions()
        .get::<ProblemCode>()
        .map_or("none", |c| c.0);
    let status = status.as_u16();
    if response.status().is_server_error() {
        let cause = response
            .extensions()
            .get::<ErrorCause>()
            .map_or("none recorded", |c| c.0.as_str());
        tracing::error!(cause = %cause, code, status, "request failed");
    } else {
        tracing::info!(code, status, "request rejected");
    }
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use axum::body::{to_bytes, Body};
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    async fn body_json(response: Response) -> serde_json::Value {
        let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn answers_problem_json_with_code_and_fields() {
        let error = ApiError::unprocessable("invalid_phone", "the request has invalid fields")
            .with_field(
                "applicant.phone",
                "invalid_phone",
                "11 digits starting with 1",
            );
        let response = error.into_response();

        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        assert_eq!(
            response.extensions().get::<ProblemCode>(),
            Some(&ProblemCode("invalid_phone"))
        );
        assert_eq!(
            body_json(response).await,
            serde_json::json!({
                "type": "https://clearline.dev/problems/invalid_phone",
                "title": "Unprocessable Entity",
                "status": 422,
                "detail": "the request has invalid fields",
                "code": "invalid_phone",
                "errors": [{
                    "field": "applicant.phone",
                    "code": "invalid_phone",
                    "message": "11 digits starting with 1"
                }]
            })
        );
    }

    #[tokio::test]
    async fn omits_errors_when_there_are_none() {
        let body =
            body_json(ApiError::not_found("case_not_found", "no such case").into_response()).await;
        assert_eq!(body["status"], 404);
        assert_eq!(body["title"], "Not Found");
        assert!(body.get("errors").is_none());
    }

    #[tokio::test]
    async fn internal_error_hides_its_cause_from_the_client() {
        let cause = anyhow::anyhow!("password authentication failed for user \"clearline\"")
            .context("connecting to the database");
        let response = ApiError::internal(cause).into_response();

        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.extensions().get::<ErrorCause>().unwrap().0,
            "connecting to the database: password authentication failed for user \"clearline\""
        );
        let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(!text.contains("password"), "{text}");
        assert!(!text.contains("database"), "{text}");
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(body["code"], "internal_error");
        assert_eq!(body["detail"], "an internal error occurred");
    }

    #[tokio::test]
    async fn database_errors_become_internal() {
        let error: ApiError = sea_orm::DbErr::Custom("relation \"cases\" missing".into()).into();
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(error.code(), "internal_error");
        assert!(!error.to_string().contains("cases"));
    }

    #[tokio::test]
    async fn unauthorized_names_the_bearer_scheme() {
        let response =
            ApiError::unauthorized("missing_token", "a bearer token is required").into_response();
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }

    #[tokio::test]
    async fn log_errors_passes_the_response_through() {
        async fn fails() -> ApiError {
            ApiError::internal(anyhow::anyhow!("boom"))
        }
        let app = Router::new()
            .route("/", get(fails))
            .layer(axum::middleware::from_fn(log_errors));
        let response = app
            .oneshot(Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body_json(response).await["code"], "internal_error");
    }
}
