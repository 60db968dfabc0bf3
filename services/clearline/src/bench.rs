//! `clearline bench`: drives cases through their whole lifecycle over the HTTP APIs of a
//! running system (`clearline dev`), with C concurrent workers, and reports closed cases/s,
//! intake→visible-in-backlog latency, CPU-ms and database commits per case, and pgbench's
//! TPS on the same box for comparison. With `--report` it appends the figures to a file
//! (docs/BENCHMARKS.md).

pub(crate) mod machine;
mod workload;

use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Cases to drive from intake to closed.
    #[arg(long, default_value_t = 500)]
    pub cases: usize,
    /// Concurrent workers (each one clerk → approver → officer at a time).
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// The port of intake; approval, fulfilment and backlog follow it (as `clearline dev`).
    #[arg(long, default_value_t = 8081)]
    pub base_port: u16,
    #[arg(long, default_value = "residence_permit")]
    pub service_type: String,
    #[arg(long, default_value = "HP01")]
    pub unit: String,
    /// One case in this many is watched for intake→backlog latency.
    #[arg(long, default_value_t = 5)]
    pub sample_every: usize,
    /// The PostgreSQL server the system under test uses, to count its WAL flushes
    /// (pg_stat_wal), e.g. postgres://postgres@127.0.0.1:5432. Omit for SQLite.
    #[arg(long)]
    pub postgres: Option<String>,
    /// A PostgreSQL server to run pgbench on after the run, as a yardstick for the machine.
    #[arg(long)]
    pub pgbench: Option<String>,
    /// What the system under test runs on, for the report ("sqlite" or "postgres").
    #[arg(long, default_value = "sqlite")]
    pub label: String,
    /// Append the figures to this Markdown file.
    #[arg(long)]
    pub report: Option<PathBuf>,
    #[arg(long, env = "CLEARLINE_JWT_SECRET", default_value = clearline_platform::config::DEV_JWT_SECRET, hide_default_value = true)]
    pub jwt_secret: String,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let commits_before = machine::postgres_commits(args.postgres.as_deref()).await;
    let cpu_before = machine::cpu_ms();
    let started = Instant::now();
    let outcome = workload::drive(&args).await?;
    let wall = started.elapsed();
    let cpu_ms = machine::cpu_ms().saturating_sub(cpu_before);
    // pg_stat counters are flushed by each backend about once a second.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let commits_after = machine::postgres_commits(args.postgres.as_deref()).await;
    let pgbench_tps = match args.pgbench.as_ref().or(args.postgres.as_ref()) {
        Some(url) => machine::pgbench_tps(url).await,
        None => None,
    };

    let n = outcome.closed.max(1) as f64;
    let mut latencies = outcome.visible_latencies_ms.clone();
    latencies.sort_by(f64::total_cmp);
    let figures = Figures {
        label: args.label.clone(),
        cases: outcome.closed,
        failed: outcome.failed,
        concurrency: args.concurrency,
        wall_s: wall.as_secs_f64(),
        closed_per_s: outcome.closed as f64 / wall.as_secs_f64(),
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        samples: latencies.len(),
        cpu_ms_per_case: cpu_ms as f64 / n,
        commits_per_case: commits_before
            .zip(commits_after)
            .map(|(b, a)| (a - b) as f64 / n),
        pgbench_tps,
    };
    println!("{}", figures.table());
    if let Some(path) = &args.report {
        machine::append_report(path, &figures.section(&args)).await?;
        println!("appended to {}", path.display());
    }
    anyhow::ensure!(outcome.failed == 0, "{} cases failed", outcome.failed);
    Ok(())
}

pub struct Figures {
    label: String,
    cases: usize,
    failed: usize,
    concurrency: usize,
    wall_s: f64,
    closed_per_s: f64,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    samples: usize,
    cpu_ms_per_case: f64,
    commits_per_case: Option<f64>,
    pgbench_tps: Option<f64>,
}

fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted.get(rank).copied()
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.digits$}"))
}

impl Figures {
    fn table(&self) -> String {
        format!(
            "| database | cases | failed | workers | wall s | closed cases/s | visible p50 ms | visible p99 ms | CPU-ms/case (all processes) | WAL fsyncs/case | pgbench TPS |\n\
             |---|---|---|---|---|---|---|---|---|---|---|\n\
             | {} | {} | {} | {} | {:.1} | {:.1} | {} | {} | {:.2} | {} | {} |",
            self.label,
            self.cases,
            self.failed,
            self.concurrency,
            self.wall_s,
            self.closed_per_s,
            opt(self.p50_ms, 1),
            opt(self.p99_ms, 1),
            self.cpu_ms_per_case,
            opt(self.commits_per_case, 1),
            opt(self.pgbench_tps, 0),
        )
    }

    fn section(&self, args: &BenchArgs) -> String {
        format!(
            "\n### {} — {} on {}\n\n- machine: {}\n- commit: {}\n- settings: `clearline bench --cases {} --concurrency {} --service-type {} --sample-every {}` ({} latency samples)\n\n{}\n",
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
            self.label,
            machine::hostname(),
            machine::describe(),
            machine::git_commit(),
            args.cases,
            args.concurrency,
            args.service_type,
            args.sample_every,
            self.samples,
            self.table()
        )
    }
}
