//! Wires config, telemetry and shutdown; the service itself lives in the library.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    clearline_platform::telemetry::init(clearline_backlog::SERVICE);
    let config = clearline_backlog::Config::parse();
    let app = clearline_backlog::Application::build(config).await?;
    tracing::info!(addr = %app.addr(), "backlog listening");
    let result = app.run(clearline_platform::shutdown::on_os_signal()).await;
    clearline_platform::telemetry::shutdown();
    result
}
