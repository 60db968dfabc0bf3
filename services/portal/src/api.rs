//! The services' JSON APIs, called as the signed-in user (a short-lived token the portal
//! mints with the shared secret). The portal reads no other service's tables.

pub mod dto;

use crate::Config;
use clearline_domain::Catalog;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

/// How long the catalog is kept before it is read again (administrators edit it rarely).
const CATALOG_TTL: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Intake,
    Approval,
    Fulfilment,
    Backlog,
}

impl Service {
    pub const ALL: [Service; 4] = [
        Service::Intake,
        Service::Approval,
        Service::Fulfilment,
        Service::Backlog,
    ];

    pub fn parse(name: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Service::Intake => "intake",
            Service::Approval => "approval",
            Service::Fulfilment => "fulfilment",
            Service::Backlog => "backlog",
        }
    }
}

/// Why a call did not give what was asked.
#[derive(Debug)]
pub enum ApiFailure {
    /// The service answered with a problem: its status, stable code and invalid fields.
    Refused {
        status: u16,
        code: String,
        fields: Vec<(String, String)>,
    },
    /// The service could not be reached or answered something unreadable.
    Unavailable(anyhow::Error),
}

impl ApiFailure {
    pub fn code(&self) -> &str {
        match self {
            ApiFailure::Refused { code, .. } => code,
            ApiFailure::Unavailable(_) => "unavailable",
        }
    }
}

#[derive(Clone)]
pub struct Services {
    http: reqwest::Client,
    urls: [String; 4],
    catalog: Arc<RwLock<Option<CachedCatalog>>>,
}

/// The catalog and when it was read.
type CachedCatalog = (Instant, Arc<Catalog>);

impl Services {
    pub fn new(config: &Config) -> anyhow::Result<Services> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(16)
            .build()?;
        let trim = |u: &str| u.trim_end_matches('/').to_string();
        Ok(Services {
            http,
            urls: [
                trim(&config.services.intake_url),
                trim(&config.services.approval_url),
                trim(&config.services.fulfilment_url),
                trim(&config.services.backlog_url),
            ],
            catalog: Arc::new(RwLock::new(None)),
        })
    }

    pub fn url(&self, service: Service) -> &str {
        &self.urls[service as usize]
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        token: &str,
        service: Service,
        path: &str,
    ) -> Result<T, ApiFailure> {
        let request = self
            .http
            .get(format!("{}{path}", self.url(service)))
            .bearer_auth(token);
        read(request).await
    }

    /// POSTs JSON; `key` becomes the `Idempotency-Key`, so a resubmitted form does not
    /// create a second case.
    pub async fn post<B: Serialize>(
        &self,
        token: &str,
        service: Service,
        path: &str,
        body: &B,
        key: Option<&str>,
    ) -> Result<Value, ApiFailure> {
        let mut request = self
            .http
            .post(format!("{}{path}", self.url(service)))
            .bearer_auth(token)
            .json(body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        read(request).await
    }

    /// PUTs JSON (a reason that replaces an earlier one).
    pub async fn put<B: Serialize>(
        &self,
        token: &str,
        service: Service,
        path: &str,
        body: &B,
    ) -> Result<Value, ApiFailure> {
        let request = self
            .http
            .put(format!("{}{path}", self.url(service)))
            .bearer_auth(token)
            .json(body);
        read(request).await
    }

    /// A document that is not JSON (a CSV export): its bytes and content type.
    pub async fn get_document(
        &self,
        token: &str,
        service: Service,
        path: &str,
    ) -> Result<(String, axum::body::Bytes), ApiFailure> {
        let response = self
            .http
            .get(format!("{}{path}", self.url(service)))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| ApiFailure::Unavailable(e.into()))?;
        if !response.status().is_success() {
            return Err(refusal(response).await);
        }
        let kind = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_string();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ApiFailure::Unavailable(e.into()))?;
        Ok((kind, bytes))
    }

    /// The public service catalog, cached for a few minutes.
    pub async fn catalog(&self) -> Result<Arc<Catalog>, ApiFailure> {
        if let Some((at, catalog)) = self.catalog.read().await.as_ref() {
            if at.elapsed() < CATALOG_TTL {
                return Ok(catalog.clone());
            }
        }
        let request = self
            .http
            .get(format!("{}/api/v1/catalog", self.url(Service::Intake)));
        let catalog: Arc<Catalog> = Arc::new(read(request).await?);
        *self.catalog.write().await = Some((Instant::now(), catalog.clone()));
        Ok(catalog)
    }

    /// A service's Prometheus text (`/metrics` needs no token).
    pub async fn metrics(&self, service: Service) -> Result<String, ApiFailure> {
        let response = self
            .http
            .get(format!("{}/metrics", self.url(service)))
            .send()
            .await
            .map_err(|e| ApiFailure::Unavailable(e.into()))?;
        response
            .text()
            .await
            .map_err(|e| ApiFailure::Unavailable(e.into()))
    }
}

async fn read<T: DeserializeOwned>(request: reqwest::RequestBuilder) -> Result<T, ApiFailure> {
    let response = request
        .send()
        .await
        .map_err(|e| ApiFailure::Unavailable(e.into()))?;
    if !response.status().is_success() {
        return Err(refusal(response).await);
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|e| ApiFailure::Unavailable(e.into()))?;
    serde_json::from_slice(&bytes).map_err(|e| ApiFailure::Unavailable(e.into()))
}

/// A failed answer as a failure: a problem's code and fields, or "unavailable" for a 5xx.
async fn refusal(response: reqwest::Response) -> ApiFailure {
    let status = response.status();
    let bytes = match response.bytes().await {
        Ok(bytes) => bytes,
        Err(e) => return ApiFailure::Unavailable(e.into()),
    };
    if status.is_server_error() {
        return ApiFailure::Unavailable(anyhow::anyhow!("the service answered {status}"));
    }
    let problem: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let fields = problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or_default().to_string(),
                        e["code"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    ApiFailure::Refused {
        status: status.as_u16(),
        code: problem["code"].as_str().unwrap_or("refused").to_string(),
        fields,
    }
}

/// The value of a gauge in Prometheus text, summed over its series.
pub fn gauge(text: &str, name: &str) -> Option<f64> {
    let mut found = None;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        if !(rest.starts_with('{') || rest.starts_with(' ')) {
            continue;
        }
        if let Some(value) = rest.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) {
            found = Some(found.unwrap_or(0.0) + value);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    #[test]
    fn gauges_sum_their_series_and_skip_longer_names() {
        let text = "# TYPE clearline_outbox_unsent gauge\nclearline_outbox_unsent{service=\"intake\"} 3\nclearline_outbox_unsent_total 9\nclearline_dead_letters{service=\"x\"} 0\n";
        assert_eq!(super::gauge(text, "clearline_outbox_unsent"), Some(3.0));
        assert_eq!(super::gauge(text, "clearline_dead_letters"), Some(0.0));
        assert_eq!(super::gauge(text, "clearline_consumer_pending"), None);
    }
}
