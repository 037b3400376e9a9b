//! The daa worker runtime: the [`Agent`] trait and [`run`], which runs any agent against
//! NATS JetStream with bounded concurrency, classified retries, in-progress acks, hard
//! deadlines, heartbeats, control messages, graceful drain, circuit breakers per
//! dependency and task hooks.
//!
//! A worker binary is three lines: load the config, build the agent, call [`run`] (or
//! [`main`], which also installs telemetry and signal handling). See
//! `docs/worker-runtime.md` for the delivery rules it implements.

mod agent;
mod breakers;
mod control;
mod document;
mod fetch;
mod heartbeat;
pub mod hooks;
mod main_helper;
mod metrics_http;
pub mod retry;
mod run;
mod stats;
mod task;

pub use agent::{Agent, AgentStatus, CancelFlag, Capabilities, Document, TaskContext, ENGINE};
pub use hooks::TaskHooks;
pub use main_helper::main;
pub use run::{run, run_with, RunError, RunErrorKind, RunExit, RunOptions};
