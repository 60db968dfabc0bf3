//! `clearline bench-portal`: how long the portal takes to answer its pages when the system
//! holds many open cases. Starts everything (as `clearline dev`, in a fresh data folder),
//! publishes N open cases' events, waits until they are applied, times each page as its
//! user sees it, and appends the figures to a Markdown report.

use crate::bench::machine;
use crate::dev::{self, DevArgs};
use clap::Args;
use clearline_platform::config::DEV_JWT_SECRET;
use clearline_platform::http::JwtKeys;
use clearline_platform::{shutdown, stream};
use clearline_portal::bench;
use clearline_portal::demo::DEMO_PASSWORD;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct BenchPortalArgs {
    /// Open cases to fill the system with.
    #[arg(long, default_value_t = 100_000)]
    pub cases: usize,
    /// Timed requests per page.
    #[arg(long, default_value_t = 30)]
    pub samples: usize,
    /// Append the figures to this Markdown file.
    #[arg(long)]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub dev: DevArgs,
}

pub async fn run(args: BenchPortalArgs) -> anyhow::Result<()> {
    clearline_platform::telemetry::init("clearline-bench-portal");
    let running = dev::start(&args.dev).await?;
    let urls = [
        format!("http://{}", running.intake.addr()),
        format!("http://{}", running.approval.addr()),
        format!("http://{}", running.fulfilment.addr()),
        format!("http://{}", running.backlog.addr()),
    ];
    let portal = format!("http://{}", running.portal.addr());
    let nats_url = running.nats_url.clone();
    let stop = shutdown::Shutdown::new();
    let serving = tokio::spawn(running.run(stop.clone()));

    let keys = JwtKeys::from_secret(DEV_JWT_SECRET);
    let (_client, js) = stream::connect(&nats_url, "clearline-bench-portal", None).await?;
    let seeding = Instant::now();
    bench::seed_open_cases(&js, args.cases).await?;
    let published = seeding.elapsed();
    println!(
        "published {} cases' events in {:.1}s",
        args.cases,
        published.as_secs_f64()
    );
    let applied = bench::wait_applied(
        &urls[3],
        &urls,
        &keys,
        args.cases as i64,
        Duration::from_secs(3600),
    )
    .await?;
    println!(
        "applied by every service after {:.1}s",
        applied.as_secs_f64()
    );
    let case_id = bench::some_case(&urls[3], &keys).await?;
    let load_before = machine::load_average();
    let alerts_before = bench::alerts_raised(&urls[3]).await?;
    let timings = bench::time_pages(&portal, DEMO_PASSWORD, args.samples, case_id).await?;
    let load_after = machine::load_average();
    let alerts_during = bench::alerts_raised(&urls[3]).await? - alerts_before;

    let database = if args.dev.database_url.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    let mut section = String::new();
    let _ = writeln!(
        section,
        "\n### {} — portal render, {} open cases, {database}\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        args.cases
    );
    let _ = writeln!(
        section,
        "- machine: {} ({})",
        machine::describe(),
        machine::hostname()
    );
    let _ = writeln!(section, "- commit: {}", machine::git_commit());
    let _ = writeln!(
        section,
        "- load average (1/5/15 min): {load_before} before timing, {load_after} after; the backlog's watch raised {alerts_during:.0} alerts while pages were timed ({alerts_before:.0} before)"
    );
    let _ = writeln!(
        section,
        "- settings: `clearline bench-portal --cases {} --samples {}`{}, {} build; one request at a time over loopback, each page's time is the whole answer (the portal's calls to the services included); *first* is the first request after sign-in, before the warm-up, when the portal's cached panels are cold\n",
        args.cases,
        args.samples,
        if database == "postgres" { " --database-url …" } else { "" },
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
    let _ = writeln!(
        section,
        "| page | user | first ms | p50 ms | p95 ms | max ms | HTML KiB |"
    );
    let _ = writeln!(section, "|---|---|---|---|---|---|---|");
    for t in &timings {
        let _ = writeln!(
            section,
            "| `{}` | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} |",
            t.page.replace(&case_id.to_string(), "{id}"),
            t.user,
            t.first_ms,
            t.p50_ms,
            t.p95_ms,
            t.max_ms,
            t.bytes as f64 / 1024.0
        );
    }
    print!("{section}");
    if let Some(path) = &args.report {
        machine::append_report(path, &section).await?;
    }
    stop.cancel();
    let _ = serving.await;
    clearline_platform::telemetry::shutdown();
    Ok(())
}
