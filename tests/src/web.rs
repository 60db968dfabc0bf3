//! The web portal beside a running [`System`]: a `clearline serve portal` process with its
//! own SQLite database in the test's folder, the demo users, and the system's services and
//! broker. Also a plain HTTP client that keeps cookies, for checks a browser hides (status
//! codes, a form posted without its token).

use crate::infra::{free_port, ready_as};
use crate::system::{clearline_binary, System};
use anyhow::Context;
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use clearline_portal::demo::DEMO_PASSWORD;

pub struct Portal {
    pub port: u16,
    child: Child,
    log: std::path::PathBuf,
}

impl Portal {
    /// Starts the portal and waits until it answers `/readyz`.
    pub async fn spawn(system: &System) -> anyhow::Result<Portal> {
        let mut last = None;
        for _ in 0..3 {
            let port = free_port();
            let mut portal = Portal::start(system, port)?;
            match portal.wait_ready().await {
                Ok(()) => return Ok(portal),
                Err(error) => {
                    let _ = portal.child.kill();
                    let _ = portal.child.wait();
                    last = Some(error);
                }
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("the portal did not start")))
    }

    fn start(system: &System, port: u16) -> anyhow::Result<Portal> {
        let dir = system.dir.path();
        let log = dir.join("portal.log");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)?;
        let database = format!("sqlite://{}?mode=rwc", dir.join("portal.db").display());
        let child = Command::new(clearline_binary()?)
            .args(["serve", "portal", "--database-url", &database])
            .args(["--nats-url", &system.nats.url()])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--intake-url", &system.url("intake")])
            .args(["--approval-url", &system.url("approval")])
            .args(["--fulfilment-url", &system.url("fulfilment")])
            .args(["--backlog-url", &system.url("backlog")])
            .env("CLEARLINE_PORTAL_DEMO_USERS", "true")
            .env(
                "RUST_LOG",
                std::env::var("CLEARLINE_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdout(Stdio::from(file.try_clone()?))
            .stderr(Stdio::from(file))
            .spawn()
            .context("starting the portal")?;
        Ok(Portal { port, child, log })
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let base = self.url();
        let pid = self.child.id();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if let Ok(Some(_)) = self.child.try_wait() {
                anyhow::bail!("the portal exited; its log:\n{}", self.log_text());
            }
            if ready_as(&http, &base, pid).await {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!(
            "the portal was not ready within 60s; its log:\n{}",
            self.log_text()
        )
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer from the portal.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

/// A cookie-keeping client that does not follow redirects, so a test sees each answer.
pub struct WebClient {
    base: String,
    http: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
}

impl WebClient {
    pub fn new(base: &str) -> anyhow::Result<WebClient> {
        Ok(WebClient {
            base: base.to_string(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()?,
            cookies: BTreeMap::new(),
        })
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn keep(&mut self, response: reqwest::Response) -> anyhow::Result<Page> {
        for value in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let text = value.to_str()?;
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() || text.contains("Max-Age=0") {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_string(), value.to_string());
                }
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response.text().await?;
        Ok(Page {
            status,
            location,
            body,
        })
    }

    pub async fn get(&mut self, path: &str) -> anyhow::Result<Page> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header("Cookie", self.cookie_header())
            .header("Accept-Language", "zh-CN")
            .send()
            .await?;
        self.keep(response).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> anyhow::Result<Page> {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Cookie", self.cookie_header())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await?;
        self.keep(response).await
    }

    /// The CSRF token of the first form on a page.
    pub fn csrf_of(page: &Page) -> Option<String> {
        let at = page.body.find("name=\"_csrf\" value=\"")?;
        let rest = &page.body[at + "name=\"_csrf\" value=\"".len()..];
        Some(rest[..rest.find('"')?].to_string())
    }

    /// Signs in through the form, as a browser would.
    pub async fn sign_in(&mut self, user: &str, password: &str) -> anyhow::Result<Page> {
        let form = self.get("/signin").await?;
        let token = WebClient::csrf_of(&form).context("the sign-in form has no CSRF token")?;
        self.post(
            "/signin",
            &[
                ("_csrf", &token),
                ("user_id", user),
                ("password", password),
                ("next", "/"),
            ],
        )
        .await
    }
}
