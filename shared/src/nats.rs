//! Connecting to NATS with a clear error when the server cannot be reached.

use std::time::Duration;

use crate::config::NatsConfig;
use crate::Error;

/// What went wrong talking to NATS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NatsErrorKind {
    /// No server answered at the configured URL.
    #[error("NATS is unreachable")]
    Unreachable,
    /// The server refused our credentials.
    #[error("NATS refused the credentials")]
    Auth,
}

/// NATS connection error.
pub type NatsError = Error<NatsErrorKind>;

/// Connect once, giving up after `connect_timeout_ms`. Once connected the client
/// reconnects by itself.
pub async fn connect(cfg: &NatsConfig, name: &str) -> Result<async_nats::Client, NatsError> {
    let mut opts = async_nats::ConnectOptions::new()
        .name(name)
        .connection_timeout(Duration::from_millis(cfg.connect_timeout_ms))
        .request_timeout(Some(Duration::from_secs(10)));
    if let (Some(u), Some(p)) = (&cfg.user, &cfg.password) {
        opts = opts.user_and_password(u.clone(), p.clone());
    }
    let fut = opts.connect(cfg.url.as_str());
    match tokio::time::timeout(Duration::from_millis(cfg.connect_timeout_ms + 500), fut).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => {
            let kind = if matches!(
                e.kind(),
                async_nats::ConnectErrorKind::AuthorizationViolation
                    | async_nats::ConnectErrorKind::Authentication
            ) {
                NatsErrorKind::Auth
            } else {
                NatsErrorKind::Unreachable
            };
            Err(NatsError::with_source(kind, format!("{} ({})", cfg.url, e)))
        }
        Err(_) => Err(NatsError::with_source(
            NatsErrorKind::Unreachable,
            format!(
                "{}: no answer within {} ms",
                cfg.url, cfg.connect_timeout_ms
            ),
        )),
    }
}
