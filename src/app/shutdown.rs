//! Signals: the first SIGINT or SIGTERM starts a drain (in-flight work
//! finishes, nothing new starts); a second one exits at once.

use tokio_util::sync::CancellationToken;

/// Spawns the task that turns signals into cancellation of `token`.
pub fn on_signals(token: CancellationToken) {
    tokio::spawn(async move {
        if wait_for_signal().await.is_err() {
            tracing::error!("cannot listen for shutdown signals");
            return;
        }
        tracing::info!("shutdown requested: draining in-flight work (signal again to exit at once)");
        token.cancel();
        if wait_for_signal().await.is_ok() {
            tracing::warn!("second signal: exiting now");
            std::process::exit(130);
        }
    });
}

#[cfg(unix)]
async fn wait_for_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
    Ok(())
}

#[cfg(not(unix))]
async fn wait_for_signal() -> std::io::Result<()> {
    tokio::signal::ctrl_c().await
}
