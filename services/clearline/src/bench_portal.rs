//! `clearline bench-portal`: how long the portal takes to answer its pages when the system
//! holds many open cases. Starts everything (as `clearline dev`, in a fresh data folder),
//! publishes N open cases' events, waits until they are applied and the backlog's watch
//! has announced their thresholds (with `--during-watch`, only until they are applied),
//! times each page as its user sees it, and appends the figures to a Markdown report.

use crate::bench::machine;
use crate::dev::{self, DevArgs};
use clap::Args;
use clearline_platform::config::DEV_JWT_SECRET;
use clearline_platform::http::JwtKeys;
use clearline_platform::{shutdown, stream};
use clearline_portal::bench;
use clearline_portal::demo::DEMO_PASSWORD;
use sea_orm::ConnectionTrait;
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
    /// Time the pages while the watch is still announcing the seeded cases' thresholds,
    /// its busiest moment, instead of once it has gone quiet.
    #[arg(long)]
    pub during_watch: bool,
    #[command(flatten)]
    pub dev: DevArgs,
}

/// The seeded cases were received over 40 days with a 28-day promise, so the watch has
/// thousands of warnings and breaches to announce at once: a burst a running system never
/// sees. Pages are timed once it has gone quiet for this long.
const WATCH_QUIET: Duration = Duration::from_secs(10);
/// On PostgreSQL the watch announces about 1,400 alerts per 8 s: some 25 minutes for the
/// 100,000 seeded cases.
const WATCH_QUIET_AT_MOST: Duration = Duration::from_secs(2_400);

/// A bulk load of 100,000 rows in minutes leaves PostgreSQL's planner without statistics
/// and its index-only scans without a visibility map until autovacuum comes round; this
/// does now what it would do, so the pages are timed as a running system serves them.
async fn settle_postgres(data_dir: &std::path::Path, base: &str) -> anyhow::Result<()> {
    for service in ["intake", "approval", "fulfilment", "backlog", "portal"] {
        let url = dev::service_database(data_dir, Some(base), service)?;
        let db = clearline_platform::db::connect_with(&url, 1).await?;
        db.execute_unprepared("VACUUM ANALYZE").await?;
        db.close().await?;
    }
    Ok(())
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
    if let Some(base) = args.dev.database_url.as_deref() {
        settle_postgres(&args.dev.data_dir, base).await?;
    }
    let settled = if args.during_watch {
        None
    } else {
        let waited = bench::wait_watch_quiet(&urls[3], WATCH_QUIET, WATCH_QUIET_AT_MOST).await?;
        println!(
            "the watch had announced the seeded cases' thresholds after {:.0}s more",
            waited.as_secs_f64()
        );
        Some(waited)
    };
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
    let vacuumed = if database == "postgres" {
        "`VACUUM ANALYZE` of each database, then "
    } else {
        ""
    };
    let _ = match settled {
        Some(waited) => writeln!(
            section,
            "- before timing: {vacuumed}{:.0} s until the watch had announced the seeded cases' thresholds (no alert for {} s; at most {} s)",
            waited.as_secs_f64(),
            WATCH_QUIET.as_secs(),
            WATCH_QUIET_AT_MOST.as_secs()
        ),
        None => writeln!(
            section,
            "- before timing: {vacuumed}nothing more: pages timed while the watch was still announcing the seeded cases' thresholds"
        ),
    };
    let _ = writeln!(
        section,
        "- settings: `clearline bench-portal --cases {} --samples {}{}`{}, {} build; one request at a time over loopback, each page's time is the whole answer (the portal's calls to the services included); *first* is the first request after sign-in, before the warm-up, when the portal's cached panels are cold\n",
        args.cases,
        args.samples,
        if args.during_watch { " --during-watch" } else { "" },
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
