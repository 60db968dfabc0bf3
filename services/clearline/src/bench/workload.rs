//! The load: workers that each carry one case at a time from the window to hand-over, and a
//! look, afterwards, at how long each sampled case took to reach the backlog.

use super::BenchArgs;
use clearline_platform::http::{JwtKeys, Role};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

pub struct Outcome {
    pub closed: usize,
    pub failed: usize,
    pub visible_latencies_ms: Vec<f64>,
}

struct Client {
    http: reqwest::Client,
    base: [String; 4],
    clerk: String,
    approver: String,
    officer: String,
    supervisor: String,
}

impl Client {
    async fn call(
        &self,
        service: usize,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base[service]))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    async fn post(
        &self,
        service: usize,
        token: &str,
        path: &str,
        body: Value,
    ) -> anyhow::Result<Value> {
        let (status, body) = self
            .call(service, token, reqwest::Method::POST, path, Some(body))
            .await?;
        anyhow::ensure!(
            (200..300).contains(&status),
            "POST {path} answered {status}: {body}"
        );
        Ok(body)
    }

    /// Retries a step while the task it needs has not arrived yet (404 or 409), every 25 ms:
    /// about as often as a busy screen refreshes, and rarely enough not to load the services
    /// the benchmark measures.
    async fn post_when_ready(
        &self,
        service: usize,
        token: &str,
        path: &str,
        body: Value,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (status, reply) = self
                .call(
                    service,
                    token,
                    reqwest::Method::POST,
                    path,
                    Some(body.clone()),
                )
                .await?;
            match status {
                200..=299 => return Ok(()),
                404 | 409 if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(25)).await
                }
                _ => anyhow::bail!("POST {path} answered {status}: {reply}"),
            }
        }
    }
}

pub async fn drive(args: &BenchArgs) -> anyhow::Result<Outcome> {
    let keys = JwtKeys::from_secret(&args.jwt_secret);
    let token = |user: &str, role: Role, unit: Option<&str>| {
        keys.issue(user, user, &[role], unit, chrono::Duration::hours(2))
    };
    let unit = args.unit.as_str();
    let client = Arc::new(Client {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(args.concurrency * 2)
            .build()?,
        base: std::array::from_fn(|i| format!("http://127.0.0.1:{}", args.base_port + i as u16)),
        clerk: token("bench-clerk", Role::Clerk, Some(unit)),
        approver: token("bench-approver", Role::Approver, Some(unit)),
        officer: token("bench-officer", Role::Fulfilment, Some(unit)),
        supervisor: token("bench-supervisor", Role::Supervisor, None),
    });
    let catalog = client
        .call(
            0,
            &client.clerk,
            reqwest::Method::GET,
            "/api/v1/catalog",
            None,
        )
        .await?
        .1;
    let materials: Vec<String> = catalog["services"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["code"] == args.service_type.as_str()))
        .and_then(|s| s["materials"].as_array())
        .map(|m| {
            m.iter()
                .filter_map(|m| m["code"].as_str().map(String::from))
                .collect()
        })
        .ok_or_else(|| {
            anyhow::anyhow!("service type {} is not in the catalog", args.service_type)
        })?;

    let closed_before = closed_in_backlog(&client).await?;
    let (watch_tx, mut watch_rx) = mpsc::unbounded_channel::<String>();
    let next = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let (client, next, closed, failed, watch_tx) = (
            client.clone(),
            next.clone(),
            closed.clone(),
            failed.clone(),
            watch_tx.clone(),
        );
        let (cases, every, service_type, materials) = (
            args.cases,
            args.sample_every.max(1),
            args.service_type.clone(),
            materials.clone(),
        );
        workers.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= cases {
                    return;
                }
                let watch = (n % every == 0).then_some(&watch_tx);
                match one_case(&client, n, &service_type, &materials, watch).await {
                    Ok(()) => closed.fetch_add(1, Ordering::Relaxed),
                    Err(error) => {
                        eprintln!("case {n} failed: {error:#}");
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
        });
    }
    drop(watch_tx);
    while workers.join_next().await.is_some() {}
    // Closed means closed in the backlog too: the run ends when the read model caught up.
    let expected = closed_before + closed.load(Ordering::Relaxed) as u64;
    let deadline = Instant::now() + Duration::from_secs(120);
    while closed_in_backlog(&client).await? < expected {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the backlog did not show every case closed within 2 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut sampled = Vec::new();
    while let Ok(id) = watch_rx.try_recv() {
        sampled.push(id);
    }
    let visible_latencies_ms = projection_lags(&client, &sampled).await;
    Ok(Outcome {
        closed: closed.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        visible_latencies_ms,
    })
}

async fn one_case(
    client: &Client,
    n: usize,
    service_type: &str,
    materials: &[String],
    watch: Option<&mpsc::UnboundedSender<String>>,
) -> anyhow::Result<()> {
    let request = json!({
        "service_type": service_type,
        "window": format!("{}", n % 6 + 1),
        "applicant": { "name": "测试", "id_number": clearline_domain::ResidentId::synthetic(n as u32).as_str(), "phone": "13800138000" },
        "materials": materials,
    });
    let case = client
        .post(0, &client.clerk, "/api/v1/cases", request)
        .await?;
    let id = case["id"].as_str().unwrap_or_default().to_string();
    if let Some(watch) = watch {
        let _ = watch.send(id.clone());
    }
    if case["status"] == "pending_approval" {
        client
            .post_when_ready(
                1,
                &client.approver,
                &format!("/api/v1/approvals/{id}/decision"),
                json!({"decision": "approve"}),
            )
            .await?;
    }
    client
        .post_when_ready(
            2,
            &client.officer,
            &format!("/api/v1/fulfilments/{id}/start"),
            json!({"mode": "counter_pickup"}),
        )
        .await?;
    client
        .post(
            2,
            &client.officer,
            &format!("/api/v1/fulfilments/{id}/fulfil"),
            json!({}),
        )
        .await?;
    client
        .post(
            2,
            &client.officer,
            &format!("/api/v1/fulfilments/{id}/close"),
            json!({}),
        )
        .await?;
    Ok(())
}

/// Closed cases the backlog shows, over all units.
async fn closed_in_backlog(client: &Client) -> anyhow::Result<u64> {
    let (_, view) = client
        .call(
            3,
            &client.supervisor,
            reqwest::Method::GET,
            "/api/v1/backlog",
            None,
        )
        .await?;
    Ok(view["totals"]["by_status"]["closed"].as_u64().unwrap_or(0))
}

/// For each sampled case, how long its `received` event took from intake's commit to the
/// backlog's (`recorded_at - at` in its timeline), in ms. Read after the run, so measuring
/// adds no load while it runs.
async fn projection_lags(client: &Client, cases: &[String]) -> Vec<f64> {
    let mut lags = Vec::with_capacity(cases.len());
    for id in cases {
        let path = format!("/api/v1/cases/{id}");
        let Ok((200, case)) = client
            .call(3, &client.supervisor, reqwest::Method::GET, &path, None)
            .await
        else {
            continue;
        };
        let received = case["timeline"]
            .as_array()
            .and_then(|t| t.iter().find(|e| e["type"] == "received"));
        let at = |field: &str| {
            received
                .and_then(|e| e[field].as_str())
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        };
        if let (Some(at), Some(recorded)) = (at("at"), at("recorded_at")) {
            lags.push((recorded - at).num_microseconds().unwrap_or(0) as f64 / 1000.0);
        }
    }
    lags
}
