//! One shutdown signal for everything a service runs (HTTP, relay, consumers), passed in as
//! an argument so tests decide when a service stops.

pub use tokio_util::sync::CancellationToken as Shutdown;

/// Resolves on Ctrl-C or SIGTERM.
pub async fn os_signal() {
    let ctrl_c = async {
        // If the handler cannot be installed we simply never see Ctrl-C; SIGTERM still works.
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// A token that is cancelled when the process is asked to stop.
pub fn on_os_signal() -> Shutdown {
    let token = Shutdown::new();
    let child = token.clone();
    tokio::spawn(async move {
        os_signal().await;
        tracing::info!("shutdown requested");
        child.cancel();
    });
    token
}
