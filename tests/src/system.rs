//! The whole system for one test: a nats-server, four databases and the four services, each
//! a separate `clearline serve <service>` process.

use crate::infra::{free_port, ready_as, Backend, Databases, Nats};
use crate::people::Person;
use crate::postgres::PgServer;
use anyhow::Context;
use clearline_platform::config::DEV_JWT_SECRET;
use clearline_platform::http::{JwtKeys, Role};
use std::future::Future;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SERVICES: [&str; 4] = ["intake", "approval", "fulfilment", "backlog"];

struct Service {
    name: &'static str,
    port: u16,
    child: Option<Child>,
}

pub struct System {
    pub dir: tempfile::TempDir,
    pub nats: Nats,
    pub dbs: Databases,
    /// The test's own PostgreSQL server, when it asked for one (dropped after `dbs`).
    pub postgres: Option<PgServer>,
    services: Vec<Service>,
    http: reqwest::Client,
    keys: JwtKeys,
    /// Extra environment for every service process (e.g. turning on trace export).
    env: Vec<(String, String)>,
}

/// The `clearline` binary cargo built beside this test binary (target/<profile>/clearline).
pub fn clearline_binary() -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("CLEARLINE_BIN") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .context("test binary is not under target/<profile>/deps")?;
    let binary = profile_dir.join("clearline");
    anyhow::ensure!(
        binary.is_file(),
        "{} is missing: build it with `cargo build -p clearline`",
        binary.display()
    );
    Ok(binary)
}

impl System {
    /// Starts everything and waits until every service answers `/readyz`.
    pub async fn spawn(backend: Backend) -> anyhow::Result<System> {
        System::spawn_with_env(backend, &[]).await
    }

    /// [`System::spawn`] with extra environment variables for every service.
    pub async fn spawn_with_env(backend: Backend, env: &[(&str, &str)]) -> anyhow::Result<System> {
        let dir = tempfile::tempdir()?;
        let dbs = Databases::create(backend, dir.path(), &SERVICES).await?;
        System::spawn_on(dir, dbs, None, env).await
    }

    /// The services on a PostgreSQL server of the test's own, which the test may restart
    /// while they run ([`System::restart_postgres`]).
    pub async fn spawn_on_own_postgres(env: &[(&str, &str)]) -> anyhow::Result<System> {
        let dir = tempfile::tempdir()?;
        let server = tokio::task::block_in_place(PgServer::start)?;
        let dbs =
            Databases::create_on(Backend::Postgres, &server.url(), dir.path(), &SERVICES).await?;
        System::spawn_on(dir, dbs, Some(server), env).await
    }

