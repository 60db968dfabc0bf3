//! A PostgreSQL server of the test's own, so a test may stop and restart it without touching
//! anyone else's databases: `initdb` into a temporary folder, `postgres` on a free port of
//! 127.0.0.1 with trust authentication, the folder removed when the value is dropped.
//!
//! PostgreSQL refuses to run as root. When the tests run as root, the cluster belongs to the
//! `postgres` user and every PostgreSQL program is run as that user (`runuser`).

use crate::infra::{free_port, wait_for_port};
use anyhow::Context;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Where Debian puts the server's programs: `/usr/lib/postgresql/<version>/bin`, the newest
/// installed version; `CLEARLINE_PG_BIN` overrides it.
fn server_programs() -> anyhow::Result<PathBuf> {
    if let Ok(dir) = std::env::var("CLEARLINE_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL's server programs are not installed (apt-get install postgresql)")?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).context(
        "no /usr/lib/postgresql/<version>/bin/initdb: install PostgreSQL or set CLEARLINE_PG_BIN",
    )
}

pub struct PgServer {
    pub port: u16,
    folder: tempfile::TempDir,
    bin: PathBuf,
    /// `Some("postgres")` when we are root and must run the programs as that user.
    run_as: Option<String>,
    running: bool,
}

impl PgServer {
    /// Creates a fresh cluster and starts it on a free port.
    pub fn start() -> anyhow::Result<PgServer> {
        let bin = server_programs()?;
        let run_as = running_as_root().then(|| "postgres".to_string());
        let folder = tempfile::Builder::new().prefix("clearline-pg-").tempdir()?;
        let mut server = PgServer {
            port: 0,
            folder,
            bin,
            run_as,
            running: false,
        };
        if let Some(user) = &server.run_as {
            let owned = Command::new("chown")
                .args(["-R", user])
                .arg(server.folder.path())
                .status()?;
            anyhow::ensure!(
                owned.success(),
                "could not give the cluster folder to {user}"
            );
        }
        server.run(
            "initdb",
            &[
                "-D",
                &server.data().display().to_string(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "--encoding=UTF8",
                "--locale=C",
            ],
        )?;
        // Another test may take the port between our look and the server's bind: try again
        // on another one, so no test ever talks to another test's server.
        for _ in 0..5 {
            server.port = free_port();
            if server.resume().is_ok() {
                return Ok(server);
            }
        }
        anyhow::bail!(
            "PostgreSQL would not start on a free port; its log:\n{}",
            server.log()
        )
    }

    /// The server URL without a database, as `Databases` takes it.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }

    fn data(&self) -> PathBuf {
        self.folder.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.folder.path().join("postgres.log")
    }

    /// The server's log, every life of it.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Starts the server on its port (again, after [`PgServer::crash`]).
    pub fn resume(&mut self) -> anyhow::Result<()> {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c max_connections=200",
            self.port,
            self.folder.path().display()
        );
        self.run(
            "pg_ctl",
            &[
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                &self.data().display().to_string(),
                "-l",
                &self.log_path().display().to_string(),
                "-o",
                &options,
            ],
        )?;
        self.running = true;
        wait_for_port(self.port, Duration::from_secs(10))
    }

    /// Stops the server the hard way (`immediate`: no checkpoint, every connection cut, WAL
    /// recovery at the next start), as if it had crashed.
    pub fn crash(&mut self) -> anyhow::Result<()> {
        self.running = false;
        self.run(
            "pg_ctl",
            &[
                "stop",
                "-w",
                "-m",
                "immediate",
                "-D",
                &self.data().display().to_string(),
            ],
        )
    }

    /// Runs one of the server's programs, as the cluster's owner, and fails with its output.
    fn run(&self, program: &str, args: &[&str]) -> anyhow::Result<()> {
        let path = self.bin.join(program);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&path);
                c
            }
            None => Command::new(&path),
        };
        let output = command
            .args(args)
            .current_dir(self.folder.path())
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {program}"))?;
        anyhow::ensure!(
            output.status.success(),
            "{program} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(())
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if self.running {
            let _ = self.crash();
        }
    }
}

/// Whether this process runs as root (`/proc/self` belongs to the process's user).
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}
