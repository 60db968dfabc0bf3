//! The portal's render benchmark (`clearline bench-portal`): fills a running system with
//! open cases by publishing their events to the stream (as intake would), waits until the
//! backlog and approval have applied them all, then times each page as a signed-in user
//! sees it. A page's time is the whole server-side answer: the portal's calls to the
//! services, the template and the response, measured over loopback.

use crate::api::gauge;
use chrono::{DateTime, Duration as Days, Utc};
use clearline_contracts::v1::{Received, Submitted};
use clearline_contracts::{subjects, Actor, CaseFacts, EventDraft, Payload};
use clearline_platform::http::{JwtKeys, Role};
use prost::Message;
use rand::Rng;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Units the seeded cases are spread over (the demo users work at HP01).
pub const UNITS: [&str; 8] = [
    "HP01", "HP02", "HP03", "HP04", "HP05", "HP06", "HP07", "HP08",
];
/// Seeded cases go through approval, so the approver's queue is as long as it gets.
const SERVICE_TYPE: &str = "resident_id_card_first";

/// Publishes `received` and `submitted` for `count` cases received over the last 40 days,
/// pipelined in batches (each batch's acks awaited together).
pub async fn seed_open_cases(
    js: &async_nats::jetstream::Context,
    count: usize,
) -> anyhow::Result<()> {
    let actor = Actor {
        id: "bench-clerk".into(),
        role: "clerk".into(),
    };
    let now = Utc::now();
    let mut rng = rand::thread_rng();
    let mut pending = Vec::with_capacity(1000);
    for n in 0..count {
        let unit = UNITS[n % UNITS.len()];
        let case_id = Uuid::now_v7();
        let case_number = format!("{unit}-BENCH-{n:06}");
        let facts = CaseFacts {
            case_id,
            case_number: &case_number,
            service_type: SERVICE_TYPE,
            unit,
        };
        let at: DateTime<Utc> = now - Days::minutes(rng.gen_range(0..40 * 24 * 60));
        let due = (at + Days::days(28)).timestamp_millis();
        let received = EventDraft::new(
            facts,
            &actor,
            None,
            1,
            Payload::Received(Received {
                window: "1".into(),
                channel: "window".into(),
                due_at_ms: due,
                approval_required: true,
                missing_materials: vec![],
                applicant_id_masked: "110***********002X".into(),
            }),
        )
        .build(at);
        let submitted = EventDraft::new(
            facts,
            &actor,
            None,
            2,
            Payload::Submitted(Submitted {
                approval_required: true,
                received_by: actor.id.clone(),
                due_at_ms: due,
                round: 1,
                window: "1".into(),
            }),
        )
        .build(at);
        for event in [received, submitted] {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", event.event_id.as_str());
            let ack = js
                .publish_with_headers(
                    subjects::subject(&event.r#type),
                    headers,
                    event.encode_to_vec().into(),
                )
                .await?;
            pending.push(ack);
        }
        if pending.len() >= 1000 {
            for ack in pending.drain(..) {
                ack.await?;
            }
        }
    }
    for ack in pending {
        ack.await?;
    }
    Ok(())
}

/// Waits until every consumer has taken everything and the backlog counts `open` open cases.
pub async fn wait_applied(
    backlog_url: &str,
    metrics_urls: &[String],
    keys: &JwtKeys,
    open: i64,
    within: Duration,
) -> anyhow::Result<Duration> {
    let http = reqwest::Client::new();
    let token = keys.issue("bench", "bench", &[Role::Supervisor], None, Days::hours(1));
    let start = Instant::now();
    loop {
        let backlog: serde_json::Value = http
            .get(format!("{backlog_url}/api/v1/backlog"))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        let counted = backlog["totals"]["open"]["total"].as_i64().unwrap_or(0);
        let mut pending = 0.0;
        for url in metrics_urls {
            let text = http
                .get(format!("{url}/metrics"))
                .send()
                .await?
                .text()
                .await?;
            pending += gauge(&text, "clearline_consumer_pending").unwrap_or(0.0)
                + gauge(&text, "clearline_consumer_ack_pending").unwrap_or(0.0);
        }
        if counted >= open && pending == 0.0 {
            return Ok(start.elapsed());
        }
        anyhow::ensure!(
            start.elapsed() < within,
            "after {within:?} the backlog counts {counted} of {open} open cases, {pending} events pending"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Alerts the backlog's watch has raised so far (warnings, breaches, stuck hand-overs).
/// Seeded cases cross their thresholds all at once, and the watch announces them a few
/// hundred per tick, so the report says how much of that was going on while pages were
/// timed.
pub async fn alerts_raised(backlog_url: &str) -> anyhow::Result<f64> {
    let text = reqwest::get(format!("{backlog_url}/metrics"))
        .await?
        .text()
        .await?;
    Ok(gauge(&text, "backlog_alerts_total").unwrap_or(0.0))
}

/// Waits until the backlog's watch has raised no alert for `quiet` (at most `at_most`),
/// and says how long that took.
pub async fn wait_watch_quiet(
    backlog_url: &str,
    quiet: Duration,
    at_most: Duration,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let mut last = alerts_raised(backlog_url).await?;
    let mut still_since = Instant::now();
    while still_since.elapsed() < quiet && start.elapsed() < at_most {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = alerts_raised(backlog_url).await?;
        if now != last {
            last = now;
            still_since = Instant::now();
        }
    }
    Ok(start.elapsed())
}

/// A page's timings.
#[derive(Debug, Clone)]
pub struct PageTiming {
    pub page: String,
    pub user: String,
    pub samples: usize,
    /// The first request, before any warm-up: what a viewer meets when the portal's
    /// cached panels are empty or stale.
    pub first_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
    pub bytes: usize,
}

/// A signed-in browser without the browser: cookies kept by hand, redirects not followed.
struct Session {
    base: String,
    http: reqwest::Client,
    cookies: Vec<(String, String)>,
}

impl Session {
    async fn sign_in(base: &str, user: &str, password: &str) -> anyhow::Result<Session> {
        let mut session = Session {
            base: base.to_string(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            cookies: Vec::new(),
        };
        let form = session.get("/signin").await?.1;
        let marker = "name=\"_csrf\" value=\"";
        let at = form
            .find(marker)
            .ok_or_else(|| anyhow::anyhow!("no CSRF token on /signin"))?
            + marker.len();
        let token = form[at..at + 64].to_string();
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("_csrf", token.as_str()),
                ("user_id", user),
                ("password", password),
            ])
            .finish();
        let response = session
            .http
            .post(format!("{base}/signin"))
            .header("Cookie", session.cookie_header())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await?;
        session.keep(&response);
        anyhow::ensure!(
            response.status().as_u16() == 303,
            "{user} could not sign in"
        );
        Ok(session)
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let Some((name, value)) = value
                .to_str()
                .ok()
                .and_then(|v| v.split(';').next())
                .and_then(|p| p.split_once('='))
            else {
                continue;
            };
            self.cookies.retain(|(k, _)| k != name);
            self.cookies.push((name.to_string(), value.to_string()));
        }
    }

    async fn get(&mut self, path: &str) -> anyhow::Result<(u16, String)> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header("Cookie", self.cookie_header())
            .header("Accept-Language", "zh-CN")
            .send()
            .await?;
        self.keep(&response);
        let status = response.status().as_u16();
        Ok((status, response.text().await?))
    }
}

/// Times each page `samples` times (after two warm-up requests, the first of which is
/// reported on its own), one request at a time.
pub async fn time_pages(
    base: &str,
    password: &str,
    samples: usize,
    case_id: Uuid,
) -> anyhow::Result<Vec<PageTiming>> {
    let case_page = format!("/cases/{case_id}");
    let plan: [(&str, &str); 8] = [
        ("supervisor1", "/dashboard"),
        ("supervisor1", "/cases"),
        ("supervisor1", "/cases?status=pending_approval&unit=HP01"),
        ("supervisor1", case_page.as_str()),
        ("approver1", "/approver"),
        ("clerk1", "/clerk"),
        ("officer1", "/fulfilment"),
        ("clerk1", "/catalog"),
    ];
    let mut timings = Vec::new();
    for (user, path) in plan {
        let mut session = Session::sign_in(base, user, password).await?;
        let mut times = Vec::with_capacity(samples);
        let mut bytes = 0;
        let mut first_ms = 0.0;
        for i in 0..samples + 2 {
            let start = Instant::now();
            let (status, body) = session.get(path).await?;
            let took = start.elapsed().as_secs_f64() * 1000.0;
            anyhow::ensure!(status == 200, "{path} answered {status} to {user}");
            bytes = body.len();
            if i == 0 {
                first_ms = took;
            }
            if i >= 2 {
                times.push(took);
            }
        }
        times.sort_by(f64::total_cmp);
        let pick = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
        timings.push(PageTiming {
            page: path.to_string(),
            user: user.to_string(),
            samples,
            first_ms,
            p50_ms: pick(0.5),
            p95_ms: pick(0.95),
            max_ms: pick(1.0),
            bytes,
        });
    }
    Ok(timings)
}

/// The first seeded case of HP01, for the case page.
pub async fn some_case(backlog_url: &str, keys: &JwtKeys) -> anyhow::Result<Uuid> {
    let token = keys.issue("bench", "bench", &[Role::Supervisor], None, Days::hours(1));
    let page: serde_json::Value = reqwest::Client::new()
        .get(format!("{backlog_url}/api/v1/cases?unit=HP01&limit=1"))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    let id = page["items"][0]["case_id"].as_str().unwrap_or_default();
    Ok(id.parse()?)
}