    async fn spawn_on(
        dir: tempfile::TempDir,
        dbs: Databases,
        postgres: Option<PgServer>,
        env: &[(&str, &str)],
    ) -> anyhow::Result<System> {
        let nats = Nats::start(dir.path())?;
        let services = SERVICES
            .iter()
            .map(|name| Service {
                name,
                port: free_port(),
                child: None,
            })
            .collect();
        let mut system = System {
            dir,
            nats,
            dbs,
            postgres,
            services,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
            keys: JwtKeys::from_secret(DEV_JWT_SECRET),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        for name in SERVICES {
            system.start(name)?;
        }
        for name in SERVICES {
            system.ready_on_a_free_port(name).await?;
        }
        Ok(system)
    }

    pub fn url(&self, service: &str) -> String {
        let port = self
            .services
            .iter()
            .find(|s| s.name == service)
            .map_or(0, |s| s.port);
        format!("http://127.0.0.1:{port}")
    }

    pub fn log_path(&self, service: &str) -> PathBuf {
        self.dir.path().join(format!("{service}.log"))
    }

    /// Starts (or restarts) one service process.
    pub fn start(&mut self, service: &str) -> anyhow::Result<()> {
        let binary = clearline_binary()?;
        let database = self.dbs.url(service);
        let nats = self.nats.url();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(service))?;
        let entry = self
            .services
            .iter_mut()
            .find(|s| s.name == service)
            .context("unknown service")?;
        let child = Command::new(binary)
            .args([
                "serve",
                service,
                "--database-url",
                &database,
                "--nats-url",
                &nats,
            ])
            .args(["--listen", &format!("127.0.0.1:{}", entry.port)])
            .env(
                "RUST_LOG",
                std::env::var("CLEARLINE_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .env("CLEARLINE_RELAY_POLL_MS", "200")
            .env("CLEARLINE_ACK_WAIT_MS", "5000")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("starting {service}"))?;
        entry.child = Some(child);
        Ok(())
    }

    /// SIGKILL: the process gets no chance to finish anything.
    pub fn kill(&mut self, service: &str) {
        if let Some(entry) = self.services.iter_mut().find(|s| s.name == service) {
            if let Some(mut child) = entry.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    /// SIGTERM: asks the service to stop as an orchestrator would. Returns its process for
    /// the test to watch it end; the service counts as down from here.
    pub fn terminate(&mut self, service: &str) -> anyhow::Result<Child> {
        use nix::sys::signal::{kill, Signal};
        use nix::unistd::Pid;
        let child = self
            .services
            .iter_mut()
            .find(|s| s.name == service)
            .and_then(|s| s.child.take())
            .with_context(|| format!("{service} is not running"))?;
        kill(Pid::from_raw(i32::try_from(child.id())?), Signal::SIGTERM)?;
        Ok(child)
    }

    /// The process id of a running service; `None` while it is down.
    pub fn pid(&self, service: &str) -> Option<u32> {
        self.services
            .iter()
            .find(|s| s.name == service)
            .and_then(|s| s.child.as_ref())
            .map(Child::id)
    }

    /// A crash and a restart: SIGKILL, `down_for` with nothing listening, then a fresh
    /// process on the same port and database, waited for until it is ready.
    pub async fn restart(&mut self, service: &str, down_for: Duration) -> anyhow::Result<()> {
        self.kill(service);
        tokio::time::sleep(down_for).await;
        self.start(service)?;
        self.wait_ready(service).await
    }

    /// The broker crashes (SIGKILL) and comes back after `down_for` on the same port and
    /// store; the services must reconnect by themselves.
    pub async fn restart_nats(&mut self, down_for: Duration) -> anyhow::Result<()> {
        self.nats.kill();
        tokio::time::sleep(down_for).await;
        // Starting a server waits for its port: off the async workers, so the clients of a
        // test keep running meanwhile (needs the multi-threaded runtime every test uses).
        tokio::task::block_in_place(|| self.nats.resume())
    }

    /// The test's own PostgreSQL crashes (immediate stop: connections cut, WAL recovery at
    /// start) and comes back after `down_for` on the same port.
    pub async fn restart_postgres(&mut self, down_for: Duration) -> anyhow::Result<()> {
        let server = self
            .postgres
            .as_mut()
            .context("this system runs on a PostgreSQL server it does not own")?;
        tokio::task::block_in_place(|| server.crash())?;
        tokio::time::sleep(down_for).await;
        tokio::task::block_in_place(|| server.resume())
    }

    /// The last `lines` lines of a service's log, every life of it (the log is appended to).
    pub fn log_tail(&self, service: &str, lines: usize) -> String {
        let log = std::fs::read_to_string(self.log_path(service)).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Waits until `service` is ready. The port was picked free, but another test's process
    /// may take it before the service binds it: then the service is started again on
    /// another free port.
    async fn ready_on_a_free_port(&mut self, service: &str) -> anyhow::Result<()> {
        for _ in 0..3 {
            match self.wait_ready(service).await {
                Err(error)
                    if self.exited(service)
                        && format!("{error:#}").contains("Address already in use") =>
                {
                    if let Some(entry) = self.services.iter_mut().find(|s| s.name == service) {
                        entry.port = free_port();
                    }
                    self.start(service)?;
                }
                result => return result,
            }
        }
        self.wait_ready(service).await
    }

    /// Whether the service's process has ended.
    fn exited(&mut self, service: &str) -> bool {
        self.services
            .iter_mut()
            .find(|s| s.name == service)
            .and_then(|s| s.child.as_mut())
            .is_none_or(|child| matches!(child.try_wait(), Ok(Some(_))))
    }

    pub async fn wait_ready(&self, service: &str) -> anyhow::Result<()> {
        let base = self.url(service);
        let pid = self
            .services
            .iter()
            .find(|s| s.name == service)
            .and_then(|s| s.child.as_ref())
            .map_or(0, |c| c.id());
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if self.process_ended(service) {
                let log = std::fs::read_to_string(self.log_path(service)).unwrap_or_default();
                anyhow::bail!("{service} exited before it was ready; its log:\n{log}");
            }
            if ready_as(&self.http, &base, pid).await {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = std::fs::read_to_string(self.log_path(service)).unwrap_or_default();
        anyhow::bail!("{service} was not ready within 60s; its log:\n{log}")
    }

    /// Whether the service's process has ended, without reaping it.
    fn process_ended(&self, service: &str) -> bool {
        let Some(pid) = self
            .services
            .iter()
            .find(|s| s.name == service)
            .and_then(|s| s.child.as_ref())
            .map(|c| c.id())
        else {
            return false;
        };
        // A child that exited stays a zombie until waited for: its state letter is Z.
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| {
                stat.rsplit(')')
                    .next()
                    .is_some_and(|rest| rest.trim_start().starts_with('Z'))
            })
            .unwrap_or(true)
    }

    /// A staff member with a signed token.
    pub fn person(&self, user: &str, role: Role, unit: Option<&str>) -> Person {
        let token = self
            .keys
            .issue(user, user, &[role], unit, chrono::Duration::hours(1));
        Person::new(user, token, self.http.clone(), |s| self.url(s))
    }

    /// Polls `check` until it returns `Some`, or fails after `within`.
    pub async fn eventually<T, F, Fut>(
        &self,
        what: &str,
        within: Duration,
        mut check: F,
    ) -> anyhow::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let start = Instant::now();
        loop {
            if let Some(value) = check().await {
                return Ok(value);
            }
            if start.elapsed() > within {
                anyhow::bail!("timed out after {within:?} waiting for {what}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for System {
    fn drop(&mut self) {
        for name in SERVICES {
            self.kill(name);
        }
    }
}
