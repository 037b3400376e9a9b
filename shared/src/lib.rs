//! Shared foundation of every daa process.
//!
//! `daa-shared` holds what the coordinator, the workers and the CLI must agree on:
//!
//! - [`model`]: the wire model (job, stage task, stage result, result document, events);
//! - [`claim`]: claim checks for payloads above the server's `max_payload`;
//! - [`codec`]: MessagePack (named fields) and JSON codecs chosen by `Content-Type`;
//! - [`subjects`] and [`keys`]: every NATS subject and Redis key, built from one prefix;
//! - [`topology`]: idempotent creation of the JetStream streams and durable consumers;
//! - [`store`]: the Redis store (job state machine as Lua scripts, heartbeats);
//! - [`sniff`]: content type detection from bytes;
//! - [`config`]: layered configuration (defaults < TOML < `DAA_*` env < flags);
//! - [`telemetry`]: tracing initialisation;
//! - [`shutdown`]: the graceful shutdown signal every long-running loop listens to;
//! - [`trace`]: W3C `traceparent` propagation through NATS headers;
//! - [`lock`]: distributed locks with fencing tokens, ordered multi-resource locking;
//! - [`memory`]: coordination memory (namespace/agent/task/timestamp entries);
//! - [`cache`]: the content-addressed result cache's Redis primitives;
//! - [`breaker`]: circuit breakers per dependency (closed, open, half-open).
//!
//! See `DESIGN.md` (the architecture contract) and `docs/` for the decisions behind it.

pub mod breaker;
pub mod claim;
pub mod codec;
pub mod config;
pub mod connect;
pub mod error;
pub mod keys;
pub mod metrics;
pub mod model;
pub mod nats;
pub mod shutdown;
pub mod sniff;
pub mod store;
pub mod subjects;
pub mod telemetry;
pub mod time;
pub mod topology;
pub mod trace;

pub mod cache;
pub mod lock;
pub mod memory;

pub use error::Error;
