//! A local nats-server with JetStream for `clearline dev`, started on a free port and
//! stopped with the process.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

pub struct LocalNats {
    pub url: String,
    _child: Child,
}

/// Where nats-server is: on PATH or where Debian puts it.
pub fn find_binary() -> Option<PathBuf> {
    let candidates = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("nats-server"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    candidates
        .into_iter()
        .chain([
            PathBuf::from("/usr/sbin/nats-server"),
            PathBuf::from("/usr/local/bin/nats-server"),
        ])
        .find(|p| p.is_file())
}

pub async fn start(store_dir: &Path) -> anyhow::Result<LocalNats> {
    let binary = find_binary().context(
        "nats-server was not found. Install it with `sudo apt-get install nats-server` \
         (or set NATS_URL to a running server with JetStream)",
    )?;
    let port = free_port()?;
    std::fs::create_dir_all(store_dir)?;
    let child = Command::new(binary)
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(store_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting nats-server")?;
    let url = format!("nats://127.0.0.1:{port}");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(LocalNats { url, _child: child });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("nats-server did not start listening on port {port}")
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
