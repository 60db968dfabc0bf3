//! What the benchmark reads off the machine: CPU time of every process, PostgreSQL's commit
//! counter, pgbench's TPS, and a description for the report.

use sea_orm::{ConnectionTrait, Database, DatabaseBackend, Statement};
use std::path::Path;
use tokio::process::Command;

/// CPU time spent by every process on the machine (user + system, all cores), in ms.
/// The benchmark runs on a machine doing nothing else, so this is the system's cost.
pub fn cpu_ms() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().next() else {
        return 0;
    };
    // cpu user nice system idle iowait irq softirq steal
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let busy: u64 = fields
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| *v)
        .take(8)
        .sum();
    // USER_HZ is 100 on Linux: one tick is 10 ms.
    busy * 10
}

/// How many times PostgreSQL flushed its WAL to disk (`pg_stat_wal.wal_sync`): the durable
/// commits the system paid for. Read-only queries write no WAL, so the benchmark's own
/// polling does not count, and group commit shows as fewer flushes. Server-wide: run the
/// benchmark with nothing else using the server.
pub async fn postgres_commits(url: Option<&str>) -> Option<i64> {
    let db = Database::connect(format!("{}/postgres", url?.trim_end_matches('/')))
        .await
        .ok()?;
    let row = db
        .query_one(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT wal_sync::bigint AS n FROM pg_stat_wal",
        ))
        .await
        .ok()??;
    let n = row.try_get::<i64>("", "n").ok();
    let _ = db.close().await;
    n
}

/// Runs pgbench (TPC-B-like, 2 clients, 10 s) in a scratch database on the same server.
pub async fn pgbench_tps(url: &str) -> Option<f64> {
    let scratch = format!("{}/clearline_pgbench", url.trim_end_matches('/'));
    clearline_platform::db::create_database_if_missing(&scratch)
        .await
        .ok()?;
    let init = Command::new("pgbench")
        .args(["-q", "-i", "-s", "10", &scratch])
        .output()
        .await
        .ok()?;
    if !init.status.success() {
        return None;
    }
    let run = Command::new("pgbench")
        .args(["-c", "2", "-j", "2", "-T", "10", &scratch])
        .output()
        .await
        .ok()?;
    let text = String::from_utf8_lossy(&run.stdout);
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

pub fn describe() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU", str::trim)
        .to_string();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    format!("{cores} cores ({model}), {mem_gib:.0} GiB RAM")
}

/// The 1, 5 and 15 minute load averages, as `/proc/loadavg` gives them.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "unknown".into(),
        |l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    )
}

pub fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map_or_else(|_| "this machine".into(), |h| h.trim().to_string())
}

pub fn git_commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(
            || "unknown".into(),
            |o| String::from_utf8_lossy(&o.stdout).trim().to_string(),
        )
}

pub async fn append_report(path: &Path, section: &str) -> anyhow::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await?;
    file.write_all(section.as_bytes()).await?;
    Ok(())
}
