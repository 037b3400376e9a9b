//! Tracing initialisation: human-readable logs by default, JSON on request.

use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogConfig;

/// Install the global subscriber (a no-op if one is already installed).
/// `RUST_LOG` overrides the configured filter.
pub fn init(cfg: &LogConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&cfg.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if cfg.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
