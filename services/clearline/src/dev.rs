//! `clearline dev`: every service in one process, with SQLite files under one data folder
//! (or PostgreSQL with `--database-url`) and a nats-server of its own (or `NATS_URL`).
//! `clearline serve <service>`: one service as its own process, as a deployment runs it.

use crate::nats;
use clap::{Args, Subcommand};
use clearline_platform::config::{CommonConfig, DEV_JWT_SECRET};
use clearline_platform::db;
use clearline_platform::http::{JwtKeys, Role};
use clearline_platform::shutdown;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct DevArgs {
    /// Folder for the SQLite files and the local nats-server's store.
    #[arg(long, env = "CLEARLINE_DATA_DIR", default_value = ".clearline")]
    pub data_dir: PathBuf,
    /// Use PostgreSQL instead of SQLite: each service gets its own database named
    /// `<database>_<service>`, created when missing.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Use this NATS server (with JetStream) instead of starting one.
    #[arg(long, env = "NATS_URL")]
    pub nats_url: Option<String>,
    /// The service catalog (TOML); the built-in seed when omitted.
    #[arg(long, env = "CLEARLINE_CATALOG")]
    pub catalog: Option<PathBuf>,
    /// The first of four consecutive ports: intake, approval, fulfilment, backlog.
    #[arg(long, default_value_t = 8081)]
    pub base_port: u16,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(subcommand)]
    pub service: ServeService,
}

#[derive(Debug, Subcommand)]
pub enum ServeService {
    Intake(clearline_intake::Config),
    Approval(clearline_approval::Config),
    Fulfilment(clearline_fulfilment::Config),
    Backlog(clearline_backlog::Config),
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let stop = shutdown::on_os_signal();
    let result = match args.service {
        ServeService::Intake(c) => {
            clearline_platform::telemetry::init(clearline_intake::SERVICE);
            clearline_intake::Application::build(c)
                .await?
                .run(stop)
                .await
        }
        ServeService::Approval(c) => {
            clearline_platform::telemetry::init(clearline_approval::SERVICE);
            clearline_approval::Application::build(c)
                .await?
                .run(stop)
                .await
        }
        ServeService::Fulfilment(c) => {
            clearline_platform::telemetry::init(clearline_fulfilment::SERVICE);
            clearline_fulfilment::Application::build(c)
                .await?
                .run(stop)
                .await
        }
        ServeService::Backlog(c) => {
            clearline_platform::telemetry::init(clearline_backlog::SERVICE);
            clearline_backlog::Application::build(c)
                .await?
                .run(stop)
                .await
        }
    };
    clearline_platform::telemetry::shutdown();
    result
}

pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    clearline_platform::telemetry::init("clearline-dev");
    std::fs::create_dir_all(&args.data_dir)?;
    let (_local_nats, nats_url) = match &args.nats_url {
        Some(url) => (None, url.clone()),
        None => {
            let local = nats::start(&args.data_dir.join("nats")).await?;
            let url = local.url.clone();
            (Some(local), url)
        }
    };
    let database =
        |service: &str| service_database(&args.data_dir, args.database_url.as_deref(), service);
    let common = |service: &str, offset: u16| -> anyhow::Result<CommonConfig> {
        let mut config = CommonConfig::new(database(service)?, nats_url.clone());
        config.listen = Some(SocketAddr::from(([127, 0, 0, 1], args.base_port + offset)));
        Ok(config)
    };
    for service in ["intake", "approval", "fulfilment", "backlog"] {
        if args.database_url.is_some() {
            db::create_database_if_missing(&database(service)?).await?;
        }
    }

    let intake = clearline_intake::Application::build(clearline_intake::Config {
        common: common("intake", 0)?,
        catalog: args.catalog.clone(),
    })
    .await?;
    let approval = clearline_approval::Application::build(clearline_approval::Config {
        common: common("approval", 1)?,
        catalog: args.catalog.clone(),
    })
    .await?;
    let fulfilment = clearline_fulfilment::Application::build(clearline_fulfilment::Config {
        common: common("fulfilment", 2)?,
    })
    .await?;
    let backlog = clearline_backlog::Application::build(clearline_backlog::Config::new(
        common("backlog", 3)?,
        args.catalog.clone(),
        None,
    ))
    .await?;

    print_welcome(
        &[
            ("intake", intake.addr()),
            ("approval", approval.addr()),
            ("fulfilment", fulfilment.addr()),
            ("backlog", backlog.addr()),
        ],
        &nats_url,
        &args,
    );

    let stop = shutdown::on_os_signal();
    let (a, b, c, d) = tokio::join!(
        intake.run(stop.clone()),
        approval.run(stop.clone()),
        fulfilment.run(stop.clone()),
        backlog.run(stop.clone()),
    );
    clearline_platform::telemetry::shutdown();
    a.and(b).and(c).and(d)
}

/// Where `clearline dev` keeps a service's database: `<database>_<service>` on PostgreSQL
/// when a base URL is given, else `<data dir>/<service>.db`.
pub fn service_database(
    data_dir: &std::path::Path,
    database_url: Option<&str>,
    service: &str,
) -> anyhow::Result<String> {
    Ok(match database_url {
        Some(base) => db::service_database_url(base, service)?,
        None => format!(
            "sqlite://{}?mode=rwc",
            data_dir.join(format!("{service}.db")).display()
        ),
    })
}

/// The demo users `clearline dev` prints tokens for.
pub const DEMO_USERS: [(&str, &str, Role, Option<&str>); 6] = [
    ("clerk1", "王窗口 Wang (clerk)", Role::Clerk, Some("HP01")),
    ("clerk2", "李窗口 Li (clerk)", Role::Clerk, Some("HP01")),
    (
        "approver1",
        "赵审批 Zhao (approver)",
        Role::Approver,
        Some("HP01"),
    ),
    (
        "officer1",
        "孙发证 Sun (fulfilment)",
        Role::Fulfilment,
        Some("HP01"),
    ),
    (
        "supervisor1",
        "周所长 Zhou (supervisor)",
        Role::Supervisor,
        None,
    ),
    ("admin", "管理员 Admin", Role::Admin, None),
];

fn print_welcome(services: &[(&str, SocketAddr)], nats_url: &str, args: &DevArgs) {
    let keys = JwtKeys::from_secret(DEV_JWT_SECRET);
    println!("\nclearline is running. Ctrl-C stops everything.\n");
    for (name, addr) in services {
        println!("  {name:<11} http://{addr}   (OpenAPI: http://{addr}/api-docs/openapi.json)");
    }
    println!("  nats        {nats_url}");
    match &args.database_url {
        Some(url) => println!(
            "  databases   PostgreSQL, <database>_<service> on {}",
            redact(url)
        ),
        None => println!("  databases   SQLite files in {}", args.data_dir.display()),
    }
    println!("\nDemo tokens (valid 12 hours; send as `Authorization: Bearer <token>`):");
    for (user, name, role, unit) in DEMO_USERS {
        let token = keys.issue(user, name, &[role], unit, chrono::Duration::hours(12));
        println!("  {user:<12} {:<10} {token}", role.as_str());
    }
    println!("\nTry:  curl http://{}/api/v1/catalog\n", services[0].1);
}

/// A database URL without its password, for printing.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://…{}", &url[..scheme], &url[at..]),
        _ => url.to_string(),
    }
}
