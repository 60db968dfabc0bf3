//! The endpoints operators and orchestrators call on every service: liveness, readiness,
//! Prometheus metrics and the OpenAPI document; plus the HTTP metrics middleware.

use super::error::ApiError;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics::Label;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How long `/readyz` waits for the probe. An orchestrator's own probe timeout is usually a
/// few seconds; answering "not ready" before it gives up tells the operator which dependency.
const READY_TIMEOUT: Duration = Duration::from_secs(3);

/// Histogram buckets for every `*_seconds` metric. Buckets, not summaries, so figures from
/// several replicas add up in Prometheus; fine below 100 ms, where the latency budget is.
const SECONDS_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How often [`keep_metrics_bounded`] folds histogram samples into buckets.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// What `/readyz` and `/metrics` ask of the service.
pub trait Probe: Clone + Send + Sync + 'static {
    /// `Ok` when the service can work: its database and NATS answer. The error names the
    /// dependency in a few words ("database unreachable") and nothing more: callers of
    /// `/readyz` see it.
    fn ready(&self) -> impl Future<Output = Result<(), String>> + Send;

    /// Extra Prometheus text exposition, read at scrape time (gauges such as outbox unsent).
    /// Appended after the process-wide recorder's output.
    fn metrics(&self) -> impl Future<Output = String> + Send;
}

struct Ops<P> {
    probe: P,
    openapi: utoipa::openapi::OpenApi,
    metrics: PrometheusHandle,
}

/// `GET /healthz`, `GET /readyz`, `GET /metrics` and `GET /api-docs/openapi.json`. None needs
/// a token: orchestrators and scrapers call them, and they reveal nothing about cases.
pub fn ops_router<P: Probe>(probe: P, openapi: utoipa::openapi::OpenApi) -> Router {
    let ops = Arc::new(Ops {
        probe,
        openapi,
        metrics: metrics_handle(),
    });
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz::<P>))
        .route("/metrics", get(metrics_text::<P>))
        .route("/api-docs/openapi.json", get(openapi_doc::<P>))
        .with_state(ops)
}

/// Alive: the process answers. Says nothing about dependencies, so an orchestrator does not
/// restart a healthy process because the database is down. The process id tells whoever
/// started the process that the answer is its own, not from another process that holds
/// the port it was told to listen on.
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok", "pid": std::process::id() }))
}

/// Ready: dependencies answer, so traffic may come. 503 `not_ready` otherwise.
async fn readyz<P: Probe>(
    State(ops): State<Arc<Ops<P>>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    match tokio::time::timeout(READY_TIMEOUT, ops.probe.ready()).await {
        Ok(Ok(())) => Ok(Json(serde_json::json!({ "status": "ready" }))),
        Ok(Err(dependency)) => Err(ApiError::unavailable("not_ready", dependency)),
        Err(_) => Err(ApiError::unavailable(
            "not_ready",
            "the readiness check timed out",
        )),
    }
}

async fn metrics_text<P: Probe>(State(ops): State<Arc<Ops<P>>>) -> Response {
    let mut body = ops.metrics.render();
    if !body.is_empty() && !body.ends_with('\n') {
        body.push('\n');
    }
    body.push_str(&ops.probe.metrics().await);
    let content_type = HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn openapi_doc<P: Probe>(State(ops): State<Arc<Ops<P>>>) -> Response {
    Json(&ops.openapi).into_response()
}

/// The process-wide Prometheus recorder's handle, installing the recorder on first use.
///
/// `metrics` has one global recorder per process, and several services (or tests) may run in
/// one process, so this installs once and hands everyone the same handle.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(install_recorder).clone()
}

fn install_recorder() -> PrometheusHandle {
    let seconds = Matcher::Suffix("_seconds".to_string());
    // Fails only for an empty bucket list, which ours is not; summaries would still work.
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(seconds, &SECONDS_BUCKETS)
        .unwrap_or_else(|_| PrometheusBuilder::new());
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    if metrics::set_global_recorder(recorder).is_err() {
        tracing::warn!("another metrics recorder is installed; /metrics shows only probe figures");
    }
    handle
}

/// Folds histogram samples into their buckets every few seconds, forever. A scrape does this
/// too, but without a scraper (development, tests) samples would pile up without bound.
/// [`super::serve::serve`] runs this while the server runs.
pub(crate) async fn keep_metrics_bounded() {
    let handle = metrics_handle();
    let mut every = tokio::time::interval(UPKEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        every.tick().await;
        handle.run_upkeep();
    }
}

