//! Several replicas of every service on one machine, as a deployment runs them: each
//! replica is its own `clearline serve <service>` process on its own port; a service's
//! replicas share its database and every process shares the one broker.

use crate::infra::{free_port, postgres_server_url, ready_as, Backend, Databases, Nats};
use crate::people::Person;
use crate::system::{clearline_binary, SERVICES};
use anyhow::Context;
use clearline_platform::config::DEV_JWT_SECRET;
use clearline_platform::http::{JwtKeys, Role};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Environment for one service's processes (e.g. its NATS user), by service name.
pub type ServiceEnv = Box<dyn Fn(&str) -> Vec<(String, String)> + Send + Sync>;

struct Replica {
    service: &'static str,
    index: usize,
    port: u16,
    child: Option<Child>,
}

pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub nats: Nats,
    pub dbs: Databases,
    replicas: Vec<Replica>,
    http: reqwest::Client,
    keys: JwtKeys,
    env: ServiceEnv,
}

impl Cluster {
    /// `replicas` processes of every service on PostgreSQL (several writers need it; SQLite
    /// has one) and an open nats-server; returns once every process answers `/readyz`.
    pub async fn spawn(replicas: usize) -> anyhow::Result<Cluster> {
        let dir = tempfile::tempdir()?;
        let nats = Nats::start(dir.path())?;
        Cluster::spawn_on(dir, nats, replicas, Box::new(|_| Vec::new())).await
    }

    /// [`Cluster::spawn`] on a broker the caller started (e.g. one with users), with `env`
    /// added to each service's processes.
    pub async fn spawn_on(
        dir: tempfile::TempDir,
        nats: Nats,
        replicas: usize,
        env: ServiceEnv,
    ) -> anyhow::Result<Cluster> {
        anyhow::ensure!(
            postgres_server_url().starts_with("postgres"),
            "a cluster needs PostgreSQL"
        );
        let dbs = Databases::create(Backend::Postgres, dir.path(), &SERVICES).await?;
        let mut cluster = Cluster {
            dir,
            nats,
            dbs,
            replicas: Vec::new(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
            keys: JwtKeys::from_secret(DEV_JWT_SECRET),
            env,
        };
        for service in SERVICES {
            for index in 0..replicas {
                cluster.replicas.push(Replica {
                    service,
                    index,
                    port: free_port(),
                    child: None,
                });
            }
        }
        // One replica of each first: the first start of a service migrates its database,
        // and the test should not depend on two migrations racing.
        for round in 0..replicas {
            for service in SERVICES {
                cluster.start(service, round)?;
            }
            for service in SERVICES {
                cluster.ready_on_a_free_port(service, round).await?;
            }
        }
        Ok(cluster)
    }

    fn replica(&self, service: &str, index: usize) -> Option<&Replica> {
        self.replicas
            .iter()
            .find(|r| r.service == service && r.index == index)
    }

    fn replica_mut(&mut self, service: &str, index: usize) -> anyhow::Result<&mut Replica> {
        self.replicas
            .iter_mut()
            .find(|r| r.service == service && r.index == index)
            .with_context(|| format!("no replica {index} of {service}"))
    }

    /// How many replicas each service runs.
    pub fn replica_count(&self) -> usize {
        self.replicas.len() / SERVICES.len()
    }

    pub fn url(&self, service: &str, index: usize) -> String {
        let port = self.replica(service, index).map_or(0, |r| r.port);
        format!("http://127.0.0.1:{port}")
    }

    pub fn log_path(&self, service: &str, index: usize) -> PathBuf {
        self.dir.path().join(format!("{service}-{index}.log"))
    }

    /// The last `lines` lines of one replica's log.
    pub fn log_tail(&self, service: &str, index: usize, lines: usize) -> String {
        let log = std::fs::read_to_string(self.log_path(service, index)).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    fn start(&mut self, service: &'static str, index: usize) -> anyhow::Result<()> {
        let binary = clearline_binary()?;
        let database = self.dbs.url(service);
        let nats = self.nats.url();
        let env = (self.env)(service);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(service, index))?;
        let replica = self.replica_mut(service, index)?;
        let child = Command::new(binary)
            .args(["serve", service, "--database-url", &database])
            .args(["--nats-url", &nats])
            .args(["--listen", &format!("127.0.0.1:{}", replica.port)])
            .env(
                "RUST_LOG",
                std::env::var("CLEARLINE_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .env("CLEARLINE_RELAY_POLL_MS", "200")
            .env("CLEARLINE_ACK_WAIT_MS", "5000")
            // The machine's PostgreSQL takes 100 connections, shared with other tests: eight
            // processes of 16 each would not fit.
            .env("CLEARLINE_DB_MAX_CONNECTIONS", "6")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .envs(env)
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("starting {service} replica {index}"))?;
        replica.child = Some(child);
        Ok(())
    }

    /// Waits until the replica answers `/readyz`; if another process took its port before
    /// it could bind, starts it again on another free port.
    async fn ready_on_a_free_port(
        &mut self,
        service: &'static str,
        index: usize,
    ) -> anyhow::Result<()> {
        for _ in 0..3 {
            match self.wait_ready(service, index).await {
                Err(error) if format!("{error:#}").contains("Address already in use") => {
                    self.replica_mut(service, index)?.port = free_port();
                    self.start(service, index)?;
                }
                result => return result,
            }
        }
        self.wait_ready(service, index).await
    }

    async fn wait_ready(&mut self, service: &str, index: usize) -> anyhow::Result<()> {
        let base = self.url(service, index);
        let pid = self
            .replica_mut(service, index)?
            .child
            .as_ref()
            .map_or(0, |c| c.id());
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            let exited = self
                .replica_mut(service, index)?
                .child
                .as_mut()
                .is_none_or(|child| matches!(child.try_wait(), Ok(Some(_))));
            if exited {
                let log = self.log_tail(service, index, 40);
                anyhow::bail!("{service} replica {index} exited before it was ready:\n{log}");
            }
            if ready_as(&self.http, &base, pid).await {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = self.log_tail(service, index, 40);
        anyhow::bail!("{service} replica {index} was not ready within 60s:\n{log}")
    }

    /// A staff member whose requests go to replica `index` of every service.
    pub fn person(&self, user: &str, role: Role, unit: Option<&str>, index: usize) -> Person {
        let token = self
            .keys
            .issue(user, user, &[role], unit, chrono::Duration::hours(1));
        Person::new(user, token, self.http.clone(), |s| self.url(s, index))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for replica in &mut self.replicas {
            if let Some(mut child) = replica.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
