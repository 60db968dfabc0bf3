//! Wires config, telemetry and shutdown; the portal itself lives in the library.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    clearline_platform::telemetry::init(clearline_portal::SERVICE);
    let config = clearline_portal::Config::parse();
    let app = clearline_portal::Application::build(config).await?;
    tracing::info!(addr = %app.addr(), "portal listening");
    let result = app.run(clearline_platform::shutdown::on_os_signal()).await;
    clearline_platform::telemetry::shutdown();
    result
}
