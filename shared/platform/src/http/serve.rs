//! The layers every service's router gets, and serving it until shutdown.

use super::error::log_errors;
use super::ops::{keep_metrics_bounded, metrics_handle, track_http, ServiceName};
use axum::extract::{MatchedPath, Request};
use axum::middleware::from_fn;
use axum::response::Response;
use axum::{Extension, Router};
use std::future::IntoFuture;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::field::Empty;
use tracing::Span;

/// How long open requests may finish after shutdown is signalled before the server drops
/// them. Shorter than Kubernetes' default 30 s grace period, so the rest of shutdown (relay's
/// last pass, consumer acks) still fits.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// Wraps a service's full router (API and [`super::ops_router`]) in the common layers, from
/// the outside in:
///
/// 1. `x-request-id`: kept from the client or made up (UUID), and echoed in the response;
/// 2. a request span `http` with the service, method, route template, request id, and, once
///    known, status and user id; never the raw path, query string or body (they carry ids
///    and personal data);
/// 3. [`log_errors`]: one log line per error response, inside that span;
/// 4. [`track_http`]: request count and latency.
///
/// Call it last: routes added after it do not get the layers.
pub fn layered(router: Router, service: &'static str) -> Router {
    // The recorder must exist before the first request, or its figures go nowhere.
    metrics_handle();
    let trace = TraceLayer::new_for_http()
        .make_span_with(move |req: &Request| request_span(req, service))
        .on_request(())
        .on_response(|response: &Response, latency: Duration, span: &Span| {
            span.record("status", response.status().as_u16());
            tracing::debug!(latency_ms = latency.as_millis(), "responded");
        })
        // Error responses are logged by `log_errors`, once, with their cause.
        .on_failure(());
    router
        .layer(from_fn(track_http))
        .layer(from_fn(log_errors))
        .layer(trace)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(Extension(ServiceName(service)))
}

fn request_span(req: &Request, service: &'static str) -> Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let span = tracing::info_span!(
        "http",
        service,
        method = %req.method(),
        route,
        status = Empty,
        user_id = Empty,
        request_id = Empty,
        otel.kind = "server",
    );
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        // A client's id longer than this is not an id we want in every log line.
        .filter(|id| id.len() <= 128);
    if let Some(id) = request_id {
        span.record("request_id", id);
    }
    span
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then lets open requests
/// finish for up to 10 seconds. The caller owns the token, so tests and the runner decide when
/// to stop. While serving, it also keeps the metrics recorder's memory bounded.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let server = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .into_future();
    let drain_limit = async {
        shutdown.cancelled().await;
        tokio::time::sleep(DRAIN_LIMIT).await;
    };
    tokio::select! {
        served = server => served,
        () = drain_limit => {
            tracing::warn!(limit_secs = DRAIN_LIMIT.as_secs(), "requests still open at shutdown; dropping them");
            Ok(())
        }
        () = keep_metrics_bounded() => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::http::{ApiError, AuthUser, JwtKeys, Role};
    use axum::body::Body;
    use axum::http::header::AUTHORIZATION;
    use axum::http::StatusCode;
    use axum::routing::get;
    use std::sync::{Arc, Mutex};
    use tower::ServiceExt;

    const ID: &str = "110105194912310021";

    /// Collects formatted log lines for one test.
    #[derive(Clone, Default)]
    struct Logs(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Logs {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Logs {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    async fn fail(_user: AuthUser) -> Result<&'static str, ApiError> {
        Err(ApiError::internal(anyhow::anyhow!("disk on fire")))
    }

    fn app() -> Router {
        let keys = Arc::new(JwtKeys::from_secret("serve-test-secret"));
        let router = Router::new()
            .route("/cases/{id}", get(fail))
            .route("/ok", get(|| async { "ok" }))
            .with_state(keys);
        layered(router, "serve-test")
    }

    fn token() -> String {
        JwtKeys::from_secret("serve-test-secret").issue(
            "clerk7",
            "王窗口 Wang",
            &[Role::Clerk],
            Some("HP01"),
            chrono::Duration::hours(1),
        )
    }

    #[tokio::test]
    async fn errors_are_logged_once_in_the_request_span_without_personal_data() {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let request = Request::get(format!("/cases/{ID}?phone=13800138000"))
            .header(AUTHORIZATION, format!("Bearer {}", token()))
            .body(Body::empty())
            .unwrap();
        let response = app().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);

        let text = logs.text();
        assert_eq!(text.matches("disk on fire").count(), 1, "{text}");
        assert!(text.contains(r#"route="/cases/{id}""#), "{text}");
        assert!(text.contains("clerk7"), "{text}");
        assert!(text.contains("code=\"internal_error\""), "{text}");
        for personal in [ID, "13800138000", "Wang"] {
            assert!(!text.contains(personal), "{personal} in {text}");
        }
    }

    #[tokio::test]
    async fn request_ids_are_made_or_kept_and_echoed() {
        let response = app()
            .oneshot(Request::get("/ok").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().contains_key("x-request-id"));

        let response = app()
            .oneshot(
                Request::get("/ok")
                    .header("x-request-id", "abc-123")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.headers()["x-request-id"], "abc-123");
    }

    #[tokio::test]
    async fn missing_token_is_401_through_the_layers() {
        let response = app()
            .oneshot(Request::get("/cases/1").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn serve_stops_when_the_token_is_cancelled() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(serve(listener, app(), shutdown.clone()));
        shutdown.cancel();
        let served = tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("serve returned after cancel")
            .unwrap();
        assert!(served.is_ok());
    }
}
