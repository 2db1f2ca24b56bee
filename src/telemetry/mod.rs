//! Telemetry: the tracing subscriber (text or JSON, filtered by `RUST_LOG` or
//! the config) and the process's Prometheus metrics.

mod metrics;
pub mod trail;

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::config::{LogConfig, LogFormat};

pub use metrics::{Gauge, Metrics};

/// Installs the global subscriber, writing to stderr so that stdout stays
/// for the command's own output. `default_filter` applies when neither
/// `RUST_LOG` nor the config says otherwise. Calling it twice is harmless.
pub fn init(config: &LogConfig, default_filter: Option<&str>) {
    let directive = std::env::var("RUST_LOG")
        .ok()
        .or_else(|| default_filter.map(str::to_owned))
        .unwrap_or_else(|| config.filter.clone());
    let filter = EnvFilter::try_new(&directive).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_span_events(FmtSpan::NONE);
    let _ = match config.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().with_current_span(true).try_init(),
    };
}

/// What a caught panic said, for the log and the failed item's error: the
/// message when it is text, else a placeholder. At most 500 characters.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    text.chars().take(500).collect()
}
