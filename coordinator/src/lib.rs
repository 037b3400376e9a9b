//! The daa coordinator.
//!
//! The pure parts — [`plan`] (which stage next, which tasks) and [`synthesis`] (stage
//! results → result document) — are shared with `daa process`. The service ([`run`])
//! drives them over NATS and Redis: job intake, result intake, stage advance, the
//! deadline sweeper and the dead-letter handler (singleton duties of the leading
//! coordinator, see `leader`) and the `daa.api.job.get` responder. All
//! job state lives in Redis, so any number of coordinators can run at once and any of
//! them can take any message. See `docs/coordinator.md`.

mod advance;
mod api;
mod cache;
mod deadlines;
mod decoded;
mod dlq;
mod http;
mod intake;
mod leader;
pub mod plan;
mod publish;
mod service;
pub mod synthesis;

pub use service::{run, CoordinatorError};
