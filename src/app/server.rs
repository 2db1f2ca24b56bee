//! `steward serve`: the running system.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::token;
use crate::channels::http::{self, ApiState, Limits};
use crate::config::Config;
use crate::store::Store;
use crate::telemetry::Metrics;

/// A built server: its store is open and its listener bound, so the address
/// (port 0 resolved) is known before it starts answering.
pub struct Server {
    listener: TcpListener,
    router: axum::Router,
    store: Store,
    draining: CancellationToken,
}

impl Server {
    /// Opens the store, resolves the API token and binds `addr` (or the
    /// configured address).
    pub async fn build(config: &Config, addr: Option<SocketAddr>) -> anyhow::Result<Self> {
        let addr = addr.unwrap_or(config.http.addr);
        let token = token::resolve(config, addr)?;
        let db = config.database_path();
        let store = Store::open(&db, &config.store)
            .await
            .with_context(|| format!("cannot open {}", db.display()))?;
        let draining = CancellationToken::new();
        let state = ApiState {
            store: store.clone(),
            metrics: Arc::new(Metrics::default()),
            draining: draining.clone(),
        };
        let limits = Limits {
            body_bytes: config.http.body_limit_bytes,
            timeout: Duration::from_secs(config.http.request_timeout_secs),
        };
        let router = http::router(state, token, limits);
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        Ok(Self {
            listener,
            router,
            store,
            draining,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until `shutdown` is cancelled, then stops accepting, lets
    /// in-flight requests finish (each is bounded by the request timeout)
    /// and closes the store.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let draining = self.draining.clone();
        let signal = async move {
            shutdown.cancelled().await;
            draining.cancel();
        };
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(signal)
            .await
            .context("HTTP server failed")?;
        self.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}
