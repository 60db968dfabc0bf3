//! Logs, traces and the trace context that follows a case through NATS.
//!
//! Logs are JSON when `CLEARLINE_LOG_FORMAT=json` (production) and compact text otherwise.
//! Traces go to an OTLP collector when `OTEL_EXPORTER_OTLP_ENDPOINT` is set. The outbox
//! stores the W3C `traceparent` of the request that produced an event and the relay sends it
//! as a NATS header, so a consumer's span joins the same trace.

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{global, Context};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::collections::HashMap;
use std::sync::OnceLock;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The W3C trace context header, as sent on NATS messages.
pub const TRACEPARENT: &str = "traceparent";

static PROVIDER: OnceLock<Option<SdkTracerProvider>> = OnceLock::new();

/// Sets up logging and, when configured, trace export. Safe to call more than once (several
/// services share a process in tests and in `clearline dev`): only the first call counts.
pub fn init(service: &'static str) {
    PROVIDER.get_or_init(|| {
        global::set_text_map_propagator(TraceContextPropagator::new());
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
            EnvFilter::new("info,sqlx=warn,sea_orm=warn,async_nats=warn,h2=warn,tower=warn")
        });
        let json = std::env::var("CLEARLINE_LOG_FORMAT").is_ok_and(|v| v == "json");
        let fmt = if json {
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .boxed()
        } else {
            tracing_subscriber::fmt::layer().compact().boxed()
        };
        let provider = otlp_provider(service);
        let otel = provider
            .as_ref()
            .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(service)));
        // A second subscriber (a test harness already set one) is not an error here.
        let _ = tracing_subscriber::registry()
            .with(filter)
            .with(fmt)
            .with(otel)
            .try_init();
        provider
    });
}

fn otlp_provider(service: &'static str) -> Option<SdkTracerProvider> {
    std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok()?;
    let exporter = match opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .build()
    {
        Ok(exporter) => exporter,
        Err(error) => {
            eprintln!("OpenTelemetry export disabled: {error}");
            return None;
        }
    };
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service)
        .build();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build();
    global::set_tracer_provider(provider.clone());
    Some(provider)
}

/// Flushes spans still buffered; call before the process exits.
pub fn shutdown() {
    if let Some(Some(provider)) = PROVIDER.get() {
        let _ = provider.shutdown();
    }
}

/// The current span's trace context as a `traceparent` value, if there is a trace.
pub fn current_traceparent() -> Option<String> {
    let cx = tracing::Span::current().context();
    let mut carrier = HashMap::new();
    global::get_text_map_propagator(|p| p.inject_context(&cx, &mut MapInjector(&mut carrier)));
    carrier.remove(TRACEPARENT)
}

/// Makes `span` a child of the trace carried in a NATS message's headers.
pub fn adopt_parent(span: &tracing::Span, headers: Option<&async_nats::HeaderMap>) {
    let Some(headers) = headers else { return };
    let cx: Context = global::get_text_map_propagator(|p| p.extract(&NatsExtractor(headers)));
    span.set_parent(cx);
}

struct MapInjector<'a>(&'a mut HashMap<String, String>);

impl Injector for MapInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_string(), value);
    }
}

struct NatsExtractor<'a>(&'a async_nats::HeaderMap);

impl Extractor for NatsExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|v| v.as_str())
    }
    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT, "tracestate"]
    }
}
