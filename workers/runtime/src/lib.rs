//! The daa worker runtime: the [`Agent`] trait and [`run`], which runs any agent against
//! NATS JetStream with bounded concurrency, classified retries, in-progress acks, hard
//! deadlines, heartbeats and graceful drain. See `docs/worker-runtime.md`.

mod agent;

pub use agent::{Agent, CancelFlag, Capabilities, Document, TaskContext};
