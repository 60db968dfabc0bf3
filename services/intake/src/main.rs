//! Wires config, telemetry and shutdown; the service itself lives in the library.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    clearline_platform::telemetry::init(clearline_intake::SERVICE);
    let config = clearline_intake::Config::parse();
    let app = clearline_intake::Application::build(config).await?;
    tracing::info!(addr = %app.addr(), "intake listening");
    let result = app.run(clearline_platform::shutdown::on_os_signal()).await;
    clearline_platform::telemetry::shutdown();
    result
}
