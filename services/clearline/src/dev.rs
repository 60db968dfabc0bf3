//! `clearline dev`: every service and the web portal in one process, with SQLite files under one data folder
//! (or PostgreSQL with `--database-url`) and a nats-server of its own (or `NATS_URL`).
//! `clearline serve <service>`: one service as its own process, as a deployment runs it.

use crate::nats;
use clap::{Args, Subcommand};
use clearline_platform::config::{CommonConfig, ServiceUrls, DEV_JWT_SECRET};
use clearline_platform::db;
use clearline_platform::http::JwtKeys;
use clearline_platform::shutdown;
use clearline_portal::demo::{DEMO_PASSWORD, DEMO_USERS};
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
    /// The web portal's port.
    #[arg(long, default_value_t = 8080)]
    pub portal_port: u16,
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
    Portal(clearline_portal::Config),
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
        ServeService::Portal(c) => {
            clearline_platform::telemetry::init(clearline_portal::SERVICE);
            clearline_portal::Application::build(c)
                .await?
                .run(stop)
                .await
        }
    };
    clearline_platform::telemetry::shutdown();
    result
}

/// Every service and the portal, built and bound, not yet serving.
pub struct Running {
    /// Kept so the local nats-server lives as long as the services.
    _local_nats: Option<nats::LocalNats>,
    pub nats_url: String,
    pub intake: clearline_intake::Application,
    pub approval: clearline_approval::Application,
    pub fulfilment: clearline_fulfilment::Application,
    pub backlog: clearline_backlog::Application,
    pub portal: clearline_portal::Application,
}

impl Running {
    /// Serves until `stop`.
    pub async fn run(self, stop: shutdown::Shutdown) -> anyhow::Result<()> {
        let (a, b, c, d, e) = tokio::join!(
            self.intake.run(stop.clone()),
            self.approval.run(stop.clone()),
            self.fulfilment.run(stop.clone()),
            self.backlog.run(stop.clone()),
            self.portal.run(stop.clone()),
        );
        a.and(b).and(c).and(d).and(e)
    }
}

/// Starts a local nats-server (unless one is given), connects and migrates every service and
/// the portal (with its demo users), and binds their ports.
pub async fn start(args: &DevArgs) -> anyhow::Result<Running> {
    std::fs::create_dir_all(&args.data_dir)?;
    let (local_nats, nats_url) = match &args.nats_url {
        Some(url) => (None, url.clone()),
        None => {
            let local = nats::start(&args.data_dir.join("nats")).await?;
            let url = local.url.clone();
            (Some(local), url)
        }
    };
    let database =
        |service: &str| service_database(&args.data_dir, args.database_url.as_deref(), service);
    let common = |service: &str, port: u16| -> anyhow::Result<CommonConfig> {
        let mut config = CommonConfig::new(database(service)?, nats_url.clone());
        config.listen = Some(SocketAddr::from(([127, 0, 0, 1], port)));
        Ok(config)
    };
    for service in ["intake", "approval", "fulfilment", "backlog", "portal"] {
        if args.database_url.is_some() {
            db::create_database_if_missing(&database(service)?).await?;
        }
    }

    let intake = clearline_intake::Application::build(clearline_intake::Config {
        common: common("intake", args.base_port)?,
        catalog: args.catalog.clone(),
    })
    .await?;
    let approval = clearline_approval::Application::build(clearline_approval::Config {
        common: common("approval", args.base_port + 1)?,
        catalog: args.catalog.clone(),
    })
    .await?;
    let fulfilment = clearline_fulfilment::Application::build(clearline_fulfilment::Config {
        common: common("fulfilment", args.base_port + 2)?,
    })
    .await?;
    let backlog = clearline_backlog::Application::build(clearline_backlog::Config::new(
        common("backlog", args.base_port + 3)?,
        args.catalog.clone(),
        None,
    ))
    .await?;
    let url = |addr: SocketAddr| format!("http://{addr}");
    let portal = clearline_portal::Application::build(clearline_portal::Config {
        common: common("portal", args.portal_port)?,
        services: ServiceUrls {
            intake_url: url(intake.addr()),
            approval_url: url(approval.addr()),
            fulfilment_url: url(fulfilment.addr()),
            backlog_url: url(backlog.addr()),
        },
        time_zone: "Asia/Shanghai".to_string(),
        tls: false,
        session_idle_minutes: 30,
        session_max_hours: 12,
        demo_users: true,
    })
    .await?;
    Ok(Running {
        _local_nats: local_nats,
        nats_url,
        intake,
        approval,
        fulfilment,
        backlog,
        portal,
    })
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

pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    clearline_platform::telemetry::init("clearline-dev");
    let running = start(&args).await?;
    print_welcome(
        running.portal.addr(),
        &[
            ("intake", running.intake.addr()),
            ("approval", running.approval.addr()),
            ("fulfilment", running.fulfilment.addr()),
            ("backlog", running.backlog.addr()),
        ],
        &running.nats_url,
        &args,
    );
    let result = running.run(shutdown::on_os_signal()).await;
    clearline_platform::telemetry::shutdown();
    result
}

fn print_welcome(
    portal: SocketAddr,
    services: &[(&str, SocketAddr)],
    nats_url: &str,
    args: &DevArgs,
) {
    let keys = JwtKeys::from_secret(DEV_JWT_SECRET);
    println!("\nclearline is running. Ctrl-C stops everything.\n");
    println!("  Open the portal:  http://{portal}/");
    println!(
        "  Sign in as clerk1, approver1, officer1, supervisor1 or admin; password {}\n",
        DEMO_PASSWORD
    );
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
    for user in DEMO_USERS {
        let token = keys.issue(
            user.id,
            user.name,
            &[user.role],
            user.unit,
            chrono::Duration::hours(12),
        );
        println!("  {:<12} {:<10} {token}", user.id, user.role.as_str());
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
