//! `clearline`: run the whole system on one machine, issue dev tokens, drive the benchmark.

mod audit;
mod bench;
mod bench_portal;
mod dead_letters;
mod dev;
mod nats;
mod token;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "clearline",
    version,
    about = "clearline: case-work backlog tracker for public-service counters"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every service in one process, with a local nats-server, for development and demos.
    Dev(dev::DevArgs),
    /// Print a signed development token for a user and role.
    Token(token::TokenArgs),
    /// Drive cases through their whole lifecycle over the HTTP APIs and report the figures.
    Bench(bench::BenchArgs),
    /// Fill a fresh system with open cases and time the portal's pages.
    BenchPortal(bench_portal::BenchPortalArgs),
    /// Run one service (intake, approval, fulfilment, backlog or portal) as its own process.
    Serve(dev::ServeArgs),
    /// Compare every service's records, the outboxes, the stream and the backlog; exits
    /// non-zero on any drift. `--repair` rebuilds the read model.
    Audit(audit::AuditArgs),
    /// List, show and replay the events no delivery could apply.
    DeadLetters(dead_letters::DeadLetterArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Dev(args) => dev::run(args).await,
        Command::Token(args) => token::run(args),
        Command::Bench(args) => bench::run(args).await,
        Command::Serve(args) => dev::serve(args).await,
        Command::Audit(args) => audit::run(args).await,
        Command::DeadLetters(args) => dead_letters::run(args).await,
        Command::BenchPortal(args) => bench_portal::run(args).await,
    }
}
