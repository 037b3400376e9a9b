//! Tracing initialisation: human-readable logs by default, JSON on request.

use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogConfig;

/// Install the global subscriber (a no-op if one is already installed).
/// `RUST_LOG` overrides the configured filter. See [`with_quiet_parsers`].
pub fn init(cfg: &LogConfig) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(with_quiet_parsers(&cfg.filter)))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if cfg.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Libraries that log the faults of the documents they parse at `ERROR` level, although
/// the agents recover from them and report them in the job's result (lopdf logs every
/// damaged object it skips). An operator reads `ERROR` as a fault of the fleet, so
/// they are silenced unless the filter names them.
const PARSERS: [&str; 1] = ["lopdf"];

/// `filter` with `<parser>=off` added for each of [`PARSERS`] it does not mention:
/// `info,lopdf=warn` brings lopdf's lines back.
pub fn with_quiet_parsers(filter: &str) -> String {
    let mut out = filter.to_owned();
    for p in PARSERS {
        if !filter.contains(p) {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(p);
            out.push_str("=off");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsers_are_quiet_unless_named() {
        assert_eq!(with_quiet_parsers("info"), "info,lopdf=off");
        assert_eq!(with_quiet_parsers(""), "lopdf=off");
        assert_eq!(with_quiet_parsers("info,lopdf=warn"), "info,lopdf=warn");
        assert!(EnvFilter::try_new(with_quiet_parsers("debug,daa_worker=trace")).is_ok());
    }
}
