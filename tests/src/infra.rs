//! Infrastructure a test owns: its own nats-server and its own databases.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Which database the services use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The machine's PostgreSQL; each test creates databases of its own on it.
pub fn postgres_server_url() -> String {
    std::env::var("CLEARLINE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// Whether the process `pid` answers ready at `base`. A port picked free may be taken by
/// another test's process before ours binds it; that one's answer must not count.
pub async fn ready_as(http: &reqwest::Client, base: &str, pid: u32) -> bool {
    let ready = http.get(format!("{base}/readyz")).send().await;
    if !ready.is_ok_and(|r| r.status().is_success()) {
        return false;
    }
    let Ok(alive) = http.get(format!("{base}/healthz")).send().await else {
        return false;
    };
    let body: serde_json::Value = alive.json().await.unwrap_or_default();
    body["pid"] == pid
}

/// Waits until something listens on `port`.
pub fn wait_for_port(port: u16, within: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    while start.elapsed() < within {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    anyhow::bail!("nothing listened on port {port} within {within:?}")
}

/// A nats-server with JetStream, on a free port, with its store in the test's folder.
pub struct Nats {
    pub port: u16,
    store: PathBuf,
    /// A config file for the server (users and their permissions), and the environment
    /// its variables come from; `None` for an open server.
    config: Option<(PathBuf, Vec<(String, String)>)>,
    child: Option<Child>,
}

impl Nats {
    /// Starts on a free port. Another test may take the port between our look and the
    /// server's bind; then the server exits and we try another port, so no test ever talks
    /// to another test's broker.
    pub fn start(dir: &Path) -> anyhow::Result<Nats> {
        Nats::start_with(dir, None)
    }

    /// [`Nats::start`] with a config file (`-c`) whose `$VARIABLES` are read from `env`.
    /// The command line still sets the address, port, JetStream and store.
    pub fn start_with_config(
        dir: &Path,
        config: &Path,
        env: &[(String, String)],
    ) -> anyhow::Result<Nats> {
        Nats::start_with(dir, Some((config.to_path_buf(), env.to_vec())))
    }

    fn start_with(
        dir: &Path,
        config: Option<(PathBuf, Vec<(String, String)>)>,
    ) -> anyhow::Result<Nats> {
        let mut nats = Nats {
            port: free_port(),
            store: dir.join("nats"),
            config,
            child: None,
        };
        for _ in 0..5 {
            nats.boot()?;
            std::thread::sleep(Duration::from_millis(100));
            if nats.running() {
                return Ok(nats);
            }
            nats.kill();
            nats.port = free_port();
        }
        anyhow::bail!("nats-server would not start on a free port")
    }

    /// Whether our server process is still alive (it exits when its port was taken).
    fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn boot(&mut self) -> anyhow::Result<()> {
        let binary = [
            "/usr/sbin/nats-server",
            "/usr/local/bin/nats-server",
            "/usr/bin/nats-server",
        ]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .context("nats-server is not installed (apt-get install nats-server)")?;
        let mut command = Command::new(binary);
        if let Some((config, env)) = &self.config {
            command.arg("-c").arg(config).envs(env.iter().cloned());
        }
        let child = command
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(&self.store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting nats-server")?;
        self.child = Some(child);
        let listening = wait_for_port(self.port, Duration::from_secs(10));
        if !self.running() {
            // Whatever answers on the port is not ours.
            return Ok(());
        }
        listening
    }

    /// Stops the server (SIGKILL) and starts it again on the same port and store.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        self.resume()
    }

    /// Starts the server again after [`Nats::kill`], on the same port and store.
    pub fn resume(&mut self) -> anyhow::Result<()> {
        self.boot()?;
        std::thread::sleep(Duration::from_millis(100));
        anyhow::ensure!(self.running(), "nats-server could not take its port back");
        Ok(())
    }

    /// SIGKILL: the server gets no chance to flush or say goodbye to its clients.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One database per service, fresh for this test.
pub struct Databases {
    pub backend: Backend,
    urls: Vec<(String, String)>,
    /// Whether the PostgreSQL databases are dropped when the test ends.
    drop_on_exit: bool,
}

impl Databases {
    /// Fresh databases: SQLite files in `dir`, or databases on the machine's PostgreSQL.
    pub async fn create(
        backend: Backend,
        dir: &Path,
        services: &[&str],
    ) -> anyhow::Result<Databases> {
        let server = postgres_server_url();
        let mut dbs = Databases::create_on(backend, &server, dir, services).await?;
        dbs.drop_on_exit = backend == Backend::Postgres;
        Ok(dbs)
    }

    /// Fresh databases on the PostgreSQL server at `server` (for a server the test owns and
    /// removes whole, so the databases are not dropped one by one at the end).
    pub async fn create_on(
        backend: Backend,
        server: &str,
        dir: &Path,
        services: &[&str],
    ) -> anyhow::Result<Databases> {
        let tag = format!("t{}", uuid::Uuid::new_v4().simple())
            .chars()
            .take(13)
            .collect::<String>();
        let mut urls = Vec::new();
        for service in services {
            let url = match backend {
                Backend::Sqlite => format!(
                    "sqlite://{}?mode=rwc",
                    dir.join(format!("{service}.db")).display()
                ),
                Backend::Postgres => {
                    let url = format!("{server}/{tag}_{service}");
                    clearline_platform::db::create_database_if_missing(&url).await?;
                    url
                }
            };
            urls.push((service.to_string(), url));
        }
        Ok(Databases {
            backend,
            urls,
            drop_on_exit: false,
        })
    }

    pub fn url(&self, service: &str) -> String {
        self.urls
            .iter()
            .find(|(s, _)| s == service)
            .map(|(_, u)| u.clone())
            .unwrap_or_default()
    }

    pub async fn connect(&self, service: &str) -> anyhow::Result<sea_orm::DatabaseConnection> {
        Ok(clearline_platform::db::connect(&self.url(service)).await?)
    }
}

impl Drop for Databases {
    fn drop(&mut self) {
        if !self.drop_on_exit {
            return;
        }
        let urls: Vec<String> = self.urls.iter().map(|(_, u)| u.clone()).collect();
        // Drop runs outside async code: clean up on a thread with its own small runtime.
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(async {
                    for url in urls {
                        let _ = clearline_platform::db::drop_database(&url).await;
                    }
                });
            }
        })
        .join();
    }
}