/// The service name for HTTP metrics, put in the request extensions by
/// [`super::serve::layered`]. In the all-in-one runner several services share one recorder.
#[derive(Debug, Clone, Copy)]
pub struct ServiceName(pub &'static str);

/// Middleware counting requests (`http_requests_total`) and timing them until the response
/// head is ready (`http_request_duration_seconds`), labelled by method, route template and
/// status. The route is axum's `MatchedPath` (`/api/v1/cases/{id}`), never the raw path: raw
/// paths carry ids and would make one series per case.
pub async fn track_http(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let service = req.extensions().get::<ServiceName>().copied();

    let response = next.run(req).await;

    let mut labels = Vec::with_capacity(4);
    if let Some(ServiceName(service)) = service {
        labels.push(Label::new("service", service));
    }
    labels.push(Label::new("method", method));
    labels.push(Label::new("route", route));
    labels.push(Label::new("status", response.status().as_u16().to_string()));
    metrics::counter!("http_requests_total", labels.clone()).increment(1);
    metrics::histogram!("http_request_duration_seconds", labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Standard methods by name; anything else as `OTHER`, so a client cannot mint series.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    KNOWN
        .iter()
        .find(|known| *known == method)
        .map_or("OTHER", |known| known.as_str())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use axum::body::{to_bytes, Body};
    use axum::http::StatusCode;
    use tower::ServiceExt;

    #[derive(Clone)]
    struct FixedProbe {
        ready: Result<(), String>,
    }

    impl Probe for FixedProbe {
        async fn ready(&self) -> Result<(), String> {
            self.ready.clone()
        }

        async fn metrics(&self) -> String {
            "# TYPE clearline_outbox_unsent gauge\nclearline_outbox_unsent 3\n".to_string()
        }
    }

    fn doc() -> utoipa::openapi::OpenApi {
        utoipa::openapi::OpenApiBuilder::new()
            .info(utoipa::openapi::Info::new("test", "1"))
            .build()
    }

    async fn get(router: Router, uri: &str) -> (StatusCode, String, String) {
        let response = router
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = to_bytes(response.into_body(), 1 << 22).await.unwrap();
        (
            status,
            content_type,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    fn router(ready: Result<(), String>) -> Router {
        ops_router(FixedProbe { ready }, doc())
    }

    #[tokio::test]
    async fn healthz_is_ok() {
        let (status, _, body) = get(router(Ok(())), "/healthz").await;
        assert_eq!(status, StatusCode::OK);
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["status"], "ok");
        assert_eq!(body["pid"], std::process::id());
    }

    #[tokio::test]
    async fn readyz_names_the_missing_dependency() {
        let (status, _, _) = get(router(Ok(())), "/readyz").await;
        assert_eq!(status, StatusCode::OK);

        let down = router(Err("database unreachable".to_string()));
        let (status, content_type, body) = get(down, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(content_type, "application/problem+json");
        let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(problem["code"], "not_ready");
        assert_eq!(problem["detail"], "database unreachable");
    }

    #[tokio::test]
    async fn metrics_count_requests_by_route_template() {
        let app = Router::new()
            .route("/cases/{id}", axum::routing::get(|| async { "case" }))
            .layer(axum::middleware::from_fn(track_http))
            .layer(axum::Extension(ServiceName("ops-test")))
            .merge(router(Ok(())));
        let (status, _, _) = get(app.clone(), "/cases/110105194912310021").await;
        assert_eq!(status, StatusCode::OK);

        let (status, content_type, body) = get(app, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("text/plain; version=0.0.4"));
        assert!(
            body.contains(r#"http_requests_total{service="ops-test",method="GET",route="/cases/{id}",status="200"} 1"#),
            "{body}"
        );
        assert!(
            body.contains("http_request_duration_seconds_bucket{"),
            "{body}"
        );
        assert!(!body.contains("110105194912310021"), "{body}");
        assert!(body.ends_with("clearline_outbox_unsent 3\n"), "{body}");
    }

    #[tokio::test]
    async fn serves_the_openapi_document() {
        let (status, content_type, body) = get(router(Ok(())), "/api-docs/openapi.json").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type, "application/json");
        let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(doc["info"]["title"], "test");
    }

    #[test]
    fn metrics_handle_can_be_taken_twice() {
        let first = metrics_handle();
        let second = metrics_handle();
        metrics::counter!("ops_test_twice_total").increment(1);
        assert!(first.render().contains("ops_test_twice_total 1"));
        assert!(second.render().contains("ops_test_twice_total 1"));
    }

    #[test]
    fn unusual_methods_share_one_label() {
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(
            method_label(&Method::from_bytes(b"PURGE").unwrap()),
            "OTHER"
        );
    }
}
